"""Hardening, HTTP/2 debug logs (issue 15, item 7).

With ``http2=True`` and the root logger at DEBUG, ``hpack`` (h2's header compressor)
logs every encoded header block; replaying those blocks through a decoder gives back
``authorization: Bearer <token>``. The SDK cannot stop that without reconfiguring
another library's logger, so the docs say so with the one-line mitigation. What the SDK
guarantees, and what is tested here over a real HTTP/2 connection (TLS, ALPN ``h2``):

- no record of any other logger (the SDK's, httpx's, httpcore's, h2's) holds a
  credential;
- after the documented mitigation no record at all does;
- the hazard is real (so the warning in the docs stays true).
"""

from __future__ import annotations

import json
import logging
import ssl
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager

import anyio
import anyio.abc
import hpack
import pytest
import trustme
from anyio.streams.tls import TLSListener
from reliability_support import TIMEOUT

from smartcar_async import SmartcarClient

h2_config = pytest.importorskip("h2.config")
h2_connection = pytest.importorskip("h2.connection")
h2_events = pytest.importorskip("h2.events")

pytestmark = pytest.mark.anyio

TOKEN = "hardening-http2-token-7c6b5a4d3e2f1a0b"
SECRET = "hardening-http2-secret-0a1b2c3d4e5f"


async def _serve(stream: anyio.abc.ByteStream) -> None:
    config = h2_config.H2Configuration(client_side=False, header_encoding="utf-8")
    conn = h2_connection.H2Connection(config=config)
    conn.initiate_connection()
    await stream.send(conn.data_to_send())
    paths: dict[int, str] = {}
    async with stream:
        while True:
            try:
                data = await stream.receive()
            except (anyio.EndOfStream, anyio.BrokenResourceError, anyio.ClosedResourceError):
                return
            for event in conn.receive_data(data):
                if isinstance(event, h2_events.RequestReceived):
                    paths[event.stream_id] = dict(event.headers)[":path"]
                elif isinstance(event, h2_events.DataReceived):
                    conn.acknowledge_received_data(event.flow_controlled_length, event.stream_id)
                if isinstance(event, (h2_events.RequestReceived, h2_events.DataReceived)) and (
                    event.stream_ended is not None
                ):
                    path = paths.pop(event.stream_id)
                    answer = (
                        {"access_token": TOKEN, "expires_in": 3600}
                        if path.endswith("/oauth2/token")
                        else {"id": "v"}
                    )
                    body = json.dumps(answer).encode()
                    conn.send_headers(
                        event.stream_id,
                        [(":status", "200"), ("content-type", "application/json")],
                    )
                    conn.send_data(event.stream_id, body, end_stream=True)
            out = conn.data_to_send()
            if out:
                await stream.send(out)


@asynccontextmanager
async def h2_server() -> AsyncIterator[tuple[str, ssl.SSLContext]]:
    ca = trustme.CA()
    server_context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ca.issue_cert("127.0.0.1").configure_cert(server_context)
    server_context.set_alpn_protocols(["h2"])
    client_context = ssl.create_default_context()
    ca.configure_trust(client_context)
    tcp = await anyio.create_tcp_listener(local_host="127.0.0.1")
    port = tcp.extra(anyio.abc.SocketAttribute.local_port)
    listener = TLSListener(tcp, server_context, standard_compatible=False)
    async with listener, anyio.create_task_group() as tg:
        tg.start_soon(listener.serve, _serve)
        try:
            yield f"https://127.0.0.1:{port}", client_context
        finally:
            tg.cancel_scope.cancel()


class Everything(logging.Handler):
    """Every record of every logger, as (logger name, message, raw args)."""

    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)


@pytest.fixture
def root_at_debug() -> Iterator[Everything]:
    root = logging.getLogger()
    level, handler = root.level, Everything()
    root.setLevel(logging.DEBUG)
    root.addHandler(handler)
    hpack_logger = logging.getLogger("hpack")
    hpack_level = hpack_logger.level
    try:
        yield handler
    finally:
        root.removeHandler(handler)
        root.setLevel(level)
        hpack_logger.setLevel(hpack_level)


async def _one_call(auth: str) -> None:
    async with h2_server() as (base, context):
        client = SmartcarClient(
            client_id="client_hardening",
            client_secret=SECRET,
            token_url=f"{base}/oauth2/token",
            vehicle_api_url=f"{base}/v3",
            management_api_url=f"{base}/management/v3",
            http2=True,
            verify=context,
            token_auth=auth,  # type: ignore[arg-type]
        )
        async with client:
            with anyio.fail_after(TIMEOUT):
                response, _ = await client.request("GET", "vehicle", "/vehicles/v")
    assert response.http_version == "HTTP/2"


def _text(record: logging.LogRecord) -> str:
    return f"{record.getMessage()} {record.args!r}"


def _credentials() -> list[str]:
    import base64

    basic = base64.b64encode(f"client_hardening:{SECRET}".encode()).decode()
    return [TOKEN, SECRET, basic]


@pytest.mark.parametrize("auth", ["post", "basic"])
async def test_no_logger_but_hpack_records_a_credential(
    root_at_debug: Everything, auth: str
) -> None:
    await _one_call(auth)
    others = [r for r in root_at_debug.records if not r.name.startswith("hpack")]
    assert others  # the SDK, httpx and httpcore did log
    for record in others:
        for credential in _credentials():
            assert credential not in _text(record), record.name


async def test_the_hazard_the_docs_warn_about_is_real(root_at_debug: Everything) -> None:
    await _one_call("post")
    blocks = [
        r.args[0]
        for r in root_at_debug.records
        if r.name.startswith("hpack") and r.msg.startswith("Encoded header block")
    ]
    assert blocks
    # What the server's decoder does with them, from what the log kept.
    decoder = hpack.Decoder()
    headers = [h for block in blocks for h in decoder.decode(block)]  # type: ignore[arg-type]
    assert ("authorization", f"Bearer {TOKEN}") in headers


@pytest.mark.parametrize("auth", ["post", "basic"])
async def test_the_documented_mitigation_leaves_no_credential_in_any_record(
    root_at_debug: Everything, auth: str
) -> None:
    logging.getLogger("hpack").setLevel(logging.INFO)  # the one line from the docs
    await _one_call(auth)
    assert not [r for r in root_at_debug.records if r.name.startswith("hpack")]
    for record in root_at_debug.records:
        for credential in _credentials():
            assert credential not in _text(record), record.name
