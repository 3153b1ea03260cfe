"""Every dialect's stream shape, usage and ground truth, over real HTTP."""

from __future__ import annotations

import json
from typing import Any

import aiohttp
import pytest
from botocore.eventstream import EventStreamBuffer
from helpers_sim import fetch, request_for, url_for

from lens.sim import SimServer

PROFILE = {"header_ms": 1, "ttft_ms": 15, "itl_ms": 1.5, "output_tokens": 12, "tokens_per_chunk": [1, 3],
           "reasoning_tokens": 4}
DIALECTS = ("openai_chat", "openai_responses", "anthropic", "gemini", "bedrock")


@pytest.fixture
async def sim():
    async with SimServer({"t": PROFILE, "plain": {"output_tokens": 5, "ttft_ms": 5, "itl_ms": 1}}, seed=3) as s:
        yield s


def _deltas(dialect: str, rec: Any) -> tuple[list[tuple[str, str]], dict[str, int]]:
    """(kind, text) per token delta and the usage numbers (prompt, output, reasoning)."""
    out: list[tuple[str, str]] = []
    usage: dict[str, int] = {}
    if dialect == "bedrock":
        buf = EventStreamBuffer()
        buf.add_data(rec.raw)
        for m in buf:
            p = json.loads(m.payload)
            if m.headers[":event-type"] == "contentBlockDelta":
                d = p["delta"]
                out.append(("reasoning", d["reasoningContent"]["text"]) if "reasoningContent" in d else ("text", d["text"]))
            elif m.headers[":event-type"] == "metadata":
                u = p["usage"]
                usage = {"prompt": u["inputTokens"] + u["cacheReadInputTokens"], "output": u["outputTokens"]}
        return out, usage
    for ev in rec.json_data():
        if dialect == "openai_chat":
            if ev.get("usage"):
                u = ev["usage"]
                usage = {"prompt": u["prompt_tokens"], "output": u["completion_tokens"],
                         "reasoning": u["completion_tokens_details"]["reasoning_tokens"]}
            for ch in ev["choices"]:
                if ch["delta"].get("content"):
                    out.append(("text", ch["delta"]["content"]))
                if ch["delta"].get("reasoning_content"):
                    out.append(("reasoning", ch["delta"]["reasoning_content"]))
        elif dialect == "openai_responses":
            if ev["type"] == "response.output_text.delta":
                out.append(("text", ev["delta"]))
            elif ev["type"] == "response.reasoning_summary_text.delta":
                out.append(("reasoning", ev["delta"]))
            elif ev["type"] == "response.completed":
                u = ev["response"]["usage"]
                usage = {"prompt": u["input_tokens"], "output": u["output_tokens"],
                         "reasoning": u["output_tokens_details"]["reasoning_tokens"]}
        elif dialect == "anthropic":
            if ev["type"] == "content_block_delta":
                d = ev["delta"]
                if d["type"] == "text_delta":
                    out.append(("text", d["text"]))
                elif d["type"] == "thinking_delta":
                    out.append(("reasoning", d["thinking"]))
            elif ev["type"] == "message_delta":
                u = ev["usage"]
                usage = {"prompt": u["input_tokens"] + u["cache_read_input_tokens"], "output": u["output_tokens"]}
        elif dialect == "gemini":
            for part in ev["candidates"][0]["content"]["parts"]:
                if part["text"]:
                    out.append(("reasoning" if part.get("thought") else "text", part["text"]))
            u = ev["usageMetadata"]
            if "candidatesTokenCount" in u:
                usage = {"prompt": u["promptTokenCount"], "output": u["candidatesTokenCount"] + u.get("thoughtsTokenCount", 0),
                         "reasoning": u.get("thoughtsTokenCount", 0)}
    return out, usage


@pytest.mark.parametrize("dialect", DIALECTS)
async def test_stream_matches_usage_and_truth(sim: SimServer, dialect: str) -> None:
    prompt = "word " * 80  # 400 chars -> 100 estimated tokens
    async with aiohttp.ClientSession() as session:
        rec = await fetch(session, url_for(sim, dialect, "t"), request_for(dialect, prompt), binary=dialect == "bedrock")
    assert rec.status == 200, rec.raw[:300]
    truth = sim.truth(rec.request_id)
    assert (truth.dialect, truth.profile, truth.fault) == (dialect, "t", None)
    deltas, usage = _deltas(dialect, rec)
    text_tokens = sum(len(t.split()) for k, t in deltas if k == "text")
    reasoning_tokens = sum(len(t.split()) for k, t in deltas if k == "reasoning")
    assert (text_tokens, reasoning_tokens) == (12, 4)
    assert [k for k, _ in deltas] == ["reasoning"] * len([k for k, _ in deltas if k == "reasoning"]) + ["text"] * len(
        [k for k, _ in deltas if k == "text"])
    assert usage["prompt"] == truth.prompt_tokens == 100  # ceil(400 chars / 4)
    assert usage["output"] == truth.output_tokens == 16
    assert usage.get("reasoning", 4) == truth.reasoning_tokens == 4
    # Ground truth: one event per frame, token counts, monotonic write times.
    events = truth.events
    assert len(events) == len(rec.frames)
    assert sum(e.n_tokens for e in events if e.kind == "text") == 12
    assert sum(e.n_tokens for e in events if e.kind == "reasoning") == 4
    starts = [e.write_start_ns for e in events]
    assert starts == sorted(starts)
    assert all(e.write_start_ns <= e.write_end_ns == e.t_ns for e in events)
    assert truth.received_ns < truth.headers_ns <= events[0].write_start_ns
    # TTFT on the server: at least ttft_ms + prefill after receipt.
    first_token = next(e for e in events if e.n_tokens)
    assert first_token.write_start_ns - truth.received_ns >= 15e6
    # Client arrival is after the server began writing, and close to it on loopback.
    for (arrival, _), ev in zip(rec.frames, events, strict=True):
        assert arrival >= ev.write_start_ns
        assert arrival - ev.write_start_ns < 250e6


def test_prompt_estimate_is_chars_over_four() -> None:
    # Documented estimate: ceil(len(text) / 4) over the prompt text found in the body.
    from lens.sim.latency import estimate_tokens

    assert estimate_tokens("word " * 80) == 100


@pytest.mark.parametrize("dialect", DIALECTS)
async def test_terminal_events_and_request_id(sim: SimServer, dialect: str) -> None:
    async with aiohttp.ClientSession() as session:
        rec = await fetch(session, url_for(sim, dialect, "plain"), request_for(dialect, max_tokens=3),
                          binary=dialect == "bedrock")
    assert rec.request_id.startswith("sim-")
    kinds = [e.kind for e in sim.truth(rec.request_id).events]
    assert kinds.count("text") == 3
    if dialect == "openai_chat":
        assert rec.sse()[-1] == (None, "[DONE]")
        first = rec.json_data()[0]["choices"][0]
        assert first["delta"] == {"role": "assistant", "content": ""}
        finish = rec.json_data()[-2]
        assert finish["choices"][0]["finish_reason"] == "length"
        assert rec.json_data()[-1]["choices"] == []
        assert kinds[-3:] == ["other", "usage", "done"]
    elif dialect == "openai_responses":
        names = [e for e, _ in rec.sse()]
        assert names[0] == "response.created" and names[-1] == "response.incomplete"
        assert [d["sequence_number"] for d in rec.json_data()] == list(range(len(names)))
    elif dialect == "anthropic":
        names = [e for e, _ in rec.sse()]
        assert names[:3] == ["message_start", "ping", "content_block_start"]
        assert names[-3:] == ["content_block_stop", "message_delta", "message_stop"]
        assert rec.json_data()[-2]["delta"]["stop_reason"] == "max_tokens"
        assert kinds[-2:] == ["usage", "done"]
    elif dialect == "gemini":
        assert b"\r\n\r\n" in rec.raw
        last = rec.json_data()[-1]["candidates"][0]
        assert last["finishReason"] == "MAX_TOKENS"
    else:
        buf = EventStreamBuffer()
        buf.add_data(rec.raw)
        types = [m.headers[":event-type"] for m in buf]
        assert types[0] == "messageStart" and types[-2:] == ["messageStop", "metadata"]


async def test_cached_prefix_reported_and_cuts_prefill() -> None:
    prof = {"cache_prefix": True, "ttft_ms": 5, "prefill_ms_per_token": 0.2, "output_tokens": 2, "itl_ms": 0}
    async with SimServer({"c": prof}) as sim, aiohttp.ClientSession() as session:
        prompt = "cache me " * 200  # 1800 chars
        first = await fetch(session, url_for(sim, "openai_chat", "c"), request_for("openai_chat", prompt + "one"))
        second = await fetch(session, url_for(sim, "openai_chat", "c"), request_for("openai_chat", prompt + "two"))
    t1, t2 = sim.truth(first.request_id), sim.truth(second.request_id)
    assert t1.cached_tokens == 0 and t2.cached_tokens == 1792 // 4
    usage = second.json_data()[-1]["usage"]
    assert usage["prompt_tokens_details"]["cached_tokens"] == t2.cached_tokens
    ttft1 = t1.first_text_ns - t1.received_ns
    ttft2 = t2.first_text_ns - t2.received_ns
    assert ttft1 - ttft2 > 50e6  # 448 cached tokens x 0.2 ms skipped


async def test_nonstream_bodies(sim: SimServer) -> None:
    async with aiohttp.ClientSession() as session:
        body = request_for("openai_chat", max_tokens=3)
        body["stream"] = False
        async with session.post(url_for(sim, "openai_chat", "plain"), json=body) as r:
            data = await r.json()
            assert data["choices"][0]["message"]["content"] == " the quick brown"
            assert data["usage"]["completion_tokens"] == 3
        body = request_for("anthropic", max_tokens=2)
        body["stream"] = False
        async with session.post(url_for(sim, "anthropic", "plain"), json=body) as r:
            data = await r.json()
            assert data["content"][-1]["text"] == " the quick" and data["usage"]["output_tokens"] == 2
        async with session.post(sim.url + "/p/plain/v1beta/models/g:generateContent", json=request_for("gemini")) as r:
            data = await r.json()
            assert data["usageMetadata"]["candidatesTokenCount"] == 5
        async with session.post(sim.url + "/p/plain/model/m/converse", json=request_for("bedrock")) as r:
            data = await r.json()
            assert data["usage"]["outputTokens"] == 5 and data["metrics"]["latencyMs"] >= 5
            truth = sim.truth(r.headers["x-request-id"])
            assert truth.stream is False and truth.output_tokens == 5


async def test_bad_body_and_unknown_profile(sim: SimServer) -> None:
    async with aiohttp.ClientSession() as session:
        async with session.post(sim.url + "/v1/chat/completions", data=b"{not json") as r:
            assert r.status == 400
            assert "invalid JSON" in (await r.json())["error"]["message"]
        async with session.post(sim.url + "/p/nope/v1/messages", json={}) as r:
            assert r.status == 404
            err = await r.json()
            assert err["type"] == "error" and "nope" in err["error"]["message"]
        async with session.post(sim.url + "/v1/chat/completions", json={}, headers={"x-sim-fault": "boom"}) as r:
            assert r.status == 400
