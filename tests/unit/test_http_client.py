"""lens.probe.http pieces without a network: request heads, headers, Keep-Alive, decoding,
proxy settings, TLS errors, and the protocol fed by hand (splits, flow control, 1xx)."""

from __future__ import annotations

import asyncio
import gzip
import ssl
import zlib
from pathlib import Path
from typing import Any

import pytest
from helpers_http import Recorder

from lens.errors import ConfigError, LensError
from lens.probe.http import ConnectionClosedError, ProxyError, TLSVerifyError, make_ssl_context
from lens.probe.http.message import Decoder, Headers, build_head, keep_alive_params
from lens.probe.http.pool import retire_after
from lens.probe.http.protocol import HttpConnection
from lens.probe.http.proxy import parse_proxy, proxy_from_env
from lens.probe.http.tls import describe_tls_error


def test_request_head_defaults_and_caller_overrides() -> None:
    head = build_head("POST", "/v1/x?y=1", "api.test", {"Authorization": "Bearer k",
                      "content-length": "999", "Accept-Encoding": "gzip"}, 2, close=True)
    text = head.decode()
    assert text.startswith("POST /v1/x?y=1 HTTP/1.1\r\nHost: api.test\r\n")
    assert "Content-Length: 2\r\n" in text and "999" not in text  # ours, from the real body
    assert "Accept-Encoding: gzip" in text and "identity" not in text
    assert "Connection: close\r\n" in text and text.endswith("\r\n\r\n")
    plain = build_head("GET", "/", "h:8080", [("Host", "other")], None, close=False).decode()
    assert "Host: other\r\n" in plain and "Accept-Encoding: identity\r\n" in plain
    assert "Content-Length" not in plain and "Connection" not in plain
    with pytest.raises(ValueError, match="line break"):
        build_head("GET", "/", "h", {"X-A": "1\r\nX-Injected: 2"}, None, close=False)


def test_headers_ignore_case_and_join_repeats() -> None:
    h = Headers()
    h.add("x-ratelimit-remaining", "5")
    h.add("set-cookie", "a=1")
    h.add("set-cookie", "b=2")
    assert h["X-RateLimit-Remaining"] == "5" and "SET-COOKIE" in h
    assert h.get("Set-Cookie") == "a=1, b=2" and h.get("missing") is None


def test_keep_alive_header_and_retirement_margin() -> None:
    assert keep_alive_params("timeout=5, max=100") == (5.0, 100)
    assert keep_alive_params('max="3",timeout=1') == (1.0, 3)
    assert keep_alive_params("timeout=soon") == (None, None)
    assert retire_after(1) == 0.75 and retire_after(5) == 4.0 and retire_after(60) == 59.0


def test_decoder_streams_gzip_and_both_deflates() -> None:
    text = b"data: hello\n\n" * 200
    raw = zlib.compressobj(wbits=-15)
    for enc, packed in (("gzip", gzip.compress(text)), ("deflate", zlib.compress(text)),
                        ("deflate", raw.compress(text) + raw.flush())):
        d = Decoder(enc)
        out = b"".join(d.feed(packed[i:i + 7]) for i in range(0, len(packed), 7)) + d.flush()
        assert out == text, enc
    with pytest.raises(zlib.error):
        Decoder("gzip").feed(b"not gzip at all")


def test_proxy_url_credentials_stay_out_of_text() -> None:
    p = parse_proxy("http://us%40er:p%3Ass@proxy.corp:3128")
    assert (p.host, p.port, p.label) == ("proxy.corp", 3128, "proxy.corp:3128")
    assert p.authorization == "Basic dXNAZXI6cDpzcw=="  # base64("us@er:p:ss")
    assert "p:ss" not in repr(p) and parse_proxy("proxy.corp").port == 80
    with pytest.raises(ProxyError) as e:
        parse_proxy("socks5://user:pw@proxy.corp:1080")
    assert "only http://" in str(e.value) and "pw" not in str(e.value)


def test_proxy_environment_like_curl(monkeypatch: pytest.MonkeyPatch) -> None:
    for k in ("http_proxy", "https_proxy", "all_proxy", "no_proxy", "REQUEST_METHOD"):
        monkeypatch.delenv(k, raising=False)
        monkeypatch.delenv(k.upper(), raising=False)
    assert proxy_from_env("https", "api.test", 443) is None
    monkeypatch.setenv("HTTPS_PROXY", "http://upper:1")
    monkeypatch.setenv("https_proxy", "http://lower:2")
    monkeypatch.setenv("ALL_PROXY", "http://all:3")
    monkeypatch.setenv("NO_PROXY", "internal.corp, .local,10.0.0.5")
    assert proxy_from_env("https", "api.test", 443).label == "lower:2"  # type: ignore[union-attr]
    assert proxy_from_env("http", "api.test", 80).label == "all:3"  # type: ignore[union-attr]
    for host in ("internal.corp", "svc.internal.corp", "box.local", "10.0.0.5"):
        assert proxy_from_env("https", host, 443) is None, host
    assert proxy_from_env("https", "notinternal.corpx", 443) is not None
    monkeypatch.setenv("NO_PROXY", "*")
    assert proxy_from_env("https", "api.test", 443) is None


def _verify_error(code: int, message: str) -> ssl.SSLCertVerificationError:
    exc = ssl.SSLCertVerificationError(1, f"[SSL: CERTIFICATE_VERIFY_FAILED] {message}")
    exc.verify_code = code
    exc.verify_message = message
    return exc


def test_tls_errors_say_why_and_how_to_trust() -> None:
    err = describe_tls_error(_verify_error(18, "self-signed certificate"), "llm.lan:8443", "llm.lan")
    assert isinstance(err, TLSVerifyError) and isinstance(err, LensError)
    text = str(err)
    assert "llm.lan:8443" in text and "self-signed" in text
    assert "--ca-bundle PATH" in text and "SSL_CERT_FILE" in text and "SSLCert" not in text
    exp = str(describe_tls_error(_verify_error(10, "certificate has expired"), "a:443", "a"))
    assert "expired" in exp and "renewed" in exp
    other = describe_tls_error(ConnectionResetError(104, "Connection reset by peer"), "a:443", "a")
    assert other.phase == "tls" and "connection reset by peer" in str(other)


def test_ca_bundle_that_is_missing_or_not_pem(tmp_path: Path) -> None:
    with pytest.raises(ConfigError) as e:
        make_ssl_context(tmp_path / "nope.pem")
    assert "--ca-bundle" in str(e.value) and "nope.pem" in str(e.value)
    junk = tmp_path / "junk.pem"
    junk.write_text("hello")
    with pytest.raises(ConfigError, match="PEM"):
        make_ssl_context(junk, environ={})


# -- the protocol, fed by hand -----------------------------------------------------------
class FakeTransport(asyncio.Transport):
    def __init__(self, proto: HttpConnection, *, pause_on_write: bool = False) -> None:
        super().__init__()
        self.proto, self.pause_on_write = proto, pause_on_write
        self.written = b""
        self.closed = self.aborted = False

    def write(self, data: Any) -> None:
        self.written += data
        if self.pause_on_write:
            self.proto.pause_writing()

    def is_closing(self) -> bool:
        return self.closed or self.aborted

    def close(self) -> None:
        self.closed = True

    def abort(self) -> None:
        self.aborted = True


RESPONSE = (b"HTTP/1.1 100 Continue\r\n\r\n"
            b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nX-Request-Id: r1\r\n\r\n"
            b"b\r\ndata: one\n\n\r\nb\r\ndata: two\n\n\r\n0\r\n\r\n")


async def _exchange(splits: list[bytes], *, pause: bool = False) -> tuple[Recorder, Any, list[int]]:
    conn = HttpConnection("h:1")
    tr = FakeTransport(conn, pause_on_write=pause)
    conn.connection_made(tr)
    rec = Recorder()
    fut = conn.start(b"GET / HTTP/1.1\r\n\r\n", rec, max_body=None, head_only=False)
    reads = []
    for piece in splits:
        if pause and piece is splits[-1]:
            conn.resume_writing()
        conn.data_received(piece)
        reads.append(conn._t)
    return rec, await fut, reads


def test_any_split_gives_the_same_body_each_piece_timed_by_its_read() -> None:
    async def main() -> None:
        whole, out, _ = await _exchange([RESPONSE])
        assert out[0] == 200 and whole.body == b"data: one\n\ndata: two\n\n"
        assert whole.head is not None and whole.head[2]["x-request-id"] == "r1"
        bytewise, _, reads = await _exchange([RESPONSE[i:i + 1] for i in range(len(RESPONSE))])
        assert bytewise.body == whole.body and bytewise.phases().count("headers") == 1
        for _, t in bytewise.pieces:
            assert t in reads  # every piece carries the clock of a socket read
        assert bytewise.t("headers") == reads[RESPONSE.index(b"\r\n\r\nb\r\n") + 3]

    asyncio.run(main())


def test_sent_waits_for_flow_control_to_resume() -> None:
    async def main() -> None:
        rec, _, reads = await _exchange([RESPONSE[:40], RESPONSE[40:]], pause=True)
        assert reads[0] < rec.t("sent") <= reads[1]  # marked at resume_writing, not at write()

    asyncio.run(main())


def test_eof_before_any_byte_versus_mid_response() -> None:
    async def main() -> None:
        for data, before in ((b"", True), (RESPONSE[:60], False)):
            conn = HttpConnection("h:1")
            conn.connection_made(FakeTransport(conn))
            fut = conn.start(b"GET / HTTP/1.1\r\n\r\n", Recorder(), max_body=None, head_only=False)
            if data:
                conn.data_received(data)
            conn.connection_lost(ConnectionResetError(104, "Connection reset by peer"))
            with pytest.raises(ConnectionClosedError) as e:
                await fut
            assert e.value.before_response is before and "h:1" in str(e.value)
            assert "connection reset by peer" in str(e.value)

    asyncio.run(main())
