"""Reading a response body with a cap on its *decoded* size.

httpx reads a body whole, however large, and decompresses it whole: a 0.78 MB gzip
answer can inflate to 800 MB in the caller's memory. The SDK reads every body it asks
for through `read_capped`, so a runaway or hostile server costs at most the cap (plus
one decoded chunk), whatever transport or ``http_client`` carries the request.
"""

from __future__ import annotations

import httpx

from ._error_types import APIResponseError

__all__ = ["DEFAULT_MAX_RESPONSE_SIZE", "read_capped"]

#: The largest decoded body the SDK reads, in bytes. The API's largest answers (a page
#: of a hundred connections, a vehicle's ninety signals) are well below 1 MB.
DEFAULT_MAX_RESPONSE_SIZE = 64 * 1024 * 1024


async def read_capped(response: httpx.Response, limit: int) -> None:
    """Read ``response``'s body (decoded) into ``response.content``, up to ``limit`` bytes.

    On success the response behaves exactly as one httpx read itself. Past the limit the
    stream is closed (the connection is dropped, not drained) and nothing is kept.

    Raises:
        APIResponseError: the decoded body is larger than ``limit``.

    Examples:
        >>> response = await http.send(request, stream=True)
        >>> await read_capped(response, 1024 * 1024)
        >>> response.json()
    """
    chunks: list[bytes] = []
    size = 0
    too_large = False
    # Past the limit the response is closed (its connection dropped) and the same
    # iterator is run to its end, which then comes at once, by exhaustion or by a read
    # error. Abandoning it instead would leave httpx's and httpcore's nested async
    # generators unfinished, which trio reports as a resource leak.
    try:
        async for chunk in response.aiter_bytes():
            if too_large:
                continue  # what was already buffered: decoded, never kept
            size += len(chunk)
            if size > limit:
                too_large = True
                await response.aclose()
                continue
            chunks.append(chunk)
    except Exception:
        if not too_large:
            raise
    finally:
        await response.aclose()
    if too_large:
        raise APIResponseError(
            f"{response.request.method} {response.request.url.path}: the response body "
            f"exceeds max_response_size ({limit:,} bytes decoded); not read further",
            status_code=response.status_code,
            request_id=response.headers.get("sc-request-id"),
        )
    # httpx has no public way to hand a body it did not read itself to a Response; this
    # is the attribute its own ``aread`` fills (httpx is pinned below 0.29).
    response._content = b"".join(chunks)
