"""Pruning never trims a burst's run (adversarial review).

``lens prune --older-than 0`` while ``lens run --demo`` was firing deleted 27 of its
requests and 1396 chunks; the run then ended "complete" with 24 of 51 requests. The rule
meant for long-lived embedded runs ("old requests of the runs that stay") applied to every
run, so with a retention setting (applied whenever a burst starts) a long soak run, or one
that ended after the cutoff, silently lost its first rows.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

from helpers_store import make_record

from lens.record import RunInfo
from lens.store.retention import prune
from lens.store.sql import open_store

NOW = datetime(2026, 6, 1, 12, tzinfo=UTC)


def _run(store, rid: str, runner: str, started_h: float, ended_h: float | None, rows_h: list[float]) -> None:
    started = NOW - timedelta(hours=started_h)
    store.start_run(RunInfo(run_id=rid, name=rid, started_at=started, runner=runner))
    recs = [make_record(rid, i, started_at=NOW - timedelta(hours=h), warmup=False)
            for i, h in enumerate(rows_h)]
    store.add_many(recs, [])
    if ended_h is not None:
        store.finish_run(rid, status="complete")
        store.set_finished_at(rid, NOW - timedelta(hours=ended_h))


def test_prune_keeps_bursts_whole_and_trims_only_embedded_runs(tmp_path: Path) -> None:
    store = open_store(tmp_path / "s.db")
    try:
        _run(store, "soak", "local", 3, None, [2.9, 2.0, 0.5])          # still firing
        _run(store, "ended-recently", "local", 3, 0.5, [2.9, 1.5, 0.6])  # ended after the cutoff
        _run(store, "old", "local", 5, 4, [4.9, 4.5])                   # ended before it
        _run(store, "svc", "embed", 48, None, [30, 2, 0.1])              # a service's profiler
        res = prune(store, "1h", now=NOW)
        left = {rid: len(store.requests_frame(rid)) for rid in ("soak", "ended-recently", "svc")}
        assert res.runs == ["old"]
        assert left == {"soak": 3, "ended-recently": 3, "svc": 1}
        assert res.requests == 2 + 2
    finally:
        store.close()
