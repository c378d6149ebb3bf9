"""`SmartcarEmulator`: the public face of the emulator's state machine."""

from __future__ import annotations

import copy
import random
import time
from collections.abc import Awaitable, Callable, Iterable, Mapping, Sequence
from contextlib import AbstractAsyncContextManager
from typing import TYPE_CHECKING, Any, Literal

import httpx

from .._clock import Clock, SystemClock
from ..connect import ConnectSettings
from . import _app
from ._commands import COMMANDS
from ._connect import (
    CONNECT_URL,
    DEFAULT_REDIRECT_URI,
    ConnectFlow,
    Consent,
    ConsentOutcome,
    ConsentRecord,
)
from ._core import EmulatorCore
from ._emulator_webhooks import WebhookControls
from ._faults import Fault, FaultPlacement, FaultRule, FaultSet, RateLimiter, RateLimits
from ._fleet import FleetEntry, build_fleet, make_vin, permissions_for
from ._signal_values import catalogue_codes, generate_signals
from ._state import (
    Connection,
    IdSource,
    SignalState,
    State,
    User,
    Vehicle,
)
from ._stats import CommandRecord, EmulatorStats
from ._transport import EmulatorTransport, call_with_httpx
from ._webhooks import WebhookShape

if TYPE_CHECKING:
    from typing_extensions import Unpack

__all__ = ["FleetEntry", "SmartcarEmulator"]

#: In-process base URLs. ``.invalid`` never resolves (RFC 2606), so a request that
#: escapes the emulator fails loudly instead of reaching a real host.
TOKEN_URL = "https://iam.emulator.invalid/oauth2/token"
VEHICLE_API_URL = "https://vehicle.api.emulator.invalid/v3"
MANAGEMENT_API_URL = "https://management.api.emulator.invalid/management/v3"

# Reproducible runs on an injected clock start at 2026-05-01T00:00:00Z.
_DEFAULT_EPOCH = 1_777_593_600.0
_POWERTRAINS = ("BEV", "PHEV", "HEV", "ICE")
COMMAND_TYPES = frozenset(c.command_type for c in COMMANDS) | {
    "charge-schedule-daily",
    "charge-schedule-weekly",
    "charge-schedule-workweek",
}


class SmartcarEmulator(WebhookControls):
    """A stateful fake of Smartcar's API v3: token endpoint, Vehicle and Management APIs.

    One state machine, three ways in, the same answers through each: `transport` (an
    in-process httpx transport), `respx_side_effect`, and `asgi_app` / `serve` (a real
    HTTP server on loopback). It checks bearer tokens and ``sc-user-id`` like the real
    API, lets commands change signals, paginates, answers errors in the v3 envelope,
    injects faults by rule, counts what it saw, and signs and delivers webhook events.

    Args:
        vehicles: live vehicles in the seeded fleet (each connected to a user).
        seed: the fleet, ids and fault dice all follow from it: same seed, same run.
        simulated_vehicles: extra vehicles in ``simulated`` mode.
        clock: time source (`smartcar_async.testing.VirtualClock` in tests); token
            expiry, latency and long-running commands use it.
        epoch: Unix time at construction; defaults to the wall clock with the system
            clock and to 2026-05-01T00:00:00Z with any other clock (reproducible).
        token_lifetime: seconds an access token lives (``expires_in``).
        client_id: the application's client id; generated if omitted.
        client_secret: its secret; generated if omitted.
        management_token: the Application Management Token; generated if omitted.
        rate_limits: the rate-limit model, off when None.
        long_running_delay: > 0 makes every command long-running (202, body later).
        single_signal_wrapped: wrap ``GET .../signals/{code}`` in ``data`` (the newer
            spec's likely shape) instead of the documented bare resource.
        webhook_shape: default shape of built webhook events.
        redirect_uris: the Connect redirect URIs registered for the application
            (default: ``http://localhost:8000/callback``).

    Examples:
        >>> emulator = SmartcarEmulator(vehicles=100, seed=1)
        >>> async with SmartcarClient(**emulator.client_kwargs()) as client:
        ...     car = emulator.fleet()[0]
        ...     await client.commands.lock(car.vehicle_id, user_id=car.user_id)
        >>> emulator.signal(car.vehicle_id, "closure-islocked")
        {'value': True}
    """

    def __init__(
        self,
        vehicles: int = 10,
        *,
        seed: int = 0,
        simulated_vehicles: int = 0,
        clock: Clock | None = None,
        epoch: float | None = None,
        token_lifetime: float = 3600.0,
        client_id: str | None = None,
        client_secret: str | None = None,
        management_token: str | None = None,
        rate_limits: RateLimits | None = None,
        long_running_delay: float = 0.0,
        single_signal_wrapped: bool = False,
        webhook_shape: WebhookShape = "documented",
        redirect_uris: Iterable[str] = (DEFAULT_REDIRECT_URI,),
    ) -> None:
        if vehicles < 0 or simulated_vehicles < 0:
            raise ValueError("vehicle counts must be >= 0")
        clock = clock if clock is not None else SystemClock()
        if epoch is None:
            epoch = time.time() if isinstance(clock, SystemClock) else _DEFAULT_EPOCH
        rng = random.Random(seed)
        ids = IdSource(rng)
        self._seed = seed
        self._epoch_ms = int(epoch * 1000)
        state = State(ids, self._generate_signals)
        self._core = EmulatorCore(
            state=state,
            clock=clock,
            epoch=epoch,
            seed=seed,
            client_id=client_id or ids.hex("client_emulator", 12),
            client_secret=client_secret or ids.hex("secret_", 20),
            application_id=ids.uuid(),
            token_lifetime=token_lifetime,
            single_signal_wrapped=single_signal_wrapped,
        )
        self._management_token = management_token or ids.hex("amt_", 16)
        self.webhook_shape: WebhookShape = webhook_shape
        build_fleet(state, rng, ids, live=vehicles, simulated=simulated_vehicles, epoch=epoch)
        self._next_index = vehicles + simulated_vehicles
        self.rate_limits = rate_limits
        self.set_long_running(long_running_delay or None)
        self._connect = ConnectFlow(self, state, seed, redirect_uris)
        self._core.connect = self._connect.handle

    # -- credentials and configuration ----------------------------------------------------

    @property
    def client_id(self) -> str:
        """The application's client id (``client_emulator...``)."""
        return self._core.client_id

    @property
    def client_secret(self) -> str:
        """The application's client secret."""
        return self._core.client_secret

    @property
    def management_token(self) -> str:
        """The Application Management Token: the key of webhook signatures."""
        return self._management_token

    @property
    def application_id(self) -> str:
        """The application id: Connect's ``client_id`` (and ``GET /applications/{id}``)."""
        return self._core.application_id

    @property
    def clock(self) -> Clock:
        """The clock the emulator reads and sleeps on."""
        return self._core.clock

    @property
    def token_lifetime(self) -> float:
        """Lifetime of tokens issued from now on, in seconds."""
        return self._core.token_lifetime

    @token_lifetime.setter
    def token_lifetime(self, seconds: float) -> None:
        if seconds <= 0:
            raise ValueError("token_lifetime must be > 0")
        self._core.token_lifetime = seconds

    @property
    def rate_limits(self) -> RateLimits | None:
        """The rate-limit model in force (None: off). Setting it resets its buckets."""
        limiter = self._core.rate_limiter
        return limiter.limits if limiter is not None else None

    @rate_limits.setter
    def rate_limits(self, limits: RateLimits | None) -> None:
        self._core.rate_limiter = (
            RateLimiter(limits, self._core.clock.now()) if limits is not None else None
        )

    @property
    def rate_limiter(self) -> RateLimiter | None:
        """The live bucket of the rate-limit model: its ``admitted`` and ``refused``
        counts and arrival times, for assertions (None when the model is off)."""
        return self._core.rate_limiter

    @property
    def signals_page_size(self) -> int | None:
        """Page ``GET /vehicles/{id}/signals`` this many signals at a time even when the
        request does not ask (None, the default: one page unless a request asks with
        ``page``/``pageSize``, the published example's names, or ``page[size]``)."""
        return self._core.signals_page_size

    @signals_page_size.setter
    def signals_page_size(self, size: int | None) -> None:
        if size is not None and size < 1:
            raise ValueError("signals_page_size must be >= 1")
        self._core.signals_page_size = size

    @property
    def stats(self) -> EmulatorStats:
        """Counters for assertions (see `EmulatorStats`)."""
        return self._core.stats

    @property
    def command_log(self) -> Sequence[CommandRecord]:
        """Every command executed, in order."""
        return self._core.command_log

    @property
    def faults(self) -> FaultSet:
        """The fault rules (``emulator.faults.add(...)``, ``.clear()``...)."""
        return self._core.faults

    def reset_stats(self) -> None:
        """Zero the counters and forget the command log."""
        self._core.stats.reset()
        self._core.command_log.clear()

    # -- the ways in ----------------------------------------------------------------------

    def transport(self) -> httpx.AsyncBaseTransport:
        """An in-process `httpx.AsyncBaseTransport` (no sockets; asyncio and trio).

        Examples:
            >>> async with httpx.AsyncClient(transport=emulator.transport()) as http:
            ...     r = await http.get(f"{VEHICLE_API_URL}/connections", headers=auth)
        """
        return EmulatorTransport(self._core.handle)

    @property
    def respx_side_effect(self) -> Callable[[httpx.Request], Awaitable[httpx.Response]]:
        """An async respx side effect answering from the emulator.

        A dropped-connection fault raises `httpx.RemoteProtocolError` from it.

        Examples:
            >>> respx_mock.route(host__regex=r".*emulator\\.invalid").mock(
            ...     side_effect=emulator.respx_side_effect
            ... )
        """
        handle = self._core.handle

        async def side_effect(request: httpx.Request) -> httpx.Response:
            return await call_with_httpx(handle, request)

        return side_effect

    def asgi_app(self) -> _app.ASGIApp:
        """The emulator as an ASGI 3 app, for any ASGI server or `httpx.ASGITransport`.

        The app runs the state machine on the server's own event loop. To serve from a
        test, prefer `serve`, which also supports dropped-connection faults.
        """
        return _app.make_app(self._core.handle)

    def serve(self, *, host: str = "127.0.0.1", port: int = 0) -> AbstractAsyncContextManager[str]:
        """Serve the emulator over HTTP on loopback; yields the base URL.

        uvicorn is asyncio-only, so it runs in a thread with its own loop; each request
        is handed back to the calling event loop, so this works under asyncio and trio
        and a `VirtualClock` still rules time. Needs ``uvicorn`` (the ``emulator`` extra).

        Examples:
            >>> async with emulator.serve() as base_url:
            ...     kwargs = emulator.client_kwargs(base_url=base_url)
        """
        return _app.serve(self._core.handle, host=host, port=port)

    def client_kwargs(self, base_url: str | None = None) -> dict[str, Any]:
        """Keyword arguments for `SmartcarClient`.

        Without ``base_url``: in-process, with the ``*.emulator.invalid`` URLs and a
        fresh `transport`. With it (from `serve`): URLs under that server, no transport.

        Examples:
            >>> SmartcarClient(**emulator.client_kwargs())
        """
        kwargs: dict[str, Any] = {
            "client_id": self.client_id,
            "client_secret": self.client_secret,
        }
        if base_url is None:
            kwargs.update(
                token_url=TOKEN_URL,
                vehicle_api_url=VEHICLE_API_URL,
                management_api_url=MANAGEMENT_API_URL,
                transport=self.transport(),
            )
        else:
            base = base_url.rstrip("/")
            kwargs.update(
                token_url=f"{base}/oauth2/token",
                vehicle_api_url=f"{base}/v3",
                management_api_url=f"{base}/management/v3",
            )
        return kwargs

    # -- Connect --------------------------------------------------------------------------

    def connect_kwargs(
        self, base_url: str | None = None, *, redirect_uri: str | None = None
    ) -> ConnectSettings:
        """Keyword arguments for `smartcar_async.connect.authorization_url` (and re-auth).

        ``client_id`` is the application id, ``connect_url`` the emulator's Connect
        (in-process, or under ``base_url`` from `serve`), ``redirect_uri`` the first
        registered one; a ``redirect_uri`` given here is registered first, as in the
        dashboard.

        Examples:
            >>> url = sc.connect.authorization_url(
            ...     **emulator.connect_kwargs(), scope=["read_battery"], state=state
            ... )
        """
        if redirect_uri is not None:
            self.add_redirect_uri(redirect_uri)
        uris = self._connect.redirect_uris
        if not uris:
            raise ValueError("no redirect URI is registered; pass redirect_uri=")
        return {
            "client_id": self.application_id,
            "redirect_uri": redirect_uri or uris[0],
            "connect_url": CONNECT_URL if base_url is None else base_url.rstrip("/"),
        }

    @property
    def redirect_uris(self) -> list[str]:
        """The registered Connect redirect URIs (a copy; the first is the default)."""
        return list(self._connect.redirect_uris)

    def add_redirect_uri(self, uri: str) -> None:
        """Register a redirect URI, as the dashboard's credentials tab does."""
        if uri not in self._connect.redirect_uris:
            self._connect.redirect_uris.append(uri)

    def queue_consent(
        self,
        outcome: ConsentOutcome = "approve",
        *,
        vehicles: int = 1,
        user_id: str | None = None,
        make: str | None = None,
    ) -> None:
        """Plan what the owner does at the next Connect visit (visits take plans in order).

        Without a plan, the owner approves with one new vehicle as a new user.

        Args:
            outcome: ``"approve"``, or a Connect error code to send back:
                ``"access_denied"`` (the owner denies), ``"vehicle_incompatible"``,
                ``"no_vehicles"``, ``"invalid_subscription"``, ``"configuration_error"``,
                ``"server_error"``, ``"user_manually_returned_to_application"``.
            vehicles: how many new vehicles the owner connects.
            user_id: an existing user connecting more vehicles (default: a new user).
            make: the vehicles' make (default: the URL's ``make``, else seeded).

        Examples:
            >>> emulator.queue_consent(vehicles=3)
            >>> emulator.queue_consent("access_denied")
        """
        self._connect.planned.append(
            Consent(outcome, vehicles=vehicles, user_id=user_id, make=make)
        )

    @property
    def consents(self) -> list[ConsentRecord]:
        """Every Connect visit answered with a redirect, oldest first (a copy)."""
        return list(self._connect.records)

    # -- tokens ---------------------------------------------------------------------------

    def issue_token(self, lifetime: float | None = None) -> str:
        """A valid access token without a token request (for raw-HTTP tests)."""
        core = self._core
        core.stats.tokens_issued += 1
        return core.tokens.issue(core.clock.now(), lifetime or core.token_lifetime)

    def revoke_tokens(self) -> int:
        """Revoke every token issued so far; returns how many. The next call gets a 401."""
        return self._core.tokens.revoke_all()

    # -- the fleet ------------------------------------------------------------------------

    def fleet(self, mode: Literal["live", "simulated"] | None = None) -> list[FleetEntry]:
        """Every connection, oldest first, as `FleetEntry` (optionally one mode only)."""
        state = self._core.state
        entries = []
        for connection in state.connections.values():
            vehicle = state.vehicles[connection.vehicle_id]
            if mode is None or vehicle.mode == mode:
                entries.append(self._entry(vehicle, connection))
        return entries

    @staticmethod
    def _entry(vehicle: Vehicle, connection: Connection) -> FleetEntry:
        return FleetEntry(
            vehicle_id=vehicle.id,
            user_id=connection.user_id,
            connection_id=connection.id,
            **vehicle.facts(),
        )

    def add_user(self, user_id: str | None = None, *, external_id: str | None = None) -> str:
        """Add a user with no vehicles; returns its id."""
        state = self._core.state
        user_id = user_id or self._core.ids.uuid()
        if user_id in state.users:
            raise ValueError(f"user {user_id!r} exists already")
        state.add_user(User(user_id, external_id))
        return user_id

    def add_vehicle(
        self,
        make: str = "Tesla",
        model: str = "Model 3",
        year: int = 2024,
        powertrain_type: str = "BEV",
        *,
        mode: Literal["live", "simulated"] = "live",
        vehicle_id: str | None = None,
        user_id: str | None = None,
        external_id: str | None = None,
        permissions: Iterable[str] | None = None,
        signals: Mapping[str, Mapping[str, Any]] | None = None,
        unsupported: Iterable[str] = (),
    ) -> FleetEntry:
        """Add a vehicle connected to a user (new unless ``user_id`` names one).

        Args:
            make: the vehicle's make.
            model: its model.
            year: its model year.
            powertrain_type: ``BEV``, ``PHEV``, ``HEV`` or ``ICE``.
            mode: ``live`` or ``simulated``.
            vehicle_id: an id to use instead of a generated one.
            user_id: the owner's id, instead of a new user.
            external_id: the new user's external id.
            permissions: what the connection grants (default: all its powertrain has).
            signals: bodies to set over the generated ones.
            unsupported: command types that answer 501 (``"security-lock"``...).

        Examples:
            >>> car = emulator.add_vehicle("Ford", "F-150", 2022, "ICE")
            >>> car.powertrain_type
            'ICE'
        """
        if powertrain_type not in _POWERTRAINS:
            raise ValueError(f"powertrain_type must be one of {_POWERTRAINS}")
        core = self._core
        state = core.state
        rng = random.Random(f"{self._seed}:vehicle:{self._next_index}")
        vehicle = Vehicle(
            id=vehicle_id or core.ids.uuid(),
            make=make,
            model=model,
            year=year,
            powertrain_type=powertrain_type,
            mode=mode,
            vin=make_vin(rng, make, year),
            created_at=core.wall(),
            index=self._next_index,
        )
        self._next_index += 1
        state.add_vehicle(vehicle)
        self.set_unsupported(vehicle.id, *unsupported)
        if user_id is None or user_id not in state.users:
            user_id = self.add_user(user_id, external_id=external_id)
        connection_id = self.connect(vehicle.id, user_id, permissions=permissions)
        for code, body in (signals or {}).items():
            self.set_signal(vehicle.id, code, body)
        return self._entry(vehicle, state.connections[connection_id])

    def connect(
        self, vehicle_id: str, user_id: str, *, permissions: Iterable[str] | None = None
    ) -> str:
        """Connect an existing vehicle to an existing user; returns the connection id."""
        core = self._core
        vehicle = self._vehicle(vehicle_id)
        if user_id not in core.state.users:
            raise KeyError(f"no user {user_id!r}")
        granted = (
            tuple(permissions)
            if permissions is not None
            else permissions_for(vehicle.powertrain_type)
        )
        connection = Connection(core.ids.uuid(), core.wall(), user_id, vehicle_id, granted)
        core.state.add_connection(connection)
        return connection.id

    def remove_connection(self, connection_id: str) -> None:
        """Disconnect (as ``DELETE /connections/{id}`` does); its subscriptions go too."""
        if connection_id not in self._core.state.connections:
            raise KeyError(f"no connection {connection_id!r}")
        self._core.state.remove_connection(connection_id)

    def remove_user(self, user_id: str) -> None:
        """Remove a user and all its connections (as ``DELETE /users/{id}`` does)."""
        if user_id not in self._core.state.users:
            raise KeyError(f"no user {user_id!r}")
        self._core.state.remove_user(user_id)

    def remove_vehicle(self, vehicle_id: str) -> None:
        """Remove a vehicle from the world, with its connections."""
        self._vehicle(vehicle_id)
        self._core.state.remove_vehicle(vehicle_id)

    def _vehicle(self, vehicle_id: str) -> Vehicle:
        vehicle = self._core.state.vehicles.get(vehicle_id)
        if vehicle is None:
            raise KeyError(f"no vehicle {vehicle_id!r}")
        return vehicle

    # -- signals and vehicle state --------------------------------------------------------

    def _generate_signals(self, vehicle: Vehicle) -> dict[str, SignalState]:
        return generate_signals(vehicle, self._seed, self._epoch_ms)

    def signals(self, vehicle_id: str) -> dict[str, dict[str, Any] | None]:
        """Every signal's body (None for a signal in error), as copies."""
        vehicle = self._vehicle(vehicle_id)
        return {
            code: copy.deepcopy(signal.body)
            for code, signal in self._core.state.signals(vehicle).items()
        }

    def signal(self, vehicle_id: str, code: str) -> dict[str, Any] | None:
        """One signal's body (a copy); None if the vehicle lacks it or it is in error."""
        signal = self._core.state.signals(self._vehicle(vehicle_id)).get(code)
        return copy.deepcopy(signal.body) if signal is not None else None

    def set_signal(
        self,
        vehicle_id: str,
        code: str,
        body: Mapping[str, Any],
        *,
        oem_updated_at: int | None = None,
    ) -> None:
        """Set a signal's body, read from the vehicle just now.

        Examples:
            >>> emulator.set_signal(car.vehicle_id, "tractionbattery-stateofcharge",
            ...                     {"unit": "percent", "value": 42})
        """
        vehicle = self._vehicle(vehicle_id)
        now = self._core.now_ms()
        updated = oem_updated_at if oem_updated_at is not None else now
        self._core.state.put_signal(
            vehicle, code, SignalState(copy.deepcopy(dict(body)), now, updated)
        )

    def set_signal_status(
        self,
        vehicle_id: str,
        code: str,
        status: Literal["ERROR", "UNAVAILABLE"] = "ERROR",
        *,
        error_type: str = "VEHICLE_STATE",
        error_code: str | None = "UNREACHABLE",
        description: str | None = None,
    ) -> None:
        """Make a signal read as failed: ``status.value`` ERROR/UNAVAILABLE, no body."""
        vehicle = self._vehicle(vehicle_id)
        now = self._core.now_ms()
        error: dict[str, Any] = {
            "type": error_type,
            "code": error_code,
            "resolution": {"type": "RETRY_LATER"},
        }
        if description is not None:
            error["description"] = description
        self._core.state.put_signal(vehicle, code, SignalState(None, now, now, status, error))

    def remove_signal(self, vehicle_id: str, code: str) -> None:
        """Make the vehicle lack a signal (reads answer 404 ``SIGNAL_NOT_FOUND``)."""
        self._core.state.put_signal(self._vehicle(vehicle_id), code, None)

    def set_asleep(self, vehicle_id: str, asleep: bool = True) -> None:
        """Put a vehicle to sleep (commands answer 409 ``VEHICLE_STATE``/``ASLEEP``) or wake it."""
        vehicle = self._vehicle(vehicle_id)
        vehicle.asleep = asleep
        if self._core.state.signals(vehicle).get("connectivitystatus-isasleep") is not None:
            self.set_signal(vehicle_id, "connectivitystatus-isasleep", {"value": asleep})

    def set_long_running(
        self, delay: float | None = 180.0, *, vehicle_id: str | None = None
    ) -> None:
        """Make commands long-running: 202 at once, the final body ``delay`` s later.

        The body is awaited on the emulator's clock (in-process: while the response
        body is read; over a socket: chunked on the same connection). ``delay=None`` or
        ``0`` turns it off. With ``vehicle_id``, only for that vehicle.
        """
        seconds = float(delay or 0.0)
        if seconds < 0:
            raise ValueError("delay must be >= 0")
        if vehicle_id is None:
            self._core.long_running_delay = seconds
        else:
            self._vehicle(vehicle_id).long_running_delay = seconds

    def set_unsupported(self, vehicle_id: str, *command_types: str) -> None:
        """Make these command types answer 501 ``COMPATIBILITY`` for a vehicle."""
        unknown = set(command_types) - COMMAND_TYPES
        if unknown:
            raise ValueError(f"unknown command type(s): {sorted(unknown)}")
        self._vehicle(vehicle_id).unsupported.update(command_types)

    # -- faults ---------------------------------------------------------------------------

    def add_fault(self, fault: Fault, **placement: Unpack[FaultPlacement]) -> FaultRule:
        """Inject ``fault`` where ``route`` (a glob over route names) matches.

        The keywords are `FaultPlacement`'s (``route``, ``vehicle_id``,
        ``probability``, ``times``, ``skip``), described under `FaultRule`.

        Examples:
            >>> emulator.add_fault(Fault.status(503), route="GET /vehicles/{id}/signals", times=1)
            >>> emulator.add_fault(Fault.latency(2.0), probability=0.1)
        """
        return self._core.faults.add(fault, **placement)

    # -- misc -----------------------------------------------------------------------------

    @staticmethod
    def signal_codes() -> list[str]:
        """Every signal code the catalogue knows (what a vehicle can have)."""
        return catalogue_codes()

    def __repr__(self) -> str:
        state = self._core.state
        return (
            f"SmartcarEmulator(vehicles={len(state.vehicles)}, users={len(state.users)}, "
            f"connections={len(state.connections)}, seed={self._seed})"
        )
