"""Application tokens: `ClientCredentials`, `AccessToken`, `TokenManager`, `TokenStore`.

The v3 API authenticates the application with one client-credentials token, valid an
hour. `TokenManager.get` is on every request's path, so it returns the cached token
without awaiting anything while the token is fresh. Near expiry:

- inside the *advisory* window one caller refreshes while the others keep using the
  still-valid token;
- inside the *mandatory* window, or with no token, callers queue on one lock; the first
  refreshes and the rest take its token (or its error): one token request however many
  callers.

The lock is taken and released by the same task in the same frame, so a cancelled
refresher simply releases it and the next waiter refreshes.
"""

from __future__ import annotations

import base64
import copy
import math
from collections.abc import Awaitable, Callable
from typing import Protocol

import anyio
import attrs
import httpx

from ._body import read_capped
from ._clock import Clock, SystemClock
from ._error_types import APIResponseError, SmartcarError, TokenConnectionError, TokenError
from ._logging import logger
from ._redact import redact

__all__ = [
    "MAX_TOKEN_LIFETIME",
    "MIN_TOKEN_LIFETIME",
    "AccessToken",
    "ClientCredentials",
    "InMemoryTokenStore",
    "TokenManager",
    "TokenStore",
    "token_lifetime",
]

_TOKEN_RETRIES = 2
_TOKEN_BACKOFF = (0.25, 1.0)
_DEFAULT_TOKEN_TIMEOUT = httpx.Timeout(10.0)

#: The shortest token lifetime the manager works with, in seconds. A shorter
#: ``expires_in`` (0.001, say) would make the token expire before the callers queued
#: for it could use it, and each of them would send a token request of its own; such a
#: token is used for this long instead (if the API refuses it sooner, the 401 replay
#: fetches a new one).
MIN_TOKEN_LIFETIME = 1.0

#: The longest ``expires_in`` accepted, in seconds (a year; Smartcar grants an hour).
#: Anything longer, or not a finite number, is a broken answer: `TokenError`.
MAX_TOKEN_LIFETIME = 366 * 24 * 3600.0

#: A token answer is a few hundred bytes; a larger body is not read further.
_MAX_TOKEN_BODY = 64 * 1024


@attrs.frozen(repr=False)
class ClientCredentials:
    """A v3 API credential pair. The secret never appears in ``repr`` or ``str``.

    Examples:
        >>> ClientCredentials("client_abc", "s3cr3t")
        ClientCredentials(client_id='client_abc', client_secret=<hidden>)
    """

    client_id: str
    client_secret: str

    def __repr__(self) -> str:
        return f"ClientCredentials(client_id={self.client_id!r}, client_secret=<hidden>)"

    __str__ = __repr__


@attrs.frozen(repr=False)
class AccessToken:
    """An application token and when it expires, on the `TokenManager`'s clock.

    Attributes:
        value: the bearer token itself (never shown by ``repr``/``str``).
        expires_at: clock reading at which the token expires.
        lifetime: the lifetime the endpoint granted, in seconds.
    """

    value: str
    expires_at: float
    lifetime: float

    def remaining(self, now: float) -> float:
        """Seconds of validity left at clock reading ``now``."""
        return self.expires_at - now

    def __repr__(self) -> str:
        return f"AccessToken(value=<hidden>, expires_at={self.expires_at:.1f})"

    __str__ = __repr__


Fetch = Callable[[], Awaitable[AccessToken]]


class TokenStore(Protocol):
    """Where tokens are kept, and the seam for sharing one across processes.

    The default, `InMemoryTokenStore`, serves one process. A shared store (Redis, say)
    makes ``refresh`` a distributed single flight: it calls ``fetch`` in one process
    and hands the result to the others.

    A store may also define ``bind(*, client_id, token_url, clock)``: `TokenManager`
    calls it once, when it is built, so a shared store can key its entry by
    application and convert expiries between the manager's clock and wall time.
    """

    async def load(self) -> AccessToken | None:
        """The stored token, if any (it may be expired; the manager checks)."""
        ...

    async def refresh(self, fetch: Fetch, *, stale: AccessToken | None) -> AccessToken:
        """Return a token newer than ``stale``: fetch one (``fetch()``) or adopt a peer's."""
        ...

    async def invalidate(self, token: AccessToken) -> None:
        """Forget ``token`` if, and only if, it is still the stored one."""
        ...


class InMemoryTokenStore:
    """The default store: one token in this process's memory."""

    def __init__(self) -> None:
        self._token: AccessToken | None = None

    async def load(self) -> AccessToken | None:
        return self._token

    async def refresh(self, fetch: Fetch, *, stale: AccessToken | None) -> AccessToken:
        token = await fetch()
        self._token = token
        return token

    async def invalidate(self, token: AccessToken) -> None:
        if self._token is not None and self._token.value == token.value:
            self._token = None

    def __repr__(self) -> str:
        return "InMemoryTokenStore()"


def _hint(client_id: str) -> str:
    if client_id.startswith("client_"):
        return ""
    return (
        " Hint: v3 API-credential client ids start with 'client_'; the application id"
        " (a UUID) used for Connect is a different value."
    )


def token_lifetime(expires_in: object) -> float | None:
    """``expires_in`` as the seconds the manager will use the token, or None if absurd.

    A number or numeric text from 0 (excluded) to `MAX_TOKEN_LIFETIME`; below
    `MIN_TOKEN_LIFETIME` it counts as that floor. Integers are compared exactly, so a
    400-digit ``expires_in`` is refused instead of overflowing float arithmetic.

    Examples:
        >>> token_lifetime(3600), token_lifetime("0.001"), token_lifetime(10**400)
        (3600.0, 1.0, None)
    """
    if isinstance(expires_in, bool):
        return None
    seconds: object = expires_in
    if isinstance(seconds, str):
        try:
            seconds = float(seconds)  # "1e999" is inf, refused below
        except ValueError:
            return None
    if not isinstance(seconds, (int, float)):
        return None
    # False for NaN too; an int is compared without being converted first.
    if not 0 < seconds <= MAX_TOKEN_LIFETIME:
        return None
    return max(float(seconds), MIN_TOKEN_LIFETIME)


class TokenManager:
    """Fetches, caches and refreshes the application token.

    Args:
        credentials: the client id and secret.
        token_url: the token endpoint.
        http_client: the HTTP client to send the token request with (not the API
            pipeline: the token request has its own timeout and a small retry).
        store: where the token is kept; `InMemoryTokenStore` by default.
        clock: the time source; `SystemClock` by default.
        advisory_window: seconds before expiry at which one caller starts refreshing.
        mandatory_window: seconds before expiry at which callers wait for a new token.
        auth_method: ``"post"`` sends the credentials in the form body (as the docs
            show); ``"basic"`` sends them in an HTTP Basic header.
        timeout: the token request's own timeout. Its largest value (10 s by default)
            is also one deadline over the whole request, body included.

    Examples:
        >>> manager = TokenManager(credentials, token_url=url, http_client=http)
        >>> token = await manager.get()
    """

    def __init__(
        self,
        credentials: ClientCredentials,
        *,
        token_url: str,
        http_client: httpx.AsyncClient,
        store: TokenStore | None = None,
        clock: Clock | None = None,
        advisory_window: float = 300.0,
        mandatory_window: float = 60.0,
        auth_method: str = "post",
        timeout: httpx.Timeout = _DEFAULT_TOKEN_TIMEOUT,
    ) -> None:
        if auth_method not in ("post", "basic"):
            raise ValueError("auth_method must be 'post' or 'basic'")
        if mandatory_window < 0 or advisory_window < mandatory_window:
            raise ValueError("need 0 <= mandatory_window <= advisory_window")
        self._credentials = credentials
        self._token_url = token_url
        self._http = http_client
        self._store: TokenStore = store if store is not None else InMemoryTokenStore()
        self._clock: Clock = clock if clock is not None else SystemClock()
        # Optional hook (see `TokenStore`): a shared store needs the application and the
        # clock that `AccessToken.expires_at` is measured on.
        bind = getattr(self._store, "bind", None)
        if callable(bind):
            bind(client_id=credentials.client_id, token_url=token_url, clock=self._clock)
        self._advisory = advisory_window
        self._mandatory = mandatory_window
        self._auth_method = auth_method
        self._timeout = timeout
        self._token: AccessToken | None = None
        self._lock = anyio.Lock()
        # Incremented by every finished refresh attempt; a waiter that sees it move while
        # it queued knows an attempt ran for it, and takes that attempt's outcome.
        self._attempts = 0
        self._last_error: TokenError | None = None
        self.requests_sent = 0

    def __repr__(self) -> str:
        return (
            f"TokenManager(client_id={self._credentials.client_id!r}, "
            f"token_url={self._token_url!r}, token={self._token!r})"
        )

    @property
    def clock(self) -> Clock:
        """The clock the manager measures expiry on."""
        return self._clock

    @property
    def credentials(self) -> ClientCredentials:
        """The client id and secret (the secret stays out of ``repr``)."""
        return self._credentials

    @property
    def _deadline(self) -> float:
        """Seconds the whole token request may take: the timeout's largest value."""
        values = [v for v in self._timeout.as_dict().values() if v is not None]
        return max(values, default=math.inf)

    def _windows(self, token: AccessToken) -> tuple[float, float]:
        # Clamp to half the lifetime so a short-lived (test) token is still used for a
        # while instead of being refreshed on every call.
        half = token.lifetime / 2
        return min(self._advisory, half), min(self._mandatory, half)

    def current(self) -> AccessToken | None:
        """The cached token if it can be used now without waiting for a refresh, else
        None (none yet, or in the last part of its life, the mandatory window).

        Examples:
            >>> token = client.tokens.current() or await client.tokens.get()
        """
        token = self._token
        return token if token is not None and self._is_usable(token) else None

    async def get(self) -> AccessToken:
        """A valid token: the cached one when fresh, else a refreshed one.

        Raises:
            TokenError: the token endpoint refused or failed. Its text, its
                ``error_description`` and the requests it chains have the client secret
                and credentials masked.
        """
        return await self._get()

    async def _get(self) -> AccessToken:
        token = self._token
        if token is not None:
            remaining = token.expires_at - self._clock.now()
            advisory, mandatory = self._windows(token)
            if remaining > advisory:
                return token
            if remaining > mandatory:
                return await self._refresh_in_advisory_window(token)
        return await self._refresh_or_wait()

    async def _refresh_in_advisory_window(self, token: AccessToken) -> AccessToken:
        try:
            self._lock.acquire_nowait()
        except anyio.WouldBlock:
            return token  # someone is refreshing; the current token is still good
        try:
            return await self._refresh(stale=token)
        except TokenError as exc:
            # The old token is valid for a while yet: serve it, the next call retries.
            logger.warning("token refresh failed, using the current token: %s", exc)
            return token
        finally:
            self._lock.release()

    async def _refresh_or_wait(self) -> AccessToken:
        seen_attempts = self._attempts
        async with self._lock:
            token = self._token
            if token is not None and self._is_usable(token):
                return token
            ran_for_us = self._attempts != seen_attempts
            if ran_for_us and token is not None and token.remaining(self._clock.now()) > 0:
                # The refresh that ran while we queued got this token; it is short-lived
                # but valid, and taking it keeps one token request for all the waiters.
                return token
            if ran_for_us and self._last_error is not None:
                # The attempt that ran while we queued failed: share its error rather
                # than sending one more request per waiter.
                # A copy of the same class: an outage stays a connection error.
                raise copy.copy(self._last_error) from self._last_error
            return await self._refresh(stale=token)

    def _is_usable(self, token: AccessToken) -> bool:
        _, mandatory = self._windows(token)
        return token.expires_at - self._clock.now() > mandatory

    async def _refresh(self, *, stale: AccessToken | None) -> AccessToken:
        """Refresh while holding the lock; records the outcome for queued callers."""
        try:
            shared = await self._store.load()
            if shared is not None and shared != stale and self._is_usable(shared):
                token = shared  # another client on the same store refreshed already
            else:
                token = await self._store.refresh(self._fetch, stale=stale)
        except TokenError as exc:
            self._record_failure(exc)
            raise
        except Exception as exc:
            if isinstance(exc, SmartcarError):
                raise  # the store's own, deliberate errors (ConfigurationError...)
            # A failure nobody planned for (a store's bug, an answer that breaks
            # arithmetic) is still a token failure: typed, and shared with the waiters
            # instead of each of them sending a request of its own.
            error = TokenError(f"the token refresh failed: {type(exc).__name__}")
            error.__cause__ = exc  # set before masking, so the cause is masked too
            self._record_failure(error)
            raise error from exc
        self._attempts += 1
        self._last_error = None
        self._token = token
        return token

    def _record_failure(self, error: TokenError) -> None:
        """Mask the credentials in a failed refresh's error, then keep it for the waiters.

        Every token failure passes here, whether it is raised, shared with the callers
        queued behind the refresh, or only logged (a refresh in the advisory window):
        masking it once here covers all three.
        """
        redact(error, (self._credentials.client_secret,))
        self._attempts += 1
        self._last_error = error

    async def invalidate(self, token: AccessToken) -> None:
        """Forget ``token`` after the API refused it, unless a newer one replaced it.

        A late 401 for an old token therefore never throws away a fresh one.
        """
        if self._token is not None and self._token.value == token.value:
            self._token = None
        await self._store.invalidate(token)

    async def _fetch(self) -> AccessToken:
        """Send the token request (with a small retry for connect errors and 5xx)."""
        for attempt in range(_TOKEN_RETRIES + 1):
            last = attempt == _TOKEN_RETRIES
            # Expiry is counted from before the request: the token may have been minted
            # at any moment while the request was in flight.
            started = self._clock.now()
            try:
                # One deadline over the whole exchange: httpx's timeouts bound each read,
                # so a server dripping a byte at a time would otherwise hold every caller.
                with anyio.fail_after(self._deadline):
                    response = await self._send()
            except TimeoutError:
                raise TokenConnectionError(
                    f"the token request did not complete within {self._deadline:g} s",
                    url=self._token_url,
                ) from None
            except (httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout) as exc:
                if last:
                    raise TokenConnectionError(
                        f"could not reach the token endpoint: {exc!r}", url=self._token_url
                    ) from exc
            except httpx.TransportError as exc:
                raise TokenConnectionError(
                    f"the token request got no answer: {exc!r}", url=self._token_url
                ) from exc
            else:
                if response.status_code < 500 or last:
                    return self._token_from_response(response, started)
            await self._clock.sleep(_TOKEN_BACKOFF[min(attempt, len(_TOKEN_BACKOFF) - 1)])
        raise AssertionError("unreachable")  # pragma: no cover

    async def _send(self) -> httpx.Response:
        self.requests_sent += 1
        form = {"grant_type": "client_credentials"}
        headers = {"Accept": "application/json"}
        if self._auth_method == "basic":
            pair = f"{self._credentials.client_id}:{self._credentials.client_secret}"
            headers["Authorization"] = "Basic " + base64.b64encode(pair.encode()).decode()
        else:
            form["client_id"] = self._credentials.client_id
            form["client_secret"] = self._credentials.client_secret
        logger.debug("token request POST %s", self._token_url)
        request = self._http.build_request(
            "POST", self._token_url, data=form, headers=headers, timeout=self._timeout
        )
        # Never follow a redirect: it would re-send the client secret to another origin.
        response = await self._http.send(request, stream=True, follow_redirects=False)
        try:
            await read_capped(response, _MAX_TOKEN_BODY)
        except APIResponseError:
            raise TokenError(
                f"the token endpoint answered {response.status_code} with a body over "
                f"{_MAX_TOKEN_BODY:,} bytes",
                status_code=response.status_code,
            ) from None
        return response

    def _token_from_response(self, response: httpx.Response, started: float) -> AccessToken:
        status = response.status_code
        try:
            body = response.json()
        except (ValueError, RecursionError):  # not JSON; JSON nested past the limit
            body = None
        if not isinstance(body, dict):
            body = {}
        if status != 200:
            error = body.get("error") if isinstance(body.get("error"), str) else None
            description = body.get("error_description")
            description = description if isinstance(description, str) else None
            message = f"token endpoint answered {status}"
            if error:
                message += f": {error}"
            if description:
                message += f" - {description[:300]}"
            if status in (400, 401):
                message += _hint(self._credentials.client_id)
            return self._raise(message, error, description, status)
        value = body.get("access_token")
        lifetime = token_lifetime(body.get("expires_in", 3600))
        if not isinstance(value, str) or not value or lifetime is None:
            return self._raise(
                "token endpoint answered 200 without a usable token", None, None, 200
            )
        logger.info("new application token, valid %.0f s", lifetime)
        return AccessToken(value=value, expires_at=started + lifetime, lifetime=lifetime)

    @staticmethod
    def _raise(
        message: str, error: str | None, description: str | None, status: int
    ) -> AccessToken:
        raise TokenError(message, error=error, error_description=description, status_code=status)
