"""Adversarial review of lens.probe.http (issue #12): servers and networks that misbehave.

Each test names the habit it attacks. The servers are raw asyncio servers (tests/helpers_http)
writing exactly the bytes of the habit; their own request logs are the ground truth.
"""

from __future__ import annotations

import asyncio
import datetime
import socket
import ssl
from pathlib import Path

import pytest
from helpers_http import LOOPS, RawServer, Req, chunk, run, write_sse

from lens.probe.http import (
    ConnectError,
    ConnectionClosedError,
    HttpClient,
    ProtocolError,
    TLSVerifyError,
)
from lens.probe.http.proxy import proxy_bypassed

pytestmark = pytest.mark.parametrize("loop", LOOPS)


# -- a POST the server had worked on must not be sent twice --------------------------------
def test_a_request_the_server_worked_on_then_dropped_is_not_sent_again(loop: str) -> None:
    # The second request on the connection reaches the server, which works on it for 1 s
    # and then dies without a byte of response. That is not a stale pooled connection (the
    # server had the request): sending the POST again would run it twice on the server and
    # hide the server's failure as a client-side "resend".
    async def handler(req: Req, w: asyncio.StreamWriter) -> bool:
        if req.n == 2:
            await asyncio.sleep(1.0)
            return False
        await write_sse(w, [b"ok"])
        return True

    async def main() -> None:
        srv = await RawServer(handler).start()
        try:
            async with HttpClient() as client:
                r = await client.request("POST", srv.url(), headers={"x-id": "a"}, body=b"{}")
                assert r.status == 200
                with pytest.raises(ConnectionClosedError) as err:
                    await client.request("POST", srv.url(), headers={"x-id": "b"}, body=b"{}")
                assert err.value.reused and not err.value.resent
                assert f"127.0.0.1:{srv.port}" in str(err.value)
                assert client.stats.resent == 0
            assert [q.headers["x-id"] for q in srv.requests] == ["a", "b"]  # b once, not twice
        finally:
            await srv.stop()

    run(loop, main())


def test_a_stale_connection_found_at_once_is_still_resent(loop: str) -> None:
    # The counterpart: a server that hangs up right after each response (llama.cpp) is
    # found out within a round trip, and that request is sent again on a new connection.
    async def hang_up(req: Req, w: asyncio.StreamWriter) -> bool:
        await write_sse(w, [b"ok"])
        return False

    async def main() -> None:
        srv = await RawServer(hang_up).start()
        try:
            async with HttpClient(hangup_window_s=0) as client:
                out = [await client.request("POST", srv.url(), headers={"x-id": str(k)},
                                            body=b"{}") for k in range(4)]
            assert [r.status for r in out] == [200] * 4
            assert sum(r.resent for r in out) >= 1
            assert sorted(q.headers["x-id"] for q in srv.requests) == ["0", "1", "2", "3"]
        finally:
            await srv.stop()

    run(loop, main())


# -- 408 on a reused connection: the server timed the idle connection out -------------------
def test_408_on_a_reused_connection_is_a_stale_connection_not_a_provider_error(loop: str) -> None:
    # HAProxy and others answer an idle keep-alive connection's timeout with a 408 and a
    # close; a request written just then reads that 408. The server says it never got the
    # request in time (RFC 9110 15.5.9: the client may repeat it): browsers send it again.
    async def handler(req: Req, w: asyncio.StreamWriter) -> bool:
        if req.n == 2:
            w.write(b"HTTP/1.1 408 Request Timeout\r\nConnection: close\r\n"
                    b"Content-Length: 0\r\n\r\n")
            return False
        await write_sse(w, [req.headers["x-id"].encode()])
        return True

    async def main() -> None:
        srv = await RawServer(handler).start()
        try:
            async with HttpClient() as client:
                a = await client.request("POST", srv.url(), headers={"x-id": "a"}, body=b"{}")
                b = await client.request("POST", srv.url(), headers={"x-id": "b"}, body=b"{}")
            assert (a.status, b.status) == (200, 200)
            assert b.resent and b.body == b"data: b\n\n"
        finally:
            await srv.stop()

    run(loop, main())


# -- a response head that never ends ---------------------------------------------------------
def test_an_endless_response_head_is_cut_not_buffered(loop: str) -> None:
    # caps.max_bytes bounds a body; nothing bounded the head, so a server could make the
    # client buffer headers without limit (here 200 MB of them).
    async def flood(req: Req, w: asyncio.StreamWriter) -> bool:
        w.write(b"HTTP/1.1 200 OK\r\n")
        try:
            for i in range(200_000):
                w.write(b"X-Pad-%d: %s\r\n" % (i, b"a" * 1000))
                if i % 100 == 0:
                    await w.drain()
        except ConnectionError:
            pass
        return False

    async def main() -> None:
        srv = await RawServer(flood).start()
        try:
            async with HttpClient() as client:
                with pytest.raises(ProtocolError) as err:
                    await client.request("GET", srv.url(), max_body=1000)
            assert "header" in str(err.value) and f"127.0.0.1:{srv.port}" in str(err.value)
        finally:
            await srv.stop()

    run(loop, main())


def test_endless_chunked_trailers_are_cut_not_buffered(loop: str) -> None:
    # After the last chunk, trailers are header lines again: 150 MB of them went into the
    # response's headers (the body cap does not see them).
    async def flood(req: Req, w: asyncio.StreamWriter) -> bool:
        w.write(b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"
                + chunk(b"data: x\n\n") + b"0\r\n")
        try:
            for i in range(150_000):
                w.write(b"X-T-%d: %s\r\n" % (i, b"a" * 1000))
                if i % 100 == 0:
                    await w.drain()
        except ConnectionError:
            pass
        return False

    async def main() -> None:
        srv = await RawServer(flood).start()
        try:
            async with HttpClient() as client:
                with pytest.raises(ProtocolError) as err:
                    await client.request("GET", srv.url(), max_body=1000)
            assert "trailer" in str(err.value) and f"127.0.0.1:{srv.port}" in str(err.value)
        finally:
            await srv.stop()

    run(loop, main())


# -- bare LF line endings in the response head -------------------------------------------------
def test_a_head_with_bare_lf_line_endings_is_read(loop: str) -> None:
    # RFC 9112 2.2: a recipient MAY take a bare LF as a line terminator; curl, browsers and
    # aiohttp do. Hand-written mock servers (and some embedded ones) send them.
    async def lf(req: Req, w: asyncio.StreamWriter) -> bool:
        w.write(b"HTTP/1.1 200 OK\nContent-Type: text/event-stream\nContent-Length: 10\n\n"
                b"data: hi\n\n")
        return True

    async def main() -> None:
        srv = await RawServer(lf).start()
        try:
            async with HttpClient() as client:
                r = await client.request("GET", srv.url())
            assert (r.status, r.body) == (200, b"data: hi\n\n")
        finally:
            await srv.stop()

    run(loop, main())


# -- errors in plain words -------------------------------------------------------------------
def test_connection_refused_is_plain_words(loop: str) -> None:
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()

    async def main() -> None:
        async with HttpClient() as client:
            with pytest.raises(ConnectError) as err:
                await client.request("GET", f"http://127.0.0.1:{port}/x")
        text = str(err.value)
        assert f"127.0.0.1:{port}" in text and "connection refused" in text
        assert "('127.0.0.1'" not in text  # no Python tuple repr

    run(loop, main())


def test_a_certificate_for_another_ip_gets_the_host_mismatch_hint(loop: str, tmp_path: Path) -> None:
    import trustme

    ca = trustme.CA()
    ca_pem = tmp_path / "ca.pem"
    ca.cert_pem.write_to_path(str(ca_pem))
    ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ca.issue_cert("10.9.8.7").configure_cert(ctx)  # valid for another address only

    async def ok(req: Req, w: asyncio.StreamWriter) -> bool:
        await write_sse(w, [b"ok"])
        return True

    async def main() -> None:
        srv = await RawServer(ok, ssl=ctx).start()
        try:
            async with HttpClient(ca_bundle=ca_pem) as client:
                with pytest.raises(TLSVerifyError) as err:
                    await client.request("GET", srv.url())
        finally:
            await srv.stop()
        assert "issued for another host" in str(err.value)
        # trusting another CA cannot fix a name mismatch: the hint must not say so
        assert err.value.hint is not None and "--ca-bundle" not in err.value.hint

    run(loop, main())


def test_an_expired_certificate_says_expired(loop: str, tmp_path: Path) -> None:
    import trustme

    ca = trustme.CA()
    ca_pem = tmp_path / "ca.pem"
    ca.cert_pem.write_to_path(str(ca_pem))
    ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    utc = datetime.UTC
    ca.issue_cert("127.0.0.1", not_before=datetime.datetime(2019, 1, 1, tzinfo=utc),
                  not_after=datetime.datetime(2020, 1, 1, tzinfo=utc)).configure_cert(ctx)

    async def ok(req: Req, w: asyncio.StreamWriter) -> bool:
        await write_sse(w, [b"ok"])
        return True

    async def main() -> None:
        srv = await RawServer(ok, ssl=ctx).start()
        try:
            async with HttpClient(ca_bundle=ca_pem) as client:
                with pytest.raises(TLSVerifyError) as err:
                    await client.request("GET", srv.url())
        finally:
            await srv.stop()
        assert "has expired" in str(err.value) and f"127.0.0.1:{srv.port}" in str(err.value)

    run(loop, main())


# -- NO_PROXY as curl reads it ------------------------------------------------------------------
def test_no_proxy_cidr_ranges_bypass_the_proxy(loop: str, monkeypatch: pytest.MonkeyPatch) -> None:
    # curl (7.86+) and requests read CIDR blocks in NO_PROXY; a corporate NO_PROXY such as
    # "10.0.0.0/8,.internal" must send a private gateway at 10.x direct, not to the proxy.
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    dead = s.getsockname()[1]
    s.close()
    monkeypatch.setenv("HTTP_PROXY", f"http://u:pw@127.0.0.1:{dead}")
    monkeypatch.setenv("NO_PROXY", "10.0.0.0/8, 127.0.0.0/8")
    for var in ("http_proxy", "no_proxy", "all_proxy", "ALL_PROXY"):
        monkeypatch.delenv(var, raising=False)
    assert proxy_bypassed("10.1.2.3", 8000)
    assert not proxy_bypassed("11.1.2.3", 8000)
    assert not proxy_bypassed("api.example.com", 443)

    async def ok(req: Req, w: asyncio.StreamWriter) -> bool:
        await write_sse(w, [b"ok"])
        return True

    async def main() -> None:
        srv = await RawServer(ok).start()
        try:
            async with HttpClient() as client:
                r = await client.request("GET", srv.url())
            assert r.status == 200 and len(srv.requests) == 1  # went direct
        finally:
            await srv.stop()

    run(loop, main())


def test_trailers_and_http10_bodies(loop: str) -> None:
    # Held up in review; kept as a regression test: chunked trailers are read past, an
    # HTTP/1.0 close-delimited body ends at the close, HTTP/1.0 keep-alive is reused.
    body = b"data: hi\n\n"

    async def handler(req: Req, w: asyncio.StreamWriter) -> bool:
        kind = req.target.rsplit("/", 1)[1]
        if kind == "trailers":
            w.write(b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nTrailer: X-T\r\n\r\n"
                    + chunk(body) + b"0\r\nX-T: 1\r\n\r\n")
            return True
        if kind == "close":
            w.write(b"HTTP/1.0 200 OK\r\nContent-Type: text/event-stream\r\n\r\n" + body)
            return False
        w.write(b"HTTP/1.0 200 OK\r\nConnection: keep-alive\r\nContent-Length: 10\r\n\r\n" + body)
        return True

    async def main() -> None:
        srv = await RawServer(handler).start()
        try:
            async with HttpClient() as client:
                for kind in ("trailers", "close", "ka", "ka"):
                    r = await client.request("GET", srv.url(f"/{kind}"))
                    assert (r.status, r.body) == (200, body), kind
                assert r.reused
        finally:
            await srv.stop()

    run(loop, main())



