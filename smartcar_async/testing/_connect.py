"""The emulator plays Smartcar Connect: the owner's browser visits, consents, is sent back.

``GET /oauth/authorize`` checks the parameters as Connect does (the application id as
``client_id``, a registered ``redirect_uri``, ``response_type=code``, the mode), then a
simulated owner "consents": a new user (or a given one) with new vehicles and
connections, and a ``302`` to the ``redirect_uri`` with ``user_id`` and ``state``. What
the owner does is planned by tests (`Consent`): grant, deny, or any documented Connect
error, each redirected with the query fields Smartcar's "Connect errors" pages list.
``GET /oauth/reauthenticate`` plays re-authentication the same way.

A parameter Connect would refuse before anyone logs in answers ``400`` with a short
text, as Connect's own error page does: no redirect goes to an unverified URI.
"""

from __future__ import annotations

import random
from collections import deque
from collections.abc import Iterable, Mapping, Sequence
from typing import TYPE_CHECKING, Literal
from urllib.parse import parse_qsl, quote, urlencode

import attrs

from ._fleet import MODELS, make_vin, permissions_for
from ._http import EmuRequest, EmuResponse
from ._routes import Route
from ._state import State

if TYPE_CHECKING:
    from ._emulator import SmartcarEmulator

__all__ = [
    "CONNECT_URL",
    "DEFAULT_REDIRECT_URI",
    "Consent",
    "ConsentOutcome",
    "ConsentRecord",
    "ConnectFlow",
]

#: The in-process Connect origin (``.invalid`` never resolves, like the API URLs).
CONNECT_URL = "https://connect.emulator.invalid"
#: The redirect URI every emulator has registered unless told otherwise.
DEFAULT_REDIRECT_URI = "http://localhost:8000/callback"

ConsentOutcome = Literal[
    "approve",
    "access_denied",
    "vehicle_incompatible",
    "no_vehicles",
    "invalid_subscription",
    "configuration_error",
    "server_error",
    "user_manually_returned_to_application",
]

# error_description per code, as Smartcar's "Connect errors" pages give it.
_DESCRIPTIONS: dict[str, str] = {
    "access_denied": "User denied access to application.",
    "vehicle_incompatible": "The user's vehicle is not compatible.",
    "no_vehicles": "User does not have an active connected vehicle subscription.",
    "invalid_subscription": "User does not have an active connected vehicle subscription.",
    "configuration_error": "There has been an error in the configuration of your application.",
    "server_error": "There has been an unexpected error in Connect.",
    "user_manually_returned_to_application": (
        "The user exited Connect before granting your application access"
    ),
}
_MODES = ("live", "simulated", "test")


@attrs.frozen
class Consent:
    """What the simulated owner does at one Connect visit.

    Attributes:
        outcome: ``"approve"``, or the Connect error code to send back
            (``"access_denied"`` for "Deny access", ``"vehicle_incompatible"``,
            ``"no_vehicles"``...).
        vehicles: how many new vehicles the owner connects (``single_select`` makes it 1).
        user_id: an existing user who connects more vehicles; default: a new user.
        make: the vehicles' make; default: the URL's ``make``, else a seeded choice.
    """

    outcome: ConsentOutcome = "approve"
    vehicles: int = attrs.field(default=1, validator=attrs.validators.ge(1))
    user_id: str | None = None
    make: str | None = None


@attrs.frozen
class ConsentRecord:
    """One Connect visit the emulator answered with a redirect.

    Attributes:
        flow: ``"authorize"`` or ``"reauthenticate"``.
        outcome: the `Consent` outcome played.
        user_id: the user created or extended (None for an error).
        vehicle_ids: the vehicles connected (or re-authenticated).
        state: the ``state`` of the Connect URL.
        external_id: the ``external_id`` of the Connect URL.
        location: the URL the owner was sent back to (None: Smartcar's own page).
    """

    flow: Literal["authorize", "reauthenticate"]
    outcome: str
    user_id: str | None
    vehicle_ids: tuple[str, ...]
    state: str | None
    external_id: str | None
    location: str | None


@attrs.frozen
class _Visit:
    """One Connect visit being answered: its flow and query, where the owner is sent
    back to (None: Smartcar's own page), and what the owner does."""

    flow: Literal["authorize", "reauthenticate"]
    query: Mapping[str, str]
    redirect_uri: str | None
    consent: Consent


class _Refused(Exception):
    """A parameter Connect refuses on its own error page (no redirect)."""

    def __init__(self, parameter: str) -> None:
        super().__init__(parameter)
        self.parameter = parameter


def _page(status: int, text: str) -> EmuResponse:
    return EmuResponse(status, text.encode(), [("content-type", "text/plain; charset=utf-8")])


def _redirect(uri: str, params: Mapping[str, str]) -> EmuResponse:
    separator = "&" if "?" in uri else "?"
    location = f"{uri}{separator}{urlencode(params, quote_via=quote)}"
    return EmuResponse(302, b"", [("location", location), ("content-length", "0")])


def _external_id(query: Mapping[str, str]) -> str | None:
    # ``external_id`` in the current docs; older pages call the owner's id ``user``.
    return query.get("external_id") or query.get("user") or None


def _same_make(a: str, b: str) -> bool:
    def key(text: str) -> str:
        return "".join(c for c in text.lower() if c.isalnum())

    return key(a) == key(b)


class ConnectFlow:
    """Answers the Connect routes from a `SmartcarEmulator`'s state (one per emulator)."""

    def __init__(
        self, emulator: SmartcarEmulator, state: State, seed: int, redirect_uris: Iterable[str]
    ) -> None:
        self._emulator = emulator
        self._state = state
        self._seed = seed
        self._draws = 0
        self.redirect_uris: list[str] = list(dict.fromkeys(redirect_uris))
        self.planned: deque[Consent] = deque()
        self.records: list[ConsentRecord] = []

    # -- the two routes ---------------------------------------------------------------

    def handle(self, request: EmuRequest, route: Route) -> EmuResponse:
        query = dict(parse_qsl(request.query, keep_blank_values=True))
        try:
            if route.name.endswith("/reauthenticate"):
                return self._reauthenticate(query)
            return self._authorize(query)
        except _Refused as refused:
            # Connect's own error page, in the words it uses for a wrong client_id.
            return _page(400, f"400: Invalid parameter {refused.parameter}")

    def _check_client(self, query: Mapping[str, str]) -> None:
        if query.get("client_id") != self._emulator.application_id:
            raise _Refused("client_id")

    def _redirect_uri(self, query: Mapping[str, str], *, required: bool) -> str | None:
        uri = query.get("redirect_uri")
        if uri is None:
            # Connect falls back to the application's default (first) redirect URI.
            if not required:
                return None
            if not self.redirect_uris:
                raise _Refused("redirect_uri")
            return self.redirect_uris[0]
        if uri not in self.redirect_uris:
            raise _Refused("redirect_uri")
        return uri

    def _authorize(self, query: Mapping[str, str]) -> EmuResponse:
        self._check_client(query)
        redirect_uri = self._redirect_uri(query, required=True)
        assert redirect_uri is not None
        if query.get("response_type") != "code":
            raise _Refused("response_type")
        mode = query.get("mode", "live")
        if mode not in _MODES:
            raise _Refused("mode")
        if query.get("approval_prompt", "auto") not in ("auto", "force"):
            raise _Refused("approval_prompt")
        country = query.get("country")
        if country is not None and not (len(country) == 2 and country.isalpha()):
            raise _Refused("country")
        visit = self._visit("authorize", query, redirect_uri)
        if visit.consent.outcome != "approve":
            return self._error(visit)
        user_id, vehicle_ids = self._connect_vehicles(visit.consent, query, mode)
        return self._finish(visit, {"user_id": user_id}, user_id, vehicle_ids)

    def _reauthenticate(self, query: Mapping[str, str]) -> EmuResponse:
        self._check_client(query)
        response_type = query.get("response_type")
        if response_type not in ("vehicle_id", "none"):
            raise _Refused("response_type")
        redirect_uri = self._redirect_uri(query, required=response_type == "vehicle_id")
        vehicle_id = query.get("vehicle_id", "")
        connections = self._state.by_vehicle.get(vehicle_id)
        if not connections:
            raise _Refused("vehicle_id")
        visit = self._visit("reauthenticate", query, redirect_uri)
        if visit.consent.outcome != "approve":
            return self._error(visit)
        user_ids = sorted({self._state.connections[c].user_id for c in connections})
        external_id = _external_id(query)
        params = {"vehicle_id": vehicle_id}
        if "external_id" in query:  # the new session's value replaces the stored one
            for user_id in user_ids:
                self._state.users[user_id].external_id = external_id
        if external_id is not None:
            params["external_id"] = external_id
        return self._finish(visit, params, user_ids[0], (vehicle_id,))

    # -- consent ----------------------------------------------------------------------

    def _visit(
        self,
        flow: Literal["authorize", "reauthenticate"],
        query: Mapping[str, str],
        redirect_uri: str | None,
    ) -> _Visit:
        """The visit, with the next planned `Consent` (default: approve)."""
        consent = self.planned.popleft() if self.planned else Consent()
        return _Visit(flow, query, redirect_uri, consent)

    def _connect_vehicles(
        self, consent: Consent, query: Mapping[str, str], mode: str
    ) -> tuple[str, tuple[str, ...]]:
        emulator = self._emulator
        user_id = consent.user_id
        if user_id is None or user_id not in self._state.users:
            user_id = emulator.add_user(user_id, external_id=_external_id(query))
        single = query.get("single_select") == "true" or "single_select_vin" in query
        count = 1 if single else consent.vehicles
        requested = [p.removeprefix("required:") for p in query.get("scope", "").split()]
        vehicle_ids = []
        for _ in range(count):
            make, model, powertrain, year = self._pick_model(consent.make or query.get("make"))
            supported = permissions_for(powertrain)
            granted = [p for p in supported if p in requested] if requested else list(supported)
            entry = emulator.add_vehicle(
                make,
                model,
                year,
                powertrain,
                # The v3 API knows live and simulated vehicles; test mode ones are
                # not real either.
                mode="live" if mode == "live" else "simulated",
                user_id=user_id,
                permissions=granted,
            )
            vin = query.get("single_select_vin")
            if vin:
                self._state.vehicles[entry.vehicle_id].vin = vin
            vehicle_ids.append(entry.vehicle_id)
        return user_id, tuple(vehicle_ids)

    def _rng(self) -> random.Random:
        # One generator per draw: the same seed and visits give the same vehicles.
        self._draws += 1
        return random.Random(f"{self._seed}:connect:{self._draws}")

    def _pick_model(self, make: str | None) -> tuple[str, str, str, int]:
        rng = self._rng()
        models = [m for m in MODELS if make is None or _same_make(m[0], make)] or list(MODELS)
        brand, model, powertrain, first, last, _ = rng.choice(models)
        return brand, model, powertrain, rng.randint(first, last)

    def _error(self, visit: _Visit) -> EmuResponse:
        consent, query = visit.consent, visit.query
        code = consent.outcome
        params = {"error": code, "error_description": _DESCRIPTIONS[code]}
        if code == "vehicle_incompatible":
            make, model, _, year = self._pick_model(consent.make or query.get("make"))
            vin = query.get("single_select_vin") or make_vin(self._rng(), make, year)
            params.update(make=make, model=model, year=str(year), vin=vin)
        elif code == "configuration_error":
            params.update(status_code="400", error_message="This VIN belongs to a test vehicle.")
        return self._finish(visit, params)

    def _finish(
        self,
        visit: _Visit,
        params: dict[str, str],
        user_id: str | None = None,
        vehicle_ids: Sequence[str] = (),
    ) -> EmuResponse:
        """Send the owner back (``state`` last, as Connect does) and record the visit."""
        consent, query, redirect_uri = visit.consent, visit.query, visit.redirect_uri
        state = query.get("state")
        if state is not None:
            params["state"] = state
        if redirect_uri is not None:
            response = _redirect(redirect_uri, params)
        else:  # response_type=none without a redirect URI ends on Smartcar's own page
            done = consent.outcome == "approve"
            response = _page(200, "You're all set." if done else "Connecting was not finished.")
        location = dict(response.headers).get("location")
        self.records.append(
            ConsentRecord(
                visit.flow,
                consent.outcome,
                user_id,
                tuple(vehicle_ids),
                state,
                _external_id(query),
                location,
            )
        )
        return response
