"""`SmartcarClient`: configuration, lifecycle, the resources, and `with_options`."""

from __future__ import annotations

import logging
import os
import platform
import ssl
import types
from collections.abc import (
    AsyncGenerator,
    AsyncIterable,
    Awaitable,
    Callable,
    Iterable,
    Sequence,
)
from typing import TYPE_CHECKING, Any, Literal, TypeVar, cast

import anyio.lowlevel
import attrs
import httpx

from ._auth import ClientCredentials, TokenManager, TokenStore
from ._body import DEFAULT_MAX_RESPONSE_SIZE, read_capped
from ._call_context import want_raw_response
from ._clock import Clock, SystemClock
from ._config import (
    DEFAULT_COMMAND_TIMEOUT,
    DEFAULT_LIMITS,
    DEFAULT_TIMEOUT,
    ENV_CLIENT_ID,
    ENV_CLIENT_SECRET,
    resolve_urls,
)
from ._deprecation import DeprecatedAlias
from ._error_types import (
    APIConnectionError,
    APITimeoutError,
    ClientStateError,
    ConfigurationError,
    InvalidRequestError,
    SmartcarError,
)
from ._errors import error_from_response
from ._http import http_client_for
from ._logging import logger, setup_from_environment
from ._pacing import Pacer, RateLimiter
from ._paths import user_id_header
from ._pipeline import (
    CALL_STATE_KEY,
    AuthMiddleware,
    CallState,
    Middleware,
    Next,
    RetryMiddleware,
    ThrottleMiddleware,
    build_chain,
)
from ._pool import PoolSizer
from ._raw import RawResponse
from ._redact import redact
from ._retry import RetryPolicy
from ._version import __version__

if TYPE_CHECKING:
    from typing_extensions import Unpack

    from ._fanout import FanOut, FanOutOptions
    from .resources.management import WebhookEndpoints
    from .resources.vehicles import VehicleHandle

__all__ = ["SmartcarClient", "UnitSystem"]

T = TypeVar("T")
TargetT = TypeVar("TargetT")
ResultT = TypeVar("ResultT")
Host = Literal["vehicle", "management"]
UnitSystem = Literal["metric", "imperial"]

_USER_AGENT = (
    f"smartcar-async/{__version__} (Python {platform.python_version()}; httpx {httpx.__version__})"
)


_OTHER_LOOP = (
    "this SmartcarClient was first used in another event loop; a client and its "
    "connection pool belong to one loop: create one client per event loop"
)
_CLOSED = "this SmartcarClient is closed"


def _current_loop() -> object:
    """An object that identifies the running event loop (the asyncio loop or trio run)."""
    return anyio.lowlevel.current_token().native_token


@attrs.define
class _Shared:
    """State a client shares with the clients `with_options` derives from it."""

    http: httpx.AsyncClient
    owns_http: bool
    tokens: TokenManager
    throttle: ThrottleMiddleware
    pacing: Pacer | None
    clock: Clock
    vehicle_api_url: str
    management_api_url: str
    token_url: str
    pool: PoolSizer
    max_response_size: int
    loop: object | None = None
    closed: bool = False
    # Parked in the loop the client first ran in: event loops finalise their live async
    # generators before they close (asyncio.run, trio.run), so the pool is closed in
    # its own loop instead of leaving sockets to a dead one.
    guard: AsyncGenerator[None, None] | None = None


async def _close_shared(shared: _Shared) -> None:
    if shared.closed:
        return
    shared.closed = True
    if shared.owns_http:
        await shared.http.aclose()


async def _close_with_loop(shared: _Shared) -> AsyncGenerator[None, None]:
    try:
        yield
    finally:
        await _close_shared(shared)


class SmartcarClient:
    """The client for Smartcar's v3 Vehicle and Management APIs.

    One client per process (per event loop), opened once and shared by every task: it
    holds the connection pool and the application token.

    Args:
        client_id: the v3 API-credential client id; default ``SMARTCAR_CLIENT_ID``.
        client_secret: its secret; default ``SMARTCAR_CLIENT_SECRET``.
        token_url: the token endpoint; default ``SMARTCAR_TOKEN_URL`` or Smartcar's.
        vehicle_api_url: the Vehicle API base; default ``SMARTCAR_VEHICLE_API_URL``.
        management_api_url: the Management API base; default
            ``SMARTCAR_MANAGEMENT_API_URL``.
        http_client: your own `httpx.AsyncClient`, used as given and not closed by
            the SDK. By default the SDK makes one with generous pool limits.
        transport: an httpx transport for the SDK's own client (the emulator's, say).
            Ignored when ``http_client`` is given.
        timeout: timeouts for reads and management calls (read: 310 s, as the docs say
            to expect up to 300 s and both official SDKs wait 310 s).
        command_timeout: timeouts for commands (read: 310 s, the same reason).
        retry: the `RetryPolicy`.
        middleware: your own middleware, outermost first (tracing, metrics...).
        token_store: where the application token is kept; in memory by default.
        clock: the time source (tests pass a `VirtualClock`).
        limits: connection pool limits for the SDK's own HTTP client. Left at the
            default, the pool grows when a `fan_out` asks for more concurrency than it
            has; set, it stays as set (a larger fan-out warns once).
        verify: TLS verification for the SDK's own HTTP client: True (the system's
            trust store), an `ssl.SSLContext` or a CA bundle path. Never turn it off
            against the real API.
        http2: speak HTTP/2 where the server offers it (needs the ``http2`` extra).
        token_auth: ``"post"`` (credentials in the form body, the documented way) or
            ``"basic"``.
        unit_system: ``"metric"`` (Smartcar's default) or ``"imperial"``: the units of
            signal values, sent as ``sc-unit-system`` on signal reads and commands.
        rate_limit: pace every request to the application's bucket, so that fleet jobs
            never meet the app-wide 429: a `LocalRateLimiter` for one process, or
            `smartcar_async.contrib.redis.RedisRateLimiter` for many. Each attempt waits
            for a slot, in FIFO order, at most the pool timeout. None: no pacing.
        max_response_size: the largest response body, in bytes after decompression,
            that the SDK reads (64 MiB by default); a larger one raises
            `APIResponseError`. Applies whatever transport or ``http_client`` is used.
        proxy: send every request through this proxy (``http://host:port``, with
            ``user:password@`` if it needs credentials); https goes through a
            ``CONNECT`` tunnel, so the proxy never sees tokens or the secret.
        trust_env: take the proxy from ``HTTPS_PROXY``/``HTTP_PROXY``/``ALL_PROXY``,
            honouring ``NO_PROXY``. Off by default: the SDK's own client reads no
            network settings from the environment. (A ``http_client`` you pass is
            used as you built it: httpx's own client honours these variables unless
            you give it ``trust_env=False``.)

    Examples:
        >>> async with SmartcarClient() as client:
        ...     signals = await client.vehicles.signals(vehicle_id, user_id=user_id)
        ...     print(signals.value("tractionbattery-stateofcharge"))
    """

    #: Deprecated old name of ``webhook_endpoints``; warns once per client.
    webhooks: DeprecatedAlias[WebhookEndpoints] = DeprecatedAlias(
        "webhook_endpoints", "smartcar_async.webhooks is the module that receives webhooks"
    )

    def __init__(
        self,
        *,
        client_id: str | None = None,
        client_secret: str | None = None,
        token_url: str | None = None,
        vehicle_api_url: str | None = None,
        management_api_url: str | None = None,
        http_client: httpx.AsyncClient | None = None,
        transport: httpx.AsyncBaseTransport | None = None,
        timeout: httpx.Timeout = DEFAULT_TIMEOUT,
        command_timeout: httpx.Timeout = DEFAULT_COMMAND_TIMEOUT,
        retry: RetryPolicy | None = None,
        middleware: Sequence[Middleware] = (),
        token_store: TokenStore | None = None,
        clock: Clock | None = None,
        limits: httpx.Limits = DEFAULT_LIMITS,
        verify: ssl.SSLContext | str | bool = True,
        http2: bool = False,
        token_auth: Literal["post", "basic"] = "post",
        rate_limit: RateLimiter | None = None,
        unit_system: UnitSystem = "metric",
        max_response_size: int = DEFAULT_MAX_RESPONSE_SIZE,
        proxy: str | None = None,
        trust_env: bool = False,
    ) -> None:
        setup_from_environment()
        client_id = client_id or os.environ.get(ENV_CLIENT_ID)
        client_secret = client_secret or os.environ.get(ENV_CLIENT_SECRET)
        if not client_id or not client_secret:
            raise ConfigurationError(
                "missing credentials: pass client_id and client_secret, or set "
                f"{ENV_CLIENT_ID} and {ENV_CLIENT_SECRET}"
            )
        if isinstance(max_response_size, bool) or not (
            isinstance(max_response_size, int) and max_response_size > 0
        ):
            raise ConfigurationError("max_response_size must be a positive number of bytes")
        token_url, vehicle_api_url, management_api_url = resolve_urls(
            token_url, vehicle_api_url, management_api_url
        )
        clock = clock if clock is not None else SystemClock()
        owns_http = http_client is None
        http_client, pool = http_client_for(
            (token_url, vehicle_api_url, management_api_url),
            http_client=http_client,
            transport=transport,
            timeout=timeout,
            limits=limits,
            verify=verify,
            http2=http2,
            proxy=proxy,
            trust_env=trust_env,
        )
        tokens = TokenManager(
            ClientCredentials(client_id, client_secret),
            token_url=token_url,
            http_client=http_client,
            store=token_store,
            clock=clock,
            auth_method=token_auth,
        )
        shared = _Shared(
            http=http_client,
            owns_http=owns_http,
            tokens=tokens,
            throttle=ThrottleMiddleware(clock),
            pacing=Pacer(rate_limit, clock) if rate_limit is not None else None,
            clock=clock,
            vehicle_api_url=vehicle_api_url,
            management_api_url=management_api_url,
            token_url=token_url,
            pool=pool,
            max_response_size=max_response_size,
        )
        self._setup(
            shared,
            timeout=timeout,
            command_timeout=command_timeout,
            retry=retry if retry is not None else RetryPolicy(),
            middleware=tuple(middleware),
            unit_system=_check_unit_system(unit_system),
            derived=False,
        )

    def _setup(
        self,
        shared: _Shared,
        *,
        timeout: httpx.Timeout,
        command_timeout: httpx.Timeout,
        retry: RetryPolicy,
        middleware: tuple[Middleware, ...],
        unit_system: UnitSystem,
        derived: bool,
    ) -> None:
        self._shared = shared
        self._unit_system: UnitSystem = unit_system
        self._timeout = timeout
        self._command_timeout = command_timeout
        self._retry = retry
        self._middleware = middleware
        self._derived = derived
        # An httpx.Headers, built once: httpx merges it into the client's own headers by
        # copying its list, where a dict would be normalised again on every call.
        self._headers = httpx.Headers(
            {
                "Accept": "application/json",
                # Sent on every call, GETs included: one integration found GETs without it
                # answered VEHICLE_NOT_FOUND.
                "Content-Type": "application/json",
                "User-Agent": _USER_AGENT,
            }
        )
        self._base_urls = {
            "vehicle": shared.vehicle_api_url,
            "management": shared.management_api_url,
        }
        # Every attempt (retries and a 401's replay included) is admitted by auth: its
        # token, the app-wide pause, its slot; the throttle, last, notes which pause it
        # went out in and pauses the client on an app-wide 429.
        layers: list[Middleware] = [
            *middleware,
            RetryMiddleware(shared.clock),
            AuthMiddleware(shared.tokens, shared.throttle, shared.pacing),
            shared.throttle,
        ]
        self._chain: Next = build_chain(layers, self._send_once)
        # Imported here: the resource modules import this module for typing.
        from . import resources

        self.connections = resources.Connections(self)
        self.users = resources.Users(self)
        self.vehicles = resources.Vehicles(self)
        self.commands = resources.Commands(self)
        self.webhook_endpoints = resources.WebhookEndpoints(self)
        self.subscriptions = resources.Subscriptions(self)

    # -- configuration -------------------------------------------------------------------

    def with_options(
        self,
        *,
        retry: RetryPolicy | None = None,
        timeout: httpx.Timeout | None = None,
        command_timeout: httpx.Timeout | None = None,
        middleware: Sequence[Middleware] | None = None,
        unit_system: UnitSystem | None = None,
    ) -> SmartcarClient:
        """A client with other options that shares this one's pool, token and throttle.

        Closing the derived client does nothing; close the original.

        Examples:
            >>> patient = client.with_options(retry=RetryPolicy(max_retries=6))
            >>> await patient.vehicles.signals(vehicle_id, user_id=user_id)
            >>> miles = client.with_options(unit_system="imperial")
        """
        derived = object.__new__(SmartcarClient)
        derived._setup(
            self._shared,
            timeout=timeout if timeout is not None else self._timeout,
            command_timeout=command_timeout
            if command_timeout is not None
            else self._command_timeout,
            retry=retry if retry is not None else self._retry,
            middleware=tuple(middleware) if middleware is not None else self._middleware,
            unit_system=self._unit_system
            if unit_system is None
            else _check_unit_system(unit_system),
            derived=True,
        )
        return derived

    @property
    def unit_system(self) -> UnitSystem:
        """The unit system sent as ``sc-unit-system`` on signal reads and commands."""
        return self._unit_system

    @property
    def retry(self) -> RetryPolicy:
        """This client's default `RetryPolicy`."""
        return self._retry

    @property
    def tokens(self) -> TokenManager:
        """The `TokenManager` (shared with derived clients)."""
        return self._shared.tokens

    @property
    def http_client(self) -> httpx.AsyncClient:
        """The underlying `httpx.AsyncClient`."""
        return self._shared.http

    @property
    def clock(self) -> Clock:
        """The client's clock."""
        return self._shared.clock

    @property
    def rate_limit_paused_seconds(self) -> float:
        """Seconds this client (with the clients derived from it) has been paused after
        app-wide 429s (``RATE_LIMIT:SMARTCAR_API``)."""
        return self._shared.throttle.paused_seconds

    @property
    def rate_limit_waited_seconds(self) -> float:
        """Seconds this process's requests have waited for the ``rate_limit`` pacer, in
        total (0 without one)."""
        pacing = self._shared.pacing
        limiter = pacing.limiter if pacing is not None else None
        waited = getattr(limiter, "waited", 0.0)
        return float(waited) if isinstance(waited, (int, float)) else 0.0

    def __repr__(self) -> str:
        return (
            f"<SmartcarClient vehicle_api_url={self._shared.vehicle_api_url!r} "
            f"client_id={self._shared.tokens._credentials.client_id!r}>"
        )

    def fan_out(
        self,
        targets: Iterable[TargetT] | AsyncIterable[TargetT],
        fn: Callable[[TargetT], Awaitable[ResultT]],
        **options: Unpack[FanOutOptions],
    ) -> FanOut[TargetT, ResultT]:
        """Run ``fn`` over many targets with bounded concurrency; outcomes as they finish.

        ``targets`` is pulled lazily, one error is one outcome (unless ``fail_fast``),
        a per-vehicle 429 is waited out without holding a slot, and the client's
        throttle pauses every worker after an app-wide 429. The options are
        `FanOutOptions`; see `smartcar_async.FanOut` for every argument and the fleet
        guide for examples.

        Examples:
            >>> async with client.fan_out(vehicle_ids, read, concurrency=200) as outcomes:
            ...     async for outcome in outcomes:
            ...         print(outcome.target, outcome.ok)
        """
        from ._fanout import DEFAULT_OPTIONS, FanOut

        fan_out: FanOut[TargetT, ResultT] = FanOut(targets, fn, clock=self._shared.clock, **options)
        self._shared.pool.fit(options.get("concurrency", DEFAULT_OPTIONS["concurrency"]))
        return fan_out

    def vehicle(self, vehicle_id: str, *, user_id: str) -> VehicleHandle:
        """A handle on one vehicle, for the user who connected it.

        The handle has every read and command of the vehicle (``get``, ``signals``,
        ``signal``, ``lock``, ``set_charge_limit``...), with the ids checked once here.

        Raises:
            ValueError: ``vehicle_id`` is not a single path segment, or ``user_id`` is
                missing or empty.

        Examples:
            >>> car = client.vehicle(vehicle_id, user_id=user_id)
            >>> await car.lock()
            >>> signals = await car.signals()
        """
        from .resources.vehicles import VehicleHandle

        return VehicleHandle(self, vehicle_id, user_id=user_id)

    # -- lifecycle -----------------------------------------------------------------------

    async def __aenter__(self) -> SmartcarClient:
        await self._adopt_loop()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: types.TracebackType | None,
    ) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        """Close the connection pool (unless it was passed in as ``http_client``).

        Calls still in flight end with `ClientStateError` (a retry or a replay is not
        sent). A client whose event loop ends without `aclose` is closed by the loop's
        shutdown, so a later ``asyncio.run`` finds it closed, not holding dead sockets.

        Raises:
            ClientStateError: the pool's connections belong to another event loop that
                could not close them.
        """
        shared = self._shared
        if self._derived or shared.closed:
            return
        try:
            await _close_shared(shared)
        except RuntimeError as exc:  # "Event loop is closed": sockets of another loop
            raise ClientStateError(_OTHER_LOOP) from exc
        if shared.guard is not None:
            await shared.guard.aclose()

    @property
    def is_closed(self) -> bool:
        """Whether `aclose` has run."""
        return self._shared.closed

    # -- the request path ----------------------------------------------------------------

    async def _adopt_loop(self) -> None:
        """Make the running loop the client's, on first use."""
        shared = self._shared
        if shared.loop is not None:
            return
        shared.loop = _current_loop()
        shared.guard = _close_with_loop(shared)
        await shared.guard.asend(None)

    def _check_loop(self) -> None:
        shared = self._shared
        if shared.loop is not _current_loop():
            raise ClientStateError(_OTHER_LOOP)
        if shared.closed:
            raise ClientStateError(_CLOSED)

    async def _send_once(self, request: httpx.Request) -> httpx.Response:
        shared = self._shared
        if shared.closed:
            # A retry, replay or queued call after aclose(): say so, rather than let the
            # closed httpx client or transport raise its own RuntimeError.
            raise ClientStateError(_CLOSED)
        try:
            # Never follow a redirect, whatever client was passed in: a 307 would re-send
            # the bearer token (or a command) to wherever the Location header points.
            response = await shared.http.send(request, stream=True, follow_redirects=False)
        except RuntimeError as exc:
            if shared.closed:
                raise ClientStateError(_CLOSED) from exc
            raise
        await read_capped(response, shared.max_response_size)
        # The body is read and the stream closed. httpx's spent stream points back at
        # the response (a reference cycle), so without this every response, its body
        # and the request would wait for the cyclic garbage collector instead of going
        # as soon as the call is done: under fan-out, megabytes of dead bodies.
        response.stream = httpx.ByteStream(response.content)
        if logger.isEnabledFor(logging.DEBUG):
            logger.debug(
                "%s %s -> %d request_id=%s",
                request.method,
                request.url.path,
                response.status_code,
                response.headers.get("sc-request-id"),
            )
        return response

    def url(self, host: Host, path: str) -> str:
        """The full URL of ``path`` on the vehicle or management API."""
        return self._base_urls[host] + path

    async def request(
        self,
        method: str,
        host: Host,
        path: str,
        *,
        params: dict[str, Any] | None = None,
        json: object | None = None,
        user_id: str | None = None,
        command: bool = False,
        units: bool = False,
        retry: RetryPolicy | None = None,
        # httpx's per-request timeouts, not a deadline for the whole call (ASYNC109).
        timeout: httpx.Timeout | None = None,  # noqa: ASYNC109
    ) -> tuple[httpx.Response, CallState]:
        """Send one call through the pipeline; return the 2xx response or raise.

        This is the SDK's own request path, public so that an endpoint the SDK does not
        wrap yet can still be called with auth, retries and errors handled.

        Args:
            method: the HTTP method.
            host: ``"vehicle"`` or ``"management"``.
            path: the path below the base URL, ids already made safe.
            params: query parameters.
            json: the JSON body, if any.
            user_id: sent as ``sc-user-id`` when given.
            command: True for commands: never re-sent once they may have reached the
                server, sent with ``command_timeout`` and ``sc-unit-system``.
            units: send ``sc-unit-system`` (signal reads; never ``GET /vehicles/{id}``,
                which the official SDKs send without it).
            retry: the `RetryPolicy` for this call.
            timeout: the timeout for this call.

        Raises:
            APIStatusError: a non-2xx answer (its subclass by error type).
            APIConnectionError: no answer.

        Examples:
            >>> response, _ = await client.request("GET", "vehicle", "/vehicles/abc")
        """
        if self._shared.loop is None:
            await self._adopt_loop()
        self._check_loop()
        headers = self._headers
        if user_id is not None or command or units:
            headers = headers.copy()  # the client's own stays as built
            if user_id is not None:
                headers["sc-user-id"] = user_id_header(user_id)
            if command or units:
                headers["sc-unit-system"] = self._unit_system
        if timeout is None:
            timeout = self._command_timeout if command else self._timeout
        if not isinstance(timeout, httpx.Timeout):  # a float or tuple, as httpx accepts
            timeout = httpx.Timeout(timeout)
        state = CallState(retry=retry if retry is not None else self._retry, idempotent=not command)
        # The timeout goes in as the extension httpx would build from ``timeout=`` (the
        # same dict), which spares build_request a copy of the Timeout; the call state
        # rides in the same, fresh, dict.
        try:
            request = self._shared.http.build_request(
                method,
                self._base_urls[host] + path,
                params=params,
                json=json,
                headers=headers,
                extensions={"timeout": timeout.as_dict(), CALL_STATE_KEY: state},
            )
        except (httpx.InvalidURL, ValueError, TypeError) as exc:
            # The ids are checked already; this is what httpx still refuses (a query value
            # too long for a URL, a body json cannot encode...). Its text may quote the
            # whole offending value, so only the kind of failure is kept in the message.
            raise InvalidRequestError(
                f"{method} {path[:200]}: the request could not be built ({type(exc).__name__})"
            ) from exc
        try:
            response = await self._exchange(request)
            if not 200 <= response.status_code < 300:
                raise error_from_response(response)
        except SmartcarError as exc:
            # The one exit of every call's errors: mask the credentials in whatever the
            # error exposes or chains before an error tracker serialises it.
            redact(exc, (self._shared.tokens.credentials.client_secret,))
            raise
        return response, state

    async def _exchange(self, request: httpx.Request) -> httpx.Response:
        """The pipeline, with httpx's exceptions turned into the SDK's."""
        method = request.method
        try:
            return await self._chain(request)
        except (httpx.RequestError, APIConnectionError) as exc:
            # aclose() fails the requests still on the pool's connections, the token
            # request included: say so, rather than blame the server. (A pool passed in
            # is not closed by aclose(): its errors are the server's.)
            if self._shared.closed and self._shared.owns_http:
                raise _closed_in_flight(request, sent=isinstance(exc, httpx.RequestError)) from exc
            if isinstance(exc, APIConnectionError):  # the token endpoint's, already ours
                raise
            if isinstance(exc, httpx.TimeoutException):
                raise APITimeoutError(
                    f"{method} {request.url.path} timed out ({type(exc).__name__})",
                    method=method,
                    url=str(request.url.copy_with(query=None)),
                ) from exc
            # TransportError and the rest (DecodingError: a body that cannot be
            # decompressed) alike: no raw httpx exception escapes the SDK.
            raise APIConnectionError(
                f"{method} {request.url.path} failed: {type(exc).__name__}: {exc}",
                method=method,
                url=str(request.url.copy_with(query=None)),
            ) from exc

    async def _call(
        self,
        method: str,
        host: Host,
        path: str,
        parse: Callable[[httpx.Response], T],
        **options: Any,
    ) -> T:
        """`request`, then ``parse(response)`` (or a `RawResponse` in raw mode)."""
        response, state = await self.request(method, host, path, **options)
        if want_raw_response.get():  # set by with_raw_response (see _call_context)
            raw = RawResponse(response, lambda: parse(response), retries=state.retries)
            return cast(T, raw)
        return parse(response)


def _closed_in_flight(request: httpx.Request, *, sent: bool) -> ClientStateError:
    # ``sent``: the request itself was on the wire (not its token request, not a wait).
    state = request.extensions.get(CALL_STATE_KEY)
    command = sent and isinstance(state, CallState) and not state.idempotent
    return ClientStateError(
        f"this SmartcarClient was closed while {request.method} {request.url.path} was in "
        "flight" + ("; the command may have reached the vehicle" if command else "")
    )


def _check_unit_system(value: object) -> UnitSystem:
    if value == "metric":
        return "metric"
    if value == "imperial":
        return "imperial"
    raise ConfigurationError(f"unit_system must be 'metric' or 'imperial', got {value!r}")
