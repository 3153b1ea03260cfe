"""lens.probe.http.tls_layer driven by hand: a real OpenSSL server (an ``SSLObject`` over
memory BIOs, trustme certificates) on the other end of a fake raw transport, so every byte
and every call is visible: stamps taken before decryption, records split anywhere,
session tickets, a forged record, close_notify, bytes during a worker step."""

from __future__ import annotations

import asyncio
import ssl
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from time import perf_counter_ns
from typing import Any

import pytest
from helpers_http import LOOPS, Recorder, run, tls_files

from lens.probe.http.errors import ConnectionClosedError
from lens.probe.http.protocol import HttpConnection
from lens.probe.http.tls_layer import TlsProtocol, TlsTransport, handshake

pytestmark = pytest.mark.parametrize("loop", LOOPS)


class Raw(asyncio.Transport):
    """The TCP transport under the TLS layer: keeps what is written, says what happened."""

    def __init__(self) -> None:
        super().__init__()
        self.out = bytearray()
        self.protocol: Any = None
        self.closed = self.aborted = False

    def set_protocol(self, protocol: asyncio.BaseProtocol) -> None:
        self.protocol = protocol

    def write(self, data: Any) -> None:
        self.out += data

    def take(self) -> bytes:
        data, self.out = bytes(self.out), bytearray()
        return data

    def is_closing(self) -> bool:
        return self.closed or self.aborted

    def close(self) -> None:
        self.closed = True

    def abort(self) -> None:
        self.aborted = True

    def get_extra_info(self, name: str, default: Any = None) -> Any:
        return ("127.0.0.1", 443) if name == "peername" else default


class Server:
    """The server end: an SSLObject over memory BIOs."""

    def __init__(self, ctx: ssl.SSLContext) -> None:
        self.inc, self.out = ssl.MemoryBIO(), ssl.MemoryBIO()
        self.obj = ctx.wrap_bio(self.inc, self.out, server_side=True)
        self.closed_by_peer = False

    def feed(self, data: bytes) -> bytes:
        """Take the client's bytes, advance, return what the server sends back."""
        self.inc.write(data)
        try:
            self.obj.do_handshake()
            while self.obj.read(1 << 16):
                pass
            self.closed_by_peer = True  # read() returns b"" once close_notify came
        except ssl.SSLWantReadError:
            pass
        return self.out.read()

    def send(self, plaintext: bytes) -> bytes:
        self.obj.write(plaintext)
        return self.out.read()


def _contexts(tmp: Path) -> tuple[ssl.SSLContext, ssl.SSLContext]:
    files = tls_files(tmp)
    client = ssl.create_default_context(cafile=str(files.ca_pem))
    return client, files.server_ctx


async def _connect(
    tmp: Path, workers: ThreadPoolExecutor | None
) -> tuple[HttpConnection, TlsTransport, Raw, Server]:
    cctx, sctx = _contexts(tmp)
    raw, srv, conn = Raw(), Server(sctx), HttpConnection("127.0.0.1:443")
    task = asyncio.ensure_future(handshake(raw, conn, cctx, "localhost", workers))
    while not task.done():
        await asyncio.sleep(0.001)
        sent = raw.take()
        if sent:
            reply = srv.feed(sent)
            if reply:  # in two reads: the layer must keep what comes during a step
                raw.protocol.data_received(reply[:7])
                raw.protocol.data_received(reply[7:])
    tr = task.result()
    late = srv.feed(raw.take())  # the client's Finished, unless the loop above took it
    if late:
        raw.protocol.data_received(late)
    # The server's session tickets (OpenSSL sends two) went through the layer: no
    # plaintext, so the connection heard nothing (it would have failed: no request yet).
    assert srv.obj.version() == "TLSv1.3" and not conn.lost and not raw.is_closing()
    conn.transport = tr
    return conn, tr, raw, srv


HEAD = b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"


def test_reads_are_stamped_before_decryption_and_split_records_join(
    loop: str, tmp_path: Path
) -> None:
    async def main() -> None:
        with ThreadPoolExecutor(1) as workers:
            conn, tr, raw, srv = await _connect(tmp_path, workers)
        assert isinstance(raw.protocol, TlsProtocol) and raw.protocol.app is conn
        rec = Recorder()
        fut = conn.start(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n", rec, max_body=None, head_only=False)
        assert srv.feed(raw.take()) == b"" and srv.obj.pending() == 0
        head = srv.send(HEAD)
        before = perf_counter_ns()
        raw.protocol.data_received(head)
        assert before <= rec.head[3] <= perf_counter_ns()  # type: ignore[index]
        # one event in two records, the second split across reads: stamped by the read
        # that completed it, taken before that read was decrypted
        rec1 = srv.send(b"9\r\ndata: a")
        rec2 = srv.send(b"\n\n\r\n0\r\n\r\n")
        raw.protocol.data_received(rec1 + rec2[:5])
        t_mid = perf_counter_ns()
        raw.protocol.data_received(rec2[5:])
        status, _, _, n = await fut
        assert status == 200 and n == 9 and rec.body == b"data: a\n\n"
        assert rec.pieces[-1][1] >= t_mid  # the last piece came with the last read
        assert tr.get_extra_info("ssl_object") is raw.protocol.obj
        assert tr.get_extra_info("peername") == ("127.0.0.1", 443)
        assert ("DNS", "localhost") in tr.get_extra_info("peercert")["subjectAltName"]

    run(loop, main())


def test_a_forged_record_drops_the_connection_in_words(loop: str, tmp_path: Path) -> None:
    async def main() -> None:
        conn, _tr, raw, srv = await _connect(tmp_path, None)  # steps inline: no threads
        rec = Recorder()
        fut = conn.start(b"GET / HTTP/1.1\r\n\r\n", rec, max_body=None, head_only=False)
        raw.protocol.data_received(srv.send(HEAD + b"5\r\nhello\r\n"))
        bad = bytearray(srv.send(b"5\r\nworld\r\n"))
        bad[-1] ^= 1  # the record's authentication tag no longer matches
        raw.protocol.data_received(bytes(bad))
        assert raw.aborted
        raw.protocol.connection_lost(None)  # what the aborted raw transport does next
        with pytest.raises(ConnectionClosedError) as e:
            await fut
        text = str(e.value)
        assert "in the middle of the response, after 5 body bytes" in text
        assert "TLS error from the server: " in text and "BAD_RECORD_MAC" in text.upper()

    run(loop, main())


def test_close_notify_ends_a_close_delimited_body_and_close_sends_ours(
    loop: str, tmp_path: Path
) -> None:
    async def main() -> None:
        conn, tr, raw, srv = await _connect(tmp_path, None)
        rec = Recorder()
        fut = conn.start(b"GET / HTTP/1.1\r\n\r\n", rec, max_body=None, head_only=False)
        raw.protocol.data_received(srv.send(b"HTTP/1.1 200 OK\r\n\r\nuntil the end"))
        try:
            srv.obj.unwrap()
        except ssl.SSLWantReadError:
            pass
        raw.protocol.data_received(srv.out.read())  # the server's close_notify
        assert raw.closed
        raw.protocol.data_received(b"junk after close_notify")  # ignored
        raw.protocol.connection_lost(None)
        status, _, _, n = await fut
        assert status == 200 and rec.body == b"until the end" and n == 13
        assert tr.is_closing()

        _conn2, tr2, raw2, srv2 = await _connect(tmp_path, None)
        tr2.close()
        assert raw2.closed and tr2.is_closing()
        assert not srv2.closed_by_peer
        srv2.feed(raw2.take())
        assert srv2.closed_by_peer  # it received our close_notify
        tr2.write(b"after close")  # dropped, as asyncio's transports do
        assert raw2.take() == b""

    run(loop, main())


def test_server_closing_during_the_handshake(loop: str, tmp_path: Path) -> None:
    async def main() -> None:
        cctx, _ = _contexts(tmp_path)
        raw, conn = Raw(), HttpConnection("127.0.0.1:443")
        with ThreadPoolExecutor(1) as workers:
            task = asyncio.ensure_future(handshake(raw, conn, cctx, "localhost", workers))
            while not raw.out:
                await asyncio.sleep(0.001)
            assert raw.take().startswith(b"\x16\x03")  # a ClientHello went out
            raw.protocol.eof_received()
            raw.protocol.connection_lost(None)
            with pytest.raises(ConnectionResetError):
                await task
        assert conn.transport is None and not conn.lost  # the app never saw this connection

    run(loop, main())
