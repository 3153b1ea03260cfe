"""Adversarial review of ``--workers`` (issue #16): the load split exactly, every row once,
and a run that lost a worker marked for what it is.
"""

from __future__ import annotations

import itertools
import multiprocessing as mp
import os
import signal
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from lens.burst.run import run
from lens.sim.process import SimProcess
from lens.spec import spec_from_dict
from lens.store.sql import open_store
from lens.workload.shard import shard_specs

PROFILE = {"header_ms": 1.0, "ttft_ms": 40.0, "itl_ms": 20.0, "itl_jitter": 0.0, "output_tokens": 8}


@pytest.fixture(scope="module")
def sim() -> Iterator[SimProcess]:
    with SimProcess({"w": PROFILE}) as s:
        yield s


def _spec(url: str, **kw: Any) -> Any:
    d: dict[str, Any] = {
        "targets": [{"provider": "vllm", "base_url": url, "model": "m"}],
        "prompts": {"synthetic_tokens": 16}, "max_tokens": 8, "workers": 2,
        "load": {"requests": 8, "concurrency": 4},
    }  # fmt: skip
    d.update(kw)
    return spec_from_dict(d, source="test")


def test_shards_split_the_warmup_too() -> None:
    spec = spec_from_dict({"targets": [{"provider": "sim", "model": "m"}], "warmup": 5,
                           "load": {"requests": 40, "concurrency": 8}}, source="t")
    for n in (2, 3, 4):
        assert sum(s.warmup for s in shard_specs(spec, n)) == 5, n


def test_two_workers_send_the_warmup_asked_for_not_twice(sim: SimProcess, tmp_path: Path) -> None:
    # spec.md: `warmup` is "warm-up requests per target"; the budget estimate counts them once.
    spec = _spec(sim.base_url("openai_compat", "w"), warmup=3)
    store = open_store(tmp_path / "w.db")
    try:
        out = run(spec, store=store)
        frame = store.requests_frame(out.run_id)
    finally:
        store.close()
    assert out.status == "complete"
    assert int(frame["warmup"].sum()) == 3 and int((~frame["warmup"]).sum()) == 8
    assert frame["request_id"].is_unique


class _KillWorkerOne:
    """A sink that SIGKILLs worker 1 once ``after`` rows have arrived (a worker lost to the
    OOM killer, a segfault in a C extension, a kill by an admin)."""

    def __init__(self, after: int) -> None:
        self.after = after
        self.n = 0
        self.killed = False

    def add(self, record: Any, chunks: Any) -> None:
        self.n += 1
        if self.n == self.after and not self.killed:
            for p in mp.active_children():
                if p.name == "lens-worker-1":
                    os.kill(p.pid, signal.SIGKILL)  # type: ignore[arg-type]
                    self.killed = True


def test_a_worker_killed_mid_burst_leaves_an_incomplete_run_with_what_it_lost(
    sim: SimProcess, tmp_path: Path
) -> None:
    spec = _spec(sim.base_url("openai_compat", "w"), load={"requests": 40, "concurrency": 4})
    store = open_store(tmp_path / "k.db")
    killer = _KillWorkerOne(after=4)
    try:
        out = run(spec, store=store, sinks=[killer])
        info = store.get_run(out.run_id)
        frame = store.requests_frame(out.run_id)
    finally:
        store.close()
    assert killer.killed
    # The survivors' rows are kept once each, the run says it is incomplete, how many
    # requests were never sent, why, and keeps the client health the survivor measured.
    assert out.status == "incomplete" and info.status == "incomplete"
    assert frame["request_id"].is_unique and len(frame) == len(out.records)
    assert len(frame) + info.skipped == 40, (len(frame), info.skipped)
    assert any("worker 1" in k for k in out.failures), out.failures
    assert "client" in info.extra


@pytest.mark.parametrize("warmup", [1, 3])
def test_an_open_loop_schedule_after_a_warmup_interleaves_on_the_shared_clock(
    sim: SimProcess, warmup: int
) -> None:
    # Each worker started its open-loop clock when its own warm-up ended, so the workers'
    # arrivals no longer interleaved: at 20/s the gaps alternated 44/56 ms, or 12/88 ms when
    # one shard had no warm-up. Shards now warm up before the shared start.
    rate, n = 20.0, 20
    spec = _spec(sim.base_url("openai_compat", "w"), warmup=warmup,
                 load={"kind": "rate", "rate": rate, "requests": n})
    out = run(spec)
    recs = [r for r in out.records if not r.warmup]
    assert len(recs) == n and {r.status for r in recs} == {"ok"}
    assert len(out.records) - n == warmup
    assert sorted(r.scheduled_ms for r in recs) == pytest.approx(
        [i * 1000 / rate for i in range(n)], abs=1e-3)
    assert min(r.queue_ms for r in recs) >= 0
    starts = sorted(out.result.origins_ns[r.request_id] for r in recs)
    gaps = [(b - a) / 1e6 for a, b in itertools.pairwise(starts)]
    # (interleaved: the median gap is the rate's; single gaps move with a loaded machine)
    assert sorted(gaps)[len(gaps) // 2] == pytest.approx(1000 / rate, abs=5), gaps


def test_ctrl_c_during_the_workers_warmup_stops_promptly(tmp_path: Path) -> None:
    # Workers warm up before the shared start; a Ctrl-C then must reach them at once (no
    # new warm-up, nothing after it), not wait for the whole warm-up to be done first.
    import subprocess
    import sys
    import time

    slow = {"header_ms": 1.0, "ttft_ms": 2500.0, "itl_ms": 5.0, "output_tokens": 2}
    with SimProcess({"s": slow}) as s:
        db = tmp_path / "c.db"
        proc = subprocess.Popen(
            [sys.executable, "-m", "lens.cli", "run", "--provider", "vllm", "--model", "m",
             "--base-url", s.base_url("openai_compat", "s"), "--requests", "8",
             "--concurrency", "2", "--warmup", "8", "--workers", "2", "--db", str(db),
             "--run-id", "w", "--no-progress"],
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
            env={**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)},
        )  # fmt: skip
        time.sleep(4.0)  # workers are in their first warm-up wave (2.5 s per request)
        t = time.monotonic()
        proc.send_signal(signal.SIGINT)
        _out, err = proc.communicate(timeout=60)
        took = time.monotonic() - t
    assert proc.returncode == 130, err[-2000:]
    # One warm-up wave (2.5 s) may finish; four waves (8 warm-ups, 2 at a time per worker)
    # must not run first.
    assert took < 6.0, took
    store = open_store(db)
    try:
        info = store.get_run("w")
        frame = store.requests_frame("w")
    finally:
        store.close()
    assert info.status == "incomplete"
    assert not (~frame["warmup"].astype(bool)).any()  # nothing measured after the stop
    assert len(frame) + info.skipped == 16, (len(frame), info.skipped)
