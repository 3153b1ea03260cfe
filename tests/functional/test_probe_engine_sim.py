"""The engine against the real simulated endpoint over HTTP: every dialect, every fault,
timings compared with the sim's ground truth (its event write times, same host clock)."""

from __future__ import annotations

import asyncio
import statistics
from collections.abc import Sequence
from typing import Any

import pytest

from lens.probe.engine import run_burst
from lens.record import BurstResult, ChunkTiming, RequestRecord
from lens.sim import SimServer
from lens.spec import spec_from_dict
from lens.workload.loadshape import arrival_offsets

PROVIDER = {
    "openai_chat": "openai",
    "openai_responses": "openai_responses",
    "anthropic": "anthropic",
    "gemini": "gemini",
    "openai_compat": "vllm",
    "bedrock": "bedrock",
}
KEYS = {"K": "sk-test-engine-key-0123456789"}
QUICK = {"ttft_ms": 10, "itl_ms": 2, "output_tokens": 16, "reasoning_tokens": 4}


@pytest.fixture(autouse=True)
def _aws_env(monkeypatch: pytest.MonkeyPatch) -> None:
    # Bedrock requests are SigV4-signed; the sim does not check the signature.
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "AKIAIOSFODNN7EXAMPLE")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY")
    monkeypatch.delenv("AWS_SESSION_TOKEN", raising=False)


def _target(sim: SimServer, dialect: str, profile: str = "q", **kw: Any) -> dict[str, Any]:
    return {
        "name": kw.pop("name", dialect),
        "provider": PROVIDER[dialect],
        "dialect": dialect,
        "base_url": sim.base_url(dialect, profile),
        "model": "sim-model",
        "api_key_env": "K",
        **kw,
    }


def _spec(targets: list[dict[str, Any]], **kw: Any) -> Any:
    return spec_from_dict({"targets": targets, "prompts": {"synthetic_tokens": 32}, **kw})


def _chunks(res: BurstResult, r: RequestRecord) -> list[ChunkTiming]:
    return [c for c in res.chunks if c.request_id == r.request_id]


class ListSink:
    def __init__(self) -> None:
        self.rows: list[tuple[RequestRecord, Sequence[ChunkTiming]]] = []

    def add(self, record: RequestRecord, chunks: Sequence[ChunkTiming]) -> None:
        self.rows.append((record, chunks))


async def test_every_dialect_end_to_end_against_ground_truth() -> None:
    async with SimServer({"q": QUICK}) as sim:
        spec = _spec([_target(sim, d) for d in PROVIDER], load={"requests": 4}, warmup=1)
        res = await run_burst(spec, api_keys=KEYS)
    assert res.complete and len(res.records) == 6 * 5
    errors_ms: list[float] = []
    for r in res.records:
        assert r.status == "ok", (r.dialect, r.error)
        truth = sim.truth(r.server_request_id or "")
        origin = res.origins_ns[r.request_id]
        chunks = _chunks(res, r)
        assert len(chunks) == len(truth.events), r.dialect  # one framed event per server write
        tok = [e for e in truth.events if e.n_tokens and e.kind in ("text", "reasoning")]
        assert r.n_chunks == len(tok)
        assert [c.kind for c in chunks if c.kind in ("text", "reasoning")] == [e.kind for e in tok]
        assert r.output_tokens == truth.output_tokens == 20 and not r.tokens_estimated
        # TTFT: the first answer-text event, not reasoning
        ttft_truth_ms = ((truth.first_text_ns or 0) - origin) / 1e6
        assert 0 <= r.ttft_ms - ttft_truth_ms < 20  # type: ignore[operator]
        # <=: events completed by one read share its arrival time
        assert r.first_reasoning_ms is not None and r.first_reasoning_ms <= r.ttft_ms  # type: ignore[operator]
        for c, e in zip(chunks, truth.events, strict=True):
            err = c.t_ms - (e.write_start_ns - origin) / 1e6
            assert err >= 0, (r.dialect, c.index, err)
            errors_ms.append(err)
        assert r.headers_ms is not None and r.headers_ms >= (truth.headers_ns - origin) / 1e6 - 0.5  # type: ignore[operator]
    assert statistics.median(errors_ms) < 2.0
    assert max(errors_ms) < 20.0
    assert [r.warmup for r in res.records].count(True) == 6


FAULT_STATUS = {
    "rate_limited": "rate_limited",
    "overloaded": "overloaded",
    "midstream_error": ("stream_error", "overloaded"),
    "reset": "network",
    "stall": "timeout",
    "truncate": "truncated",
}


async def test_every_fault_gives_its_status_with_partial_timings_and_burst_continues() -> None:
    prof = {**QUICK, "reasoning_tokens": 0, "faults": {"stall_ms": None, "stall_max_s": 5}}
    async with SimServer({"q": prof}) as sim:
        targets = [
            _target(sim, d, name=f"{d}/{f}", headers={"x-sim-fault": f, "x-sim-fault-after": "3"})
            for d in PROVIDER
            for f in FAULT_STATUS
        ] + [_target(sim, "openai_chat", name="healthy")]
        res = await run_burst(
            _spec(targets, load={"requests": 2}, timeouts={"idle_s": 0.4}), api_keys=KEYS
        )
    assert len(res.records) == 2 * len(targets) and res.complete
    for r in res.records:
        if r.target == "healthy":
            assert r.status == "ok"
            continue
        fault = r.target.split("/")[1]
        want = FAULT_STATUS[fault]
        assert r.status in (want if isinstance(want, tuple) else (want,)), (
            r.target,
            r.status,
            r.error,
        )
        assert r.error and KEYS["K"] not in r.error and r.e2e_ms is not None
        if fault in ("rate_limited", "overloaded"):
            assert r.http_status in (429, 503, 529) and r.n_chunks == 0 and r.headers_ms is not None
        else:
            assert r.http_status == 200 and r.n_chunks >= 2 and r.ttft_ms is not None  # partial
        if fault == "rate_limited":
            assert r.retry_after_s == 1.0 and r.ratelimit and "retry-after" in r.ratelimit
        if fault == "stall":
            assert r.e2e_ms - r.last_token_ms >= 350  # type: ignore[operator]


async def test_cold_connects_every_request_warm_reuses() -> None:
    async with SimServer({"q": QUICK}) as sim:
        cold = await run_burst(
            _spec([_target(sim, "anthropic")], load={"requests": 4}, connection="cold"),
            api_keys=KEYS,
        )
        warm = await run_burst(
            _spec([_target(sim, "anthropic")], load={"requests": 4}), api_keys=KEYS
        )
    assert all(r.conn_reused is False and (r.connect_ms or 0) > 0 for r in cold.records)
    assert [r.conn_reused for r in warm.records] == [False, True, True, True]
    assert [r.connect_ms is None for r in warm.records] == [False, True, True, True]


async def test_open_loop_rate_poisson_and_saturated_in_flight() -> None:
    async with SimServer({"q": QUICK, "long": {**QUICK, "itl_ms": 10, "output_tokens": 10}}) as sim:
        rate = await run_burst(
            _spec([_target(sim, "gemini")], load={"kind": "rate", "rate": 50, "requests": 10}),
            api_keys=KEYS,
        )
        pois = await run_burst(
            _spec(
                [_target(sim, "gemini")],
                load={"kind": "poisson", "rate": 50, "requests": 10, "seed": 3},
            ),
            api_keys=KEYS,
        )
        sat = await run_burst(
            _spec(
                [_target(sim, "openai_chat", "long")],
                load={"kind": "rate", "rate": 100, "requests": 8, "max_in_flight": 2},
            ),
            api_keys=KEYS,
        )
    s = sorted(r.scheduled_ms for r in rate.records)
    assert [x - s[0] for x in s] == pytest.approx([i * 20.0 for i in range(10)], abs=0.01)
    assert all(r.queue_ms < 50 for r in rate.records)  # not saturated: only loop lag
    p = sorted(r.scheduled_ms for r in pois.records)
    want = [o * 1000 for o in arrival_offsets(50, poisson=True, seed=3, requests=10)]
    assert [x - p[0] for x in p] == pytest.approx(want, abs=0.01)
    q = [r.queue_ms for r in sorted(sat.records, key=lambda r: r.scheduled_ms)]
    # 2 in flight, each ~130 ms, arrivals every 10 ms: the wait grows and is recorded.
    assert q[0] < 20 and q[-1] > 200 and all(r.status == "ok" for r in sat.records)
    assert all(r.concurrency == 2 for r in sat.records)


async def test_sweep_and_multiple_targets_side_by_side() -> None:
    async with SimServer({"q": QUICK}) as sim:
        spec = _spec(
            [_target(sim, "openai_responses"), _target(sim, "bedrock")],
            load={"kind": "sweep", "levels": [1, 4], "requests": 4},
        )
        res = await run_burst(spec, api_keys=KEYS, shard=3)
    for name in ("openai_responses", "bedrock"):
        recs = [r for r in res.records if r.target == name]
        assert [r.concurrency for r in recs] == [1] * 4 + [4] * 4
        assert all(r.status == "ok" and r.shard == 3 for r in recs)
    # Side by side: both targets' first requests start together, not one after the other.
    firsts = [
        min(r.scheduled_ms for r in res.records if r.target == n)
        for n in ("openai_responses", "bedrock")
    ]
    assert abs(firsts[0] - firsts[1]) < 20
    assert {r.endpoint_host for r in res.records} == {f"127.0.0.1:{sim.port}"}


async def test_cancellation_keeps_finished_records_in_sink() -> None:
    sink = ListSink()
    async with SimServer({"q": {**QUICK, "itl_ms": 5, "output_tokens": 20}}) as sim:
        task = asyncio.create_task(
            run_burst(
                _spec([_target(sim, "openai_chat")], load={"concurrency": 4, "requests": 200}),
                sink=sink,
                api_keys=KEYS,
            )
        )
        await asyncio.sleep(0.6)
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        n = len(sink.rows)
        await asyncio.sleep(0.3)
        assert len(sink.rows) == n  # nothing finishes after the cancel
        # The in-flight streams were really cancelled: the server saw the client go away.
        assert any(t.client_disconnected for t in sim.truths())
    assert 4 <= n < 200 and all(r.status == "ok" for r, _ in sink.rows)
