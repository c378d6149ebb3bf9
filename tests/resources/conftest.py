"""Fixtures for the resource tests: a respx router as the client's transport."""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest
import respx
from resource_support import TOKEN, TOKEN_URL

from smartcar_async import RetryPolicy, SmartcarClient


@pytest.fixture
def router() -> respx.MockRouter:
    """Routes for the test to fill in; the token endpoint is already mocked.

    Any request without a route fails the test (``assert_all_mocked``).
    """
    router = respx.MockRouter(assert_all_called=False)
    router.post(TOKEN_URL, name="token").mock(
        return_value=httpx.Response(
            200, json={"access_token": TOKEN, "token_type": "Bearer", "expires_in": 3600}
        )
    )
    return router


@pytest.fixture
async def client(router: respx.MockRouter) -> AsyncIterator[SmartcarClient]:
    async with SmartcarClient(
        client_id="client_test",
        client_secret="secret",
        retry=RetryPolicy(max_retries=0),
        transport=httpx.MockTransport(router.async_handler),
    ) as client:
        yield client
