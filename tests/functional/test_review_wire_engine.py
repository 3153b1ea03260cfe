"""Adversarial review of the engine on the real wire (issue #12): a careless user's setup
and a hostile proxy. A request lost to the client's own set-up must not be recorded as a
failure of the provider, and no credential may reach a record.
"""

from __future__ import annotations

import asyncio
import base64
import dataclasses
import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from helpers_http import RawServer, Req, ThreadLoop, write_sse

from lens.errors import ConfigError
from lens.probe.engine import run_burst_sync
from lens.spec import spec_from_dict

_PROXY_VARS = ("http_proxy", "https_proxy", "all_proxy", "no_proxy")


@pytest.fixture
def no_env_proxy(monkeypatch: pytest.MonkeyPatch) -> None:
    for var in _PROXY_VARS:
        monkeypatch.delenv(var, raising=False)
        monkeypatch.delenv(var.upper(), raising=False)


@pytest.fixture
def server_loop() -> Iterator[ThreadLoop]:
    tl = ThreadLoop()
    yield tl
    tl.close()


def _spec(base_url: str, provider: str = "vllm", requests: int = 3) -> object:
    return spec_from_dict({
        "targets": [{"provider": provider, "base_url": base_url, "model": "m"}],
        "prompts": {"synthetic_tokens": 8}, "max_tokens": 4,
        "load": {"requests": requests, "concurrency": 1},
    }, source="test")  # fmt: skip


async def _ok(req: Req, w: asyncio.StreamWriter) -> bool:
    await write_sse(w, [b'{"choices":[{"index":0,"delta":{"content":"hi"}}]}', b"[DONE]"])
    return True


def test_an_api_key_with_a_line_break_is_refused_before_the_burst(
    server_loop: ThreadLoop, no_env_proxy: None
) -> None:
    # A key read from a CRLF .env file ends in "\r". The client refuses to send a header with
    # a line break (header injection): that must stop the burst before it starts, naming the
    # variable, not become N "stream_error" records of the provider with a Python type name.
    srv = server_loop.call(RawServer(_ok).start())
    spec = _spec(f"http://127.0.0.1:{srv.port}/v1", provider="openai")
    with pytest.raises(ConfigError) as err:
        run_burst_sync(spec, api_keys={"OPENAI_API_KEY": "sk-abcdefabcdefabcdefabcdef\r"})  # type: ignore[arg-type]
    text = str(err.value)
    assert "OPENAI_API_KEY" in text and "line break" in text
    assert "sk-abc" not in text and "ValueError" not in text
    assert srv.requests == []  # nothing was sent


@pytest.mark.parametrize("proxy", ["socks5://u:pw@127.0.0.1:1080", "https://proxy.example:443"])
def test_an_unusable_proxy_setting_is_refused_before_the_burst(
    proxy: str, server_loop: ThreadLoop, no_env_proxy: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    # HTTP_PROXY / ALL_PROXY with a scheme the client cannot use made every request a
    # "network" failure of the provider. It is the client's setting: refuse it up front.
    srv = server_loop.call(RawServer(_ok).start())
    monkeypatch.setenv("HTTP_PROXY", proxy)
    with pytest.raises(ConfigError) as err:
        run_burst_sync(_spec(f"http://127.0.0.1:{srv.port}/v1"))  # type: ignore[arg-type]
    text = str(err.value)
    assert "HTTP_PROXY" in text and "http://host:port" in text
    assert "pw" not in text.replace("proxy", "")  # the credentials are never shown
    assert srv.requests == []


def test_proxy_credentials_echoed_by_the_proxy_never_reach_the_record(
    server_loop: ThreadLoop, no_env_proxy: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A proxy that refuses the credentials and echoes them (debugging proxies echo request
    # headers; some put them in the reason phrase). The error is stored in the record: the
    # proxy's password, in the clear or base64'd, must be scrubbed like an API key.
    async def proxy(req: Req, w: asyncio.StreamWriter) -> bool:
        auth = req.headers.get("proxy-authorization", "")
        user_pass = base64.b64decode(auth.split()[-1]).decode() if auth else ""
        body = json.dumps({"error": {"message": f"bad credentials {auth} ({user_pass})",
                                     "type": "auth"}}).encode()
        w.write(b"HTTP/1.1 407 Denied " + auth.encode() + b"\r\nContent-Type: application/json"
                b"\r\nContent-Length: %d\r\n\r\n" % len(body) + body)
        return True

    srv = server_loop.call(RawServer(proxy).start())
    monkeypatch.setenv("HTTP_PROXY", f"http://alice:hunter2secret@127.0.0.1:{srv.port}")
    res = run_burst_sync(_spec("http://10.255.1.2:8000/v1", requests=1))  # type: ignore[arg-type]
    (rec,) = res.records
    assert rec.status == "http_error" and rec.http_status == 407
    assert srv.requests[0].headers["proxy-authorization"].startswith("Basic ")  # it was sent
    b64 = base64.b64encode(b"alice:hunter2secret").decode()
    stored = json.dumps(dataclasses.asdict(rec), default=str)
    assert "hunter2secret" not in stored and b64 not in stored, rec.error


def test_a_missing_ssl_cert_file_stops_the_burst_before_it_starts(
    server_loop: ThreadLoop, no_env_proxy: None, monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
) -> None:
    # A stale SSL_CERT_FILE (left by a conda env or an old setup) made every https request a
    # "stream_error" of the provider reading "client error ConfigError: ...", after the TCP
    # connect. It is the client's setting: refuse it before the burst, naming the variable.
    import ssl

    import trustme

    ca = trustme.CA()
    ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ca.issue_cert("127.0.0.1").configure_cert(ctx)
    srv = server_loop.call(RawServer(_ok, ssl=ctx).start())
    monkeypatch.setenv("SSL_CERT_FILE", str(tmp_path / "gone.pem"))
    with pytest.raises(ConfigError) as err:
        run_burst_sync(_spec(f"https://127.0.0.1:{srv.port}/v1"))  # type: ignore[arg-type]
    assert "SSL_CERT_FILE" in str(err.value) and "gone.pem" in str(err.value)
    assert srv.connections == 0  # nothing was sent
