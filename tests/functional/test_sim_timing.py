"""Latency model on the wire: profiles differ, capacity queues, truth over HTTP."""

from __future__ import annotations

import asyncio
import itertools
import statistics

import aiohttp
from helpers_sim import fetch, request_for, url_for

from lens.sim import SimServer, SimTruth


async def test_profiles_differ_measurably_client_side() -> None:
    profiles = {"quick": {"header_ms": 0, "ttft_ms": 10, "itl_ms": 2, "output_tokens": 10},
                "sluggish": {"header_ms": 30, "ttft_ms": 120, "itl_ms": 12, "output_tokens": 10}}
    async with SimServer(profiles) as sim, aiohttp.ClientSession() as session:
        res = {}
        for name in profiles:
            ttfts, itls, ttfbs = [], [], []
            for _ in range(3):
                rec = await fetch(session, url_for(sim, "anthropic", name), request_for("anthropic"))
                truth = sim.truth(rec.request_id)
                tok = [t for (t, _), e in zip(rec.frames, truth.events, strict=True) if e.n_tokens]
                ttfts.append((tok[0] - truth.received_ns) / 1e6)
                itls.append(statistics.mean((b - a) / 1e6 for a, b in itertools.pairwise(tok)))
                ttfbs.append((truth.headers_ns - truth.received_ns) / 1e6)
            res[name] = (statistics.median(ttfts), statistics.median(itls), statistics.median(ttfbs))
    assert 10 <= res["quick"][0] < 60 and 120 <= res["sluggish"][0] < 220
    assert 1.5 <= res["quick"][1] < 8 and 11 <= res["sluggish"][1] < 25
    assert res["quick"][2] < 10 and 29 <= res["sluggish"][2] < 80


async def test_capacity_queue_delays_ttft() -> None:
    prof = {"header_ms": 0, "ttft_ms": 20, "itl_ms": 5, "output_tokens": 20, "max_concurrency": 2}
    async with SimServer({"cap": prof}) as sim, aiohttp.ClientSession() as session:
        recs = await asyncio.gather(*(fetch(session, url_for(sim, "openai_chat", "cap"), request_for("openai_chat"))
                                      for _ in range(6)))
    truths = sorted((sim.truth(r.request_id) for r in recs), key=lambda t: t.first_text_ns or 0)
    ttft = [(t.first_text_ns - t.received_ns) / 1e6 for t in truths]
    # one stream lasts ~20 + 19 * 5 = 115 ms; pairs run in three waves
    assert sum(1 for t in truths if t.queue_ns == 0) == 2
    assert all(t.queue_ns > 80e6 for t in truths[2:])
    assert max(ttft[:2]) < 80 and min(ttft[2:4]) > 110 and min(ttft[4:]) > 220
    # queue time is server-side after the headers: TTFB stays small.
    assert all((t.headers_ns - t.received_ns) / 1e6 < 40 for t in truths)


async def test_tokens_per_chunk_and_reasoning_order() -> None:
    prof = {"ttft_ms": 5, "itl_ms": 1, "output_tokens": 20, "tokens_per_chunk": 4, "reasoning_tokens": 6}
    async with SimServer({"p": prof}) as sim, aiohttp.ClientSession() as session:
        rec = await fetch(session, url_for(sim, "openai_chat", "p"), request_for("openai_chat"))
    truth = sim.truth(rec.request_id)
    assert [(e.kind, e.n_tokens) for e in truth.token_events()] == [("reasoning", 4), ("reasoning", 2)] + [("text", 4)] * 5
    reasoning = [d["choices"][0]["delta"].get("reasoning_content") for d in rec.json_data() if d["choices"]]
    assert [r for r in reasoning if r] == [" the quick brown fox", " jumps over"]


async def test_truth_http_endpoints_and_health() -> None:
    async with SimServer({"default": {"ttft_ms": 1, "itl_ms": 0, "output_tokens": 3}}) as sim, \
            aiohttp.ClientSession() as session:
        rec = await fetch(session, url_for(sim, "gemini"), request_for("gemini"))
        async with session.get(f"{sim.url}/_sim/truth/{rec.request_id}") as r:
            assert r.status == 200
            remote = SimTruth.from_dict(await r.json())
        local = sim.truth(rec.request_id)
        assert remote.to_dict() == local.to_dict()
        assert [e.kind for e in remote.events] == ["text", "text", "text", "usage"]
        async with session.get(f"{sim.url}/_sim/truth/sim-nope-1") as r:
            assert r.status == 404 and "sim-nope-1" in (await r.json())["error"]
        await fetch(session, url_for(sim, "openai_chat"), request_for("openai_chat"))
        async with session.get(f"{sim.url}/_sim/truth?limit=1") as r:
            data = await r.json()
            assert len(data["truths"]) == 1 and data["truths"][0]["dialect"] == "openai_chat"
        async with session.get(f"{sim.url}/_sim/health") as r:
            health = await r.json()
            assert health["ok"] and health["requests"] == 2 and "flaky" in health["profiles"]
        async with session.get(f"{sim.url}/_sim/profiles") as r:
            assert (await r.json())["default"]["output_tokens"] == 3


async def test_truths_are_bounded() -> None:
    async with SimServer({"default": {"ttft_ms": 0, "itl_ms": 0, "output_tokens": 1}}, max_truths=3) as sim, \
            aiohttp.ClientSession() as session:
        ids = [(await fetch(session, url_for(sim, "openai_chat"), request_for("openai_chat"))).request_id
               for _ in range(5)]
        assert [t.request_id for t in sim.truths()] == ids[2:]
        try:
            sim.truth(ids[0])
        except KeyError as exc:
            assert "evicted" in str(exc)
        else:
            raise AssertionError("evicted truth still present")


async def test_base_urls() -> None:
    async with SimServer() as sim:
        assert sim.url.startswith("http://127.0.0.1:") and sim.port > 0
        assert sim.base_url("openai_chat") == sim.url + "/v1"
        assert sim.base_url("openai_compat", "slow") == sim.url + "/p/slow/v1"
        assert sim.base_url("anthropic", "fast") == sim.url + "/p/fast"
        assert sim.base_url("bedrock") == sim.url
