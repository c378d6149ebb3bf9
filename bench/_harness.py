"""Plumbing shared by the scenario modules (`reads`, `token_storm`, `parse_cost`, `http2`...).

Every measurement of a client runs in a *child* process of its own (a fresh interpreter:
``python -m bench <scenario> --child ...``), so CPU time and peak RSS belong to that one
client; the parent only starts servers, runs the children interleaved, A B A B, and takes
medians. Servers run in processes of their own too, so a client never shares its event
loop (or its core, on a 2-core machine, as far as the OS allows) with the server.
"""

from __future__ import annotations

import contextlib
import importlib.metadata
import json
import os
import platform
import resource
import statistics
import subprocess
import sys
import time
import urllib.request
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any

__all__ = [
    "DEFAULT_OUT",
    "REPO_ROOT",
    "VEHICLE_ID",
    "USER_ID",
    "EmulatorServer",
    "Timer",
    "canned_server",
    "child_result",
    "command_line",
    "emulator_server",
    "interleave",
    "latency_summary",
    "machine_facts",
    "markdown_table",
    "median_of",
    "peak_rss_mb",
    "results_path",
    "run_child",
    "server_process",
    "write_results",
]

REPO_ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

#: The ids the canned server answers for (any id works there; these look real).
VEHICLE_ID = "36ab27d0-fd9d-4455-823a-ce30af709ffc"
USER_ID = "93b3ee4b-5b3b-4b4e-9b1b-0b8e1b0b9f00"


# ----------------------------------------------------------------------------- child side


def peak_rss_mb() -> float:
    """Peak resident set size of this process so far, in MiB."""
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    # Linux reports KiB, macOS bytes.
    return rss / (1024 * 1024) if sys.platform == "darwin" else rss / 1024


def latency_summary(seconds: Sequence[float]) -> dict[str, float | None]:
    """p50/p90/p99/max of per-call latencies (seconds in, milliseconds out)."""
    if not seconds:
        return {"p50_ms": None, "p90_ms": None, "p99_ms": None, "max_ms": None}
    ordered = sorted(seconds)

    def at(fraction: float) -> float:
        # Nearest rank: the smallest sample with at least `fraction` of samples <= it.
        index = max(0, min(len(ordered) - 1, int(fraction * len(ordered) + 0.999999) - 1))
        return round(ordered[index] * 1000, 2)

    return {
        "p50_ms": at(0.50),
        "p90_ms": at(0.90),
        "p99_ms": at(0.99),
        "max_ms": round(ordered[-1] * 1000, 2),
    }


@dataclass
class Timer:
    """Wall and CPU time of this process between `start` and `stop`."""

    wall: float = 0.0
    cpu: float = 0.0
    _wall0: float = 0.0
    _cpu0: float = 0.0

    def start(self) -> None:
        self._wall0 = time.perf_counter()
        self._cpu0 = time.process_time()

    def stop(self) -> None:
        self.wall = time.perf_counter() - self._wall0
        # process_time counts every thread of the process (the official SDK's pool too).
        self.cpu = time.process_time() - self._cpu0


def child_result(
    client: str, calls: int, timer: Timer, latencies: Sequence[float], errors: int, **extra: Any
) -> dict[str, Any]:
    """The JSON a child prints: one measurement of one client."""
    return {
        "client": client,
        "calls": calls,
        "errors": errors,
        "wall_s": round(timer.wall, 4),
        "cpu_s": round(timer.cpu, 4),
        "rps": round(calls / timer.wall, 1) if timer.wall > 0 else None,
        "cpu_us_per_call": round(timer.cpu / calls * 1e6, 1) if calls else None,
        **latency_summary(latencies),
        "peak_rss_mb": round(peak_rss_mb(), 1),
        **extra,
    }


# ---------------------------------------------------------------------------- parent side


def run_child(scenario: str, args: Sequence[str], *, timeout: float = 600.0) -> dict[str, Any]:
    """Run ``python -m bench <scenario> --child ...`` and return its last JSON line.

    A child that fails comes back as ``{"error": <last line of its stderr>}``, so one
    broken client shows up in the table instead of ending the run.
    """
    command = [sys.executable, "-m", "bench", scenario, *args]
    try:
        out = subprocess.run(
            command,
            capture_output=True,
            text=True,
            cwd=REPO_ROOT,
            check=False,
            timeout=timeout,
        )
    except subprocess.TimeoutExpired:
        return {"error": f"timed out after {timeout:.0f} s"}
    lines = out.stdout.strip().splitlines()
    if out.returncode != 0 or not lines:
        tail = out.stderr.strip().splitlines()[-1:] or [f"exit status {out.returncode}"]
        return {"error": tail[0][:300]}
    result: dict[str, Any] = json.loads(lines[-1])
    return result


@contextlib.contextmanager
def server_process(
    argv: Sequence[str], *, env: dict[str, str] | None = None
) -> Iterator[list[str]]:
    """Start ``python <argv...>``; wait for its ``READY ...`` line; yield the words after it."""
    process = subprocess.Popen(
        [sys.executable, *argv],
        stdout=subprocess.PIPE,
        text=True,
        cwd=REPO_ROOT,
        env={**os.environ, **(env or {})},
    )
    try:
        assert process.stdout is not None
        line = process.stdout.readline()  # blocks until the server says READY (or dies)
        if not line.startswith("READY "):
            raise RuntimeError(f"{' '.join(argv)} failed to start: {line!r}")
        yield line.split()[1:]
    finally:
        process.terminate()
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        if process.stdout is not None:
            process.stdout.close()


@contextlib.contextmanager
def canned_server(latency_ms: float = 0.0) -> Iterator[str]:
    """`bench.server` (the minimal canned HTTP/1.1 server) in its own process; its URL."""
    with server_process(["-m", "bench.server", "--latency-ms", str(latency_ms)]) as (host, port):
        yield f"http://{host}:{port}"


@dataclass(frozen=True)
class EmulatorServer:
    """A `bench.emulator_server` process: the emulator's ASGI app under uvicorn."""

    base_url: str
    client_id: str
    client_secret: str
    fleet: list[tuple[str, str]]

    def stats(self) -> dict[str, Any]:
        """The emulator's `EmulatorStats.as_dict()`."""
        return _get_json(f"{self.base_url}/__bench__/stats")

    def reset(self) -> None:
        """Zero the emulator's counters."""
        request = urllib.request.Request(f"{self.base_url}/__bench__/reset", method="POST")
        with urllib.request.urlopen(request, timeout=30) as response:
            response.read()


def _get_json(url: str) -> Any:
    with urllib.request.urlopen(url, timeout=30) as response:
        return json.loads(response.read())


@contextlib.contextmanager
def emulator_server(vehicles: int = 100, seed: int = 1) -> Iterator[EmulatorServer]:
    """Serve a seeded `SmartcarEmulator` with uvicorn in its own process."""
    argv = ["-m", "bench.emulator_server", "--vehicles", str(vehicles), "--seed", str(seed)]
    with server_process(argv) as (host, port):
        base = f"http://{host}:{port}"
        info = _get_json(f"{base}/__bench__/info")
        yield EmulatorServer(
            base_url=base,
            client_id=info["client_id"],
            client_secret=info["client_secret"],
            fleet=[(v, u) for v, u in info["fleet"]],
        )


def interleave(
    clients: Sequence[str],
    rounds: int,
    measure: Callable[[str], dict[str, Any]],
    *,
    label: str = "",
    show: Callable[[dict[str, Any]], str] | None = None,
) -> dict[str, list[dict[str, Any]]]:
    """Run ``measure(client)`` for every client, A B C A B C ..., ``rounds`` times."""
    samples: dict[str, list[dict[str, Any]]] = {c: [] for c in clients}
    for round_no in range(rounds):
        for client in clients:
            result = measure(client)
            samples[client].append(result)
            if "error" in result:
                shown = f"error: {result['error']}"
            elif show is not None:
                shown = show(result)
            else:
                shown = f"{result.get('rps', 0):8.0f} calls/s"
            print(
                f"[{label}] round {round_no + 1}/{rounds} {client:22} {shown}",
                file=sys.stderr,
                flush=True,
            )
    return samples


def median_of(samples: Sequence[dict[str, Any]], key: str) -> float | None:
    """Median of ``key`` over the samples that have it (failed runs have not)."""
    values = [s[key] for s in samples if s.get(key) is not None and "error" not in s]
    return statistics.median(values) if values else None


def markdown_table(header: Sequence[str], rows: Sequence[Sequence[object]], align: str) -> str:
    """A Markdown table; ``align`` has one ``l`` or ``r`` per column."""

    def cell(value: object) -> str:
        return "-" if value is None else str(value)

    lines = [
        "| " + " | ".join(header) + " |",
        "| " + " | ".join("---:" if a == "r" else "---" for a in align) + " |",
    ]
    lines += ["| " + " | ".join(cell(v) for v in row) + " |" for row in rows]
    return "\n".join(lines)


def _version(dist: str) -> str | None:
    try:
        return importlib.metadata.version(dist)
    except importlib.metadata.PackageNotFoundError:
        return None


def machine_facts() -> dict[str, Any]:
    """What the numbers were measured on: CPU, cores, Python, package versions, load."""
    cpu = platform.processor() or platform.machine()
    with contextlib.suppress(OSError), open("/proc/cpuinfo") as f:
        for line in f:
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    try:
        usable = len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        usable = os.cpu_count() or 0
    packages = (
        "smartcar-async",
        "httpx",
        "httpcore",
        "h11",
        "h2",
        "aiohttp",
        "anyio",
        "attrs",
        "smartcar",
        "requests",
        "urllib3",
        "uvicorn",
    )
    return {
        "cpu": cpu,
        "nproc": usable,
        "python": platform.python_version(),
        "implementation": platform.python_implementation(),
        "platform": platform.platform(),
        # Other work on a shared machine moves absolute numbers: the load says how busy.
        "loadavg": [round(x, 2) for x in os.getloadavg()],
        "packages": {p: _version(p) for p in packages},
    }


def results_path(out_dir: str, name: str, quick: bool) -> str:
    """Where a scenario writes its JSON: ``<out>/<name>.json`` (``-quick`` for smoke runs)."""
    return os.path.join(out_dir, f"{name}{'-quick' if quick else ''}.json")


def write_results(out_dir: str | None, name: str, quick: bool, payload: dict[str, Any]) -> None:
    """Write the scenario's results (with the machine facts) unless ``out_dir`` is None."""
    if out_dir is None:
        return
    os.makedirs(out_dir, exist_ok=True)
    path = results_path(out_dir, name, quick)
    with open(path, "w") as f:
        json.dump(payload, f, indent=2)
        f.write("\n")
    print(f"results: {os.path.relpath(path, REPO_ROOT)}", file=sys.stderr)


def command_line(scenario: str, argv: Sequence[str]) -> str:
    """The command that reproduces a run, as the docs show it."""
    return " ".join(["python -m bench", scenario, *argv])


DEFAULT_OUT = os.path.join(REPO_ROOT, "bench", "results")
