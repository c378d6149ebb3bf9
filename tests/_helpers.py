"""Test doubles shared by the foundation tests: a scripted fake of Smartcar, a clock.

`FakeSmartcar` is an ``httpx.AsyncBaseTransport`` that answers the token endpoint and
the API. It counts deliveries, can stall either side on an `anyio.Event`, replays a
script of answers (responses or transport errors), and hands out response streams it
tracks, so a test can check that every stream the SDK opened was closed.

Nothing here sleeps on the wall clock: time is a `RecordingClock` the test moves.
"""

from __future__ import annotations

import importlib.util
import json
import sys
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from types import ModuleType
from typing import Any

import anyio
import anyio.lowlevel
import attrs
import httpx

from smartcar_async import RetryPolicy, SmartcarClient, VirtualClock
from smartcar_async._pipeline import CallState

TOKEN_URL = "https://iam.smartcar.com/oauth2/token"
VEHICLE_API = "https://vehicle.api.smartcar.com/v3"
MANAGEMENT_API = "https://management.api.smartcar.com/v3"
CLIENT_ID = "client_test"
SECRET = "s3cr3t-value"
SIGNALS_PATH = "/vehicles/v1/signals"
LOCK_PATH = "/vehicles/v1/commands/security/lock"

#: Bound on every async test, in seconds of wall time.
TIMEOUT = 10


class RecordingClock(VirtualClock):
    """A `VirtualClock` that remembers every delay it was asked to sleep."""

    def __init__(self, start: float = 0.0) -> None:
        super().__init__(start)
        self.slept: list[float] = []

    async def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)
        await super().sleep(seconds)


@attrs.define
class Reply:
    """A scripted answer; the transport builds a fresh, tracked response from it."""

    status: int = 200
    json: Any = None
    content: bytes | None = None
    headers: dict[str, str] = attrs.Factory(dict)


#: What a script entry may be: a `Reply`, or a transport error class to raise.
Action = Reply | type[httpx.TransportError]


@attrs.define
class Delivery:
    """One request that reached the fake, as it was when it arrived."""

    method: str
    path: str
    authorization: str | None
    at: float
    headers: dict[str, str]
    body: bytes


class TrackedStream(httpx.AsyncByteStream):
    """A response body that records whether it was closed (a pooled connection freed)."""

    def __init__(self, body: bytes) -> None:
        self.body = body
        self.closed = False

    async def __aiter__(self) -> AsyncIterator[bytes]:
        if self.body:
            yield self.body

    async def aclose(self) -> None:
        self.closed = True


def token_body(value: str, expires_in: float = 3600) -> dict[str, Any]:
    return {"access_token": value, "token_type": "Bearer", "expires_in": expires_in}


class FakeSmartcar(httpx.AsyncBaseTransport):
    """The token endpoint and the API, scripted.

    Attributes:
        token_script / api_script: answers used in order; once empty, the token
            endpoint issues ``tok-1``, ``tok-2``... and the API answers 200.
        token_gate / api_gate: when set, each arriving request waits for the event
            before it is answered (the gate is read when the request arrives).
        api_handler: when set, decides the API's answer instead of ``api_script``.
    """

    def __init__(self, clock: VirtualClock | None = None, *, expires_in: float = 3600) -> None:
        self.clock = clock
        self.expires_in = expires_in
        self.token_script: list[Action] = []
        self.api_script: list[Action] = []
        self.token_gate: anyio.Event | None = None
        self.api_gate: anyio.Event | None = None
        self.api_handler: Callable[[httpx.Request, Delivery], Awaitable[Action]] | None = None
        self.token_requests: list[Delivery] = []
        self.api: list[Delivery] = []
        self.issued: list[str] = []
        self.streams: list[TrackedStream] = []
        self._changed = anyio.Event()

    # -- what the tests read --------------------------------------------------------

    @property
    def open_streams(self) -> list[TrackedStream]:
        return [s for s in self.streams if not s.closed]

    async def wait_until(self, predicate: Callable[[], bool]) -> None:
        """Return once ``predicate()`` holds; re-checked whenever a request arrives."""
        while not predicate():
            await self._changed.wait()

    def _notify(self) -> None:
        self._changed.set()
        self._changed = anyio.Event()

    # -- the transport ----------------------------------------------------------------

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        body = await request.aread()
        delivery = Delivery(
            method=request.method,
            path=request.url.path,
            authorization=request.headers.get("authorization"),
            at=self.clock.now() if self.clock is not None else 0.0,
            headers=dict(request.headers),
            body=body,
        )
        if str(request.url.copy_with(query=None)) == TOKEN_URL:
            return await self._token(request, delivery)
        return await self._api(request, delivery)

    async def _token(self, request: httpx.Request, delivery: Delivery) -> httpx.Response:
        self.token_requests.append(delivery)
        self._notify()
        gate = self.token_gate
        if gate is not None:
            await gate.wait()
        if self.token_script:
            return self._act(self.token_script.pop(0), request)
        value = f"tok-{len(self.issued) + 1}"
        self.issued.append(value)
        return self._act(Reply(200, json=token_body(value, self.expires_in)), request)

    async def _api(self, request: httpx.Request, delivery: Delivery) -> httpx.Response:
        self.api.append(delivery)
        self._notify()
        gate = self.api_gate
        if gate is not None:
            await gate.wait()
        if self.api_handler is not None:
            action = await self.api_handler(request, delivery)
        elif self.api_script:
            action = self.api_script.pop(0)
        else:
            action = Reply(200, json={"ok": True})
        return self._act(action, request)

    def _act(self, action: Action, request: httpx.Request) -> httpx.Response:
        if isinstance(action, type):
            raise action(f"scripted {action.__name__}", request=request)
        headers = dict(action.headers)
        if action.json is not None:
            content = json.dumps(action.json).encode()
            headers.setdefault("content-type", "application/json")
        else:
            content = action.content or b""
        stream = TrackedStream(content)
        self.streams.append(stream)
        return httpx.Response(action.status, headers=headers, stream=stream)


def make_client(
    transport: httpx.AsyncBaseTransport,
    *,
    clock: VirtualClock | None = None,
    retry: RetryPolicy | None = None,
    **options: Any,
) -> SmartcarClient:
    """A client on ``transport`` with the test credentials and jitter-free retries."""
    return SmartcarClient(
        client_id=options.pop("client_id", CLIENT_ID),
        client_secret=options.pop("client_secret", SECRET),
        transport=transport,
        clock=clock if clock is not None else RecordingClock(),
        retry=retry if retry is not None else RetryPolicy(jitter=0),
        **options,
    )


async def read(client: SmartcarClient, **options: Any) -> tuple[httpx.Response, CallState]:
    """A GET of the signals endpoint (a read: idempotent)."""
    return await client.request("GET", "vehicle", SIGNALS_PATH, user_id="u", **options)


async def lock(client: SmartcarClient, **options: Any) -> tuple[httpx.Response, CallState]:
    """A lock command (a POST: never re-sent once it may have reached the server)."""
    return await client.request("POST", "vehicle", LOCK_PATH, user_id="u", command=True, **options)


async def settle(predicate: Callable[[], bool], *, limit: int = 100_000) -> None:
    """Let other tasks run (checkpoints, no sleeping) until ``predicate()`` holds."""
    for _ in range(limit):
        if predicate():
            return
        await anyio.lowlevel.checkpoint()
    raise AssertionError("the condition never held")


async def _autojump(clock: VirtualClock) -> None:
    while True:
        await clock.wait_for_sleepers(1)
        clock.advance_to_next()


async def with_autojump(clock: VirtualClock, fn: Callable[[], Awaitable[Any]]) -> Any:
    """Run ``fn()`` while time jumps to each sleeper's deadline; its result or error.

    For one call at a time: the clock jumps as soon as anyone sleeps.
    """
    result: Any = None
    error: Exception | None = None
    async with anyio.create_task_group() as tg:
        tg.start_soon(_autojump, clock)
        try:
            result = await fn()
        except Exception as exc:
            error = exc
        finally:
            tg.cancel_scope.cancel()
    if error is not None:
        raise error
    return result


def load_example(filename: str) -> ModuleType:
    """Import ``examples/<filename>`` (not a package) as a module, for its tests."""
    path = Path(__file__).resolve().parents[1] / "examples" / filename
    name = f"example_{path.stem}"
    spec = importlib.util.spec_from_file_location(name, path)
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module  # dataclasses and pickling look modules up by name
    spec.loader.exec_module(module)
    return module
