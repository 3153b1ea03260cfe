"""A real aiohttp server speaking OpenAI Chat with the headers real fronts send: the burst
engine and an instrumented openai SDK client both keep the model snapshot, the
fingerprint and the allow-listed routing headers, and a store keeps them."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from aiohttp import web

import lens.embed
from lens.embed import EmbedSink
from lens.probe.engine import run_burst
from lens.record import RequestRecord
from lens.spec import spec_from_dict
from lens.store.base import RunInfo
from lens.store.sql import open_store

KEY = "sk-proj-provenance-secret-0123456789abcdef"


def _chunk(i: int, fp: str, content: str | None, usage: dict[str, int] | None = None) -> bytes:
    obj = {"id": f"c{i}", "object": "chat.completion.chunk", "model": "gpt-4o-mini-2024-07-18",
           "system_fingerprint": fp,
           "choices": [] if content is None else [{"index": 0, "delta": {"content": content},
                                                   "finish_reason": None}],
           "usage": usage}
    return f"data: {json.dumps(obj)}\n\n".encode()


async def _server() -> tuple[web.AppRunner, int, list[int]]:
    served = [0]

    async def chat(request: web.Request) -> web.StreamResponse:
        served[0] += 1
        n = served[0]
        fp = "fp_a" if n <= 3 else "fp_b"  # a backend change after three requests
        resp = web.StreamResponse(headers={
            "content-type": "text/event-stream", "cf-ray": f"8c1f2a3b4c5d6e{n:02d}-SJC",
            "x-request-id": f"req_{n}", "openai-organization": "org-private-name",
            "openai-processing-ms": "42", "server": "cloudflare",
            "x-echo": request.headers.get("authorization", ""),  # a hostile echo, not kept
        })
        await resp.prepare(request)
        for i, word in enumerate(("Hello", " there")):
            await resp.write(_chunk(i, fp, word))
        await resp.write(_chunk(9, fp, None, {"prompt_tokens": 5, "completion_tokens": 2}))
        await resp.write(b"data: [DONE]\n\n")
        return resp

    app = web.Application()
    app.router.add_post("/v1/chat/completions", chat)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
    return runner, port, served


@pytest.fixture
async def server() -> AsyncIterator[int]:
    runner, port, _ = await _server()
    try:
        yield port
    finally:
        await runner.cleanup()


async def test_engine_keeps_model_fingerprint_and_routing(server: int, tmp_path: Path) -> None:
    spec = spec_from_dict({
        "targets": [{"provider": "openai", "base_url": f"http://127.0.0.1:{server}/v1",
                     "model": "gpt-4o-mini", "api_key_env": "K"}],
        "load": {"requests": 6, "concurrency": 1},
    })  # fmt: skip
    res = await run_burst(spec, api_keys={"K": KEY})
    recs = sorted(res.records, key=lambda r: r.started_at)
    assert [r.status for r in recs] == ["ok"] * 6
    assert [r.system_fingerprint for r in recs] == ["fp_a"] * 3 + ["fp_b"] * 3
    assert {r.server_model for r in recs} == {"gpt-4o-mini-2024-07-18"}
    for r in recs:
        assert json.loads(r.routing or "{}") == {"cf-ray": "SJC", "server": "cloudflare"}
        assert r.server_processing_ms == 42.0
        text = json.dumps(r.to_dict(), default=str)
        assert KEY not in text and "org-private-name" not in text
    store = open_store(tmp_path / "s.db")
    try:
        store.start_run(RunInfo(run_id=res.run_id, name="p", started_at=recs[0].started_at))
        store.add_many(recs, res.chunks)
        back = store.requests_frame(res.run_id).sort_values("started_at")
    finally:
        store.close()
    assert list(back["system_fingerprint"].astype(str)) == ["fp_a"] * 3 + ["fp_b"] * 3
    assert set(back["routing"].astype(str)) == {'{"cf-ray":"SJC","server":"cloudflare"}'}


async def test_embedded_sdk_client_keeps_them_too(server: int) -> None:
    openai = pytest.importorskip("openai")
    records: list[RequestRecord] = []
    sink = EmbedSink(callback=records.append)
    client = openai.AsyncOpenAI(base_url=f"http://127.0.0.1:{server}/v1", api_key=KEY,
                                max_retries=0)
    lens.embed.instrument(client, sink=sink)
    try:
        stream = await client.chat.completions.create(
            model="gpt-4o-mini", messages=[{"role": "user", "content": "hi"}], stream=True)
        async for _ in stream:
            pass
        sink.flush()
    finally:
        await client.close()
    assert len(records) == 1
    r = records[0]
    assert r.status == "ok", r.error
    assert r.server_model == "gpt-4o-mini-2024-07-18" and r.system_fingerprint == "fp_a"
    assert json.loads(r.routing or "{}") == {"cf-ray": "SJC", "server": "cloudflare"}
