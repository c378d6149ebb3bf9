"""Inbound Smartcar webhooks: signature check, VERIFY challenge, event parsing, a receiver.

No client is needed: everything here works from the raw request and the Application
Management Token (AMT) from the Smartcar Dashboard. This module *receives* deliveries;
``client.webhook_endpoints`` (`smartcar_async.resources.WebhookEndpoints`) *reads the
configuration* of the application's webhooks through the Management API.

The pieces, from low to high level:

* `verify_signature` checks ``SC-Signature`` (hex HMAC-SHA256 of the raw body, keyed by
  the AMT) in constant time;
* `challenge_response` answers the one-time VERIFY challenge;
* `parse_event` turns a body into `VerifyEvent`, `VehicleStateEvent`,
  `VehicleErrorEvent` or `UnknownEvent`, whichever payload variant Smartcar sent;
* `WebhookReceiver` does all of it for one request, de-duplicates retries on ``eventId``,
  hands each event once to your async callback and says what to answer; its
  `WebhookReceiver.asgi_app` is a ready ASGI app.

Examples:
    >>> from smartcar_async.webhooks import WebhookReceiver, VehicleStateEvent
    >>> async def on_event(event):
    ...     if isinstance(event, VehicleStateEvent) and not event.is_test:
    ...         await queue.put(event)
    >>> receiver = WebhookReceiver(os.environ["SMARTCAR_MANAGEMENT_TOKEN"], on_event)
    >>> app = receiver.asgi_app()            # serve it, or mount it in Starlette/FastAPI
"""

from __future__ import annotations

import collections
import hashlib
import hmac
import json
import logging
import math
import re
import time
from collections.abc import Awaitable, Callable, Mapping
from typing import Any

import anyio
import attrs

from ._asgi import ASGIApp, Receive, Scope, Send, serve_lifespan
from ._clock import Clock, SystemClock
from ._error_types import ConfigurationError, WebhookPayloadError, WebhookVerificationError
from ._webhook_models import (
    DataEvent,
    EventMeta,
    EventVehicle,
    Trigger,
    UnknownEvent,
    VehicleError,
    VehicleErrorEvent,
    VehicleStateEvent,
    VerifyEvent,
    WebhookEvent,
    decode_body,
    event_from_json,
    event_type_of,
    parse_event,
)

__all__ = [
    "MAX_CHALLENGE_LENGTH",
    "RECOMMENDED_MAX_DELIVERY_AGE",
    "SIGNATURE_HEADER",
    "ASGIApp",
    "DataEvent",
    "EventMeta",
    "EventVehicle",
    "Trigger",
    "UnknownEvent",
    "VehicleError",
    "VehicleErrorEvent",
    "VehicleStateEvent",
    "VerifyEvent",
    "WebhookEvent",
    "WebhookPayloadError",
    "WebhookReceiver",
    "WebhookResponse",
    "WebhookVerificationError",
    "challenge_response",
    "parse_event",
    "verify_signature",
]

_log = logging.getLogger("smartcar_async.webhooks")

#: The header that carries the signature (HTTP headers are case-insensitive).
SIGNATURE_HEADER = "SC-Signature"

_HEX_SHA256 = re.compile(r"[0-9a-f]{64}")
_SIGNATURE_LENGTH = 64

#: The longest VERIFY challenge answered, in characters. Smartcar's documented example
#: is a 36-character UUID.
MAX_CHALLENGE_LENGTH = 256
# What a challenge may be made of: letters, digits and the characters of UUIDs, base64
# and base64url. No JSON object (an event) can be written with them, and the text is
# pure ASCII, so no byte-order mark or UTF-16/32 encoding of an event body can pass.
_CHALLENGE = re.compile(rf"[A-Za-z0-9._~+/=-]{{1,{MAX_CHALLENGE_LENGTH}}}")

#: A tolerance for ``max_delivery_age`` that survives Smartcar's retry schedule: the
#: last of 3 retries starts about 175 s (25 + 50 + 100) after the first attempt and may
#: take its 15 s, which leaves some 110 s for clocks that disagree.
RECOMMENDED_MAX_DELIVERY_AGE = 300.0

# Smartcar caps a delivery at 50 KB; the receiver reads 20 times that before refusing,
# because VERIFY detection has to parse bodies that are not signed yet.
_DEFAULT_MAX_BODY = 1024 * 1024


# --------------------------------------------------------------------------- signatures


def _key(management_token: str) -> bytes:
    if not isinstance(management_token, str) or not management_token:
        raise ConfigurationError("the Application Management Token is empty")
    return management_token.encode("utf-8")


def _check_signature(mac: Any, signature: str | None) -> None:
    """Compare ``mac`` (an HMAC already fed the body) with ``signature``."""
    if signature is None or not signature.strip():
        raise WebhookVerificationError(f"missing {SIGNATURE_HEADER} header")
    signature = signature.strip()
    if len(signature) != _SIGNATURE_LENGTH:
        raise WebhookVerificationError(
            f"{SIGNATURE_HEADER} must be {_SIGNATURE_LENGTH} hex characters, got {len(signature)}"
        )
    if not _HEX_SHA256.fullmatch(signature):
        raise WebhookVerificationError(f"{SIGNATURE_HEADER} must be lowercase hexadecimal")
    if not hmac.compare_digest(mac.hexdigest(), signature):
        # Neither the token nor the expected value goes into the message: both would
        # let whoever reads the logs forge deliveries.
        raise WebhookVerificationError(
            f"{SIGNATURE_HEADER} does not match the body (wrong Application Management "
            "Token, or the body was altered or re-serialized before checking)"
        )


def verify_signature(body: bytes, signature: str | None, management_token: str) -> None:
    """Check a delivery's ``SC-Signature`` against its raw body; raise if it is not right.

    The signature is the lowercase hex HMAC-SHA256 of the exact body bytes, keyed by the
    Application Management Token. Pass the bytes as received: JSON decoded and encoded
    again rarely has the same bytes. The comparison takes constant time.

    Args:
        body: the raw request body.
        signature: the ``SC-Signature`` header value (None when absent).
        management_token: the Application Management Token from the Dashboard.

    Raises:
        WebhookVerificationError: the header is missing, malformed (not 64 lowercase hex
            characters) or does not match. The message never holds the token or the
            expected signature.
        ConfigurationError: ``management_token`` is empty.

    Examples:
        >>> body = await request.body()
        >>> verify_signature(body, request.headers.get("sc-signature"), management_token)
    """
    if isinstance(body, str):
        raise TypeError("pass the raw request body as bytes, not decoded text")
    mac = hmac.new(_key(management_token), body, hashlib.sha256)
    _check_signature(mac, signature)


def challenge_response(challenge: str, management_token: str) -> dict[str, str]:
    """The body that answers a VERIFY event: ``{"challenge": hex HMAC-SHA256(AMT, challenge)}``.

    Send it with status 200 and ``Content-Type: application/json``.

    VERIFY events are not signed, and the answer is computed exactly like a payload
    signature, so answering any challenge would sign any text for anyone: a forged event
    sent as a "challenge" would come back with a valid ``SC-Signature`` for it. Only a
    challenge shaped like Smartcar's (a random token: 1 to `MAX_CHALLENGE_LENGTH`
    letters, digits or ``-._~+/=``) is answered; no JSON event can be written in that
    alphabet, whatever encoding or byte-order mark a decoder would accept.

    Raises:
        WebhookPayloadError: the challenge is not such a token.
        ConfigurationError: ``management_token`` is empty.

    Examples:
        >>> challenge_response("3a5c8f72-e6d9-4b1a-9f2e-8c7d6a5b4e3f", "amt-123")
        {'challenge': '...64 hex characters...'}
    """
    key = _key(management_token)
    if not isinstance(challenge, str) or not _CHALLENGE.fullmatch(challenge):
        raise WebhookPayloadError(
            "refusing to answer a VERIFY challenge that is not a random token "
            f"(1 to {MAX_CHALLENGE_LENGTH} characters of A-Z a-z 0-9 - . _ ~ + / =): "
            "its answer would be a valid signature for that text"
        )
    return {"challenge": hmac.new(key, challenge.encode("ascii"), hashlib.sha256).hexdigest()}


# --------------------------------------------------------------------------- receiver


@attrs.frozen
class WebhookResponse:
    """What to answer a delivery: a status and a small JSON body.

    Examples:
        >>> result = await receiver.handle(body, request.headers)
        >>> return Response(result.json_bytes(), status_code=result.status,
        ...                 media_type=result.content_type)
    """

    status: int
    body: Mapping[str, Any] = attrs.field(factory=dict)
    content_type: str = "application/json"

    def json_bytes(self) -> bytes:
        """The body as compact UTF-8 JSON."""
        return json.dumps(self.body, separators=(",", ":")).encode("utf-8")


class _Running:
    """An event id whose callback is running, and how that ended."""

    __slots__ = ("finished", "ok")

    def __init__(self) -> None:
        self.finished = anyio.Event()
        self.ok = False


class _Dedupe:
    """Event ids already handed to the callback: an LRU bounded by count and age.

    Ids of events whose callback is still running live apart (`running`) and are never
    evicted, so a duplicate arriving meanwhile always finds them.
    """

    __slots__ = ("_done", "_ttl", "capacity", "clock", "running")

    def __init__(self, capacity: int, ttl: float, clock: Clock) -> None:
        self.capacity = capacity
        self._ttl = ttl
        self.clock = clock
        # id -> time last seen; kept in that order, so expired ids are at the front.
        self._done: collections.OrderedDict[str, float] = collections.OrderedDict()
        self.running: dict[str, _Running] = {}

    def __len__(self) -> int:
        return len(self._done)

    def _expire(self, now: float) -> None:
        done = self._done
        while done:
            oldest, seen = next(iter(done.items()))
            if now - seen < self._ttl:
                return
            del done[oldest]

    def seen(self, event_id: str) -> bool:
        now = self.clock.now()
        self._expire(now)
        if event_id not in self._done:
            return False
        self._done[event_id] = now
        self._done.move_to_end(event_id)
        return True

    def remember(self, event_id: str) -> None:
        if self.capacity <= 0:
            return
        self._done[event_id] = self.clock.now()
        self._done.move_to_end(event_id)
        while len(self._done) > self.capacity:
            self._done.popitem(last=False)


class WebhookReceiver:
    """Everything a webhook endpoint does, minus the web framework.

    For each delivery `handle`:

    1. answers a VERIFY challenge (200), before any signature check: Smartcar does not
       sign VERIFY;
    2. checks ``SC-Signature`` over the raw body (401 if wrong or missing);
    3. parses the event (400 if the signed body is not a Smartcar event; an unknown
       ``eventType`` is delivered as `UnknownEvent`);
    4. drops a retry of an event already handled (200, ``{"status": "duplicate"}``),
       remembering ``eventId`` for ``dedupe_ttl`` seconds, at most ``dedupe_capacity``
       ids; a duplicate arriving while the first copy is still in the callback waits for
       it instead of running the callback a second time;
    5. with ``max_delivery_age`` set, refuses (400) a delivery whose ``meta.deliveredAt``
       is further than that from now, in either direction: a captured delivery replayed
       after the de-duplication memory forgot its ``eventId`` is stale by then;
    6. awaits ``on_event(event)`` and answers 200.

    If ``on_event`` raises, the error is logged, the answer is 500 and the ``eventId`` is
    forgotten, so Smartcar's retry (up to 3, after 25, 50 and 100 s) runs the callback
    again: delivery stays at-least-once. If the request is cancelled mid-callback the id
    is forgotten too. Smartcar waits 15 s for an answer: keep ``on_event`` short (store
    or enqueue the event, do the work elsewhere).

    TEST deliveries from the Dashboard reach the callback like live ones; check
    ``event.is_test``.

    Args:
        management_token: the Application Management Token (AMT).
        on_event: ``async def on_event(event)``, called once per event id.
        dedupe_capacity: how many handled event ids to remember (0 turns memory off;
            concurrent duplicates are still merged).
        dedupe_ttl: how long to remember one, in seconds. Smartcar's last retry comes
            about 3 minutes after the first attempt.
        clock: time source for the TTL (tests pass a `VirtualClock`).
        max_body_size: bodies larger than this get 413 without being read further.
        max_delivery_age: seconds a delivery's ``meta.deliveredAt`` may be from now
            before it is refused as a possible replay; None (the default) checks
            nothing. `RECOMMENDED_MAX_DELIVERY_AGE` (300 s) survives Smartcar's retry
            schedule. A delivery without ``deliveredAt`` is not checked.
        wall_clock: Unix time source for that check (tests pass their own).

    Examples:
        >>> receiver = WebhookReceiver(amt, on_event)
        >>> result = await receiver.handle(await request.body(), request.headers)
        >>> result.status, result.body
        (200, {'status': 'ok'})
    """

    def __init__(
        self,
        management_token: str,
        on_event: Callable[[DataEvent], Awaitable[object]],
        *,
        dedupe_capacity: int = 10_000,
        dedupe_ttl: float = 3600.0,
        clock: Clock | None = None,
        max_body_size: int = _DEFAULT_MAX_BODY,
        max_delivery_age: float | None = None,
        wall_clock: Callable[[], float] = time.time,
    ) -> None:
        key = _key(management_token)
        if max_delivery_age is not None and not (
            math.isfinite(max_delivery_age) and max_delivery_age > 0
        ):
            raise ConfigurationError("max_delivery_age must be a positive number of seconds")
        if dedupe_capacity < 0:
            raise ConfigurationError("dedupe_capacity must be 0 or more")
        if not dedupe_ttl > 0:
            raise ConfigurationError("dedupe_ttl must be a positive number of seconds")
        if max_body_size <= 0:
            raise ConfigurationError("max_body_size must be positive")
        self._token = management_token
        # Keyed once; every delivery copies it, which skips re-hashing the key.
        self._mac = hmac.new(key, digestmod=hashlib.sha256)
        self._on_event = on_event
        self._dedupe = _Dedupe(dedupe_capacity, float(dedupe_ttl), clock or SystemClock())
        self.max_body_size = max_body_size
        self.max_delivery_age = max_delivery_age
        self._wall = wall_clock

    def __repr__(self) -> str:
        # The token stays out of reprs, like every secret in the SDK.
        return (
            f"WebhookReceiver(dedupe_capacity={self._dedupe.capacity}, "
            f"remembered={len(self._dedupe)}, running={len(self._dedupe.running)})"
        )

    @property
    def dedupe_size(self) -> int:
        """How many handled event ids are remembered now (never above the capacity)."""
        return len(self._dedupe)

    async def handle(self, body: bytes, headers: Mapping[str, str]) -> WebhookResponse:
        """Process one delivery and return what to answer.

        Args:
            body: the raw request body, exactly as received.
            headers: the request headers; names are matched case-insensitively.

        Returns:
            The status and JSON body to send back (see the class docs for each case).

        Examples:
            >>> result = await receiver.handle(body, {"SC-Signature": signature})
            >>> result.status
            200
        """
        if len(body) > self.max_body_size:
            return WebhookResponse(413, {"error": "payload too large"})
        mac = self._mac.copy()
        mac.update(body)
        try:
            _check_signature(mac, _header(headers, "sc-signature"))
        except WebhookVerificationError as exc:
            verify = self._unsigned_verify(body)
            if verify is not None:
                return verify
            _log.debug("webhook rejected: %s", exc)
            return WebhookResponse(401, {"error": str(exc)})
        try:
            obj = decode_body(body)
            # A retry of a handled event is answered before its signals are parsed: at
            # least once means retries are common, and the parse is most of the cost.
            event_id = obj.get("eventId")
            if type(event_id) is str and self._dedupe.seen(event_id):
                return WebhookResponse(200, {"status": "duplicate"})
            event = event_from_json(obj)
        except WebhookPayloadError as exc:
            _log.warning("signed webhook body is not a Smartcar event: %s", exc)
            return WebhookResponse(400, {"error": str(exc)})
        if isinstance(event, VerifyEvent):
            return self._answer_verify(event)
        stale = self._staleness(event)
        if stale is not None:
            _log.warning("webhook refused: %s", stale)
            return WebhookResponse(400, {"error": stale})
        return await self._deliver(event)

    def _staleness(self, event: DataEvent) -> str | None:
        """Why a delivery is too far from now to be fresh, or None."""
        limit = self.max_delivery_age
        delivered = event.meta.delivered_at
        if limit is None or delivered is None:
            return None
        age = self._wall() - delivered.timestamp()
        if -limit <= age <= limit:
            return None
        return (
            f"deliveredAt is {age:.0f} s from now, beyond max_delivery_age ({limit:g} s): "
            "refused as a possible replay"
        )

    def _unsigned_verify(self, body: bytes) -> WebhookResponse | None:
        """The answer to an unsigned VERIFY, or None if the body is not one."""
        try:
            obj = decode_body(body)
            kind, _ = event_type_of(obj)
            if kind.upper() != "VERIFY":
                return None
            event = event_from_json(obj)
        except WebhookPayloadError:
            return None
        return self._answer_verify(event) if isinstance(event, VerifyEvent) else None

    def _answer_verify(self, event: VerifyEvent) -> WebhookResponse:
        try:
            answer = challenge_response(event.challenge, self._token)
        except WebhookPayloadError as exc:
            _log.warning("VERIFY challenge refused: %s", exc)
            return WebhookResponse(400, {"error": str(exc)})
        _log.info("answered Smartcar VERIFY for webhook %s", event.meta.webhook_id)
        return WebhookResponse(200, answer)

    async def _deliver(self, event: DataEvent) -> WebhookResponse:
        event_id = event.event_id
        if event_id is None:
            # Nothing to de-duplicate on: deliver every copy.
            return await self._call(event)
        dedupe = self._dedupe
        while True:
            if dedupe.seen(event_id):
                return WebhookResponse(200, {"status": "duplicate"})
            running = dedupe.running.get(event_id)
            if running is None:
                break
            # Another copy is in the callback: wait for it rather than run it twice. If
            # it failed (or was cancelled), loop and run the callback for this copy.
            await running.finished.wait()
            if running.ok:
                return WebhookResponse(200, {"status": "duplicate"})
        # No await between the checks above and this claim, so check-and-claim is atomic.
        claim = dedupe.running[event_id] = _Running()
        try:
            result = await self._call(event)
            claim.ok = result.status == 200
            return result
        finally:
            del dedupe.running[event_id]
            if claim.ok:
                dedupe.remember(event_id)
            claim.finished.set()

    async def _call(self, event: DataEvent) -> WebhookResponse:
        try:
            await self._on_event(event)
        except Exception:
            _log.exception(
                "webhook callback failed for %s event %s; answering 500 so Smartcar retries",
                event.event_type,
                event.event_id,
            )
            return WebhookResponse(500, {"error": "event handler failed"})
        return WebhookResponse(200, {"status": "ok"})

    def asgi_app(self) -> ASGIApp:
        """A plain ASGI app that feeds every POST to `handle`.

        It answers any path (mount it where the webhook points), 405 to other methods,
        413 to bodies over ``max_body_size``, and handles the lifespan protocol, so it can
        be served alone (``uvicorn``) or mounted (Starlette ``Mount``, FastAPI
        ``app.mount``).

        Examples:
            >>> app = receiver.asgi_app()
            >>> # uvicorn.run(app) or starlette Mount("/webhooks/smartcar", app=app)
        """

        async def app(scope: Scope, receive: Receive, send: Send) -> None:
            if scope["type"] == "lifespan":
                await serve_lifespan(receive, send)
                return
            if scope["type"] != "http":
                return
            if scope.get("method", "GET") != "POST":
                await _send(send, WebhookResponse(405, {"error": "use POST"}), allow=True)
                return
            try:
                body = await _read_body(receive, self.max_body_size)
            except _TooLarge:
                await _send(send, WebhookResponse(413, {"error": "payload too large"}))
                return
            except _Disconnected:
                return  # nobody to answer; Smartcar retries the delivery
            result = await self.handle(body, _asgi_headers(scope))
            await _send(send, result)

        return app


# --------------------------------------------------------------------------- ASGI glue


def _header(headers: Mapping[str, str], name: str) -> str | None:
    value = headers.get(name)
    if value is not None:
        return value
    for key, value in headers.items():
        if key.lower() == name:
            return value
    return None


def _asgi_headers(scope: Scope) -> dict[str, str]:
    headers: dict[str, str] = {}
    for raw_name, raw_value in scope.get("headers", ()):
        name = raw_name.decode("latin-1").lower()
        value = raw_value.decode("latin-1")
        # A repeated header is one comma-joined value (RFC 9110), so two SC-Signature
        # headers can never pass as one valid signature.
        headers[name] = f"{headers[name]}, {value}" if name in headers else value
    return headers


class _TooLarge(Exception):
    pass


class _Disconnected(Exception):
    pass


async def _read_body(receive: Receive, limit: int) -> bytes:
    chunks: list[bytes] = []
    size = 0
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            raise _Disconnected
        chunk = message.get("body", b"")
        size += len(chunk)
        if size > limit:
            raise _TooLarge
        chunks.append(chunk)
        if not message.get("more_body", False):
            return b"".join(chunks)


async def _send(send: Send, result: WebhookResponse, *, allow: bool = False) -> None:
    payload = result.json_bytes()
    headers = [
        (b"content-type", result.content_type.encode("latin-1")),
        (b"content-length", str(len(payload)).encode("ascii")),
    ]
    if allow:
        headers.append((b"allow", b"POST"))
    await send({"type": "http.response.start", "status": result.status, "headers": headers})
    await send({"type": "http.response.body", "body": payload})


# Public names read as smartcar_async.webhooks.X in reprs and docs, not as the private
# module that defines them.
for _name in __all__:
    _obj = globals()[_name]
    if getattr(_obj, "__module__", None) == "smartcar_async._webhook_models":
        _obj.__module__ = __name__
del _name, _obj
