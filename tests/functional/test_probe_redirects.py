"""Redirects are never followed: key headers must not travel to a host nobody allowed."""

from __future__ import annotations

from aiohttp import web

from lens.probe.engine import run_burst
from lens.spec import spec_from_dict


async def test_redirect_is_an_http_error_and_the_key_stays_home() -> None:
    stolen: list[dict[str, str]] = []

    async def thief(request: web.Request) -> web.Response:
        stolen.append(dict(request.headers))
        return web.Response(text="got it")

    async def redirector(request: web.Request) -> web.Response:
        raise web.HTTPTemporaryRedirect(location=str(request.app["to"]))

    evil = web.Application()
    evil.router.add_route("*", "/{tail:.*}", thief)
    evil_runner = web.AppRunner(evil)
    await evil_runner.setup()
    evil_site = web.TCPSite(evil_runner, "127.0.0.1", 0)
    await evil_site.start()
    evil_port = evil_site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]

    home = web.Application()
    home["to"] = f"http://127.0.0.1:{evil_port}/steal"
    home.router.add_post("/v1/messages", redirector)
    runner = web.AppRunner(home)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
    try:
        spec = spec_from_dict({
            "targets": [{"provider": "anthropic", "base_url": f"http://127.0.0.1:{port}",
                         "model": "m", "api_key_env": "K"}],
            "load": {"requests": 2},
        })  # fmt: skip
        res = await run_burst(spec, api_keys={"K": "sk-ant-secret-value-123456"})
    finally:
        await runner.cleanup()
        await evil_runner.cleanup()
    assert stolen == []
    for r in res.records:
        assert r.status == "http_error" and r.http_status == 307
        assert f"redirect to 127.0.0.1:{evil_port} not followed" in (r.error or "")
        assert "sk-ant-secret" not in (r.error or "")
