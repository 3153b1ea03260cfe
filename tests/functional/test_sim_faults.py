"""Injected faults: status codes, provider headers, error events, resets, stalls, truncation."""

from __future__ import annotations

import asyncio
import itertools
import time
from collections import Counter

import aiohttp
import pytest
from botocore.eventstream import EventStreamBuffer
from helpers_sim import fetch, request_for, url_for

from lens.sim import SimServer

DIALECTS = ("openai_chat", "openai_responses", "anthropic", "gemini", "bedrock")
FAST = {"header_ms": 0, "ttft_ms": 2, "itl_ms": 1, "output_tokens": 10}


@pytest.fixture
async def sim():
    async with SimServer({"default": FAST, "key": {**FAST, "require_key": True},
                          "hang": {**FAST, "faults": {"stall_ms": None, "stall_max_s": 5}},
                          "stall": {**FAST, "faults": {"stall_ms": 300}}}) as s:
        yield s


async def _get(sim: SimServer, dialect: str, fault: str, profile: str | None = None, after: int = 4):
    async with aiohttp.ClientSession() as session:
        return await fetch(session, url_for(sim, dialect, profile), request_for(dialect),
                           headers={"x-sim-fault": fault, "x-sim-fault-after": str(after)}, binary=dialect == "bedrock")


@pytest.mark.parametrize("dialect", DIALECTS)
async def test_rate_limited(sim: SimServer, dialect: str) -> None:
    rec = await _get(sim, dialect, "rate_limited")
    assert rec.status == 429
    assert rec.headers["retry-after"] == "1"
    if dialect.startswith("openai"):
        assert rec.headers["x-ratelimit-remaining-requests"] == "0"
        assert "x-ratelimit-remaining-tokens" in rec.headers
        assert b'"rate_limit_exceeded"' in rec.raw
    elif dialect == "anthropic":
        assert rec.headers["anthropic-ratelimit-requests-remaining"] == "0"
        assert b'"rate_limit_error"' in rec.raw
    elif dialect == "gemini":
        assert b"RESOURCE_EXHAUSTED" in rec.raw
    else:
        assert rec.headers["x-amzn-errortype"].startswith("ThrottlingException")
    truth = sim.truth(rec.request_id)
    assert truth.fault == "rate_limited" and truth.status == 429 and truth.n_events == 0


@pytest.mark.parametrize(("dialect", "status", "marker"), [
    ("openai_chat", 503, b"server_error"), ("anthropic", 529, b'"overloaded_error"'),
    ("gemini", 503, b"UNAVAILABLE"), ("bedrock", 503, b"unavailable"),
])
async def test_overloaded(sim: SimServer, dialect: str, status: int, marker: bytes) -> None:
    rec = await _get(sim, dialect, "overloaded")
    assert rec.status == status and marker in rec.raw


@pytest.mark.parametrize("dialect", DIALECTS)
async def test_midstream_error_after_n_events(sim: SimServer, dialect: str) -> None:
    rec = await _get(sim, dialect, "midstream_error", after=4)
    assert rec.status == 200
    truth = sim.truth(rec.request_id)
    assert [e.kind for e in truth.token_events()] == ["text"] * 4
    assert truth.events[-1].kind == "error" and truth.output_tokens == 4
    if dialect == "bedrock":
        buf = EventStreamBuffer()
        buf.add_data(rec.raw)
        last = list(buf)[-1]
        assert last.headers[":message-type"] == "exception"
        assert last.headers[":exception-type"] == "modelStreamErrorException"
    elif dialect == "anthropic":
        assert rec.sse()[-1][0] == "error"
        assert rec.json_data()[-1] == {"type": "error", "error": {"type": "overloaded_error", "message": "Overloaded (simulated)"}}
    elif dialect == "openai_responses":
        assert rec.sse()[-1][0] == "error" and rec.json_data()[-1]["type"] == "error"
    else:
        assert "error" in rec.json_data()[-1]


@pytest.mark.parametrize("dialect", DIALECTS)
async def test_reset_aborts_connection(sim: SimServer, dialect: str) -> None:
    rec = await _get(sim, dialect, "reset", after=3)
    assert rec.status == 200 and rec.error is not None  # the client saw a broken body
    truth = sim.truth(rec.request_id)
    assert truth.fault == "reset" and truth.output_tokens == 3


@pytest.mark.parametrize("dialect", DIALECTS)
async def test_truncate_ends_cleanly_without_terminal_event(sim: SimServer, dialect: str) -> None:
    rec = await _get(sim, dialect, "truncate", after=5)
    assert rec.status == 200 and rec.error is None
    truth = sim.truth(rec.request_id)
    assert truth.events[-1].kind == "text" and truth.output_tokens == 5
    assert b"[DONE]" not in rec.raw and b"message_stop" not in rec.raw and b"response.completed" not in rec.raw
    assert b"finishReason" not in rec.raw and b"metadata" not in rec.raw


async def test_stall_pauses_then_continues(sim: SimServer) -> None:
    rec = await _get(sim, "openai_chat", "stall", profile="stall", after=3)
    truth = sim.truth(rec.request_id)
    tok = truth.token_events()
    assert len(tok) == 10 and rec.sse()[-1][1] == "[DONE]"
    gaps = [(b.write_start_ns - a.write_start_ns) / 1e6 for a, b in itertools.pairwise(tok)]
    assert 290 <= gaps[2] < 600  # the stall sits between the 3rd and 4th token event
    assert max(gaps[:2] + gaps[3:]) < 100
    # Client-side view agrees: one big gap between frames.
    arrivals = [t for t, _ in rec.frames]
    assert max(b - a for a, b in itertools.pairwise(arrivals)) >= 290e6


async def test_stall_forever_until_client_gives_up(sim: SimServer) -> None:
    t0 = time.perf_counter()
    with pytest.raises(asyncio.TimeoutError):
        async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(sock_read=0.3)) as session:
            await fetch(session, url_for(sim, "anthropic", "hang"), request_for("anthropic"),
                        headers={"x-sim-fault": "stall", "x-sim-fault-after": "2"})
    assert time.perf_counter() - t0 < 3
    for _ in range(40):
        truth = sim.truths()[-1]
        if truth.finished_ns is not None:
            break
        await asyncio.sleep(0.05)
    assert truth.fault == "stall" and truth.client_disconnected and truth.output_tokens == 2


@pytest.mark.parametrize(("dialect", "status", "key_header"), [
    ("openai_chat", 401, {"authorization": "Bearer sk-sim"}),
    ("anthropic", 401, {"x-api-key": "k"}),
    ("gemini", 401, {"x-goog-api-key": "k"}),
    ("bedrock", 403, {"authorization": "AWS4-HMAC-SHA256 Credential=x"}),
])
async def test_require_key(sim: SimServer, dialect: str, status: int, key_header: dict[str, str]) -> None:
    async with aiohttp.ClientSession() as session:
        url = url_for(sim, dialect, "key")
        denied = await fetch(session, url, request_for(dialect))
        blank = await fetch(session, url, request_for(dialect), headers={k: " " for k in key_header})
        ok = await fetch(session, url, request_for(dialect), headers=key_header, binary=dialect == "bedrock")
    assert denied.status == status and blank.status == status
    assert ok.status == 200
    if dialect == "anthropic":
        assert b"authentication_error" in denied.raw
    if dialect == "openai_chat":
        assert b"invalid_api_key" in denied.raw


async def test_fault_rates_are_seeded_and_reproducible() -> None:
    prof = {**FAST, "output_tokens": 2, "faults": {"rate_limited": 0.3, "overloaded": 0.2}}

    async def run() -> list[str | None]:
        async with SimServer({"f": prof}, seed=11) as sim, aiohttp.ClientSession() as session:
            for _ in range(60):
                await fetch(session, url_for(sim, "anthropic", "f"), request_for("anthropic"))
            return [t.fault for t in sim.truths()]

    a, b = await run(), await run()
    assert a == b
    counts = Counter(a)
    assert 6 <= counts["rate_limited"] <= 30 and 3 <= counts["overloaded"] <= 22 and counts[None] >= 15
