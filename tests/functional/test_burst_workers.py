"""--workers: one burst from several client processes on one clock, into one store."""

from __future__ import annotations

import itertools
import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from helpers_cli import lens

from lens.burst.run import run
from lens.burst.workers import auto_workers
from lens.sim.process import SimProcess
from lens.spec import spec_from_dict
from lens.store.sql import open_store

PROFILE = {"header_ms": 1.0, "ttft_ms": 20.0, "itl_ms": 5.0, "itl_jitter": 0.0, "output_tokens": 8}


@pytest.fixture(scope="module")
def sim() -> Iterator[SimProcess]:
    with SimProcess({"w": PROFILE}) as s:
        yield s


def test_two_workers_share_one_clock_and_fire_the_one_schedule(sim: SimProcess, tmp_path: Path) -> None:
    rate, n = 40.0, 60
    spec = spec_from_dict({
        "targets": [{"provider": "vllm", "base_url": sim.base_url("openai_compat", "w"), "model": "m"}],
        "prompts": {"synthetic_tokens": 16}, "max_tokens": 8, "workers": 2,
        "load": {"kind": "rate", "rate": rate, "requests": n},
    }, source="test")  # fmt: skip
    store = open_store(tmp_path / "w.db")
    try:
        out = run(spec, store=store)
        frame = store.requests_frame(out.run_id)
    finally:
        store.close()
    assert out.status == "complete" and len(out.records) == n == len(frame)
    assert {r.status for r in out.records} == {"ok"}
    assert sorted({r.shard for r in out.records}) == [0, 1]  # both processes fired
    # One schedule, one clock: the union of both shards' scheduled times is the burst's
    # (every 1/rate s from the shared start), and no request started before its time.
    got = sorted(r.scheduled_ms for r in out.records)
    assert got == pytest.approx([i * 1000 / rate for i in range(n)], abs=1e-3)
    assert min(r.queue_ms for r in out.records) >= 0
    assert max(r.queue_ms for r in out.records) < 50  # and none waited long for its slot
    starts = sorted(out.result.origins_ns[r.request_id] for r in out.records)
    gaps = [(b - a) / 1e6 for a, b in itertools.pairwise(starts)]
    assert sorted(gaps)[len(gaps) // 2] == pytest.approx(1000 / rate, abs=5)  # interleaved


def test_workers_flag_and_spec_field(sim: SimProcess, tmp_path: Path) -> None:
    db = str(tmp_path / "c.db")
    res = lens(["run", "--provider", "vllm", "--model", "m", "--base-url",
                sim.base_url("openai_compat", "w"), "--requests", "12", "--concurrency", "4",
                "--workers", "2", "--db", db, "--json"])
    assert res.code == 0, res.err
    out = json.loads(res.out)
    assert out["status"] == "complete" and out["n_requests"] == 12
    store = open_store(db)
    try:
        frame = store.requests_frame(out["run_id"])
    finally:
        store.close()
    assert sorted(set(frame["shard"].astype(int))) == [0, 1]
    bad = lens(["run", "--provider", "vllm", "--model", "m", "--base-url",
                sim.base_url("openai_compat", "w"), "--workers", "0", "--db", db])
    assert bad.code == 2 and "--workers" in bad.err


def test_auto_workers_one_per_256_streams_leaving_a_core() -> None:
    def spec(conc: int, workers: int | None = None) -> object:
        return spec_from_dict({"targets": [{"provider": "sim", "model": "m"}], "workers": workers,
                               "load": {"concurrency": conc, "requests": conc}}, source="t")

    assert auto_workers(spec(64), cores=16) == 1
    assert auto_workers(spec(1000), cores=16) == 4
    assert auto_workers(spec(10_000), cores=16) == 15
    assert auto_workers(spec(10_000), cores=2) == 1  # one core left for the rest
    assert auto_workers(spec(64, workers=3), cores=2) == 3  # asked for: given
