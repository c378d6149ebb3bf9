"""A fleet job: read every connected vehicle, lock the unlocked ones, report.

Reads go through ``client.vehicles.signals_many`` (bounded concurrency, results as they
finish, one error per vehicle instead of one crash, per-vehicle 429s waited out without
holding a slot); locks through ``client.commands.run_many``. Memory stays flat however
large the fleet: connections are pulled page by page as slots free up.

Run it against your application, or against the emulator
(``smartcar-async emulator serve`` prints the variables to export):

    export SMARTCAR_CLIENT_ID=client_... SMARTCAR_CLIENT_SECRET=...
    python fleet_job.py --concurrency 50

The tests in ``test_fleet_job_anyio.py`` run it with the pytest fixtures on asyncio and trio.
"""

from __future__ import annotations

import argparse
from collections import Counter

import anyio
import attrs

import smartcar_async as sc
from smartcar_async.signals import IS_LOCKED, STATE_OF_CHARGE


@attrs.frozen
class Report:
    """What the job did."""

    read: int
    read_failures: dict[str, int]
    low_battery: tuple[str, ...]
    locked: int
    lock_failures: dict[str, int]
    seconds: float

    def lines(self) -> list[str]:
        """The report as a few lines of text."""
        return [
            f"read {self.read} vehicles in {self.seconds:.1f} s; failures: "
            f"{self.read_failures or 'none'}",
            f"below 20 % charge: {len(self.low_battery)}",
            f"locked {self.locked}; failures: {self.lock_failures or 'none'}",
        ]


async def run(client: sc.SmartcarClient, *, concurrency: int = 50) -> Report:
    """Read every vehicle, note the low batteries, lock the unlocked ones."""
    read_failures: Counter[str] = Counter()
    low_battery: list[str] = []
    unlocked: list[sc.Connection] = []
    read = 0
    fan = client.vehicles.signals_many(client.connections.list(), concurrency=concurrency)
    async with fan as outcomes:
        async for outcome in outcomes:
            if not outcome.ok:
                read_failures[type(outcome.error).__name__] += 1
                continue
            read += 1
            connection = outcome.target
            signals = outcome.value
            soc = signals.value(STATE_OF_CHARGE)
            if isinstance(soc, (int, float)) and soc < 20:
                low_battery.append(connection.vehicle_id)
            if signals.value(IS_LOCKED) is False:
                unlocked.append(connection)

    lock_failures: Counter[str] = Counter()
    locked = 0
    async with client.commands.run_many("lock", unlocked, concurrency=concurrency) as results:
        async for result in results:
            if result.ok:
                locked += 1
            else:
                lock_failures[type(result.error).__name__] += 1
    return Report(
        read=read,
        read_failures=dict(read_failures),
        low_battery=tuple(sorted(low_battery)),
        locked=locked,
        lock_failures=dict(lock_failures),
        seconds=fan.summary().elapsed,
    )


async def main(concurrency: int) -> None:
    async with sc.SmartcarClient() as client:  # SMARTCAR_CLIENT_ID / SMARTCAR_CLIENT_SECRET
        report = await run(client, concurrency=concurrency)
    for line in report.lines():
        print(line)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--concurrency", type=int, default=50)
    anyio.run(main, parser.parse_args().concurrency)
