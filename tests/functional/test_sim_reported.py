"""Server-reported timing (llama.cpp ``timings``, ``openai-processing-ms``, Bedrock
``latencyMs``) equals the simulator's plan and agrees with its ground-truth write times."""

from __future__ import annotations

import json

import aiohttp
import pytest
from botocore.eventstream import EventStreamBuffer  # type: ignore[import-untyped]
from helpers_sim import fetch, request_for, url_for
from helpers_wire import RawConn, chat_body

from lens.sim import SimServer, SimTruth

PATH = "/p/{}/v1/chat/completions"
LLAMA = {"header_ms": 0, "ttft_ms": 30, "prefill_ms_per_token": 0.5, "itl_ms": 5, "output_tokens": 10,
         "server_timing": "llamacpp"}
PROMPT = "x" * 400  # 100 prompt tokens by the simulator's ceil(chars / 4)


def _close(a: float, b: float, tol: float) -> bool:
    return abs(a - b) <= tol


def _check_against_truth(timings: dict[str, float], truth: SimTruth) -> None:
    """The reported times are the plan's; the writes happened then, plus scheduling lag."""
    tok = truth.token_events()
    assert truth.slot_ns is not None
    lag_ms = truth.max_lag_ns / 1e6 + 3  # the simulator's own lateness plus a margin for the load
    assert _close((tok[0].write_start_ns - truth.slot_ns) / 1e6, timings["prompt_ms"], lag_ms)
    assert _close((tok[-1].write_start_ns - tok[0].write_start_ns) / 1e6, timings["predicted_ms"], lag_ms)


@pytest.mark.parametrize("usage", [True, False])
async def test_llamacpp_timings_in_last_chunk_equal_the_plan(usage: bool) -> None:
    async with SimServer({"ll": LLAMA}) as sim:
        conn = await RawConn.open(sim.url)
        resp = await conn.request(PATH.format("ll"), chat_body(PROMPT, usage=usage))
        await conn.close()
    events = resp.json_events()
    carrying = [i for i, e in enumerate(events) if "timings" in e]
    assert carrying == [len(events) - 1]  # only the last JSON chunk, as llama.cpp does
    last = events[-1]
    assert ("usage" in last) == usage and (last["choices"] == [] if usage else last["choices"][0]["finish_reason"])
    timings = last["timings"]
    assert list(timings) == ["cache_n", "prompt_n", "prompt_ms", "prompt_per_token_ms", "prompt_per_second",
                             "predicted_n", "predicted_ms", "predicted_per_token_ms", "predicted_per_second"]
    assert timings["prompt_n"] == 100 and timings["cache_n"] == 0
    assert timings["prompt_ms"] == 30 + 0.5 * 100  # ttft_ms + prefill per uncached token
    assert timings["predicted_n"] == 10 and timings["predicted_ms"] == 9 * 5  # 9 gaps of itl_ms
    assert timings["prompt_per_token_ms"] == pytest.approx(0.8)
    assert timings["prompt_per_second"] == pytest.approx(1250.0)
    assert timings["predicted_per_token_ms"] == pytest.approx(4.5)  # llama.cpp divides by n, not n - 1
    assert timings["predicted_per_second"] == pytest.approx(1000 / 45 * 10)
    truth = sim.truth(resp.request_id)
    assert truth.server_timing == {"timings": timings}
    _check_against_truth(timings, truth)


async def test_llamacpp_timings_count_reasoning_and_cache() -> None:
    prof = {**LLAMA, "reasoning_tokens": 6, "reasoning_itl_ms": 2, "cache_prefix": True}
    prompt = "y" * 1200  # 300 tokens; a repeat finds 4 blocks of 256 characters cached
    async with SimServer({"ll": prof}) as sim:
        conn = await RawConn.open(sim.url)
        cold = await conn.request(PATH.format("ll"), chat_body(prompt))
        warm = await conn.request(PATH.format("ll"), chat_body(prompt))
        await conn.close()
    t_cold, t_warm = cold.json_events()[-1]["timings"], warm.json_events()[-1]["timings"]
    assert (t_cold["cache_n"], t_cold["prompt_n"]) == (0, 300)
    assert (t_warm["cache_n"], t_warm["prompt_n"]) == (256, 44)
    assert t_warm["prompt_ms"] == 30 + 0.5 * 44
    # 6 reasoning tokens then 10 answer tokens, all decoded: 5 gaps of 2 ms + 10 of 5 ms.
    assert t_cold["predicted_n"] == 16 and t_cold["predicted_ms"] == 5 * 2 + 10 * 5
    _check_against_truth(t_warm, sim.truth(warm.request_id))


async def test_llamacpp_timings_include_a_stall_and_the_nonstreamed_body() -> None:
    prof = {**LLAMA, "faults": {"stall_ms": 100}}
    async with SimServer({"ll": prof}) as sim:
        conn = await RawConn.open(sim.url)
        stalled = await conn.request(PATH.format("ll"), chat_body(PROMPT),
                                     headers={"x-sim-fault": "stall", "x-sim-fault-after": "4"})
        plain = await conn.request(PATH.format("ll"), chat_body(PROMPT, stream=False))
        await conn.close()
    t = stalled.json_events()[-1]["timings"]
    assert t["predicted_ms"] == 9 * 5 + 100  # the model stalled: decode took longer
    _check_against_truth(t, sim.truth(stalled.request_id))
    body = json.loads(plain.body)
    assert body["object"] == "chat.completion" and body["timings"]["prompt_ms"] == 80.0
    assert body["timings"]["predicted_ms"] == 45.0
    assert sim.truth(plain.request_id).server_timing == {"timings": body["timings"]}


async def test_llamacpp_timings_only_where_llamacpp_sends_them() -> None:
    async with SimServer({"ll": LLAMA}) as sim, aiohttp.ClientSession() as session:
        rec = await fetch(session, url_for(sim, "anthropic", "ll"), request_for("anthropic"))
    assert b"timings" not in rec.raw and sim.truth(rec.request_id).server_timing is None


@pytest.mark.parametrize(("headers", "expected_ms"), [("early", 7), ("slot", 7), ("first_token", 40)])
async def test_openai_processing_ms_is_time_until_headers(headers: str, expected_ms: int) -> None:
    prof = {"header_ms": 7, "ttft_ms": 40, "itl_ms": 1, "output_tokens": 3, "server_timing": "openai",
            "headers": headers}
    async with SimServer({"oa": prof}) as sim:
        conn = await RawConn.open(sim.url)
        resp = await conn.request(PATH.format("oa"), chat_body())
        await conn.close()
    assert resp.header("openai-processing-ms") == str(expected_ms)
    assert b"timings" not in resp.body
    truth = sim.truth(resp.request_id)
    assert truth.server_timing == {"openai-processing-ms": expected_ms} and truth.headers_ns is not None
    # The headers really left then (plus the simulator's lateness).
    assert _close((truth.headers_ns - truth.received_ns) / 1e6, expected_ms, 3 + truth.max_lag_ns / 1e6)


async def test_openai_processing_ms_nonstreamed_and_errors() -> None:
    prof = {"header_ms": 7, "ttft_ms": 40, "itl_ms": 2, "output_tokens": 6, "server_timing": "openai"}
    async with SimServer({"oa": prof}) as sim:
        conn = await RawConn.open(sim.url)
        plain = await conn.request(PATH.format("oa"), chat_body(stream=False))
        limited = await conn.request(PATH.format("oa"), chat_body(), headers={"x-sim-fault": "rate_limited"})
        await conn.close()
    assert plain.header("openai-processing-ms") == "50"  # the whole answer: 40 + 5 gaps of 2 ms
    assert limited.status == 429 and limited.header("openai-processing-ms") == "7"
    t = sim.truth(plain.request_id)
    assert t.headers_ns is not None
    assert _close((t.headers_ns - t.received_ns) / 1e6, 50, 3)


@pytest.mark.parametrize("stream", [True, False])
async def test_bedrock_latency_ms_matches_truth(stream: bool) -> None:
    prof = {"header_ms": 0, "ttft_ms": 30, "itl_ms": 4, "output_tokens": 8}
    async with SimServer({"b": prof}) as sim, aiohttp.ClientSession() as session:
        path = "converse-stream" if stream else "converse"
        url = f"{sim.url}/p/b/model/sim.model-v1%3A0/{path}"
        rec = await fetch(session, url, request_for("bedrock"), binary=stream)
    truth = sim.truth(rec.request_id)
    assert truth.headers_ns is not None
    if stream:
        buf = EventStreamBuffer()
        buf.add_data(rec.raw)
        metadata = json.loads(list(buf)[-1].payload)
        latency = metadata["metrics"]["latencyMs"]
        written = (truth.events[-1].write_start_ns - truth.received_ns) / 1e6  # the metadata event
    else:
        latency = json.loads(rec.raw)["metrics"]["latencyMs"]
        written = (truth.headers_ns - truth.received_ns) / 1e6
    assert truth.server_timing == {"latencyMs": latency}
    assert latency >= 30 + 7 * 4
    assert _close(latency, written, 2)
