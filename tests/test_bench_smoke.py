"""The benchmark harness still runs: tiny versions of the cheapest scenarios.

Each scenario runs as ``python -m bench <scenario>`` with small counts, writing its JSON
to a temporary directory; the tests check that the results are well formed (numbers
where numbers belong, no failed runs, the tables rendered). No timing is asserted:
the numbers of a smoke run on a busy machine mean nothing.
"""

from __future__ import annotations

import importlib.util
import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

REPO_ROOT = Path(__file__).resolve().parent.parent

pytestmark = pytest.mark.skipif(
    not (REPO_ROOT / "bench" / "__main__.py").exists(), reason="no bench/ package here"
)


def run_bench(out: Path, *args: str, timeout: float = 120.0) -> dict[str, Any]:
    """Run ``python -m bench <args> --out <out>``; return the JSON it wrote."""
    scenario = args[0]
    result = subprocess.run(
        [sys.executable, "-m", "bench", *args, "--out", str(out)],
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
        env={**os.environ, "PYTHONPATH": str(REPO_ROOT)},
    )
    assert result.returncode == 0, result.stderr[-2000:]
    assert result.stdout.lstrip().startswith("|"), result.stdout  # the Markdown table
    files = sorted(out.glob(f"{scenario}*-quick.json"))
    assert len(files) == 1, files
    payload: dict[str, Any] = json.loads(files[0].read_text())
    assert payload["scenario"] == scenario
    assert payload["facts"]["nproc"] >= 1
    assert payload["facts"]["python"]
    assert payload["table"].startswith("|")
    return payload


def is_number(value: object) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and value >= 0


def test_parse_cost(tmp_path: Path) -> None:
    payload = run_bench(tmp_path, "parse_cost", "--quick", "--rounds", "1", "--bodies", "5")
    variants = {(r["body"], r["variant"]) for r in payload["rows"]}
    assert ("emulator", "json.loads") in variants
    assert ("emulator", "parse_signals(json.loads)") in variants
    for row in payload["rows"]:
        assert is_number(row["cpu_us_per_body"])
        assert row["vs_json_loads"] > 0
    emulator = [r for r in payload["rows"] if r["body"] == "emulator"]
    assert {r["signals"] for r in emulator} == {94}


def test_token_storm(tmp_path: Path) -> None:
    payload = run_bench(tmp_path, "token_storm", "--quick", "--calls", "50")
    summary = payload["summary"]
    assert summary["failed_rounds"] == 0
    assert summary["errors_per_round"] == [0]
    [tokens] = summary["token_requests_per_round"]
    assert isinstance(tokens, int)
    assert tokens >= 1
    assert is_number(summary["time_to_last_response_s"])
    assert {t["target"] for t in payload["targets"]}


def test_reads(tmp_path: Path) -> None:
    clients = ["sdk", "sdk-fanout", "aiohttp", "httpx"]
    if importlib.util.find_spec("smartcar") is not None:
        clients.append("official")
    payload = run_bench(
        tmp_path,
        "reads",
        "--quick",
        "--servers",
        "http",
        "--concurrency",
        "4",
        "--calls",
        "12",
        "--clients",
        ",".join(clients),
    )
    rows = payload["rows"]
    assert [r["client"] for r in rows] == clients
    for row in rows:
        assert row["failed_runs"] == 0, row["error"]
        assert row["errors"] == 0
        assert row["calls"] == 12
        for key in ("rps", "cpu_us_per_call", "p50_ms", "p99_ms", "peak_rss_mb"):
            assert is_number(row[key]), (row["client"], key, row[key])


def test_http2(tmp_path: Path) -> None:
    pytest.importorskip("h2")
    pytest.importorskip("trustme")
    payload = run_bench(
        tmp_path,
        "http2",
        "--quick",
        "--calls",
        "8",
        "--concurrency",
        "4",
        "--clients",
        "sdk-h1,sdk-h2",
    )
    versions = {r["client"]: r["http_version"] for r in payload["rows"]}
    assert versions == {"sdk-h1": "HTTP/1.1", "sdk-h2": "HTTP/2"}
    for row in payload["rows"]:
        assert row["errors"] == 0
        assert is_number(row["rps"])


def test_fanout(tmp_path: Path) -> None:
    payload = run_bench(tmp_path, "fanout", "--quick", "--sizes", "200,400,200")
    assert {r["form"] for r in payload["memory"]} >= {"stream", "waves"}
    for row in payload["memory"]:
        assert is_number(row["small_peak_kib"])
        assert is_number(row["large_peak_kib"])
    assert all(isinstance(t["met"], bool) for t in payload["targets"])


def test_per_call(tmp_path: Path) -> None:
    payload = run_bench(tmp_path, "per_call", "--quick", "--calls", "20", "--rounds", "1")
    variants = {r["variant"] for r in payload["rows"]}
    assert {"httpx + json.loads", "sdk", "sdk, json.loads", "sdk + read all"} <= variants
    for row in payload["rows"]:
        assert is_number(row["cpu_us_per_call"])
    assert {t["target"] for t in payload["targets"]}


def test_fleet(tmp_path: Path) -> None:
    payload = run_bench(
        tmp_path,
        "fleet",
        "--quick",
        "--scenarios",
        "500@200ms",
        "--clients",
        "sdk,sdk-fanout,aiohttp",
        timeout=240,
    )
    rows = {r["client"]: r for r in payload["rows"]}
    assert set(rows) == {"sdk", "sdk-fanout", "aiohttp"}
    for row in rows.values():
        assert row["error"] is None, row["error"]
        assert row["errors"] == 0
        assert is_number(row["rps"])
        assert is_number(row["peak_rss_mb"])
    assert rows["aiohttp"]["vs_aiohttp"] == 1.0
    memory = {m["client"]: m for m in payload["memory"]}
    assert set(memory) == {"sdk", "aiohttp"}
    for m in memory.values():
        assert is_number(m["peak_kib_per_call"])
    assert payload["memory_table"].startswith("|")
