"""A canned-body server that speaks HTTP/2 *and* HTTP/1.1, for ``python -m bench http2``.

The same routes and bodies as `bench.server` (it asks `bench.server.response_for`), in a
process of its own, with the protocol chosen per connection the way real servers do:

- ``--tls`` (the default): TLS with a throwaway `trustme` CA and ALPN ``h2`` /
  ``http/1.1``, as the real API is reached. The CA's PEM is written to a temporary file
  whose path follows the port on the ``READY`` line; clients trust it explicitly.
- ``--cleartext``: HTTP/2 by prior knowledge (h2c: the connection starts with the
  HTTP/2 preface), HTTP/1.1 otherwise.

HTTP/2 uses the `h2` state machine (the ``http2`` extra installs it), with h2's default
``SETTINGS_MAX_CONCURRENT_STREAMS`` of 100 per connection unless ``--max-streams``
says otherwise; flow control is honoured (bodies wait for WINDOW_UPDATE).

Example:
    $ python -m bench.h2server --tls
    READY 127.0.0.1 40551 /tmp/bench-ca-xxxx.pem
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import signal
import ssl
import sys
import tempfile
from typing import Any

import h2.config
import h2.connection
import h2.events
import h2.exceptions
import h2.settings

from bench.server import response_for

__all__ = ["main", "serve"]

_PREFACE = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"

# (status, headers, body) per canned HTTP/1.1 response, parsed once.
_H2Answer = tuple[bytes, list[tuple[bytes, bytes]], bytes]
_H2_CACHE: dict[bytes, _H2Answer] = {}


def _as_h2(response: bytes) -> _H2Answer:
    """Split a canned HTTP/1.1 response into what HTTP/2 sends (cached per response)."""
    cached = _H2_CACHE.get(response)
    if cached is not None:
        return cached
    head, _, body = response.partition(b"\r\n\r\n")
    status_line, *lines = head.split(b"\r\n")
    status = status_line.split(b" ", 2)[1]
    headers = []
    for line in lines:
        name, _, value = line.partition(b":")
        headers.append((name.strip().lower(), value.strip()))
    answer = (status, headers, body)
    _H2_CACHE[response] = answer
    return answer


class _HTTP11:
    """HTTP/1.1 keep-alive: parse request heads, skip bodies, answer canned bytes."""

    def __init__(self, transport: asyncio.Transport) -> None:
        self._transport = transport
        self._buf = b""

    def data_received(self, data: bytes) -> None:
        buf = self._buf + data if self._buf else data
        while True:
            end = buf.find(b"\r\n\r\n")
            if end < 0:
                break
            head = buf[:end]
            lower = head.lower()
            length = 0
            at = lower.find(b"\r\ncontent-length:")
            if at >= 0:
                stop = lower.find(b"\r\n", at + 2)
                length = int(lower[at + 17 : stop if stop >= 0 else len(lower)])
            if len(buf) < end + 4 + length:
                break
            buf = buf[end + 4 + length :]
            line_end = head.find(b"\r\n")
            method, target, _ = head[: line_end if line_end >= 0 else len(head)].split(b" ", 2)
            self._transport.write(response_for(method, target))
            if b"\r\nconnection: close" in lower:
                self._transport.close()
                break
        self._buf = buf


class _HTTP2:
    """One HTTP/2 connection: answer each stream once its request has ended."""

    def __init__(self, transport: asyncio.Transport, max_streams: int, latency: float) -> None:
        self._transport = transport
        self._latency = latency
        config = h2.config.H2Configuration(client_side=False, header_encoding=None)
        self._conn = h2.connection.H2Connection(config=config)
        self._conn.local_settings = h2.settings.Settings(
            client=False,
            initial_values={h2.settings.SettingCodes.MAX_CONCURRENT_STREAMS: max_streams},
        )
        self._conn.initiate_connection()
        self._requests: dict[int, tuple[bytes, bytes]] = {}
        self._pending: dict[int, memoryview] = {}
        transport.write(self._conn.data_to_send())

    def data_received(self, data: bytes) -> None:
        conn = self._conn
        try:
            events = conn.receive_data(data)
        except h2.exceptions.ProtocolError:
            self._transport.write(conn.data_to_send())
            self._transport.close()
            return
        for event in events:
            if isinstance(event, h2.events.RequestReceived):
                fields = dict(event.headers or [])
                self._requests[event.stream_id] = (
                    bytes(fields.get(b":method", b"GET")),
                    bytes(fields.get(b":path", b"/")),
                )
                if event.stream_ended is not None:
                    self._respond(event.stream_id)
            elif isinstance(event, h2.events.DataReceived):
                if event.flow_controlled_length:
                    conn.acknowledge_received_data(event.flow_controlled_length, event.stream_id)
            elif isinstance(event, h2.events.StreamEnded):
                if event.stream_id in self._requests:
                    self._respond(event.stream_id)
            elif isinstance(event, h2.events.WindowUpdated):
                for stream_id in list(self._pending):
                    self._send_body(stream_id)
            elif isinstance(event, h2.events.StreamReset):
                self._requests.pop(event.stream_id, None)
                self._pending.pop(event.stream_id, None)
            elif isinstance(event, h2.events.ConnectionTerminated):
                self._transport.write(conn.data_to_send())
                self._transport.close()
                return
        out = conn.data_to_send()
        if out:
            self._transport.write(out)

    def _respond(self, stream_id: int) -> None:
        request = self._requests.pop(stream_id)
        if self._latency > 0:
            loop = asyncio.get_running_loop()
            loop.call_later(self._latency, self._answer_late, stream_id, request)
        else:
            self._answer(stream_id, request)

    def _answer(self, stream_id: int, request: tuple[bytes, bytes]) -> None:
        status, headers, body = _as_h2(response_for(*request))
        self._conn.send_headers(stream_id, [(b":status", status), *headers])
        self._pending[stream_id] = memoryview(body)
        self._send_body(stream_id)

    def _answer_late(self, stream_id: int, request: tuple[bytes, bytes]) -> None:
        """`_answer` after the latency: outside ``data_received``, so it flushes itself."""
        if self._transport.is_closing():
            return
        try:
            self._answer(stream_id, request)
        except h2.exceptions.StreamClosedError:
            return  # the client reset the stream meanwhile
        out = self._conn.data_to_send()
        if out:
            self._transport.write(out)

    def _send_body(self, stream_id: int) -> None:
        conn = self._conn
        body = self._pending[stream_id]
        while body:
            size = min(
                conn.local_flow_control_window(stream_id), conn.max_outbound_frame_size, len(body)
            )
            if size <= 0:
                self._pending[stream_id] = body  # the rest waits for a WINDOW_UPDATE
                return
            conn.send_data(stream_id, body[:size].tobytes())
            body = body[size:]
        conn.end_stream(stream_id)
        del self._pending[stream_id]


class _Connection(asyncio.Protocol):
    """Chooses HTTP/2 or HTTP/1.1 per connection (ALPN with TLS, the preface without)."""

    def __init__(self, max_streams: int, latency: float) -> None:
        self._max_streams = max_streams
        self._latency = latency
        self._handler: _HTTP11 | _HTTP2 | None = None
        self._transport: asyncio.Transport | None = None
        self._early = b""

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self._transport = transport
        tls = transport.get_extra_info("ssl_object")
        if tls is not None:  # asyncio calls this once the handshake is done
            alpn = tls.selected_alpn_protocol()
            self._handler = (
                _HTTP2(transport, self._max_streams, self._latency)
                if alpn == "h2"
                else _HTTP11(transport)
            )

    def data_received(self, data: bytes) -> None:
        if self._handler is None:
            assert self._transport is not None
            self._early += data
            if len(self._early) < len(_PREFACE) and _PREFACE.startswith(self._early):
                return  # not enough bytes yet to tell
            data, self._early = self._early, b""
            if data.startswith(_PREFACE):
                self._handler = _HTTP2(self._transport, self._max_streams, self._latency)
            else:
                self._handler = _HTTP11(self._transport)
        self._handler.data_received(data)


def _tls_context() -> tuple[ssl.SSLContext, str]:
    """A server context for 127.0.0.1/localhost from a fresh trustme CA; the CA's PEM path."""
    import trustme

    ca = trustme.CA()
    cert = ca.issue_cert("127.0.0.1", "localhost")
    ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    cert.configure_cert(ctx)
    ctx.set_alpn_protocols(["h2", "http/1.1"])
    fd, path = tempfile.mkstemp(prefix="bench-ca-", suffix=".pem")
    with os.fdopen(fd, "wb") as f:
        f.write(ca.cert_pem.bytes())
    return ctx, path


async def serve(
    host: str = "127.0.0.1",
    port: int = 0,
    *,
    tls: bool = True,
    max_streams: int = 100,
    latency: float = 0.0,
    ready: Any = None,
) -> None:
    """Serve until cancelled; call ``ready(host, port, ca_path_or_dash)`` once listening.

    ``latency``: seconds before each HTTP/2 answer (HTTP/1.1 answers at once).
    """
    loop = asyncio.get_running_loop()
    ctx, ca_path = _tls_context() if tls else (None, "-")
    try:
        server = await loop.create_server(
            lambda: _Connection(max_streams, latency),
            host,
            port,
            ssl=ctx,
            backlog=4096,
            reuse_address=True,
        )
        async with server:
            bound = server.sockets[0].getsockname()
            if ready is not None:
                ready(bound[0], bound[1], ca_path)
            await server.serve_forever()
    finally:
        if ca_path != "-":
            with contextlib.suppress(OSError):
                os.unlink(ca_path)


def main(argv: list[str] | None = None) -> None:
    """``python -m bench.h2server [--tls | --cleartext] [--port N] [--max-streams N]``."""
    parser = argparse.ArgumentParser(prog="python -m bench.h2server", description=__doc__)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=0)
    mode = parser.add_mutually_exclusive_group()
    mode.add_argument("--tls", dest="tls", action="store_true", default=True)
    mode.add_argument("--cleartext", dest="tls", action="store_false")
    parser.add_argument("--max-streams", type=int, default=100)
    parser.add_argument("--latency-ms", type=float, default=0.0, help="delay of HTTP/2 answers")
    args = parser.parse_args(argv)

    def ready(host: str, port: int, ca_path: str) -> None:
        print(f"READY {host} {port} {ca_path}", flush=True)

    async def run() -> None:
        task = asyncio.current_task()
        assert task is not None
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(sig, task.cancel)
        with contextlib.suppress(asyncio.CancelledError):
            await serve(
                args.host,
                args.port,
                tls=args.tls,
                max_streams=args.max_streams,
                latency=args.latency_ms / 1000,
                ready=ready,
            )

    asyncio.run(run())
    sys.exit(0)


if __name__ == "__main__":
    main()
