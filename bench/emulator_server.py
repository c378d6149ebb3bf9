"""The emulator over real HTTP, in a process of its own: ``python -m bench.emulator_server``.

The server side of the scenarios that need a *stateful* API (the token storm: the
emulator checks every bearer token and counts token requests). It runs the emulator's
ASGI app (`SmartcarEmulator.asgi_app`) under uvicorn on this process's own event loop,
on loopback, and prints ``READY <host> <port>`` once it listens.

Three routes outside the API, for the harness:

| request | answer |
| --- | --- |
| ``GET /__bench__/info`` | ``client_id``, ``client_secret``, ``fleet`` (vehicle, user pairs) |
| ``GET /__bench__/stats`` | `EmulatorStats.as_dict()` |
| ``POST /__bench__/reset`` | zeroes the counters |

Example:
    $ python -m bench.emulator_server --vehicles 100 --seed 1
    READY 127.0.0.1 40123
"""

from __future__ import annotations

import argparse
import json
import socket
from typing import Any

from smartcar_async.testing import SmartcarEmulator

__all__ = ["BenchApp", "main"]


class BenchApp:
    """The emulator's ASGI app plus the ``/__bench__/...`` routes."""

    def __init__(self, emulator: SmartcarEmulator) -> None:
        self._emulator = emulator
        self._app = emulator.asgi_app()

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        path = scope.get("path", "")
        if scope["type"] == "http" and path.startswith("/__bench__/"):
            await self._bench_route(scope["method"], path, send)
            return
        await self._app(scope, receive, send)

    async def _bench_route(self, method: str, path: str, send: Any) -> None:
        emulator = self._emulator
        body: object
        if method == "GET" and path == "/__bench__/info":
            body = {
                "client_id": emulator.client_id,
                "client_secret": emulator.client_secret,
                "fleet": [[e.vehicle_id, e.user_id] for e in emulator.fleet()],
            }
        elif method == "GET" and path == "/__bench__/stats":
            body = emulator.stats.as_dict()
        elif method == "POST" and path == "/__bench__/reset":
            emulator.reset_stats()
            body = {"reset": True}
        else:
            body = {"error": "no such bench route"}
        data = json.dumps(body).encode()
        headers = [(b"content-type", b"application/json"), (b"content-length", b"%d" % len(data))]
        await send({"type": "http.response.start", "status": 200, "headers": headers})
        await send({"type": "http.response.body", "body": data})


def main(argv: list[str] | None = None) -> None:
    """``python -m bench.emulator_server [--vehicles N] [--seed S] [--port P]``."""
    import uvicorn

    parser = argparse.ArgumentParser(prog="python -m bench.emulator_server", description=__doc__)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--vehicles", type=int, default=100)
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args(argv)

    emulator = SmartcarEmulator(vehicles=args.vehicles, seed=args.seed)
    # proto=IPPROTO_TCP: asyncio turns Nagle off only on sockets that say they are TCP
    # (see smartcar_async.testing._app.serve); with Nagle on, answers wait for ACKs.
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((args.host, args.port))
    sock.listen(4096)
    host, port = sock.getsockname()[:2]
    config = uvicorn.Config(
        BenchApp(emulator),
        lifespan="off",
        log_level="warning",
        access_log=False,
        loop="asyncio",
        server_header=False,
        date_header=False,
        backlog=4096,
    )

    class Server(uvicorn.Server):
        async def startup(self, sockets: list[socket.socket] | None = None) -> None:
            await super().startup(sockets=sockets)
            # The parent waits for this line instead of sleeping.
            print(f"READY {host} {port}", flush=True)

    Server(config).run(sockets=[sock])


if __name__ == "__main__":
    main()
