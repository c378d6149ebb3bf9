"""The state machine behind every way in: one request in, one response out.

`EmulatorCore.handle` counts the request, applies fault rules, checks the bearer token
and rate limits, dispatches to a handler, and stamps ``SC-Request-Id``. Handlers are
plain synchronous methods (nothing in them waits), so the hot path awaits only when a
fault or a long-running command asks it to.
"""

from __future__ import annotations

import base64
import binascii
import json
import math
import random
from collections.abc import AsyncIterator, Callable, Mapping
from typing import Any
from urllib.parse import parse_qsl

from .._clock import Clock
from ._commands import (
    COMMANDS,
    CommandSpec,
    Refusal,
    check_awake,
    check_capable,
    check_permission,
    schedule_effects,
    schedule_supported,
    validate_schedule,
)
from ._faults import Fault, FaultSet, RateLimiter
from ._http import (
    ApiError,
    EmuRequest,
    EmuResponse,
    default_error,
    dumps,
    error_body,
    error_response,
    found,
    json_response,
    oauth_error,
)
from ._http import api_error as _fail
from ._management import MODES, ManagementHandlers
from ._render import (
    PageError,
    connection_resource,
    page_param,
    signal_resource_bytes,
    signal_resource_in,
    signals_collection_bytes,
    signals_page_bytes,
    vehicle_resource,
)
from ._routes import ROUTES, TOKEN, UNAUTHENTICATED, Route, match
from ._signal_values import describe
from ._state import Connection, IdSource, SignalState, State, TokenStore, Vehicle, iso
from ._stats import CommandRecord, EmulatorStats
from ._units import IMPERIAL, unit_system

__all__ = ["EmulatorCore"]


_UNKNOWN = "UNKNOWN"
_COMMANDS_BY_ROUTE: dict[str, CommandSpec] = {
    f"POST /vehicles/{{id}}/commands/{c.group}/{c.action}": c for c in COMMANDS
}


class EmulatorCore(ManagementHandlers):
    """Owns the state and answers requests. `SmartcarEmulator` is its public face."""

    def __init__(
        self,
        *,
        state: State,
        clock: Clock,
        epoch: float,
        seed: int,
        client_id: str,
        client_secret: str,
        application_id: str,
        token_lifetime: float,
        single_signal_wrapped: bool,
    ) -> None:
        self.state = state
        self.clock = clock
        self._clock_start = clock.now()
        self.epoch = epoch
        self.client_id = client_id
        self.client_secret = client_secret
        self.application_id = application_id
        self.token_lifetime = token_lifetime
        self.single_signal_wrapped = single_signal_wrapped
        self.ids = IdSource(random.Random(f"{seed}:ids"))
        self._request_ids = IdSource(random.Random(f"{seed}:requests"))
        self.tokens = TokenStore(self.ids)
        self.stats = EmulatorStats()
        self.faults = FaultSet(random.Random(f"{seed}:faults"))
        self.rate_limiter: RateLimiter | None = None
        #: Page ``GET /vehicles/{id}/signals`` this many signals at a time even when the
        #: request does not ask (None: one page unless asked).
        self.signals_page_size: int | None = None
        self.long_running_delay = 0.0
        self.command_log: list[CommandRecord] = []
        # Set by SmartcarEmulator: answers the Connect routes (testing/_connect.py).
        self.connect: Callable[[EmuRequest, Route], EmuResponse] | None = None
        self._handlers: dict[str, Callable[[EmuRequest, list[str], Route, str], EmuResponse]] = {
            route.handler: getattr(self, f"_h_{route.handler}") for route in ROUTES
        }

    # -- time -----------------------------------------------------------------------

    def wall(self) -> float:
        """Unix time now: the epoch plus however far the emulator's clock has moved."""
        return self.epoch + (self.clock.now() - self._clock_start)

    def now_ms(self) -> int:
        return int(self.wall() * 1000)

    # -- the one entry point ----------------------------------------------------------

    async def handle(self, request: EmuRequest) -> EmuResponse:
        """Answer one request (every way in ends here)."""
        found = match(request.method, request.path, request.host)
        route, params = found if found is not None else (None, [])
        name = route.name if route is not None else _UNKNOWN
        stats = self.stats
        stats.requests[name] += 1
        if route is not None and route.api == TOKEN:
            # Counted here, not in the token handler: a request a fault answered was
            # still a token request the client sent.
            stats.token_requests += 1
        request_id = self._request_ids.uuid()
        vehicle_id = (
            params[route.vehicle_param]
            if route is not None and route.vehicle_param is not None
            else None
        )
        faults = self.faults.select(name, vehicle_id) if self.faults else None
        response: EmuResponse | None = None
        if faults:
            response = await self._apply_faults(faults, False, route, None)
        if response is None:
            response = self._dispatch(request, route, params, request_id)
            if faults:
                response = await self._apply_faults(faults, True, route, response)
                assert response is not None
        response.headers.append(("sc-request-id", request_id))
        status = 0 if response.drop else response.status
        stats.statuses[status] += 1
        stats.route_statuses[(name, status)] += 1
        return response

    def _dispatch(
        self, request: EmuRequest, route: Route | None, params: list[str], request_id: str
    ) -> EmuResponse:
        try:
            if route is None or route.api not in UNAUTHENTICATED:
                self._authenticate(request)
            if route is None:
                raise _fail(
                    404,
                    "RESOURCE_NOT_FOUND",
                    "INVALID_PATH",
                    f"{request.method} {request.path} is not a path of this API.",
                )
            if route.api not in UNAUTHENTICATED and self.rate_limiter is not None:
                self._rate_limit(route, params)
            return self._handlers[route.handler](request, params, route, request_id)
        except ApiError as error:
            return error.response
        except Refusal as refusal:
            return error_response(
                refusal.status,
                refusal.type,
                refusal.code,
                refusal.detail,
                retry_after=refusal.retry_after,
            )

    # -- faults -----------------------------------------------------------------------

    async def _apply_faults(
        self,
        faults: list[Fault],
        after: bool,
        route: Route | None,
        handled: EmuResponse | None,
    ) -> EmuResponse | None:
        """Apply this phase's faults; return the replacement answer, if one was chosen."""
        counted = self.stats.faults
        for fault in faults:
            if fault.after_processing is not after:
                continue
            kind = fault.kind
            if kind == "latency":
                counted["latency"] += 1
                await self.clock.sleep(fault.seconds)
            elif kind == "revoke_tokens":
                counted["revoke_tokens"] += 1
                self.tokens.revoke_all()
        for fault in faults:
            if fault.after_processing is not after or fault.kind in ("latency", "revoke_tokens"):
                continue
            counted[fault.kind] += 1
            return self._fault_response(fault, route, handled)
        return handled

    def _fault_response(
        self, fault: Fault, route: Route | None, handled: EmuResponse | None
    ) -> EmuResponse:
        if fault.kind == "drop":
            return EmuResponse(0, drop=True)
        if fault.kind == "malformed_json":
            body = handled.body if handled is not None and handled.body else b'{"data":[{"id":"'
            status = handled.status if handled is not None else 200
            return EmuResponse(status, body[: max(1, len(body) // 2)])
        response = _injected_error(fault, route)
        if fault.retry_after is not None:
            # Rounded up, as the app bucket does: a client that waits what it is told
            # must not come back before the fault's time is over.
            wait = max(0, math.ceil(fault.retry_after))
            response.headers.append(("retry-after", str(wait)))
        return response

    # -- checks -----------------------------------------------------------------------

    def _authenticate(self, request: EmuRequest) -> None:
        header = request.headers.get("authorization")
        if not header or header[:7].lower() != "bearer ":
            raise _fail(
                401,
                "AUTHENTICATION",
                None,
                "The Authorization header is missing or is not 'Bearer <token>'.",
            )
        problem = self.tokens.check(header[7:].strip(), self.clock.now())
        if problem is not None:
            detail = (
                "The access token has expired. Request a new one."
                if problem == "expired"
                else "The access token is invalid or has been revoked."
            )
            raise _fail(401, "AUTHENTICATION", None, detail)

    def _rate_limit(self, route: Route, params: list[str]) -> None:
        assert self.rate_limiter is not None
        vehicle_id = params[route.vehicle_param] if route.vehicle_param is not None else None
        refused = self.rate_limiter.check(self.clock.now(), vehicle_id)
        if refused is not None:
            code, retry_after = refused
            self.stats.faults["rate_limit"] += 1
            detail = (
                "The application has exceeded its request rate."
                if code == "SMARTCAR_API"
                else "Too many requests for this vehicle."
            )
            raise ApiError(error_response(429, "RATE_LIMIT", code, detail, retry_after=retry_after))

    def _vehicle(self, vehicle_id: str) -> Vehicle:
        """A vehicle connected to the application (any user)."""
        vehicle = self.state.vehicles.get(vehicle_id)
        if vehicle is None or not self.state.by_vehicle.get(vehicle_id):
            raise _fail(
                404, "RESOURCE_NOT_FOUND", "VEHICLE_NOT_FOUND", "No connected vehicle has this id."
            )
        return vehicle

    def _user_vehicle(self, request: EmuRequest, vehicle_id: str) -> tuple[Vehicle, Connection]:
        """The vehicle and the connection ``sc-user-id`` has to it."""
        user_id = request.headers.get("sc-user-id")
        if not user_id:
            raise _fail(400, "VALIDATION", "PARAMETER", "The sc-user-id header is required.")
        state = self.state
        connection_id = state.pair_index.get((vehicle_id, user_id))
        if connection_id is None:
            raise _fail(
                404,
                "RESOURCE_NOT_FOUND",
                "VEHICLE_NOT_FOUND",
                "No vehicle with this id is connected to this user.",
            )
        return state.vehicles[vehicle_id], state.connections[connection_id]

    @staticmethod
    def _query(request: EmuRequest) -> dict[str, str]:
        return dict(parse_qsl(request.query, keep_blank_values=True))

    @staticmethod
    def _json_body(request: EmuRequest) -> Any:
        if not request.body:
            return None
        try:
            return json.loads(request.body)
        except ValueError:
            raise _fail(
                400, "VALIDATION", "INVALID_INPUT_FORMAT", "The body is not valid JSON."
            ) from None

    # -- token endpoint ---------------------------------------------------------------

    def _h_token(
        self, request: EmuRequest, params: list[str], route: Route, rid: str
    ) -> EmuResponse:
        content_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
        fields: dict[str, Any] = {}
        if request.body:
            if content_type == "application/json":
                try:
                    parsed = json.loads(request.body)
                except ValueError:
                    return oauth_error(400, "invalid_request", "The JSON body is malformed.")
                if not isinstance(parsed, dict):
                    return oauth_error(400, "invalid_request", "The JSON body must be an object.")
                fields = parsed
            else:
                fields = dict(parse_qsl(request.body.decode("latin-1"), keep_blank_values=True))
        basic = self._basic_credentials(request)
        if basic == ("", ""):
            return oauth_error(400, "invalid_request", "Malformed Basic authorization header.")
        if basic is not None and ("client_id" in fields or "client_secret" in fields):
            # RFC 6749 §2.3: one authentication method per request.
            return oauth_error(
                400, "invalid_request", "Send client credentials in the body or as Basic, not both."
            )
        if fields.get("grant_type") != "client_credentials":
            return oauth_error(400, "invalid_request", "grant_type must be client_credentials.")
        client_id, client_secret = basic or (fields.get("client_id"), fields.get("client_secret"))
        if not client_id or not client_secret:
            return oauth_error(400, "invalid_request", "client_id and client_secret are required.")
        if client_id != self.client_id or client_secret != self.client_secret:
            return oauth_error(401, "invalid_client", "Client authentication failed.")
        token = self.tokens.issue(self.clock.now(), self.token_lifetime)
        self.stats.tokens_issued += 1
        return json_response(
            200,
            {
                "access_token": token,
                "token_type": "Bearer",
                "expires_in": int(self.token_lifetime),
            },
        )

    @staticmethod
    def _basic_credentials(request: EmuRequest) -> tuple[str, str] | None:
        header = request.headers.get("authorization")
        if not header or header[:6].lower() != "basic ":
            return None
        try:
            decoded = base64.b64decode(header[6:].strip(), validate=True).decode()
        except (binascii.Error, UnicodeDecodeError):
            return ("", "")
        client_id, sep, secret = decoded.partition(":")
        return (client_id, secret) if sep else ("", "")

    # -- connections and users ----------------------------------------------------------

    def _h_list_connections(
        self, request: EmuRequest, params: list[str], route: Route, rid: str
    ) -> EmuResponse:
        query = self._query(request)
        state = self.state
        mode = query.get("filter[vehicle.mode]") or "live"
        if mode not in MODES:
            raise _fail(
                400, "VALIDATION", "PARAMETER", "filter[vehicle.mode] is live or simulated."
            )
        user_id = query.get("filter[userId]")
        vehicle_id = query.get("filter[vehicleId]")
        external_id = query.get("filter[user.externalId]")
        if user_id is not None:
            candidates: Any = state.by_user.get(user_id, ())
        elif vehicle_id is not None:
            candidates = state.by_vehicle.get(vehicle_id, ())
        else:
            candidates = state.connections
        vehicles = state.vehicles
        selected = []
        for connection_id in candidates:
            connection = state.connections[connection_id]
            if vehicles[connection.vehicle_id].mode != mode:
                continue
            if vehicle_id is not None and connection.vehicle_id != vehicle_id:
                continue
            if (
                external_id is not None
                and state.users[connection.user_id].external_id != external_id
            ):
                continue
            selected.append(connection)
        body = self._collection(
            selected,
            query,
            "/connections",
            10,
            self._beside_vehicle(connection_resource),
        )
        body["meta"].update(orderBy="createdAt", orderDirection="asc")
        return json_response(200, body)

    def _connection(self, connection_id: str) -> Connection:
        return found(self.state.connections, connection_id, "connection")

    def _h_get_connection(
        self, request: EmuRequest, params: list[str], route: Route, rid: str
    ) -> EmuResponse:
        return self._get_owned(self._connection(params[0]), connection_resource)

    def _h_delete_connection(
        self, request: EmuRequest, params: list[str], route: Route, rid: str
    ) -> EmuResponse:
        self.state.remove_connection(self._connection(params[0]).id)
        return EmuResponse(204, b"", [])

    def _h_delete_user(
        self, request: EmuRequest, params: list[str], route: Route, rid: str
    ) -> EmuResponse:
        if params[0] not in self.state.users:
            raise _fail(404, "RESOURCE_NOT_FOUND", None, "No user has this id.")
        self.state.remove_user(params[0])
        return EmuResponse(204, b"", [])

    def _h_connect(
        self, request: EmuRequest, params: list[str], route: Route, rid: str
    ) -> EmuResponse:
        if self.connect is None:
            raise _fail(404, "RESOURCE_NOT_FOUND", "INVALID_PATH", "Connect is not emulated here.")
        return self.connect(request, route)

    # -- vehicles and signals -----------------------------------------------------------

    def _h_get_vehicle(
        self, request: EmuRequest, params: list[str], route: Route, rid: str
    ) -> EmuResponse:
        # No sc-user-id here: the spec does not list it for this endpoint (reference §4.2).
        vehicle = self._vehicle(params[0])
        if vehicle.vehicle_json is None:  # a vehicle's attributes never change
            vehicle.vehicle_json = dumps({"data": vehicle_resource(vehicle)})
        return EmuResponse(200, vehicle.vehicle_json)

    def _h_list_signals(
        self, request: EmuRequest, params: list[str], route: Route, rid: str
    ) -> EmuResponse:
        vehicle, _ = self._user_vehicle(request, params[0])
        signals = self.state.signals(vehicle)
        system = unit_system(request.headers)
        number, size = self._signal_page(self._query(request))
        if size is None and system != IMPERIAL:
            body = signals_collection_bytes(vehicle, signals, describe)  # cached
        else:
            size = size if size is not None else max(1, len(signals))
            body = signals_page_bytes(
                vehicle, signals, describe, number=number, size=size, system=system
            )
        return EmuResponse(200, body, [("sc-unit-system", system)])

    def _signal_page(self, query: Mapping[str, str]) -> tuple[int, int | None]:
        """The page asked for: ``page``/``pageSize`` (the published example's names) or
        ``page[number]``/``page[size]``; else the emulator's ``signals_page_size``."""
        try:
            number = page_param(query, "page", 0, None) or page_param(
                query, "page[number]", 1, None
            )
            size = page_param(query, "pageSize", 0, 100) or page_param(query, "page[size]", 0, 100)
        except PageError as error:
            raise _fail(400, "VALIDATION", "PARAMETER", str(error)) from None
        return number, size or self.signals_page_size

    def _h_get_signal(
        self, request: EmuRequest, params: list[str], route: Route, rid: str
    ) -> EmuResponse:
        vehicle, _ = self._user_vehicle(request, params[0])
        code = params[1]
        signal = self.state.signals(vehicle).get(code)
        if signal is None:
            raise _fail(
                404,
                "RESOURCE_NOT_FOUND",
                "SIGNAL_NOT_FOUND",
                f"This vehicle has no signal {code!r}.",
            )
        system = unit_system(request.headers)
        if system == IMPERIAL:
            body = dumps(signal_resource_in(vehicle, code, signal, describe, system))
        else:
            body = signal_resource_bytes(vehicle, code, signal, describe)
        if self.single_signal_wrapped:
            body = b'{"data":' + body + b"}"
        return EmuResponse(200, body, [("sc-unit-system", system)])

    def put_bodies(self, vehicle: Vehicle, bodies: Mapping[str, dict[str, Any]]) -> None:
        """Store new signal bodies as read from the vehicle just now."""
        now = self.now_ms()
        for code, body in bodies.items():
            self.state.put_signal(vehicle, code, SignalState(body, now, now))

    # -- commands -----------------------------------------------------------------------

    def _h_command(
        self, request: EmuRequest, params: list[str], route: Route, request_id: str
    ) -> EmuResponse:
        spec = _COMMANDS_BY_ROUTE[route.name]
        vehicle, connection = self._user_vehicle(request, params[0])
        parameters = spec.parameters(self._json_body(request) if spec.has_body else None)
        check_capable(
            vehicle,
            spec.command_type,
            vehicle.is_electric or not spec.electric_only,
            f"({vehicle.powertrain_type}) cannot perform {spec.command_type}",
        )
        check_permission(connection.permissions, spec.permission)
        check_awake(vehicle)
        signals = self.state.signals(vehicle)
        self.put_bodies(vehicle, spec.effects(vehicle, signals, parameters))
        execution_id = self._record(vehicle, connection, spec.command_type, parameters, request_id)
        delay = (
            vehicle.long_running_delay
            if vehicle.long_running_delay is not None
            else self.long_running_delay
        )
        return self._execution_response(
            execution_id,
            "command-execution",
            {"commandType": spec.command_type},
            parameters,
            delay,
        )

    def _record(
        self,
        vehicle: Vehicle,
        connection: Connection,
        command_type: str,
        parameters: dict[str, Any],
        request_id: str,
    ) -> str:
        execution_id = self.ids.hex("exec_", 8)
        stats = self.stats
        stats.command_executions[vehicle.id] += 1
        stats.commands[(vehicle.id, command_type)] += 1
        self.command_log.append(
            CommandRecord(
                execution_id,
                vehicle.id,
                connection.user_id,
                command_type,
                parameters,
                request_id,
                self.clock.now(),
            )
        )
        return execution_id

    def _execution_response(
        self,
        execution_id: str,
        type_: str,
        attributes: dict[str, Any],
        parameters: dict[str, Any],
        delay: float,
        links: dict[str, str] | None = None,
    ) -> EmuResponse:
        """200 with the execution, or 202 whose body arrives ``delay`` seconds later."""
        started = self.wall()
        duration = delay if delay > 0 else 2.0
        resource: dict[str, Any] = {
            "id": execution_id,
            "type": type_,
            "attributes": {
                **attributes,
                "status": {"value": "SUCCESS"},
                "executionMode": "async" if delay > 0 else "sync",
                "parameters": parameters,
            },
            "meta": {
                "executedAt": iso(started),
                "completedAt": iso(started + duration),
                "durationInSeconds": round(duration),
            },
        }
        if links:
            resource["links"] = links
        body = dumps({"data": resource})
        if delay <= 0:
            return EmuResponse(200, body)
        clock = self.clock

        async def final_body() -> AsyncIterator[bytes]:
            # The vehicle acted when the request was accepted; the API holds the
            # connection open and streams the result when the vehicle reports back.
            await clock.sleep(delay)
            yield body

        return EmuResponse(202, stream=final_body)

    def _h_create_schedule(
        self, request: EmuRequest, params: list[str], route: Route, request_id: str
    ) -> EmuResponse:
        kind = route.pattern[-1]
        assert kind is not None
        vehicle, connection = self._user_vehicle(request, params[0])
        parameters = validate_schedule(kind, self._json_body(request))
        command_type = f"charge-schedule-{kind}"
        check_capable(
            vehicle,
            command_type,
            schedule_supported(vehicle, kind),
            f"does not take {kind} charge schedules",
        )
        check_permission(connection.permissions, "control_charge")
        check_awake(vehicle)
        schedule_id = self.ids.uuid()
        vehicle.schedules[schedule_id] = {"kind": kind, "parameters": parameters}
        self.put_bodies(
            vehicle, schedule_effects(self.state.signals(vehicle), schedule_id, kind, parameters)
        )
        execution_id = self._record(vehicle, connection, command_type, parameters, request_id)
        return self._execution_response(
            execution_id,
            "charge-schedule-execution",
            {"action": "create", "scheduleType": kind, "scheduleId": schedule_id},
            parameters,
            0.0,
            {"schedule": f"/vehicles/{vehicle.id}/charge-schedules/{schedule_id}"},
        )

    def _h_delete_schedule(
        self, request: EmuRequest, params: list[str], route: Route, request_id: str
    ) -> EmuResponse:
        vehicle, connection = self._user_vehicle(request, params[0])
        check_permission(connection.permissions, "control_charge")
        schedule = vehicle.schedules.get(params[1])
        if schedule is None:
            raise _fail(404, "RESOURCE_NOT_FOUND", None, "This vehicle has no such schedule.")
        check_awake(vehicle)
        del vehicle.schedules[params[1]]
        self.put_bodies(
            vehicle, schedule_effects(self.state.signals(vehicle), params[1], None, None)
        )
        execution_id = self._record(
            vehicle, connection, "charge-schedule-delete", {"scheduleId": params[1]}, request_id
        )
        return self._execution_response(
            execution_id,
            "charge-schedule-execution",
            {
                "action": "delete",
                "scheduleType": str(schedule["kind"]),
                "scheduleId": params[1],
            },
            {},
            0.0,
        )


def _injected_error(fault: Fault, route: Route | None) -> EmuResponse:
    """The error a status or rate-limit fault answers with: its own body, or the one
    the route's API would send (OAuth for the token endpoint, v3 for the others)."""
    if fault.body is not None:
        return EmuResponse(fault.status_code, fault.body, [("content-type", fault.content_type)])
    if route is not None and route.api == TOKEN:
        error = "temporarily_unavailable" if fault.status_code in (429, 503) else "server_error"
        return oauth_error(fault.status_code, error, "Injected fault.")
    type_, code = default_error(fault.status_code)
    if fault.kind == "rate_limit":
        type_ = "RATE_LIMIT"
    body = error_body(
        fault.status_code,
        fault.error_type or type_,
        fault.error_code or code,
        fault.detail or "Injected fault.",
    )
    return EmuResponse(fault.status_code, dumps(body))
