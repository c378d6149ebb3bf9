"""Helpers for the Redis token-store tests: a real redis-server, worker processes, a scan."""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import threading
from collections.abc import AsyncIterator, Iterable, Iterator
from pathlib import Path
from typing import Any

import anyio
import anyio.abc
import pytest
import redis.asyncio as aioredis
from anyio.streams.buffered import BufferedByteReceiveStream
from redis.asyncio.retry import Retry
from redis.backoff import NoBackoff

REQUIRE_ENV = "SMARTCAR_ASYNC_REQUIRE_REDIS"
WORKER = Path(__file__).with_name("redis_worker.py")
REPO = Path(__file__).resolve().parents[2]


def redis_server_binary() -> str:
    """The redis-server path; skips the test when missing, or fails when CI requires it."""
    binary = shutil.which("redis-server")
    if binary is None:
        if os.environ.get(REQUIRE_ENV) == "1":
            pytest.fail(f"redis-server is not installed and {REQUIRE_ENV}=1 requires it")
        pytest.skip("redis-server is not installed (apt-get install redis-server)")
    return binary


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class RedisServer:
    """A throwaway redis-server on a loopback port that can be stopped and restarted."""

    def __init__(self, binary: str, directory: Path) -> None:
        self.binary = binary
        self.directory = directory
        self.port = free_port()
        self.process: subprocess.Popen[bytes] | None = None
        self.paused = False
        self.log: list[str] = []

    def start(self) -> None:
        """Start (or restart, on the same port) and return once it accepts connections."""
        assert self.process is None, "already running"
        process = subprocess.Popen(
            [
                self.binary,
                "--port", str(self.port),
                "--bind", "127.0.0.1",
                "--save", "",
                "--appendonly", "no",
                "--dir", str(self.directory),
                "--daemonize", "no",
                "--logfile", "",
            ],
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
        )  # fmt: skip
        ready = threading.Event()

        def drain() -> None:
            # Keep reading so a chatty server never blocks on a full pipe.
            assert process.stdout is not None
            for raw in process.stdout:
                line = raw.decode(errors="replace").rstrip()
                self.log.append(line)
                if "Ready to accept connections" in line:
                    ready.set()
            process.stdout.close()
            ready.set()  # exited: let start() see it

        threading.Thread(target=drain, daemon=True).start()
        if not ready.wait(15) or process.poll() is not None:
            process.kill()
            process.wait()
            raise RuntimeError("redis-server did not start:\n" + "\n".join(self.log[-20:]))
        self.process = process

    def stop(self) -> None:
        """Stop the server and wait until it has exited (the port is closed)."""
        process, self.process = self.process, None
        if process is None:
            return
        if self.paused:
            process.send_signal(signal.SIGCONT)
            self.paused = False
        process.terminate()
        try:
            process.wait(10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()

    def pause(self) -> None:
        """Freeze the server (SIGSTOP): connections stay open, nothing answers."""
        assert self.process is not None
        self.process.send_signal(signal.SIGSTOP)
        self.paused = True

    def resume(self) -> None:
        assert self.process is not None
        self.process.send_signal(signal.SIGCONT)
        self.paused = False

    def client(self, **kwargs: Any) -> aioredis.Redis:
        """An asyncio client with short timeouts and one quick reconnect-and-retry."""
        options: dict[str, Any] = {
            "socket_timeout": 2.0,
            "socket_connect_timeout": 2.0,
            "retry": Retry(NoBackoff(), 1),
        }
        options.update(kwargs)
        return aioredis.Redis(host="127.0.0.1", port=self.port, **options)


async def redis_contents(client: aioredis.Redis) -> list[bytes]:
    """Every key and every value in the database, as bytes, whatever the key's type."""
    out: list[bytes] = []
    for key in await client.keys("*"):
        out.append(key)
        kind = (await client.type(key)).decode()
        if kind == "string":
            out.append(await client.get(key))
        elif kind == "hash":
            for field, value in (await client.hgetall(key)).items():
                out += [field, value]
        elif kind == "list":
            out += await client.lrange(key, 0, -1)
        elif kind == "set":
            out += list(await client.smembers(key))
        elif kind == "zset":
            out += list(await client.zrange(key, 0, -1))
        else:
            raise AssertionError(f"unexpected key type {kind} for {key!r}")
    return out


def assert_secret_absent(contents: Iterable[bytes], *secrets: str) -> None:
    for blob in contents:
        for secret in secrets:
            assert secret.encode() not in blob, "a secret was written to Redis"


class Worker:
    """One worker process (``redis_worker.py`` by default), driven by lines on stdin/stdout."""

    def __init__(self, process: anyio.abc.Process, stderr: Path) -> None:
        self.process = process
        self.stderr = stderr
        assert process.stdout is not None
        self._lines = BufferedByteReceiveStream(process.stdout)

    @classmethod
    async def start(
        cls,
        args: list[str],
        *,
        secret: str,
        client_id: str,
        stderr: Path,
        script: Path = WORKER,
    ) -> Worker:
        env = {
            **os.environ,
            # The credentials travel in the environment, not on the command line.
            "SMARTCAR_CLIENT_ID": client_id,
            "SMARTCAR_CLIENT_SECRET": secret,
            "PYTHONUNBUFFERED": "1",
        }
        env.pop("SMARTCAR_LOG", None)
        with stderr.open("wb") as errors:  # the child keeps its own descriptor
            process = await anyio.open_process(
                [sys.executable, str(script), *args],
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                stderr=errors,
                cwd=REPO,
                env=env,
            )
        return cls(process, stderr)

    async def line(self) -> str:
        try:
            raw = await self._lines.receive_until(b"\n", 1 << 20)
        except (anyio.EndOfStream, anyio.IncompleteRead):
            raise AssertionError(
                "worker exited early:\n" + self.stderr.read_text(errors="replace")[-3000:]
            ) from None
        return raw.decode()

    async def expect(self, word: str) -> None:
        line = await self.line()
        assert line == word, f"expected {word!r}, got {line!r}"

    async def send(self, text: str) -> None:
        assert self.process.stdin is not None
        await self.process.stdin.send(text.encode() + b"\n")

    async def result(self) -> dict[str, Any]:
        report: dict[str, Any] = json.loads(await self.line())
        return report

    async def kill(self) -> None:
        """SIGKILL: no cleanup runs in the worker, whatever it holds."""
        if self.process.returncode is None:
            self.process.kill()
        await self.process.wait()

    async def close(self) -> None:
        if self.process.returncode is None:
            self.process.kill()
        await self.process.aclose()


@pytest.fixture
def redis_server(tmp_path: Path) -> Iterator[RedisServer]:
    """A fresh redis-server; skipped without the binary unless CI requires it."""
    server = RedisServer(redis_server_binary(), tmp_path)
    server.start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
async def cache(redis_server: RedisServer) -> AsyncIterator[aioredis.Redis]:
    """An asyncio Redis client on `redis_server`, closed after the test."""
    client = redis_server.client()
    try:
        yield client
    finally:
        await client.aclose()
