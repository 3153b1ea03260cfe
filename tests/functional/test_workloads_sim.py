"""Workloads against the simulated endpoint, checked against its ground truth: trace replay
on the trace's own clock, multi-turn sessions, shared-prefix caching, cold vs warm, and
client cancellation."""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import random
import re
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from lens.analysis.charts.turns import turn_frame
from lens.analysis.frames import records_to_frame
from lens.analysis.summary import summarize
from lens.probe.engine import loop_factory, run_burst
from lens.record import BurstResult, RequestRecord
from lens.sim import SimServer
from lens.sim.latency import estimate_tokens, token_text
from lens.sim.truth import SimTruth
from lens.spec import spec_from_dict
from lens.workload.plan import Workload
from lens.workload.prompts import prompt_hash

ROOT = Path(__file__).resolve().parents[2]
KEYS = {"K": "sk-test-workloads-0123456789"}
PROVIDER = {"openai_chat": "openai", "openai_responses": "openai_responses", "anthropic": "anthropic",
            "gemini": "gemini", "openai_compat": "vllm", "bedrock": "bedrock"}  # fmt: skip


@pytest.fixture(autouse=True)
def _aws_env(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "AKIAIOSFODNN7EXAMPLE")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY")
    monkeypatch.delenv("AWS_SESSION_TOKEN", raising=False)


def _target(sim: Any, dialect: str, profile: str, name: str | None = None) -> dict[str, Any]:
    return {"name": name or dialect, "provider": PROVIDER[dialect], "dialect": dialect,
            "base_url": sim.base_url(dialect, profile), "model": "sim-model", "api_key_env": "K"}  # fmt: skip


async def _settled(sim: SimServer, rid: str | None) -> SimTruth:
    """The request's truth once the server has finished with it (it notices a client's
    disconnect at its next write)."""
    for _ in range(200):
        truth = sim.truth(rid or "")
        if truth.finished_ns is not None:
            return truth
        await asyncio.sleep(0.01)
    raise AssertionError(f"the sim never finished {rid}")


def _write_trace(path: Path, n: int, span_ms: float, seed: int = 5) -> list[dict[str, Any]]:
    """A Mooncake trace: Poisson arrivals with some simultaneous ones, four shared prefixes."""
    rng = random.Random(seed)
    rows, t, nxt = [], 0.0, 100
    for _ in range(n):
        if rng.random() > 0.15:
            t += rng.expovariate(n / span_ms)
        own = rng.randint(0, 1)
        ids = [rng.randrange(4), *list(range(nxt, nxt + own))]
        nxt += own
        rows.append({"timestamp": round(t, 3), "input_length": (len(ids) - 1) * 512 + rng.randint(100, 512),
                     "output_length": rng.randint(4, 24), "hash_ids": ids})  # fmt: skip
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    return rows


@contextlib.contextmanager
def _sim_process(profile: dict[str, Any]) -> Iterator[str]:
    """``lens sim`` in its own process (its event loop and CPU time are not the client's)."""
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    proc = subprocess.Popen(
        [sys.executable, "-m", "lens.sim", "--profile", "c=" + json.dumps(profile)],
        stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True, env=env,
    )  # fmt: skip
    try:
        assert proc.stdout is not None
        line = proc.stdout.readline()
        match = re.search(r"serving on (http://\S+)", line)
        assert match, line
        yield match.group(1)
    finally:
        proc.terminate()
        proc.wait(10)


def _truths(url: str) -> dict[str, SimTruth]:
    with urllib.request.urlopen(url + "/_sim/truth", timeout=10) as resp:
        data = json.load(resp)
    return {d["request_id"]: SimTruth.from_dict(d) for d in data["truths"]}


def test_trace_replay_sends_on_the_trace_timestamps(tmp_path: Path) -> None:
    rows = _write_trace(tmp_path / "t.jsonl", 600, 4000.0)
    with _sim_process({"ttft_ms": 15, "itl_ms": 1, "output_tokens": 64, "cache_prefix": True}) as url:
        target = {"provider": "openai", "base_url": url + "/p/c/v1", "model": "m", "api_key_env": "K"}
        spec = spec_from_dict({"targets": [target],
                               "load": {"trace": {"file": str(tmp_path / "t.jsonl")}}})  # fmt: skip
        out: list[BurstResult] = []
        stalls: list[float] = []

        async def probe() -> None:  # the loop's own lag, to tell host contention apart
            while True:
                t = time.perf_counter_ns()
                await asyncio.sleep(0.005)
                stalls.append((time.perf_counter_ns() - t) / 1e6 - 5)

        async def fire() -> None:
            task = asyncio.create_task(probe())
            out.append(await run_burst(spec, api_keys=KEYS))
            task.cancel()

        # On the event loop `lens run` and lens.run use (uvloop when installed).
        with asyncio.Runner(loop_factory=loop_factory()) as runner:
            runner.run(fire())
        res = out[0]
        time.sleep(0.2)
        by_id = _truths(url)
    truths = {r.request_id: by_id[r.server_request_id or ""] for r in res.records}
    assert res.complete and len(res.records) == 600
    recs = sorted(res.records, key=lambda r: (r.scheduled_ms, r.prompt_id))
    assert all(r.status == "ok" for r in recs)
    # scheduled_ms is the trace's clock exactly (trace rows sorted by time, ties in file order).
    order = sorted(range(600), key=lambda i: (rows[i]["timestamp"], i))
    want = np.array([rows[i]["timestamp"] - rows[0]["timestamp"] for i in order])
    got = np.array([r.scheduled_ms for r in recs]) - recs[0].scheduled_ms
    assert np.abs(got - want).max() < 0.001
    # ... and requests went out on it: queue_ms (schedule -> send) under 2 ms at p99, with
    # many requests in flight meanwhile (sends are not held up by open streams).
    queue = np.array([r.queue_ms for r in recs])
    worst = sorted((round(r.queue_ms, 2), round(r.scheduled_ms), i) for i, r in enumerate(recs))[-5:]
    lag = f"loop oversleeps of a 5 ms sleep: p99 {np.percentile(stalls, 99):.1f}, max {max(stalls):.1f} ms"
    assert np.percentile(queue, 99) <= 2.0, (worst, lag)  # worst: (queue_ms, scheduled_ms, index)
    spans = sorted((t.received_ns, t.finished_ns or 0) for t in truths.values())
    in_flight = max(sum(1 for a, b in spans if a <= s < b) for s, _ in spans)
    assert in_flight >= 4
    # The server received them on the trace's clock too (same host clock; connection
    # set-up and the request's own bytes on top).
    recv = np.array([truths[r.request_id].received_ns for r in recs], dtype="float64")
    lag_ms = (recv - recv[0]) / 1e6 - want
    dev = np.abs(lag_ms - np.median(lag_ms))
    assert np.median(dev) <= 1.0 and np.percentile(dev, 90) <= 2.0, sorted(dev)[-5:]
    # max_tokens followed output_length; the shared 512-token blocks were cached by the sim.
    seen: set[int] = set()
    for r in sorted(res.records, key=lambda r: truths[r.request_id].received_ns):
        t = truths[r.request_id]
        row = rows[int(r.prompt_id.rsplit("-", 1)[1]) - 1]
        assert t.output_tokens == r.output_tokens == row["output_length"]
        assert r.cached_input_tokens == t.cached_tokens and r.input_tokens == t.prompt_tokens
        first = row["hash_ids"][0]
        if first in seen:
            assert t.cached_tokens > 0  # its first block was sent before
        else:
            assert t.cached_tokens == 0
        seen.add(first)


async def test_sessions_resend_history_and_sim_prefill_follows_the_cache() -> None:
    prof = {"ttft_ms": 10, "prefill_ms_per_token": 0.05, "itl_ms": 1, "output_tokens": 12,
            "cache_prefix": True}  # fmt: skip
    async with SimServer({"a": prof, "b": prof}) as sim:
        spec = spec_from_dict({
            "targets": [_target(sim, "openai_chat", "a"), _target(sim, "anthropic", "b")],
            "prompts": {"synthetic_tokens": 200, "shared_prefix_ratio": 0.0},
            "max_tokens": 50, "load": {"requests": 5, "concurrency": 3},
            "sessions": {"turns": 4, "think_s": 0.02},
        })  # fmt: skip
        res = await run_burst(spec, api_keys=KEYS)
        truths = {r.request_id: await _settled(sim, r.server_request_id) for r in res.records}
    assert res.complete and len(res.records) == 2 * 5 * 4
    work = Workload(spec, salt=f"{res.run_id}:0")  # the user prompts the burst sent (shard 0)
    answer = token_text(0, 12)
    for target in ("openai_chat", "anthropic"):
        recs = [r for r in res.records if r.target == target]
        sessions: dict[str, list[RequestRecord]] = {}
        for r in recs:
            sessions.setdefault(r.session_id or "", []).append(r)
        assert len(sessions) == 5 and all(sorted(r.turn or 0 for r in s) == [1, 2, 3, 4]
                                          for s in sessions.values())  # fmt: skip
        for turns in sessions.values():
            turns.sort(key=lambda r: r.turn or 0)
            idx = next(i for i in range(5)
                       if prompt_hash(work.user_text(i * 4, False)[1]) == turns[0].prompt_hash)
            texts: list[str] = []
            prev = ""
            for r in turns:
                t = truths[r.request_id]
                texts.append(work.user_text(idx * 4 + (r.turn or 1) - 1, False)[1])
                joined = "\n".join(texts)  # how the sim reads the messages' text
                assert r.prompt_hash == prompt_hash("\n\n".join(texts))  # what lens sent
                # The whole history, with the answers received, went out: exact prompt size.
                assert t.prompt_tokens == estimate_tokens(joined) == r.input_tokens
                assert t.cached_tokens == (len(prev) // 256 * 256) // 4 == r.cached_input_tokens
                # Later turns: longer prefill, cut by the cache (no jitter in this profile).
                planned = 10 + 0.05 * (t.prompt_tokens - t.cached_tokens)
                server_ttft = ((t.first_text_ns or 0) - (t.slot_ns or 0)) / 1e6
                # The sim writes at slot + plan, late by its own loop lag at most.
                assert planned - 0.1 <= server_ttft <= planned + t.max_lag_ns / 1e6 + 0.5
                assert r.ttft_ms == pytest.approx(
                    ((t.first_text_ns or 0) - res.origins_ns[r.request_id]) / 1e6, abs=2)
                texts.append(answer)
                prev = joined
            sched = [r.scheduled_ms for r in turns]
            ends = [r.scheduled_ms + r.queue_ms + (r.e2e_ms or 0) for r in turns]
            assert all(sched[k + 1] - ends[k] >= 19.0 for k in range(3))  # think time honoured
    frame = turn_frame(records_to_frame(res.records))
    a = frame[frame["target"] == "openai_chat"]
    assert list(a["turn"]) == [1, 2, 3, 4] and list(a["input_tokens"]) == sorted(a["input_tokens"])


async def test_prefix_pool_hit_rate_matches_truth() -> None:
    prof = {"ttft_ms": 5, "prefill_ms_per_token": 0.02, "itl_ms": 1, "output_tokens": 4, "cache_prefix": True}
    async with SimServer({"c": prof}) as sim:
        spec = spec_from_dict({
            "targets": [_target(sim, "gemini", "c")], "max_tokens": 4,
            "prompts": {"synthetic_tokens": 1000, "shared_prefix_ratio": 0.8, "prefix_pool": 3},
            "load": {"requests": 24, "concurrency": 1}, "warmup": 3,
        })  # fmt: skip
        res = await run_burst(spec, api_keys=KEYS)
        truths = [await _settled(sim, r.server_request_id) for r in res.records if not r.warmup]
        sim.clear_caches()  # a cold cache: the same prefixes miss again
        again = await run_burst(spec.model_copy(update={"warmup": 0}), api_keys=KEYS)
        first = await _settled(sim, again.records[0].server_request_id)
        assert first.cached_tokens == 0 and again.records[0].cached_input_tokens == 0
    (s,) = summarize(records_to_frame(res.records))
    want = sum(t.cached_tokens for t in truths) / sum(t.prompt_tokens for t in truths)
    assert s.cache_hit_rate == pytest.approx(want)
    assert 0.7 < want < 0.8  # 80 % of the prompt is a primed prefix, minus partial blocks
    assert all(t.cached_tokens > 0 for t in truths)


def test_cold_vs_warm_compare_against_the_sim() -> None:
    from lens.analysis.cache import cache_hit_rates
    from lens.burst.cache_compare import compare_cache
    from lens.burst.executor import LocalExecutor
    from lens.sim import start_sim_in_thread

    prof = {"ttft_ms": 5, "prefill_ms_per_token": 0.1, "itl_ms": 1, "output_tokens": 4, "cache_prefix": True}
    with start_sim_in_thread({"c": prof}) as sim:
        spec = {
            "name": "cw", "targets": [_target(sim, "anthropic", "c", name="a")], "max_tokens": 4,
            "prompts": {"synthetic_tokens": 600, "shared_prefix_ratio": 0.9, "prefix_pool": 2},
            "load": {"requests": 16, "concurrency": 2},
        }  # fmt: skip
        cmp = compare_cache(spec, executor=LocalExecutor(api_keys=KEYS), percentiles=(50,))
        cold_truth = [sim.truth(r.server_request_id or "") for r in cmp.cold.records]
        warm_truth = [sim.truth(r.server_request_id or "") for r in cmp.warm.records if not r.warmup]
    assert cmp.cold.status == cmp.warm.status == "complete"
    assert sum(r.warmup for r in cmp.warm.records) == 2  # one priming request per prefix
    assert all(t.cached_tokens == 0 for t in cold_truth)
    row = cmp.table.iloc[0]
    want = sum(t.cached_tokens for t in warm_truth) / sum(t.prompt_tokens for t in warm_truth)
    assert row["hit_rate_cold"] == 0 and row["hit_rate_warm"] == pytest.approx(want) and want > 0.8
    assert row["verdict"] == "improved" and row["ratio_high"] < 0.5  # ~700 tokens of prefill skipped
    assert cache_hit_rates(records_to_frame(cmp.warm.records))["hit_rate"].iloc[0] == pytest.approx(want)
    assert cmp.cold.result.records[0].prompt_hash != cmp.warm.result.records[-1].prompt_hash


@pytest.mark.parametrize("dialect", list(PROVIDER))
async def test_cancel_after_tokens_keeps_what_arrived(dialect: str) -> None:
    prof = {"ttft_ms": 5, "itl_ms": 3, "output_tokens": 100}
    async with SimServer({"c": prof}) as sim:
        spec = spec_from_dict({"targets": [_target(sim, dialect, "c")], "max_tokens": 100,
                               "load": {"requests": 3}, "cancel": {"after_tokens": 10}})  # fmt: skip
        res = await run_burst(spec, api_keys=KEYS)
        truths = [await _settled(sim, r.server_request_id) for r in res.records]
    for r, t in zip(res.records, truths, strict=True):
        assert r.status == "cancelled", r.error
        assert r.error == f"cancelled by the client after {r.output_tokens} tokens (cancel.after_tokens)"
        assert 10 <= (r.output_tokens or 0) <= 11 and r.tokens_estimated
        assert sum(c.n_tokens for c in res.chunks if c.request_id == r.request_id) == r.output_tokens
        assert t.client_disconnected and r.output_tokens <= t.output_tokens < 100  # type: ignore[operator]
        # Ended right at the token that crossed the limit (same socket read), not at the
        # stream's end.
        assert 0 <= r.e2e_ms - r.last_token_ms < 5  # type: ignore[operator]
        origin = res.origins_ns[r.request_id]
        assert r.ttft_ms == pytest.approx(((t.first_text_ns or 0) - origin) / 1e6, abs=2)
        if dialect in ("anthropic", "gemini"):
            # Usage reported before the cancel (message_start / every chunk) is kept.
            assert r.input_tokens == t.prompt_tokens
    assert summarize(records_to_frame(res.records))[0].error_rate == 0.0


async def test_cancel_after_ms_and_before_the_first_token() -> None:
    async with SimServer({"s": {"ttft_ms": 5, "itl_ms": 3, "output_tokens": 100},
                          "late": {"ttft_ms": 300, "output_tokens": 4}}) as sim:  # fmt: skip
        spec = spec_from_dict({"targets": [_target(sim, "openai_chat", "s", "s"),
                                           _target(sim, "anthropic", "late", "late")],
                               "load": {"requests": 3}, "cancel": {"after_ms": 60}})  # fmt: skip
        res = await run_burst(spec, api_keys=KEYS)
        truths = {r.request_id: await _settled(sim, r.server_request_id) for r in res.records}
    for r in res.records:
        t = truths[r.request_id]
        assert r.status == "cancelled" and r.error == "cancelled by the client after 60 ms (cancel.after_ms)"
        # Cut at 60 ms (late only by the client loop's own lag), long before the stream's end.
        assert 60 <= r.e2e_ms < 75 and t.client_disconnected  # type: ignore[operator]
        if r.target == "s":
            assert 10 < (r.output_tokens or 0) <= t.output_tokens < 100
        else:  # abandoned while waiting for the first token
            assert r.ttft_ms is None and r.n_chunks == 0 and t.output_tokens == 0


async def test_cancel_fraction_is_seeded() -> None:
    async with SimServer({"c": {"ttft_ms": 2, "itl_ms": 1, "output_tokens": 30}}) as sim:
        spec = spec_from_dict({"targets": [_target(sim, "openai_chat", "c")], "warmup": 2,
                               "load": {"requests": 40, "concurrency": 4},
                               "cancel": {"after_tokens": 5, "fraction": 0.5, "seed": 9}})  # fmt: skip
        res = await run_burst(spec, api_keys=KEYS)
    work = Workload(spec)
    by_idx = sorted((r for r in res.records if not r.warmup), key=lambda r: r.scheduled_ms)
    assert all(r.status == "ok" for r in res.records if r.warmup)
    want = sum(work.cancel(i, False) is not None for i in range(40))
    assert sum(r.status == "cancelled" for r in by_idx) == want and 10 < want < 30
    s = summarize(records_to_frame(res.records))[0]
    assert (s.cancelled, s.ok, s.errors, s.error_rate) == (want, 40 - want, {}, 0.0)
