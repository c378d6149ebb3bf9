"""Constants and assertions shared by the resource tests."""

from __future__ import annotations

import json
from typing import Any

import httpx
import respx

TOKEN_URL = "https://iam.smartcar.com/oauth2/token"
VEHICLE_API = "https://vehicle.api.smartcar.com/v3"
MANAGEMENT_API = "https://management.api.smartcar.com/v3"
TOKEN = "tok_abc"

VEHICLE_ID = "36ab27d0-fd9d-4455-823a-ce30af709ffc"
USER_ID = "93b3ea2b-fd9d-4e54-ab8b-3b2b4e5f0a11"

#: Ids that must never reach a path (reference: path safety).
BAD_IDS = ["../connections", "", "a/b", "x\n"]


def api_calls(router: respx.MockRouter) -> list[httpx.Request]:
    """The requests that reached the mocked API, the token request left out."""
    return [call.request for call in router.calls if call.request.url != TOKEN_URL]


def only_request(router: respx.MockRouter) -> httpx.Request:
    calls = api_calls(router)
    assert len(calls) == 1, calls
    return calls[0]


def assert_headers(request: httpx.Request, *, user_id: str | None) -> None:
    """Bearer token always; ``sc-user-id`` exactly when the endpoint takes it."""
    assert request.headers["authorization"] == f"Bearer {TOKEN}"
    assert request.headers["accept"] == "application/json"
    if user_id is None:
        assert "sc-user-id" not in request.headers
    else:
        assert request.headers["sc-user-id"] == user_id


def body_of(request: httpx.Request) -> Any:
    return json.loads(request.content) if request.content else None


def query_of(request: httpx.Request) -> dict[str, str]:
    return dict(request.url.params.multi_items())


def connection_json(index: int = 0) -> dict[str, Any]:
    """A connection resource exactly as the reference (§4.1) documents it."""
    return {
        "id": f"conn-{index}",
        "type": "connection",
        "attributes": {
            "permissions": ["read_vehicle_info", "control_security"],
            "vehicle": {
                "make": "TESLA",
                "model": "Model 3",
                "year": 2022,
                "mode": "live",
                "powertrainType": "BEV",
            },
        },
        "relationships": {
            "vehicle": {
                "data": {"id": f"veh-{index}", "type": "vehicle"},
                "links": {"related": f"/vehicles/veh-{index}"},
            },
            "user": {"data": {"id": f"user-{index}", "type": "user"}},
        },
        "meta": {"createdAt": "2026-05-01T10:00:00.000Z", "updatedAt": "2026-05-02T11:30:00Z"},
        "links": {"self": f"/connections/conn-{index}"},
    }


def execution_json(
    command_type: str,
    *,
    status: str = "SUCCESS",
    mode: str = "sync",
    parameters: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """A command execution as the reference (§4.4) documents it."""
    return {
        "data": {
            "id": "exec_9876543210",
            "type": "command-execution",
            "attributes": {
                "commandType": command_type,
                "status": {"value": status},
                "executionMode": mode,
                "parameters": parameters if parameters is not None else {},
            },
            "meta": {
                "executedAt": "2026-05-01T10:00:00Z",
                "completedAt": "2026-05-01T10:00:02Z",
                "durationInSeconds": 2,
            },
        }
    }


def schedule_execution_json(kind: str, parameters: dict[str, Any]) -> dict[str, Any]:
    return {
        "data": {
            "id": "sexec_1",
            "type": "charge-schedule-execution",
            "attributes": {
                "action": "create",
                "scheduleType": kind,
                "status": {"value": "SUCCESS"},
                "executionMode": "sync",
                "scheduleId": "sched_123",
                "parameters": parameters,
            },
            "links": {"schedule": "/vehicles/v/charge-schedules/sched_123"},
            "meta": {"executedAt": "2026-05-01T10:00:00Z", "durationInSeconds": 1.5},
        }
    }


#: A valid body for each signal body type of the catalogue.
_SAMPLE_BODIES: dict[str, dict[str, Any]] = {
    "Value": {"value": True},
    "StatusBody": {"status": "OK", "description": "No issues"},
    "ValuesBody": {"values": [{"code": "P0420", "timestamp": "2026-05-01T10:00:00Z"}]},
    "OpenLockBody": {"isOpen": False, "isLocked": True},
    "ChargeLimitsBody": {
        "values": [{"type": "GLOBAL", "limit": 80, "condition": None}],
        "activeLimit": 80,
        "unit": "percent",
    },
    "DoorsBody": {
        "values": [{"row": 0, "column": 0, "isOpen": False, "isLocked": True}],
        "rowCount": 1,
        "columnCount": 1,
    },
    "WindowsBody": {
        "values": [{"row": 0, "column": 0, "isOpen": False}],
        "rowCount": 1,
        "columnCount": 1,
    },
    "TiresBody": {
        "values": [{"row": 0, "column": 0, "tirePressure": 240}],
        "rowCount": 1,
        "columnCount": 1,
    },
    "LocationBody": {
        "latitude": 52.52,
        "longitude": 13.405,
        "heading": 90,
        "direction": "E",
        "locationType": "CURRENT",
    },
    "NominalCapacityBody": {
        "source": "SMARTCAR",
        "capacity": 75,
        "availableCapacities": [{"capacity": 75, "description": "Long Range"}],
        "unit": "kWh",
    },
    "RangeBody": {
        "unit": "kilometers",
        "value": 300,
        "additionalValues": [{"type": "ESTIMATED", "value": 290}],
    },
    "DriveModeBody": {"canonical": "SPORT", "oemDisplayName": "Sport+"},
}

#: Not in the catalogue (a signal the API might add): must parse all the same.
UNKNOWN_SIGNAL_CODE = "charge-futurelimit"


def signal_json(
    code: str,
    *,
    group: str,
    name: str,
    body: dict[str, Any],
    retrieved_at: int = 1752104218549,
) -> dict[str, Any]:
    """A signal resource as the reference (§4.3) documents it."""
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
        "meta": {"retrievedAt": retrieved_at, "oemUpdatedAt": 1752104118549},
        "links": {"self": f"/vehicles/v/signals/{code}"},
    }


def full_signals_json(vehicle_id: str) -> dict[str, Any]:
    """``GET /vehicles/{id}/signals``: every catalogue signal (94) and one unknown, 95 in all."""
    from smartcar_async.signals import CATALOGUE

    data = []
    for code, spec in CATALOGUE.items():
        kind = spec.body_type.__name__
        # A body type the catalogue gains later fails here (KeyError): add a sample.
        body = (
            {"unit": spec.unit or "count", "value": 42}
            if kind == "UnitValue"
            else _SAMPLE_BODIES[kind]
        )
        data.append(signal_json(code, group=spec.group, name=spec.name, body=body))
    data.append(
        signal_json(UNKNOWN_SIGNAL_CODE, group="Charge", name="FutureLimit", body={"value": 80})
    )
    return {
        "data": data,
        "meta": {"pageNumber": 1, "pageSize": len(data), "totalCount": len(data)},
        "links": {"self": f"/vehicles/{vehicle_id}/signals"},
        "included": {
            "vehicle": {
                "id": vehicle_id,
                "type": "vehicle",
                "attributes": {"make": "TESLA", "model": "Model Y", "year": 2024},
                "links": {"self": f"/vehicles/{vehicle_id}"},
            }
        },
    }
