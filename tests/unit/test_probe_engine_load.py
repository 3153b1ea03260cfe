"""Engine scheduling: load shapes, scheduled_ms/queue_ms, warm-up, cold/warm connections,
stopping, cancellation, limiter, sync entry point (scripted server, fake dialect)."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from typing import Any

import pytest
from helpers_probe import FakeDialect, ScriptServer, fake_target, script_server

import lens.probe.engine as engine
from lens.probe.engine import run_burst, run_burst_sync
from lens.record import ChunkTiming, RequestRecord
from lens.spec import spec_from_dict
from lens.workload.loadshape import arrival_offsets


@pytest.fixture(autouse=True)
def _fake_dialect(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(engine, "get_dialect", lambda name, **kw: FakeDialect())


def _spec(url: str, load: dict[str, Any], scenario: str = "ok", **kw: Any) -> Any:
    return spec_from_dict(
        {
            "targets": [fake_target(url, scenario)],
            "prompts": {"inline": ["p0", "p1", "p2"]},
            "load": load,
            **kw,
        }
    )


class ListSink:
    def __init__(self) -> None:
        self.rows: list[tuple[RequestRecord, Sequence[ChunkTiming]]] = []

    def add(self, record: RequestRecord, chunks: Sequence[ChunkTiming]) -> None:
        self.rows.append((record, chunks))


async def test_cold_connects_every_time_warm_reuses() -> None:
    async with script_server() as srv:
        cold = await run_burst(_spec(srv.url, {"requests": 4}, connection="cold"))
        warm = await run_burst(_spec(srv.url, {"requests": 4}, connection="warm"))
    assert all(
        r.conn_reused is False and r.connect_ms is not None and r.connect_ms > 0
        for r in cold.records
    )
    assert [r.conn_reused for r in warm.records] == [False, True, True, True]
    assert len({p[1] for p in srv.peers[:4]}) == 4  # server saw 4 client ports for cold
    assert len({p[1] for p in srv.peers[4:]}) == 1


async def test_warmup_flagged_first_and_prompts_rotate() -> None:
    sink = ListSink()
    async with script_server() as srv:
        res = await run_burst(
            _spec(srv.url, {"concurrency": 2, "requests": 5}, warmup=2), sink=sink
        )
    assert [r.warmup for r in res.records] == [True, True, False, False, False, False, False]
    assert [r.request_id for r, _ in sink.rows] == [r.request_id for r in res.records]
    measured = sorted(r.prompt_id for r in res.records if not r.warmup)
    assert measured == ["inline-0", "inline-0", "inline-1", "inline-1", "inline-2"]
    assert all(r.concurrency == 2 for r in res.records if not r.warmup)


async def test_constant_rate_scheduled_ms_and_low_queue() -> None:
    async with script_server() as srv:
        res = await run_burst(_spec(srv.url, {"kind": "rate", "rate": 20, "requests": 8}))
    recs = sorted(res.records, key=lambda r: r.scheduled_ms)
    first = recs[0].scheduled_ms
    for i, r in enumerate(recs):
        assert r.scheduled_ms - first == pytest.approx(i * 50.0, abs=0.01)
        assert 0 <= r.queue_ms < 50
        assert r.concurrency == 256  # open loop: the in-flight cap


async def test_poisson_schedule_is_the_seeded_offsets() -> None:
    async with script_server() as srv:
        res = await run_burst(
            _spec(srv.url, {"kind": "poisson", "rate": 40, "requests": 10, "seed": 5})
        )
    got = sorted(r.scheduled_ms for r in res.records)
    want = [o * 1000 for o in arrival_offsets(40, poisson=True, seed=5, requests=10)]
    assert [g - got[0] for g in got] == pytest.approx(want, abs=0.01)


async def test_queue_ms_visible_when_max_in_flight_saturates() -> None:
    async with script_server() as srv:
        # 6 arrivals 10 ms apart, 1 in flight, each stream ~150 ms: later ones wait.
        res = await run_burst(
            _spec(
                srv.url,
                {"kind": "rate", "rate": 100, "requests": 6, "max_in_flight": 1},
                scenario="slow",
            )
        )
    recs = sorted(res.records, key=lambda r: r.scheduled_ms)
    assert recs[0].queue_ms < 50
    q = [r.queue_ms for r in recs]
    assert q == sorted(q) and q[-1] > 500  # ~5 streams of ~150 ms ahead of it
    # Waiting is client-side: it is not inside the request's own timings.
    assert all(r.e2e_ms < 400 for r in recs)  # type: ignore[operator]


async def test_sweep_levels_in_concurrency_column_and_overlap() -> None:
    async with script_server() as srv:
        res = await run_burst(
            _spec(srv.url, {"kind": "sweep", "levels": [1, 3], "requests": 6}, scenario="slow")
        )
    assert [r.concurrency for r in res.records] == [1] * 6 + [3] * 6
    lvl3 = [r for r in res.records if r.concurrency == 3]

    # three at a time: the level-3 stage takes about a third of the level-1 stage
    def span(rs: list[RequestRecord]) -> float:
        return max(r.scheduled_ms + r.queue_ms + (r.e2e_ms or 0) for r in rs) - min(
            r.scheduled_ms for r in rs
        )

    lvl1 = [r for r in res.records if r.concurrency == 1]
    assert span(lvl3) < span(lvl1) * 0.6
    assert min(r.scheduled_ms for r in lvl3) >= max(r.scheduled_ms for r in lvl1)


async def test_duration_bound_concurrency() -> None:
    async with script_server() as srv:
        res = await run_burst(
            _spec(srv.url, {"requests": None, "duration_s": 0.3, "concurrency": 2})
        )
    assert res.complete and len(res.records) >= 4
    assert max(r.scheduled_ms for r in res.records) < 300


async def test_should_start_and_stop_count_skipped() -> None:
    async with script_server() as srv:
        calls = [0]

        def should_start() -> bool:
            calls[0] += 1
            return calls[0] <= 3

        res = await run_burst(_spec(srv.url, {"requests": 10}), should_start=should_start)
        assert len(res.records) == 3 and res.skipped == 7 and res.complete is False

        stop = asyncio.Event()
        res2_task = asyncio.create_task(
            run_burst(_spec(srv.url, {"kind": "rate", "rate": 10, "requests": 50}), stop=stop)
        )
        await asyncio.sleep(0.25)
        stop.set()
        res2 = await asyncio.wait_for(res2_task, 2)
        assert 2 <= len(res2.records) <= 5 and res2.skipped == 50 - len(res2.records)
        assert all(r.status == "ok" for r in res2.records)  # in-flight ones finished


async def test_cancel_keeps_finished_records_in_sink() -> None:
    sink = ListSink()
    async with script_server() as srv:
        task = asyncio.create_task(
            run_burst(
                _spec(srv.url, {"concurrency": 2, "requests": 40}, scenario="slow"), sink=sink
            )
        )
        await asyncio.sleep(0.5)
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
    assert 2 <= len(sink.rows) < 40
    assert all(r.status == "ok" for r, _ in sink.rows)


class SlowLimiter:
    def __init__(self) -> None:
        self.observed: list[str] = []
        self.asked: list[tuple[str, int]] = []

    async def acquire(self, target_label: str, est_tokens: int) -> float:
        self.asked.append((target_label, est_tokens))
        await asyncio.sleep(0.1)
        return 0.1

    def observe(self, record: RequestRecord) -> None:
        self.observed.append(record.status)


async def test_limiter_wait_is_in_queue_ms() -> None:
    lim = SlowLimiter()
    async with script_server() as srv:
        res = await run_burst(_spec(srv.url, {"requests": 2}, max_tokens=50), limiter=lim)
    assert lim.observed == ["ok", "ok"]
    assert all(label == "openai_compat/fake-1" and est >= 51 for label, est in lim.asked)
    assert all(100 <= r.queue_ms < 300 and r.e2e_ms < 100 for r in res.records)  # type: ignore[operator]


def test_run_burst_sync_with_threaded_server() -> None:
    import threading

    ready = threading.Event()
    holder: dict[str, Any] = {}

    def serve() -> None:
        async def main() -> None:
            async with ScriptServer() as srv:
                holder["url"] = srv.url
                holder["stop"] = asyncio.Event()
                holder["loop"] = asyncio.get_running_loop()
                ready.set()
                await holder["stop"].wait()

        asyncio.run(main())

    th = threading.Thread(target=serve, daemon=True)
    th.start()
    assert ready.wait(5)
    try:
        res = run_burst_sync(_spec(holder["url"], {"requests": 3}), run_id="sync")
    finally:
        holder["loop"].call_soon_threadsafe(holder["stop"].set)
        th.join(5)
    assert res.run_id == "sync" and [r.status for r in res.records] == ["ok"] * 3
    assert (
        res.started_at is not None
        and res.finished_at is not None
        and res.finished_at >= res.started_at
    )
