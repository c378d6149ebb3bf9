"""Small helpers shared by the emulator tests."""

from __future__ import annotations

import httpx

from smartcar_async.testing import FleetEntry


def as_user(car: FleetEntry) -> dict[str, str]:
    return {"sc-user-id": car.user_id}


def error_of(response: httpx.Response) -> dict[str, object]:
    """The single v3 error entry of a response, checked for the envelope's shape."""
    body = response.json()
    assert list(body) == ["errors"]
    (entry,) = body["errors"]
    assert entry["status"] == str(response.status_code)
    assert set(entry) == {"status", "type", "code", "title", "detail", "links", "resolution"}
    assert "sc-request-id" in response.headers
    return dict(entry)
