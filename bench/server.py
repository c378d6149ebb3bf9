"""A minimal, fast HTTP/1.1 server answering canned Smartcar v3 bodies, for benchmarks.

It is the *server side* of the benchmarks and runs in a process of its own
(``python -m bench.server --latency-ms 200``), so that it never competes with the
client under test for the same event loop. It is deliberately not a real HTTP server:
one asyncio `Protocol`, precomputed response bytes, keep-alive, no pipelining
guarantees beyond what HTTP/1.1 clients actually do (one request at a time per
connection). That keeps its cost per request at a few microseconds, far below any
client's, so the numbers measure the clients.

Routes (anything else gets a v3 404 envelope):

| request | answer |
| --- | --- |
| ``POST /oauth2/token`` | ``{"access_token":"t","token_type":"Bearer","expires_in":3600}`` |
| ``GET /v3/vehicles/{id}/signals`` | a ~20.9 KB JSON:API list of signal resources |
| ``GET /v3/vehicles/{id}/signals/{code}`` | one signal resource |
| ``GET /v3/vehicles/{id}`` | a vehicle resource |

Example:
    Start one and read the port it prints::

        $ python -m bench.server --port 0 --latency-ms 200
        READY 127.0.0.1 41234
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import re
import signal
import sys
from collections.abc import Callable
from typing import Any

__all__ = ["SIGNALS_BODY", "TOKEN_BODY", "main", "response_for", "serve", "signals_body"]

TOKEN_BODY = b'{"access_token":"t","token_type":"Bearer","expires_in":3600}'

# (group, name, body) for a realistic vehicle: the catalogue's shapes, not real data.
_CATALOGUE: list[tuple[str, str, dict[str, Any]]] = [
    ("Charge", "Amperage", {"unit": "amps", "value": 32}),
    ("Charge", "ChargeRate", {"unit": "kilowatts", "value": 7.4}),
    ("Charge", "ChargingConnectorType", {"value": "J1772"}),
    ("Charge", "DetailedChargingStatus", {"value": "CHARGING"}),
    ("Charge", "IsCharging", {"value": True}),
    ("Charge", "IsChargingCableConnected", {"value": True}),
    ("Charge", "TimeToComplete", {"unit": "minutes", "value": 95}),
    ("Charge", "Voltage", {"unit": "volts", "value": 240}),
    (
        "Charge",
        "ChargeLimits",
        {
            "values": [{"type": "GLOBAL", "limit": 80, "condition": None}],
            "activeLimit": 80,
            "unit": "percent",
        },
    ),
    ("Climate", "ExternalTemperature", {"unit": "celsius", "value": 18.5}),
    (
        "Closure",
        "Doors",
        {
            "values": [
                {"row": r, "column": c, "isOpen": False, "isLocked": True}
                for r in range(2)
                for c in range(2)
            ],
            "rowCount": 2,
            "columnCount": 2,
        },
    ),
    ("Closure", "IsLocked", {"value": True}),
    ("Closure", "RearTrunk", {"isOpen": False, "isLocked": True}),
    (
        "Closure",
        "Windows",
        {
            "values": [
                {"row": r, "column": c, "isOpen": False} for r in range(2) for c in range(2)
            ],
            "rowCount": 2,
            "columnCount": 2,
        },
    ),
    ("ConnectivitySoftware", "CurrentFirmwareVersion", {"value": "2025.14.3"}),
    ("ConnectivityStatus", "IsAsleep", {"value": False}),
    ("ConnectivityStatus", "IsOnline", {"value": True}),
    ("Diagnostics", "ABS", {"status": "OK", "description": None}),
    ("Diagnostics", "TirePressure", {"status": "OK", "description": None}),
    ("Diagnostics", "DTCCount", {"unit": "count", "value": 0}),
    ("HVAC", "IsCabinHVACActive", {"value": False}),
    ("Location", "IsAtHome", {"value": True}),
    (
        "Location",
        "PreciseLocation",
        {
            "latitude": 37.7749,
            "longitude": -122.4194,
            "heading": 90,
            "direction": "E",
            "locationType": "LAST_PARKED",
        },
    ),
    ("LowVoltageBattery", "StateOfCharge", {"unit": "percent", "value": 88}),
    ("LowVoltageBattery", "Status", {"value": "GOOD"}),
    ("Motion", "CurrentSpeed", {"unit": "kph", "value": 0}),
    ("Odometer", "TraveledDistance", {"unit": "kilometers", "value": 115071.5}),
    ("Service", "IsInService", {"value": False}),
    ("TractionBattery", "IsHeaterActive", {"value": False}),
    (
        "TractionBattery",
        "NominalCapacity",
        {"source": "SMARTCAR", "capacity": 75, "availableCapacities": [], "unit": "kWhr"},
    ),
    (
        "TractionBattery",
        "Range",
        {
            "unit": "kilometers",
            "value": 310,
            "additionalValues": [{"type": "ESTIMATED", "value": 300}],
        },
    ),
    ("TractionBattery", "StateOfCharge", {"unit": "percent", "value": 71}),
    ("Transmission", "GearState", {"value": "PARK"}),
    ("VehicleIdentification", "Vin", {"value": "5YJ3E1EA7KF000001"}),
    ("VehicleIdentification", "ExteriorColor", {"value": "Midnight Silver"}),
    ("VehicleUserAccount", "Role", {"value": "OWNER"}),
    (
        "VehicleUserAccount",
        "Permissions",
        {"values": ["read_vehicle_info", "read_location", "control_security"]},
    ),
    (
        "Wheel",
        "Tires",
        {
            "values": [
                {"row": r, "column": c, "tirePressure": 250} for r in range(2) for c in range(2)
            ],
            "rowCount": 2,
            "columnCount": 2,
        },
    ),
]

_VEHICLE_ID = "36ab27d0-fd9d-4455-823a-ce30af709ffc"


def _signal(vehicle_id: str, group: str, name: str, body: dict[str, Any], i: int) -> dict[str, Any]:
    code = f"{group}-{name}".lower()
    return {
        "id": code,
        "type": "signal",
        "attributes": {
            "code": code,
            "name": name,
            "group": group,
            "status": {"value": "SUCCESS"},
            "body": body,
        },
        "meta": {"retrievedAt": 1752104218549 + i, "oemUpdatedAt": 1752104118549 + i},
        "links": {
            "self": f"/vehicles/{vehicle_id}/signals/{code}",
            "values": f"/vehicles/{vehicle_id}/signals/{code}/values",
            "vehicle": f"/vehicles/{vehicle_id}",
        },
    }


def signals_body(vehicle_id: str = _VEHICLE_ID) -> bytes:
    """Return the canned ``GET /v3/vehicles/{id}/signals`` body (about 20.9 KB).

    Example:
        >>> len(signals_body()) // 100 * 100
        20900
    """
    data = [_signal(vehicle_id, g, n, b, i) for i, (g, n, b) in enumerate(_CATALOGUE)]
    doc = {
        "data": data,
        "meta": {"page": 1, "pageSize": len(data), "totalCount": len(data)},
        "links": {"self": f"/vehicles/{vehicle_id}/signals?page=1"},
        "included": {
            "vehicle": {
                "id": vehicle_id,
                "type": "vehicle",
                "attributes": {"make": "TESLA", "model": "Model 3", "year": 2019},
                "links": {"self": f"/vehicles/{vehicle_id}"},
            }
        },
    }
    return json.dumps(doc, separators=(",", ":")).encode()


SIGNALS_BODY = signals_body()

_VEHICLE_BODY = json.dumps(
    {
        "data": {
            "id": _VEHICLE_ID,
            "type": "vehicle",
            "attributes": {
                "make": "TESLA",
                "model": "Model 3",
                "year": 2019,
                "powertrainType": "BEV",
                "mode": "live",
            },
            "links": {"self": f"/vehicles/{_VEHICLE_ID}"},
        }
    }
).encode()

_NOT_FOUND_BODY = json.dumps(
    {
        "errors": [
            {
                "type": "RESOURCE_NOT_FOUND",
                "code": "PATH",
                "title": "Resource Not Found",
                "detail": "The requested resource does not exist.",
                "status": 404,
            }
        ]
    }
).encode()

_JSON_API = b"application/vnd.api+json"


def _response(status: bytes, body: bytes, content_type: bytes = _JSON_API) -> bytes:
    return (
        b"HTTP/1.1 "
        + status
        + b"\r\ncontent-type: "
        + content_type
        + b"\r\ncontent-length: "
        + str(len(body)).encode()
        + b"\r\nsc-request-id: bench\r\n\r\n"
        + body
    )


_TOKEN_RESPONSE = _response(b"200 OK", TOKEN_BODY, b"application/json")
_SIGNALS_RESPONSE = _response(b"200 OK", SIGNALS_BODY)
_VEHICLE_RESPONSE = _response(b"200 OK", _VEHICLE_BODY)
_NOT_FOUND_RESPONSE = _response(b"404 Not Found", _NOT_FOUND_BODY)
_SIGNAL_ONE = {
    c: _response(b"200 OK", json.dumps({"data": d}).encode())
    for c, d in ((s["id"], s) for s in json.loads(SIGNALS_BODY)["data"])
}

# The body is the same for every vehicle id; only the path shape matters.
_SIGNALS_PATH = re.compile(rb"^/v3/vehicles/[^/?]+/signals(?:\?.*)?$")
_SIGNAL_PATH = re.compile(rb"^/v3/vehicles/[^/?]+/signals/([^/?]+)(?:\?.*)?$")
_VEHICLE_PATH = re.compile(rb"^/v3/vehicles/[^/?]+(?:\?.*)?$")


def response_for(method: bytes, target: bytes) -> bytes:
    """Return the full canned response (status line, headers, body) for a request.

    Example:
        >>> response_for(b"POST", b"/oauth2/token").endswith(TOKEN_BODY)
        True
    """
    if method == b"GET":
        if _SIGNALS_PATH.match(target):
            return _SIGNALS_RESPONSE
        m = _SIGNAL_PATH.match(target)
        if m:
            return _SIGNAL_ONE.get(m.group(1).decode(), _NOT_FOUND_RESPONSE)
        if _VEHICLE_PATH.match(target):
            return _VEHICLE_RESPONSE
    elif method == b"POST" and target.split(b"?", 1)[0] == b"/oauth2/token":
        return _TOKEN_RESPONSE
    return _NOT_FOUND_RESPONSE


class _HTTPProtocol(asyncio.Protocol):
    """One connection: parse request heads, skip bodies, answer from the table."""

    def __init__(self, latency: float) -> None:
        self._latency = latency
        self._buf = b""
        self._transport: asyncio.Transport | None = None
        self._loop = asyncio.get_running_loop()

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self._transport = transport

    def connection_lost(self, exc: Exception | None) -> None:
        self._transport = None

    def data_received(self, data: bytes) -> None:
        buf = self._buf + data if self._buf else data
        while True:
            end = buf.find(b"\r\n\r\n")
            if end < 0:
                break
            head = buf[:end]
            length = 0
            lower = head.lower()
            at = lower.find(b"\r\ncontent-length:")
            if at >= 0:
                stop = lower.find(b"\r\n", at + 2)
                length = int(lower[at + 17 : stop if stop >= 0 else len(lower)])
            if len(buf) < end + 4 + length:
                break
            buf = buf[end + 4 + length :]
            line_end = head.find(b"\r\n")
            method, target, _ = head[: line_end if line_end >= 0 else len(head)].split(b" ", 2)
            close = b"\r\nconnection: close" in lower
            self._answer(response_for(method, target), close)
        self._buf = buf

    def _answer(self, response: bytes, close: bool) -> None:
        if self._latency > 0:
            self._loop.call_later(self._latency, self._write, response, close)
        else:
            self._write(response, close)

    def _write(self, response: bytes, close: bool) -> None:
        if self._transport is not None:
            self._transport.write(response)
            if close:
                self._transport.close()


async def serve(
    host: str = "127.0.0.1",
    port: int = 0,
    *,
    latency: float = 0.0,
    ready: Callable[[str, int], None] | None = None,
) -> None:
    """Serve until cancelled; call ``ready(host, port)`` once listening.

    Example:
        >>> # asyncio.run(serve(latency=0.2, ready=print))  # runs until cancelled
    """
    loop = asyncio.get_running_loop()
    server = await loop.create_server(
        lambda: _HTTPProtocol(latency), host, port, backlog=4096, reuse_address=True
    )
    async with server:
        bound = server.sockets[0].getsockname()
        if ready is not None:
            ready(bound[0], bound[1])
        await server.serve_forever()


def main(argv: list[str] | None = None) -> None:
    """Command line entry: ``python -m bench.server [--port N] [--latency-ms MS]``."""
    parser = argparse.ArgumentParser(prog="python -m bench.server", description=__doc__)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--latency-ms", type=float, default=0.0)
    args = parser.parse_args(argv)

    def ready(host: str, port: int) -> None:
        # The parent waits for this line instead of sleeping.
        print(f"READY {host} {port}", flush=True)

    async def run() -> None:
        task = asyncio.current_task()
        assert task is not None
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(sig, task.cancel)
        with contextlib.suppress(asyncio.CancelledError):
            await serve(args.host, args.port, latency=args.latency_ms / 1000, ready=ready)

    asyncio.run(run())
    sys.exit(0)


if __name__ == "__main__":
    main()
