"""lens.probe.http over TLS (trustme certificates) and through a real forward proxy (proxy.py)."""

from __future__ import annotations

import asyncio
import ssl
from collections.abc import Iterator
from pathlib import Path

import pytest
from helpers_http import (
    LOOPS,
    RawServer,
    Recorder,
    Req,
    TLSFiles,
    proxy_py,
    run,
    tls_files,
    write_sse,
)

from lens.probe.http import (
    ConnectError,
    ConnectTimeout,
    HttpClient,
    ProxyError,
    TLSVerifyError,
    make_ssl_context,
)

pytestmark = pytest.mark.parametrize("loop", LOOPS)

USER, PASSWORD = "lens", "s3cret-pw"


async def _sse(req: Req, w: asyncio.StreamWriter) -> bool:
    await write_sse(w, [b"one", b"two"])
    return True


BODY = b"data: one\n\ndata: two\n\n"


@pytest.fixture(scope="module")
def tls(tmp_path_factory: pytest.TempPathFactory) -> TLSFiles:
    return tls_files(tmp_path_factory.mktemp("tls"))


@pytest.fixture(scope="module")
def proxy_port() -> Iterator[int]:
    with proxy_py("--basic-auth", f"{USER}:{PASSWORD}") as port:
        yield port


@pytest.fixture(autouse=True)
def _no_proxy_env(monkeypatch: pytest.MonkeyPatch) -> None:
    for k in ("HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "NO_PROXY", "REQUEST_METHOD"):
        monkeypatch.delenv(k, raising=False)
        monkeypatch.delenv(k.lower(), raising=False)


def _ordered(rec: Recorder, *phases: str) -> None:
    ts = [rec.t(p) for p in phases]
    assert ts == sorted(ts), list(zip(phases, ts, strict=True))


def test_tls_with_ca_bundle_times_tcp_and_tls_apart(loop: str, tls: TLSFiles) -> None:
    async def main() -> None:
        srv = await RawServer(_sse, ssl=tls.server_ctx).start()
        try:
            async with HttpClient(ca_bundle=tls.ca_pem) as client:
                rec = Recorder()
                url = f"https://localhost:{srv.port}/v1/x"
                r = await client.request("POST", url, body=b"{}", observer=rec)
                assert (r.status, rec.body, r.reused) == (200, BODY, False)
                _ordered(rec, "dns_start", "dns_end", "tcp_start", "tcp_end", "tls_start",
                         "tls_end", "sent", "headers")
                assert rec.t("tls_end") > rec.t("tls_start") and rec.pieces[0][1] >= rec.t("headers")
                again = Recorder()
                r = await client.request("POST", url, body=b"{}", observer=again)
                assert r.reused and again.body == BODY
                assert "tls_start" not in again.phases() and "dns_start" not in again.phases()
            assert srv.requests[0].headers["host"] == f"localhost:{srv.port}"
        finally:
            await srv.stop()

    run(loop, main())


def test_untrusted_certificate_says_who_why_and_how(loop: str, tls: TLSFiles) -> None:
    async def main() -> None:
        srv = await RawServer(_sse, ssl=tls.server_ctx).start()
        try:
            async with HttpClient() as client:
                with pytest.raises(TLSVerifyError) as e:
                    await client.request("GET", f"https://localhost:{srv.port}/")
            text = str(e.value)
            assert f"localhost:{srv.port}" in text and "not trusted" in text
            assert "does not trust" in text  # trustme's CA is unknown here
            assert "--ca-bundle PATH" in text and "SSL_CERT_FILE" in text
            assert e.value.phase == "tls" and srv.requests == []
        finally:
            await srv.stop()

    run(loop, main())


def test_hostname_mismatch_is_named(loop: str, tmp_path: Path) -> None:
    other = tls_files(tmp_path, "elsewhere.test")

    async def main() -> None:
        srv = await RawServer(_sse, ssl=other.server_ctx).start()
        try:
            async with HttpClient(ca_bundle=other.ca_pem) as client:
                with pytest.raises(TLSVerifyError) as e:
                    await client.request("GET", f"https://localhost:{srv.port}/")
            assert "another host name" in str(e.value) and f"localhost:{srv.port}" in str(e.value)
        finally:
            await srv.stop()

    run(loop, main())


def test_ssl_cert_file_adds_to_the_system_store(
    loop: str, tls: TLSFiles, monkeypatch: pytest.MonkeyPatch
) -> None:
    system = make_ssl_context(environ={}).cert_store_stats()["x509_ca"]
    monkeypatch.setenv("SSL_CERT_FILE", str(tls.ca_pem))
    both = make_ssl_context().cert_store_stats()["x509_ca"]
    assert both == system + 1  # the private CA on top of the system's, not instead of them
    # OpenSSL's own loading lets SSL_CERT_FILE replace the system file
    assert ssl.create_default_context().cert_store_stats()["x509_ca"] < both or system == 0

    async def main() -> None:
        srv = await RawServer(_sse, ssl=tls.server_ctx).start()
        try:
            async with HttpClient() as client:
                r = await client.request("GET", f"https://127.0.0.1:{srv.port}/")
                assert r.body == BODY
        finally:
            await srv.stop()

    run(loop, main())


# -- proxies ---------------------------------------------------------------------------------
def test_https_through_proxy_connect_tunnel(loop: str, tls: TLSFiles, proxy_port: int) -> None:
    async def main() -> None:
        srv = await RawServer(_sse, ssl=tls.server_ctx).start()
        try:
            proxy = f"http://{USER}:{PASSWORD}@127.0.0.1:{proxy_port}"
            async with HttpClient(ca_bundle=tls.ca_pem, proxy=proxy) as client:
                rec = Recorder()
                r = await client.request("POST", f"https://localhost:{srv.port}/v1", body=b"{}",
                                         observer=rec)
                assert (r.status, rec.body) == (200, BODY)
                _ordered(rec, "tcp_start", "tcp_end", "tunnel_start", "tunnel_end", "tls_start",
                         "tls_end", "sent", "headers")
                assert "dns_start" not in rec.phases()  # the proxy is an IP literal
                r = await client.request("POST", f"https://localhost:{srv.port}/v1", body=b"{}")
                assert r.reused and r.body == BODY  # the tunnel is kept alive too
            assert "proxy-authorization" not in srv.requests[0].headers  # only the proxy saw it
        finally:
            await srv.stop()

    run(loop, main())


def test_http_through_proxy_from_env_in_absolute_form(
    loop: str, proxy_port: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    async def main() -> None:
        srv = await RawServer(_sse).start()
        try:
            monkeypatch.setenv("http_proxy", f"http://{USER}:{PASSWORD}@127.0.0.1:{proxy_port}")
            async with HttpClient() as client:
                r = await client.request("GET", srv.url("/p?q=1"))
                assert (r.status, r.body) == (200, BODY)
            assert srv.requests[-1].target == "/p?q=1"  # the proxy forwarded it
            monkeypatch.setenv("http_proxy", f"http://{USER}:wrong@127.0.0.1:{proxy_port}")
            async with HttpClient() as client:
                r = await client.request("GET", srv.url("/p"))
                assert r.status == 407  # answered by the proxy: the server never saw it
            assert len(srv.requests) == 1
        finally:
            await srv.stop()

    run(loop, main())


def test_proxy_refusing_connect_is_a_clear_error(loop: str, tls: TLSFiles, proxy_port: int) -> None:
    async def main() -> None:
        srv = await RawServer(_sse, ssl=tls.server_ctx).start()
        try:
            bad = f"http://{USER}:wrong-pw-123@127.0.0.1:{proxy_port}"
            async with HttpClient(ca_bundle=tls.ca_pem, proxy=bad) as client:
                with pytest.raises(ProxyError) as e:
                    await client.request("GET", f"https://localhost:{srv.port}/")
            text = str(e.value)
            assert e.value.status == 407 and e.value.phase == "tunnel"
            assert f"proxy 127.0.0.1:{proxy_port}" in text and "407" in text
            assert "wrong-pw-123" not in text and USER not in text
            good = f"http://{USER}:{PASSWORD}@127.0.0.1:{proxy_port}"
            async with HttpClient(ca_bundle=tls.ca_pem, proxy=good) as client:
                with pytest.raises(ProxyError) as e2:  # nothing listens there: 502 from the proxy
                    await client.request("GET", "https://localhost:1/")
            assert e2.value.status == 502 and PASSWORD not in str(e2.value)
        finally:
            await srv.stop()

    run(loop, main())


def test_no_proxy_bypasses_the_env_proxy(loop: str, monkeypatch: pytest.MonkeyPatch) -> None:
    async def main() -> None:
        srv = await RawServer(_sse).start()
        try:
            monkeypatch.setenv("HTTP_PROXY", "http://u:p@127.0.0.1:1")  # nothing listens
            async with HttpClient() as client:
                with pytest.raises(ConnectError) as e:
                    await client.request("GET", srv.url())
            assert e.value.phase == "tcp" and "proxy 127.0.0.1:1" in str(e.value)
            assert "u:p" not in str(e.value)
            monkeypatch.setenv("NO_PROXY", "example.com, 127.0.0.1")
            async with HttpClient() as client:
                r = await client.request("GET", srv.url())
                assert r.body == BODY
        finally:
            await srv.stop()

    run(loop, main())


def test_connect_timeout_names_the_stuck_phase(loop: str) -> None:
    async def main() -> None:
        async def silent(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
            await reader.read()  # accepts TCP, never answers the TLS hello
            writer.close()

        server = await asyncio.start_server(silent, "127.0.0.1", 0)
        port = server.sockets[0].getsockname()[1]
        try:
            async with HttpClient(connect_timeout=0.3) as client:
                rec = Recorder()
                began = asyncio.get_running_loop().time()
                with pytest.raises(ConnectTimeout) as e:
                    await client.request("GET", f"https://127.0.0.1:{port}/", observer=rec)
                assert asyncio.get_running_loop().time() - began < 2
                assert client.open_connections == 0
            assert isinstance(e.value, TimeoutError) and e.value.phase == "tls"
            assert f"127.0.0.1:{port}" in str(e.value) and "0.3s" in str(e.value)
            assert rec.phases() == ["tcp_start", "tcp_end", "tls_start"]
        finally:
            server.close()

    run(loop, main())
