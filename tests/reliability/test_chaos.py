"""The chaos soak: many mixed calls over real loopback sockets while everything fails.

The emulator (``serve()``) injects, on every API route, 500s, 502s, 429s with and
without ``Retry-After`` (app-wide and per vehicle, within and beyond the cap), latency
beyond the read timeout, dropped connections, malformed JSON, failures *after* a command
acted (dropped, 500, late, truncated), and revokes every token twice mid-run; the token
endpoint gets a 503, a slow answer and a malformed one. Then:

- every call ended in a value or a typed `SmartcarError` (nothing else escaped);
- no call outlived the bound its timeouts and retry policy allow;
- no connection is left checked out of the pool;
- the token requests are the ones the faults force, no more;
- no command executed more than once per call.

CI runs a bounded size (``SMARTCAR_CHAOS_CALLS`` calls, default 2 000, at
``SMARTCAR_CHAOS_CONCURRENCY``, default 100) on asyncio and trio. By hand::

    SMARTCAR_CHAOS_CALLS=20000 SMARTCAR_CHAOS_CONCURRENCY=200 \
        .venv/bin/pytest tests/reliability/test_chaos.py -m chaos

This is the one test where real time passes: httpx's timeouts are real, and the
emulator's clock is the system clock. The waits injected are kept short (Retry-After
0-1 s within a 1 s cap, 2 s of latency against a 1 s read timeout).
"""

from __future__ import annotations

import contextvars
import os
import random
import time
from collections import Counter
from collections.abc import Awaitable, Callable
from typing import Any

import anyio
import httpx
import pytest
from reliability_support import TOKEN, pool_state, report

from smartcar_async import RetryPolicy, SmartcarClient, SmartcarError
from smartcar_async._auth import _TOKEN_BACKOFF, _TOKEN_RETRIES
from smartcar_async.testing import Fault, FaultRule, FleetEntry, SmartcarEmulator
from smartcar_async.testing._app import serve
from smartcar_async.testing._http import EmuRequest, EmuResponse

pytestmark = [pytest.mark.anyio, pytest.mark.chaos]

CALLS = int(os.environ.get("SMARTCAR_CHAOS_CALLS", "2000"))
CONCURRENCY = int(os.environ.get("SMARTCAR_CHAOS_CONCURRENCY", "100"))
SEED = int(os.environ.get("SMARTCAR_CHAOS_SEED", "20240901"))

READ_TIMEOUT = 1.0
LATENCY = 2.0  # beyond the read timeout
TOKEN_LATENCY = 0.3
TIMEOUTS = httpx.Timeout(connect=0.5, read=READ_TIMEOUT, write=0.5, pool=1.0)
# The token request's own timeout (10 s by default; SmartcarClient has no knob for it).
TOKEN_TIMEOUT = httpx.Timeout(0.5, read=1.0)
RETRY_AFTER_CAP = 1.0
BACKOFF_MAX = 0.05

CALL_HEADER = "x-chaos-call"
_call_id: contextvars.ContextVar[str | None] = contextvars.ContextVar("chaos_call", default=None)

API_ROUTES = ("GET *", "POST /vehicles/*")
COMMAND_ROUTES = "POST /vehicles/*"
SIGNAL_CODES = (
    "odometer-traveleddistance",
    "tractionbattery-stateofcharge",
    "closure-islocked",
    "location-preciselocation",
)


def add_faults(emulator: SmartcarEmulator) -> dict[str, list[FaultRule]]:
    """Every fault of the soak, by the label the report prints."""
    rules: dict[str, list[FaultRule]] = {}

    def add(
        label: str, fault: Fault, *, routes: tuple[str, ...] = API_ROUTES, **where: Any
    ) -> None:
        for route in routes:
            rules.setdefault(label, []).append(emulator.add_fault(fault, route=route, **where))

    third = max(1, CALLS // 3)
    add("revoke tokens", Fault.revoke_tokens(), routes=("GET *",), skip=third, times=1)
    add("revoke tokens", Fault.revoke_tokens(), routes=("GET *",), skip=2 * third, times=1)
    add("500", Fault.status(500), probability=0.03)
    add("502", Fault.status(502), probability=0.03)
    add("429 app-wide, Retry-After 0", Fault.rate_limit(retry_after=0), probability=0.01)
    add(
        "429 app-wide, Retry-After 5 (over the cap)",
        Fault.rate_limit(retry_after=5),
        probability=0.005,
        times=2,
    )
    add(
        "429 per vehicle, Retry-After 1",
        Fault.rate_limit(retry_after=1, scope="vehicle"),
        probability=0.01,
    )
    add(
        "429 without Retry-After",
        Fault.status(429, type="RATE_LIMIT", code="VEHICLE"),
        probability=0.01,
    )
    add(f"latency {LATENCY:g} s", Fault.latency(LATENCY), probability=0.005)
    add("dropped connection", Fault.drop(), probability=0.01)
    add("malformed JSON", Fault.malformed_json(), probability=0.01)
    # The ambiguous cases: the vehicle acted, the answer is lost or broken.
    acted = (COMMAND_ROUTES,)
    add("command acted, then dropped", Fault.drop(after_processing=True), routes=acted,
        probability=0.02)  # fmt: skip
    add("command acted, then 500", Fault.status(500, after_processing=True), routes=acted,
        probability=0.02)  # fmt: skip
    add(f"command acted, then {LATENCY:g} s late",
        Fault.latency(LATENCY, after_processing=True), routes=acted, probability=0.02)  # fmt: skip
    add("command acted, then truncated", Fault.malformed_json(after_processing=True),
        routes=acted, probability=0.02)  # fmt: skip
    # The token endpoint: a 503 (retried), a slow answer, and a malformed one.
    token = (TOKEN,)
    add("token 503", Fault.status(503), routes=token, times=1)
    add(f"token latency {TOKEN_LATENCY:g} s", Fault.latency(TOKEN_LATENCY), routes=token,
        skip=1, times=1)  # fmt: skip
    add("token malformed JSON", Fault.malformed_json(), routes=token, skip=2, times=1)
    return rules


class Recorder:
    """Wraps the emulator's handler: which SDK call each request (and command) belongs to."""

    def __init__(self, emulator: SmartcarEmulator) -> None:
        self.emulator = emulator
        # The emulator's own handler (what serve() wires up); wrapped to see headers.
        self._handle = emulator._core.handle
        self.call_of_request: dict[str, str] = {}
        self.attempts: Counter[str] = Counter()
        self.active = 0
        self._idle = anyio.Event()

    async def handle(self, request: EmuRequest) -> EmuResponse:
        self.active += 1
        try:
            response = await self._handle(request)
        finally:
            self.active -= 1
            if not self.active:
                self._idle.set()
                self._idle = anyio.Event()
        call = request.headers.get(CALL_HEADER)
        if call is not None:
            self.attempts[call] += 1
            for name, value in response.headers:
                if name == "sc-request-id":
                    self.call_of_request[value] = call
        return response

    async def wait_idle(self) -> None:
        """Return once no request is being handled (late answers included)."""
        while self.active:
            await self._idle.wait()

    def executions_per_call(self) -> Counter[str]:
        return Counter(
            self.call_of_request.get(record.request_id, "<unknown>")
            for record in self.emulator.command_log
        )


async def tag_call(request: httpx.Request, call_next: Callable[..., Any]) -> httpx.Response:
    """User middleware (outermost): every attempt of a call carries the call's id."""
    call = _call_id.get()
    if call is not None:
        request.headers[CALL_HEADER] = call
    response: httpx.Response = await call_next(request)
    return response


Op = Callable[[SmartcarClient], Awaitable[object]]


def make_calls(fleet: list[FleetEntry], webhook_id: str) -> list[tuple[str, Op]]:
    """The seeded mix: 70 % reads of four kinds, 10 % management reads, 20 % commands."""
    rng = random.Random(SEED)
    calls: list[tuple[str, Op]] = []
    for _ in range(CALLS):
        car = rng.choice(fleet)
        vid, uid = car.vehicle_id, car.user_id
        roll = rng.random()
        op: Op
        if roll < 0.40:
            kind, op = "read", lambda c, v=vid, u=uid: c.vehicles.signals(v, user_id=u)
        elif roll < 0.55:
            code = rng.choice(SIGNAL_CODES)
            kind, op = "read", lambda c, v=vid, u=uid, s=code: c.vehicles.signal(v, s, user_id=u)
        elif roll < 0.65:
            kind, op = "read", lambda c, v=vid: c.vehicles.get(v)
        elif roll < 0.70:
            kind, op = "read", lambda c, u=uid: c.connections.list_page(user_id=u)
        elif roll < 0.75:
            kind, op = "read", lambda c: c.webhook_endpoints.list_page(page_size=10)
        elif roll < 0.80:
            kind, op = "read", lambda c, w=webhook_id: c.webhook_endpoints.get(w)
        else:
            kind = "command"
            which = rng.randrange(5)
            if which == 0:
                op = lambda c, v=vid, u=uid: c.commands.lock(v, user_id=u)  # noqa: E731
            elif which == 1:
                op = lambda c, v=vid, u=uid: c.commands.unlock(v, user_id=u)  # noqa: E731
            elif which == 2:
                percent = rng.randint(50, 100)
                op = lambda c, v=vid, u=uid, p=percent: c.commands.set_charge_limit(  # noqa: E731
                    v, p, user_id=u
                )
            elif which == 3:
                op = lambda c, v=vid, u=uid: c.commands.start_charge(v, user_id=u)  # noqa: E731
            else:
                op = lambda c, v=vid, u=uid: c.commands.stop_charge(v, user_id=u)  # noqa: E731
        calls.append((kind, op))
    return calls


def call_bound(policy: RetryPolicy) -> float:
    """The longest a call may take under this test's timeouts and retry policy.

    Attempts: the first, ``max_retries`` retries, and the one 401 replay. Each attempt
    may wait for a pooled connection, connect, write and wait for the answer; it may
    first wait out the client's app-wide pause (at most the cap). Between attempts the
    call sleeps a backoff or a Retry-After (each at most the larger of the two maxima).
    A call may need a token twice (before its first attempt and after a 401), and a
    token costs at most its own attempts plus their backoffs. httpx's timeouts are per
    read, not per response: the emulator never drips a body, so one read suffices.
    """
    t, tt = TIMEOUTS, TOKEN_TIMEOUT
    assert None not in (t.pool, t.connect, t.write, t.read, tt.pool, tt.connect, tt.write, tt.read)
    attempts = policy.max_retries + 2
    per_attempt = t.pool + t.connect + t.write + t.read + policy.retry_after_cap
    sleeps = policy.max_retries * max(policy.backoff_max, policy.retry_after_cap)
    token_attempt = tt.pool + tt.connect + tt.write + tt.read
    token = (_TOKEN_RETRIES + 1) * token_attempt + sum(_TOKEN_BACKOFF)
    return attempts * per_attempt + sleeps + 2 * token


async def test_chaos_soak(capsys: pytest.CaptureFixture[str], anyio_backend: str) -> None:
    emulator = SmartcarEmulator(vehicles=40, seed=SEED)
    fleet = emulator.fleet()
    webhook_id = emulator.add_webhook("chaos")
    rules = add_faults(emulator)
    calls = make_calls(fleet, webhook_id)
    policy = RetryPolicy(
        max_retries=2,
        backoff_initial=0.01,
        backoff_max=BACKOFF_MAX,
        jitter=0.5,
        retry_after_cap=RETRY_AFTER_CAP,
        random=random.Random(SEED).random,
    )
    bound = call_bound(policy)
    recorder = Recorder(emulator)
    outcomes: Counter[tuple[str, str]] = Counter()
    escaped: list[tuple[int, BaseException]] = []
    durations: list[float] = [0.0] * len(calls)
    result_of: list[str] = [""] * len(calls)
    next_call = iter(range(len(calls)))

    async def worker(client: SmartcarClient) -> None:
        for index in next_call:
            kind, op = calls[index]
            _call_id.set(str(index))
            started = time.monotonic()
            try:
                await op(client)
            except SmartcarError as exc:
                result_of[index] = type(exc).__name__
            except Exception as exc:  # what must never happen
                escaped.append((index, exc))
                result_of[index] = "escaped"
            else:
                result_of[index] = "ok"
            durations[index] = time.monotonic() - started
            outcomes[(kind, result_of[index])] += 1

    started = time.monotonic()
    with anyio.fail_after(max(120.0, CALLS / 20)):
        async with serve(recorder.handle) as base_url:
            async with SmartcarClient(
                **emulator.client_kwargs(base_url),
                retry=policy,
                timeout=TIMEOUTS,
                command_timeout=TIMEOUTS,
                middleware=[tag_call],
            ) as client:
                client.tokens._timeout = TOKEN_TIMEOUT
                async with anyio.create_task_group() as tg:
                    for _ in range(CONCURRENCY):
                        tg.start_soon(worker, client)
                elapsed = time.monotonic() - started
                inspected, pool_problems = pool_state(client.http_client)
                token_lock_held = client.tokens._lock.locked()
            await recorder.wait_idle()  # late answers: their commands are logged too

    stats = emulator.stats
    fired = {label: sum(rule.fired for rule in group) for label, group in rules.items()}
    revocations = fired["revoke tokens"]
    forced_token_requests = fired["token 503"] + fired["token malformed JSON"]
    token_requests = stats.requests[TOKEN]
    per_call = recorder.executions_per_call()
    commands_run = sum(per_call.values())
    most_per_call = max(per_call.values(), default=0)
    command_calls = sum(1 for kind, _ in calls if kind == "command")
    acted_results = [result_of[int(call)] for call in per_call if call.isdigit()]
    acted_but_failed = Counter(result for result in acted_results if result != "ok")
    ordered = sorted(durations)
    total = sum(outcomes.values())

    report(
        capsys,
        f"chaos soak [{anyio_backend}]: {CALLS} calls at concurrency {CONCURRENCY}, seed {SEED}",
        [
            f"wall time {elapsed:.1f} s; requests seen by the emulator {stats.total_requests}",
            "faults injected (rule: times fired): "
            + ", ".join(f"{label}: {n}" for label, n in fired.items()),
            "faults injected (by kind): "
            + ", ".join(f"{k}: {v}" for k, v in sorted(stats.faults.items())),
            "outcomes: " + ", ".join(
                f"{kind} {name}: {n}" for (kind, name), n in sorted(outcomes.items())
            ),
            f"escaped (not a SmartcarError): {len(escaped)}",
            f"token requests {token_requests} (1 + {revocations} revocations"
            f" + {forced_token_requests} forced by token faults)",
            f"commands: {command_calls} calls, {commands_run} executions,"
            f" at most {most_per_call} per call; acted but the caller got an error:"
            f" {sum(acted_but_failed.values())} ({dict(acted_but_failed)})",
            f"latency p50 {ordered[len(ordered) // 2]:.3f} s, p99"
            f" {ordered[int(len(ordered) * 0.99)]:.3f} s, max {ordered[-1]:.3f} s"
            f" (bound {bound:.1f} s)",
            f"connections checked out after the run: {len(pool_problems)}"
            f" ({inspected} pooled connections inspected)",
        ],
    )  # fmt: skip

    assert not escaped, escaped[:5]
    assert total == CALLS
    assert max(durations) < bound
    assert not pool_problems, pool_problems
    assert inspected > 0
    assert not token_lock_held
    assert token_requests <= 1 + revocations + forced_token_requests
    assert most_per_call <= 1, per_call.most_common(5)
    assert "<unknown>" not in per_call
    # The soak did what it says: every fault fired, and plenty of calls still succeeded.
    if CALLS >= 1000:
        assert all(fired.values()), fired
        assert revocations == 2
    assert outcomes[("read", "ok")] > CALLS * 0.5
