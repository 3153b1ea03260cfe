"""A forward proxy's credentials never reach the store (adversarial review).

``HTTP_PROXY=http://user:password@proxy:port``: for an ``http://`` target lens sends
``Proxy-Authorization: Basic <base64 user:password>`` to the proxy. A proxy (aiohttp.web
here) that echoes request headers into its error page and ``x-request-id`` got the base64
credential stored verbatim in ``error`` and ``server_request_id``: the scrubber knew the
API key and ``Bearer`` shapes, not ``Basic``, and the engine did not count the proxy's
credential among the request's secrets.
"""

from __future__ import annotations

import asyncio
import base64
import socket
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
from aiohttp import web

import lens
from lens.redact.secrets import REDACTED, scrub

PASSWORD = "ProxyPw123secret"
BASIC = base64.b64encode(f"alice:{PASSWORD}".encode()).decode()


async def _echo(request: web.Request) -> web.Response:
    auth = request.headers.get("Proxy-Authorization", "")
    return web.Response(status=502, text=f"bad gateway; you sent Proxy-Authorization: {auth}",
                        headers={"x-request-id": auth})


@pytest.fixture
def echo_proxy() -> Iterator[int]:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    loop = asyncio.new_event_loop()
    app = web.Application()
    app.router.add_route("*", "/{tail:.*}", _echo)
    runner = web.AppRunner(app, access_log=None)
    loop.run_until_complete(runner.setup())
    loop.run_until_complete(web.TCPSite(runner, "127.0.0.1", port).start())
    t = threading.Thread(target=loop.run_forever, daemon=True)
    t.start()
    yield port
    asyncio.run_coroutine_threadsafe(runner.cleanup(), loop).result(10)
    loop.call_soon_threadsafe(loop.stop)
    t.join(10)


def test_an_echoing_proxy_gets_no_credential_stored(echo_proxy: int, tmp_path: Path,
                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    for var in ("NO_PROXY", "no_proxy", "http_proxy", "REQUEST_METHOD"):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv("HTTP_PROXY", f"http://alice:{PASSWORD}@127.0.0.1:{echo_proxy}")
    db = tmp_path / "p.db"
    result = lens.fire({"targets": [{"provider": "openai_compat", "model": "m",
                                     "base_url": "http://upstream.invalid/v1"}],
                        "load": {"requests": 2}, "max_tokens": 4}, db=str(db), api_keys={})
    df = lens.load(db, runs=[result.run_id])
    assert list(df["status"].astype(str)) == ["http_error", "http_error"]
    # the proxy answered, and what it said is kept without the credential
    assert df["error"].str.contains("you sent Proxy-Authorization: " + REDACTED, regex=False).all()
    raw = db.read_bytes() + b"".join(p.read_bytes() for p in tmp_path.glob("p.db-*"))
    assert BASIC.encode() not in raw and PASSWORD.encode() not in raw


def test_basic_credentials_are_scrubbed_by_shape_and_words_are_not() -> None:
    assert scrub(f"Authorization: Basic {BASIC}") == f"Authorization: Basic {REDACTED}"
    assert scrub("basic dXNlcjpwYXNz") == f"basic {REDACTED}"
    assert scrub("HTTP 401: basic authentication required") == "HTTP 401: basic authentication required"
