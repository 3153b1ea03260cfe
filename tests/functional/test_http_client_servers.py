"""lens.probe.http against real servers on loopback: aiohttp, uvicorn, and raw habits.

Each test runs on asyncio's loop and on uvloop. The servers' own records (requests per
connection, connections accepted and closed) are the ground truth.
"""

from __future__ import annotations

import asyncio
import gzip
import threading
import time
import zlib

import pytest
from aiohttp import web
from helpers_http import LOOPS, SSE_HEAD, RawServer, Recorder, Req, chunk, run, write_sse

from lens.probe.http import (
    ConnectionClosedError,
    HttpClient,
    ProtocolError,
    ResponseTooLarge,
)

pytestmark = pytest.mark.parametrize("loop", LOOPS)


def _echo_events(req: Req) -> list[bytes]:
    rid = req.headers.get("x-id", "?").encode()
    return [rid + b"-" + str(i).encode() for i in range(3)]


# -- aiohttp.web -------------------------------------------------------------------------
async def _aiohttp_sse(request: web.Request) -> web.StreamResponse:
    resp = web.StreamResponse(headers={"Content-Type": "text/event-stream"})
    await resp.prepare(request)
    rid = request.headers["x-id"]
    for i in range(4):
        await resp.write(f"data: {rid}-{i}\n\n".encode())
        await asyncio.sleep(0.005)
    await resp.write_eof()
    return resp


def test_aiohttp_sse_streams_concurrently_and_reuses(loop: str) -> None:
    async def main() -> None:
        app = web.Application()
        app.router.add_post("/sse", _aiohttp_sse)
        runner = web.AppRunner(app)
        await runner.setup()
        site = web.TCPSite(runner, "127.0.0.1", 0)
        await site.start()
        port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
        try:
            async with HttpClient(limit=4) as client:
                async def one(i: int) -> tuple[Recorder, bool]:
                    rec = Recorder()
                    r = await client.request("POST", f"http://127.0.0.1:{port}/sse",
                                             headers={"x-id": str(i)}, body=b"{}", observer=rec)
                    assert r.status == 200 and r.body is None and not r.resent
                    return rec, r.reused

                out = await asyncio.gather(*(one(i) for i in range(12)))
                for i, (rec, _) in enumerate(out):
                    assert rec.body == b"".join(f"data: {i}-{k}\n\n".encode() for k in range(4))
                    assert rec.head is not None and rec.head[0] == 200
                    ts = [t for _, t in rec.pieces]
                    assert ts == sorted(ts) and ts[0] >= rec.t("headers") >= rec.t("sent")
                # 12 requests through at most 4 connections: 8 or more ran on reused ones
                assert sum(reused for _, reused in out) >= 8
                assert client.stats.connections_opened <= 4
                assert client.stats.pool_waits >= 1 and client.stats.resent == 0
        finally:
            await runner.cleanup()

    run(loop, main())


# -- uvicorn -------------------------------------------------------------------------------
async def _asgi_sse(scope: dict, receive, send) -> None:  # type: ignore[no-untyped-def]
    assert scope["type"] == "http"
    while (await receive()).get("more_body"):
        pass
    await send({"type": "http.response.start", "status": 200,
                "headers": [(b"content-type", b"text/event-stream")]})
    for i in range(3):
        await send({"type": "http.response.body", "body": f"data: {i}\n\n".encode(),
                    "more_body": True})
        await asyncio.sleep(0.002)
    await send({"type": "http.response.body", "body": b"", "more_body": False})


@pytest.fixture(scope="module")
def uvicorn_url() -> object:
    import uvicorn

    config = uvicorn.Config(_asgi_sse, host="127.0.0.1", port=0, timeout_keep_alive=1,
                            log_level="warning", lifespan="off")
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started:
        assert time.monotonic() < deadline, "uvicorn did not start"
        time.sleep(0.02)
    port = server.servers[0].sockets[0].getsockname()[1]
    yield f"http://127.0.0.1:{port}/v1/chat/completions"
    server.should_exit = True
    thread.join(5)


def test_uvicorn_idle_close_and_back_to_back_reuse(loop: str, uvicorn_url: str) -> None:
    # uvicorn closes a keep-alive connection idle for timeout_keep_alive (1 s here) without
    # announcing it in a header. Idle gaps longer than that, and back-to-back requests.
    async def main() -> None:
        async with HttpClient() as client:
            statuses = []
            for gap in (0, 0, 1.3, 0, 1.3, 0):
                await asyncio.sleep(gap)
                rec = Recorder()
                r = await client.request("POST", uvicorn_url, body=b"{}", observer=rec)
                statuses.append(r.status)
                assert rec.body == b"data: 0\n\ndata: 1\n\ndata: 2\n\n"
                if gap == 0 and len(statuses) > 1:
                    assert r.reused  # back-to-back: the pooled connection
            assert statuses == [200] * 6
            st = client.stats
            assert st.closed_by_server_idle == 2  # both idle gaps outlived uvicorn's keep-alive
            assert st.close_after_each == []  # closing after 1 s idle is not a hang-up
            assert st.connections_opened == 3

    run(loop, main())


# -- a server that hangs up after every response (llama.cpp's habit) -----------------------
async def _hang_up(req: Req, w: asyncio.StreamWriter) -> bool:
    await write_sse(w, _echo_events(req))
    return False  # close right after the response, no "Connection: close"


@pytest.mark.parametrize("concurrency", [1, 2])
def test_hang_up_after_each_response_loses_nothing(loop: str, concurrency: int) -> None:
    async def main() -> None:
        srv = await RawServer(_hang_up).start()
        try:
            async with HttpClient() as client:
                results = []

                async def worker(w: int) -> None:
                    for k in range(4):
                        rid = f"{w}.{k}"
                        rec = Recorder()
                        r = await client.request("POST", srv.url(), headers={"x-id": rid},
                                                 body=b"{}", observer=rec)
                        assert r.status == 200
                        assert rec.body == b"".join(b"data: %s-%d\n\n" % (rid.encode(), i)
                                                    for i in range(3))
                        if r.resent:
                            assert "resend" in rec.phases() and rec.phases().count("tcp_start") >= 1
                        results.append(r)

                await asyncio.gather(*(worker(w) for w in range(concurrency)))
            n = 4 * concurrency
            assert len(results) == n  # zero failures
            # every request reached the server exactly once (a re-send was never a duplicate)
            assert sorted(q.headers["x-id"] for q in srv.requests) == sorted(
                f"{w}.{k}" for w in range(concurrency) for k in range(4))
            st = client.stats
            assert st.close_after_each == [f"127.0.0.1:{srv.port}"]
            assert st.resent == sum(r.resent for r in results) <= concurrency
            assert all(q.n == 1 for q in srv.requests)
        finally:
            await srv.stop()

    run(loop, main())


def test_stale_connection_is_resent_every_time_without_hangup_memory(loop: str) -> None:
    # hangup_window_s=0: the client never learns, so each back-to-back reuse meets a
    # connection the server has closed; each must be re-sent once and succeed.
    async def main() -> None:
        srv = await RawServer(_hang_up).start()
        try:
            async with HttpClient(hangup_window_s=0) as client:
                out = []
                for k in range(5):
                    rec = Recorder()
                    r = await client.request("POST", srv.url(), headers={"x-id": str(k)},
                                             body=b"{}", observer=rec)
                    out.append((r, rec))
            assert all(r.status == 200 for r, _ in out)
            resent = [r.resent for r, _ in out]
            assert not resent[0] and sum(resent) >= 1  # the first one ran on a new connection
            for r, rec in out:
                ph = rec.phases()
                if r.resent:  # the failed attempt's marks, then a whole new connection
                    assert ph.index("reused") < ph.index("resend") < ph.index("tcp_start")
                    assert not r.reused
            assert len(srv.requests) == 5 and client.stats.resent == sum(resent)
        finally:
            await srv.stop()

    run(loop, main())


def test_no_resend_on_a_fresh_connection_or_after_response_bytes(loop: str) -> None:
    async def handler(req: Req, w: asyncio.StreamWriter) -> bool:
        if req.headers["x-id"] == "fresh-dies":
            return False  # close without a byte of response
        if req.n == 2:  # second request on a connection: half a response, then hang up
            w.write(SSE_PART)
            return False
        await write_sse(w, [b"ok"])
        return True

    async def main() -> None:
        srv = await RawServer(handler).start()
        try:
            async with HttpClient() as client:
                with pytest.raises(ConnectionClosedError) as e1:
                    await client.request("GET", srv.url(), headers={"x-id": "fresh-dies"})
                assert e1.value.before_response and not e1.value.reused and not e1.value.resent
                assert f"127.0.0.1:{srv.port}" in str(e1.value)
                r = await client.request("GET", srv.url(), headers={"x-id": "a"})
                assert r.body == b"data: ok\n\n"
                with pytest.raises(ConnectionClosedError) as e2:
                    await client.request("GET", srv.url(), headers={"x-id": "b"})
                assert not e2.value.before_response and e2.value.reused and not e2.value.resent
                assert "middle of the response" in str(e2.value)
            assert [q.headers["x-id"] for q in srv.requests] == ["fresh-dies", "a", "b"]
        finally:
            await srv.stop()

    run(loop, main())


SSE_PART = b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n" + chunk(b"data: half")


# -- Keep-Alive: timeout=1, max=3 -----------------------------------------------------------
def test_keep_alive_timeout_and_max_are_honoured(loop: str) -> None:
    async def handler(req: Req, w: asyncio.StreamWriter) -> bool:
        if req.n > 3:
            return False  # the server would refuse a 4th request: drop it unanswered
        await write_sse(w, [b"x"], extra=b"Keep-Alive: timeout=1, max=3\r\n")
        return True

    async def main() -> None:
        srv = await RawServer(handler, idle_close_s=1.0).start()
        try:
            async with HttpClient() as client:
                reused = []
                for _ in range(7):  # back to back: 3 + 3 + 1 per connection
                    r = await client.request("GET", srv.url())
                    reused.append(r.reused)
                assert reused == [False, True, True, False, True, True, False]
                await asyncio.sleep(0.85)  # past the client's retirement (0.75 s), < server's 1 s
                r = await client.request("GET", srv.url())
                assert not r.reused
                await asyncio.sleep(0.3)
                r = await client.request("GET", srv.url())
                assert r.reused
                assert client.stats.resent == 0 and client.stats.retired >= 1
            assert max(q.n for q in srv.requests) == 3
            assert srv.connections == 4
        finally:
            await srv.stop()

    run(loop, main())


# -- bodies ----------------------------------------------------------------------------------
async def _in_chunks(w: asyncio.StreamWriter, data: bytes, size: int) -> None:
    """``data`` as chunks of ``size`` bytes, then the last chunk."""
    for i in range(0, len(data), size):
        w.write(chunk(data[i:i + size]))
        await w.drain()
    w.write(b"0\r\n\r\n")


async def _bodies(req: Req, w: asyncio.StreamWriter) -> bool:
    kind = req.target.rsplit("/", 1)[1]
    text = b"data: hello\n\ndata: world\n\n" * 50
    if kind == "length":
        w.write(b"HTTP/1.1 200 OK\r\nContent-Length: %d\r\n\r\n" % len(text))
        for i in range(0, len(text), 333):
            w.write(text[i:i + 333])
            await w.drain()
        return True
    if kind == "chunked":
        w.write(b"HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 103 Early Hints\r\nLink: </a>\r\n\r\n")
        w.write(SSE_HEAD + b"\r\n")
        await _in_chunks(w, text, 77)
        return True
    if kind == "close":  # no length, not chunked: the body ends when the server closes
        w.write(b"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\n\r\n" + text)
        return False
    if kind in ("gzip", "deflate", "rawdeflate"):
        if kind == "gzip":
            packed = gzip.compress(text)
        elif kind == "deflate":
            packed = zlib.compress(text)
        else:
            c = zlib.compressobj(wbits=-15)
            packed = c.compress(text) + c.flush()
        enc = b"deflate" if "deflate" in kind else b"gzip"
        w.write(SSE_HEAD + b"Content-Encoding: " + enc + b"\r\n\r\n")
        await _in_chunks(w, packed, 50)
        return True
    if kind in ("te-gzip", "te-gzip-ce-deflate", "te-gzip-close"):
        # a transfer coding under the chunking (RFC 9112 6.1), on top of any content coding
        inner = zlib.compress(text) if kind == "te-gzip-ce-deflate" else text
        packed = gzip.compress(inner)
        head = b"HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\n"
        if kind == "te-gzip-ce-deflate":
            head += b"Content-Encoding: deflate\r\n"
        if kind == "te-gzip-close":  # not chunked last: the body ends when the server closes
            w.write(head + b"Transfer-Encoding: gzip\r\n\r\n" + packed)
            return False
        w.write(head + b"Transfer-Encoding: gzip, chunked\r\n\r\n")
        await _in_chunks(w, packed, 50)
        return True
    if kind == "brotli":
        w.write(b"HTTP/1.1 200 OK\r\nContent-Encoding: br\r\nContent-Length: 3\r\n\r\nabc")
        return True
    if kind == "te-brotli":
        w.write(b"HTTP/1.1 200 OK\r\nTransfer-Encoding: br, chunked\r\n\r\n3\r\nabc\r\n0\r\n\r\n")
        return True
    raise AssertionError(kind)


def test_body_framings_and_encodings(loop: str) -> None:
    expected = b"data: hello\n\ndata: world\n\n" * 50

    async def main() -> None:
        srv = await RawServer(_bodies).start()
        try:
            async with HttpClient() as client:
                for kind in ("length", "chunked", "close", "gzip", "deflate", "rawdeflate",
                             "te-gzip", "te-gzip-ce-deflate", "te-gzip-close"):
                    rec = Recorder()
                    r = await client.request("GET", srv.url(f"/b/{kind}"), observer=rec)
                    assert (r.status, rec.body, r.body_bytes) == (200, expected, len(expected)), kind
                    assert rec.phases().count("headers") == 1  # 1xx interim responses skipped
                    assert srv.requests[-1].headers["accept-encoding"] == "identity"
                with pytest.raises(ProtocolError, match="Content-Encoding 'br', which this"):
                    await client.request("GET", srv.url("/b/brotli"))
                with pytest.raises(ProtocolError, match="Transfer-Encoding 'br', which this"):
                    await client.request("GET", srv.url("/b/te-brotli"))
                with pytest.raises(ResponseTooLarge) as big:
                    await client.request("GET", srv.url("/b/chunked"), max_body=1000)
                assert big.value.limit == 1000 and "1000 bytes" in str(big.value)
                # the failed exchanges' connections were dropped, not pooled
                assert client.open_connections == 0
                for _ in range(100):
                    if len(srv.conn_closed) == srv.connections:
                        break
                    await asyncio.sleep(0.01)
                assert sorted(srv.conn_closed) == list(range(srv.connections))
        finally:
            await srv.stop()

    run(loop, main())


def test_cancellation_aborts_the_connection(loop: str) -> None:
    async def forever(req: Req, w: asyncio.StreamWriter) -> bool:
        if req.target.endswith("/ok"):
            await write_sse(w, [b"ok"])
            return True
        w.write(SSE_HEAD + b"\r\n")
        for _ in range(1000):
            w.write(chunk(b"data: tick\n\n"))
            await w.drain()
            await asyncio.sleep(0.01)
        return True

    async def main() -> None:
        srv = await RawServer(forever).start()
        try:
            async with HttpClient() as client:
                r = await client.request("GET", srv.url("/ok"))
                assert not r.reused
                rec = Recorder()
                with pytest.raises(TimeoutError):
                    async with asyncio.timeout(0.2):
                        await client.request("GET", srv.url("/slow"), observer=rec)
                assert rec.body.startswith(b"data: tick\n\n")
                assert client.open_connections == 0
                for _ in range(100):  # the server sees the connection go away
                    if 0 in srv.conn_closed:
                        break
                    await asyncio.sleep(0.01)
                assert srv.conn_closed == [0]
                r = await client.request("GET", srv.url("/ok"))
                assert not r.reused and srv.connections == 2
        finally:
            await srv.stop()

    run(loop, main())
