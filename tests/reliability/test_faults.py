"""One focused test per fault kind, so that a chaos failure can be traced to its cause.

For each kind: how many attempts reached the emulator, what was slept, which error class
came out, and for commands how many times the vehicle acted (never more than once).
The emulator runs in-process on a `VirtualClock` that jumps, except where a real socket
is the point (a dropped connection, latency beyond httpx's read timeout).
"""

from __future__ import annotations

from collections.abc import AsyncIterator

import anyio
import httpx
import pytest
from reliability_support import (
    LOCK,
    SIGNALS,
    TIMEOUT,
    TOKEN,
    VEHICLE,
    RecordingClock,
    autojump,
    bev,
    emulator_client,
)

from smartcar_async import (
    APIConnectionError,
    APIResponseError,
    APIStatusError,
    APITimeoutError,
    AuthenticationError,
    RateLimitError,
    RetryPolicy,
    ServerError,
    SmartcarClient,
    TokenError,
    UpstreamError,
)
from smartcar_async.testing import Fault, FleetEntry, SmartcarEmulator

pytestmark = pytest.mark.anyio

STATUS_ERRORS: dict[int, type[APIStatusError]] = {
    500: ServerError,
    502: UpstreamError,
    503: ServerError,
    504: UpstreamError,  # the emulator sends UPSTREAM:NO_RESPONSE; the type wins
}


@pytest.fixture
def clock() -> RecordingClock:
    return RecordingClock()


@pytest.fixture
def emulator(clock: RecordingClock) -> SmartcarEmulator:
    return SmartcarEmulator(vehicles=2, seed=9, clock=clock)


@pytest.fixture
def car(emulator: SmartcarEmulator) -> FleetEntry:
    return bev(emulator)


@pytest.fixture
async def client(
    emulator: SmartcarEmulator, clock: RecordingClock
) -> AsyncIterator[SmartcarClient]:
    async with emulator_client(emulator, clock=clock) as client:
        # Take the token now, so the counts below are the calls' own.
        await client.tokens.get()
        emulator.reset_stats()
        yield client


def executions(emulator: SmartcarEmulator, car: FleetEntry) -> int:
    return emulator.stats.commands[(car.vehicle_id, "security-lock")]


def token_requests(emulator: SmartcarEmulator) -> int:
    # Not stats.token_requests: that one misses token requests a fault answered.
    return emulator.stats.requests[TOKEN]


async def lock(client: SmartcarClient, car: FleetEntry) -> None:
    await client.commands.lock(car.vehicle_id, user_id=car.user_id)


# -- 5xx ---------------------------------------------------------------------------------


@pytest.mark.parametrize("status", sorted(STATUS_ERRORS))
async def test_a_failing_read_is_retried_with_backoff_then_raises_the_typed_error(
    client: SmartcarClient, emulator: SmartcarEmulator, clock: RecordingClock, car: FleetEntry,
    status: int,
) -> None:  # fmt: skip
    emulator.add_fault(Fault.status(status), route=SIGNALS)
    with anyio.fail_after(TIMEOUT):
        async with autojump(clock):
            with pytest.raises(STATUS_ERRORS[status]) as info:
                await client.vehicles.signals(car.vehicle_id, user_id=car.user_id)
    assert info.value.status_code == status
    assert emulator.stats.requests[SIGNALS] == 3  # the first attempt and max_retries=2
    assert clock.slept == [0.5, 1.0]  # exponential backoff from 0.5 s


@pytest.mark.parametrize("status", sorted(STATUS_ERRORS))
async def test_a_read_recovers_when_the_fault_passes(
    client: SmartcarClient, emulator: SmartcarEmulator, clock: RecordingClock, car: FleetEntry,
    status: int,
) -> None:  # fmt: skip
    emulator.add_fault(Fault.status(status), route=SIGNALS, times=1)
    with anyio.fail_after(TIMEOUT):
        async with autojump(clock):
            raw = await client.vehicles.with_raw_response.signals(
                car.vehicle_id, user_id=car.user_id
            )
    assert raw.status_code == 200
    assert raw.retries == 1
    assert len(raw.parse()) > 0


@pytest.mark.parametrize("after_processing", [False, True], ids=["refused", "acted"])
@pytest.mark.parametrize("status", sorted(STATUS_ERRORS))
async def test_a_failing_command_is_never_sent_again(
    client: SmartcarClient, emulator: SmartcarEmulator, clock: RecordingClock, car: FleetEntry,
    status: int, after_processing: bool,
) -> None:  # fmt: skip
    emulator.add_fault(Fault.status(status, after_processing=after_processing), route=LOCK)
    with anyio.fail_after(TIMEOUT), pytest.raises(STATUS_ERRORS[status]):
        await client.commands.lock(car.vehicle_id, user_id=car.user_id)
    assert emulator.stats.requests[LOCK] == 1
    assert executions(emulator, car) == (1 if after_processing else 0)
    assert clock.slept == []


# -- 429 ---------------------------------------------------------------------------------


async def test_an_app_wide_429_waits_retry_after_and_pauses_every_call_of_the_client(
    client: SmartcarClient, emulator: SmartcarEmulator, clock: RecordingClock, car: FleetEntry
) -> None:
    emulator.add_fault(Fault.rate_limit(retry_after=3, scope="app"), route=SIGNALS, times=1)
    results: dict[str, object] = {}

    async def read() -> None:
        results["signals"] = await client.vehicles.signals(car.vehicle_id, user_id=car.user_id)

    async def other() -> None:
        results["vehicle"] = await client.vehicles.get(car.vehicle_id)

    with anyio.fail_after(TIMEOUT):
        async with anyio.create_task_group() as tg:
            tg.start_soon(read)
            await clock.wait_for_sleepers(1)  # the read sleeps out Retry-After
            tg.start_soon(other)
            await clock.wait_for_sleepers(2)  # the other call waits out the pause
            assert emulator.stats.requests[VEHICLE] == 0  # ...before it is sent
            clock.advance(3)
    assert set(results) == {"signals", "vehicle"}
    assert emulator.stats.requests[SIGNALS] == 2
    assert emulator.stats.requests[VEHICLE] == 1
    assert clock.now() == 3


async def test_a_429_beyond_the_retry_after_cap_raises_with_retry_after(
    client: SmartcarClient, emulator: SmartcarEmulator, clock: RecordingClock, car: FleetEntry
) -> None:
    emulator.add_fault(Fault.rate_limit(retry_after=600, scope="app"), route=SIGNALS)
    with anyio.fail_after(TIMEOUT), pytest.raises(RateLimitError) as info:
        await client.vehicles.signals(car.vehicle_id, user_id=car.user_id)
    assert info.value.retry_after == 600
    assert info.value.code == "SMARTCAR_API"
    assert emulator.stats.requests[SIGNALS] == 1
    assert clock.slept == []
    # The client stays paused for the cap (60 s), not for the 600 s the API asked.
    assert client._shared.throttle.paused_until == pytest.approx(60)


async def test_a_per_vehicle_429_delays_only_that_vehicle(
    client: SmartcarClient, emulator: SmartcarEmulator, clock: RecordingClock, car: FleetEntry
) -> None:
    other = emulator.fleet()[0]
    emulator.add_fault(
        Fault.rate_limit(retry_after=2, scope="vehicle"), vehicle_id=car.vehicle_id, times=1
    )
    with anyio.fail_after(TIMEOUT):
        async with anyio.create_task_group() as tg:
            tg.start_soon(lock, client, car)
            await clock.wait_for_sleepers(1)
            # Another vehicle is not paused: it completes while the clock stands still.
            await client.vehicles.signals(other.vehicle_id, user_id=other.user_id)
            assert clock.now() == 0
            clock.advance(2)
    assert emulator.stats.requests[LOCK] == 2  # a 429 is refused before processing...
    assert executions(emulator, car) == 1  # ...so even a command is retried, and acts once
    assert clock.slept == [2]


async def test_a_429_without_retry_after_backs_off_a_read_and_fails_a_command(
    client: SmartcarClient, emulator: SmartcarEmulator, clock: RecordingClock, car: FleetEntry
) -> None:
    no_header = Fault.status(429, type="RATE_LIMIT", code="VEHICLE")
    emulator.add_fault(no_header, route=SIGNALS, times=1)
    emulator.add_fault(no_header, route=LOCK, times=1)
    with anyio.fail_after(TIMEOUT):
        async with autojump(clock):
            await client.vehicles.signals(car.vehicle_id, user_id=car.user_id)
        assert clock.slept == [0.5]
        with pytest.raises(RateLimitError) as info:
            await client.commands.lock(car.vehicle_id, user_id=car.user_id)
    assert info.value.retry_after is None
    assert emulator.stats.requests[SIGNALS] == 2
    assert emulator.stats.requests[LOCK] == 1
    assert executions(emulator, car) == 0


# -- malformed JSON ----------------------------------------------------------------------


async def test_a_200_with_malformed_json_raises_api_response_error_without_a_retry(
    client: SmartcarClient, emulator: SmartcarEmulator, clock: RecordingClock, car: FleetEntry
) -> None:
    emulator.add_fault(Fault.malformed_json(), route=SIGNALS)
    emulator.add_fault(Fault.malformed_json(after_processing=True), route=LOCK)
    with anyio.fail_after(TIMEOUT):
        with pytest.raises(APIResponseError) as read_error:
            await client.vehicles.signals(car.vehicle_id, user_id=car.user_id)
        with pytest.raises(APIResponseError) as command_error:
            await client.commands.lock(car.vehicle_id, user_id=car.user_id)
    assert read_error.value.status_code == 200
    assert command_error.value.request_id  # to quote to support: the vehicle did act
    assert emulator.stats.requests[SIGNALS] == 1
    assert emulator.stats.requests[LOCK] == 1
    assert executions(emulator, car) == 1
    assert clock.slept == []


# -- dropped connections and latency: real sockets -------------------------------------------


@pytest.fixture
async def served() -> AsyncIterator[tuple[SmartcarEmulator, str]]:
    """An emulator on the real clock, served over loopback."""
    emulator = SmartcarEmulator(vehicles=2, seed=9)
    async with emulator.serve() as base_url:
        yield emulator, base_url


SOCKET_RETRY = RetryPolicy(backoff_initial=0.01, backoff_max=0.02, jitter=0)


async def test_a_dropped_connection_is_retried_for_a_read(
    served: tuple[SmartcarEmulator, str],
) -> None:
    emulator, base_url = served
    car = bev(emulator)
    emulator.add_fault(Fault.drop(), route=SIGNALS, times=1)
    with anyio.fail_after(TIMEOUT):
        async with emulator_client(emulator, base_url=base_url, retry=SOCKET_RETRY) as client:
            raw = await client.vehicles.with_raw_response.signals(
                car.vehicle_id, user_id=car.user_id
            )
            emulator.add_fault(Fault.drop(), route=SIGNALS)
            with pytest.raises(APIConnectionError) as info:
                await client.vehicles.signals(car.vehicle_id, user_id=car.user_id)
    assert raw.retries == 1
    assert not isinstance(info.value, APITimeoutError)
    assert emulator.stats.requests[SIGNALS] == 2 + 3
    assert emulator.stats.faults["drop"] == 1 + 3


@pytest.mark.parametrize("after_processing", [False, True], ids=["refused", "acted"])
async def test_a_dropped_connection_is_never_retried_for_a_command(
    served: tuple[SmartcarEmulator, str], after_processing: bool
) -> None:
    emulator, base_url = served
    car = bev(emulator)
    emulator.add_fault(Fault.drop(after_processing=after_processing), route=LOCK)
    with anyio.fail_after(TIMEOUT):
        async with emulator_client(emulator, base_url=base_url, retry=SOCKET_RETRY) as client:
            with pytest.raises(APIConnectionError):
                await client.commands.lock(car.vehicle_id, user_id=car.user_id)
    assert emulator.stats.requests[LOCK] == 1
    assert executions(emulator, car) == (1 if after_processing else 0)


async def test_latency_beyond_the_read_timeout_retries_reads_and_never_commands(
    served: tuple[SmartcarEmulator, str],
) -> None:
    emulator, base_url = served
    car = bev(emulator)
    # The emulator answers after 2 s of real time; the client gives up on a read after
    # 0.1 s. The command's answer is late *after* the vehicle acted.
    emulator.add_fault(Fault.latency(2.0), route=SIGNALS)
    emulator.add_fault(Fault.latency(2.0, after_processing=True), route=LOCK)
    short = httpx.Timeout(2.0, read=0.1)
    with anyio.fail_after(TIMEOUT):
        async with emulator_client(
            emulator, base_url=base_url, retry=SOCKET_RETRY, timeout=short, command_timeout=short
        ) as client:
            await client.tokens.get()
            with pytest.raises(APITimeoutError):
                await client.vehicles.signals(car.vehicle_id, user_id=car.user_id)
            with pytest.raises(APITimeoutError):
                await client.commands.lock(car.vehicle_id, user_id=car.user_id)
    assert emulator.stats.requests[SIGNALS] == 3
    assert emulator.stats.requests[LOCK] == 1
    assert executions(emulator, car) == 1


# -- tokens ------------------------------------------------------------------------------


async def test_revoked_tokens_are_replaced_once_and_the_command_acts_once(
    client: SmartcarClient, emulator: SmartcarEmulator, clock: RecordingClock, car: FleetEntry
) -> None:
    emulator.add_fault(Fault.revoke_tokens(), route=LOCK, times=1)
    with anyio.fail_after(TIMEOUT):
        raw = await client.commands.with_raw_response.lock(car.vehicle_id, user_id=car.user_id)
    assert raw.status_code == 200
    assert raw.retries == 0  # the 401 replay is not a retry
    assert emulator.stats.requests[LOCK] == 2
    assert emulator.stats.route_statuses[(LOCK, 401)] == 1
    assert token_requests(emulator) == 1
    assert executions(emulator, car) == 1


async def test_a_401_after_the_replay_raises_authentication_error(
    client: SmartcarClient, emulator: SmartcarEmulator, car: FleetEntry
) -> None:
    emulator.add_fault(Fault.status(401, type="AUTHENTICATION"), route=SIGNALS, times=2)
    with anyio.fail_after(TIMEOUT), pytest.raises(AuthenticationError):
        await client.vehicles.signals(car.vehicle_id, user_id=car.user_id)
    assert emulator.stats.requests[SIGNALS] == 2
    assert token_requests(emulator) == 1


async def test_a_failing_token_endpoint_is_retried_briefly_then_raises_token_error(
    client: SmartcarClient, emulator: SmartcarEmulator, clock: RecordingClock, car: FleetEntry
) -> None:
    emulator.revoke_tokens()
    emulator.add_fault(Fault.status(503), route=TOKEN, times=1)
    with anyio.fail_after(TIMEOUT):
        async with autojump(clock):
            await client.vehicles.signals(car.vehicle_id, user_id=car.user_id)
        assert token_requests(emulator) == 2
        assert clock.slept == [0.25]

        emulator.revoke_tokens()
        emulator.add_fault(Fault.status(500), route=TOKEN)
        async with autojump(clock):
            with pytest.raises(TokenError) as info:
                await client.vehicles.signals(car.vehicle_id, user_id=car.user_id)
    assert info.value.status_code == 500
    assert token_requests(emulator) == 2 + 3


@pytest.mark.parametrize("fault", [Fault.malformed_json(), Fault.drop()], ids=["malformed", "drop"])
async def test_a_broken_token_answer_raises_token_error_at_once(
    client: SmartcarClient, emulator: SmartcarEmulator, car: FleetEntry, fault: Fault
) -> None:
    emulator.revoke_tokens()
    emulator.add_fault(fault, route=TOKEN, times=1)
    with anyio.fail_after(TIMEOUT):
        with pytest.raises(TokenError):
            await client.vehicles.signals(car.vehicle_id, user_id=car.user_id)
        # The next call asks again, and the client works.
        await client.vehicles.signals(car.vehicle_id, user_id=car.user_id)
    assert token_requests(emulator) == 2
