"""Internationalised host names go on the wire in their ASCII (xn--) form: the Host header,
the proxy's absolute-form target, DNS and TLS SNI (with the certificate checked against it),
as browsers and curl send them. A name that is not a valid IDN is refused, named."""

from __future__ import annotations

import asyncio
import socket
import ssl
from pathlib import Path
from typing import Any

import pytest
import trustme
from helpers_http import LOOPS, RawServer, Req, run, write_sse

from lens.probe.http import HttpClient
from lens.spec import TargetSpec
from lens.spec.hosts import ascii_host

PUNY = "xn--bcher-kva.example"
BODY = b"data: one\n\ndata: two\n\n"


async def _sse(req: Req, w: asyncio.StreamWriter) -> bool:
    await write_sse(w, [b"one", b"two"])
    return True


def test_ascii_host_forms() -> None:
    assert ascii_host("bücher.example") == PUNY
    assert ascii_host("BÜCHER.example") == PUNY  # UTS 46 maps case, as browsers do
    assert ascii_host("api.openai.com") == "api.openai.com"
    assert ascii_host("127.0.0.1") == "127.0.0.1" and ascii_host("::1") == "::1"
    with pytest.raises(ValueError) as e:
        ascii_host("bad\u200d-joiner.example")  # a zero-width joiner is not valid here
    text = str(e.value)
    assert "bad\u200d-joiner.example" in text and "xn--" in text


@pytest.mark.parametrize("loop", LOOPS)
def test_idn_host_header_and_proxy_target_are_punycode(loop: str) -> None:
    async def main() -> None:
        proxy = await RawServer(_sse).start()  # answers as the proxy would forward
        try:
            async with HttpClient(proxy=f"http://127.0.0.1:{proxy.port}") as client:
                r = await client.request("GET", "http://bücher.example:8080/v1/models")
                assert (r.status, r.body) == (200, BODY)
            req = proxy.requests[-1]
            assert req.target == f"http://{PUNY}:8080/v1/models"
            assert req.headers["host"] == f"{PUNY}:8080"
        finally:
            await proxy.stop()

    run(loop, main())


def test_idn_https_resolves_sends_sni_and_verifies_the_xn_name(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # asyncio's resolver calls socket.getaddrinfo (uvloop's does not: asyncio only)
    looked_up: list[str] = []
    real = socket.getaddrinfo

    def fake(host: Any, port: Any, *a: Any, **kw: Any) -> Any:
        looked_up.append(host)
        return real("127.0.0.1" if host == PUNY else host, port, *a, **kw)

    monkeypatch.setattr(socket, "getaddrinfo", fake)
    ca = trustme.CA()
    server_ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ca.issue_cert(PUNY).configure_cert(server_ctx)
    sni: list[str | None] = []
    server_ctx.sni_callback = lambda _sock, name, _ctx: sni.append(name)  # type: ignore[assignment,misc,return-value]
    pem = tmp_path / "ca.pem"
    ca.cert_pem.write_to_path(str(pem))

    async def main() -> None:
        srv = await RawServer(_sse, ssl=server_ctx).start()
        try:
            async with HttpClient(ca_bundle=pem, trust_env=False) as client:
                r = await client.request("GET", f"https://bücher.example:{srv.port}/v1")
                assert (r.status, r.body) == (200, BODY)
            assert srv.requests[-1].headers["host"] == f"{PUNY}:{srv.port}"
        finally:
            await srv.stop()

    run("asyncio", main())
    assert sni == [PUNY] and PUNY in looked_up


def test_a_spec_with_an_idn_base_url_is_accepted_and_a_bad_one_named() -> None:
    t = TargetSpec(provider="openai_compat", base_url="https://bücher.example/v1", model="m")
    assert t.base_url == "https://bücher.example/v1"  # stored as written; sent as xn--
    with pytest.raises(ValueError) as e:
        TargetSpec(provider="openai_compat", base_url="https://bad\u200d-joiner.example/v1",
                   model="m")
    assert "base_url" in str(e.value) and "xn--" in str(e.value)
