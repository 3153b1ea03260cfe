"""lens.fleet.fire with a fake Invoker: concurrency, one region failing, rows kept, store."""

from __future__ import annotations

import re
import threading
import time
from datetime import UTC, datetime
from typing import Any

import pytest

from lens.fleet import fire, shard_specs
from lens.fleet.invoker import InvokeError
from lens.record import ChunkTiming, RequestRecord
from lens.spec import BurstSpec, spec_from_dict
from lens.workload.loadshape import planned_requests

SPEC = spec_from_dict({
    "targets": [{"provider": "openai_compat", "base_url": "http://127.0.0.1:9/v1", "model": "m"}],
    "load": {"requests": 7, "concurrency": 2, "seed": 3},
})


class FakeInvoker:
    """Answers like the runner (inline rows); some regions fail with a given reason."""

    def __init__(self, fail: dict[str, str], delay_s: float = 0.2) -> None:
        self.fail = fail
        self.delay_s = delay_s
        self.payloads: list[dict[str, Any]] = []
        self.active = 0
        self.max_active = 0
        self.lock = threading.Lock()

    def invoke(self, region: str, payload: dict[str, Any]) -> dict[str, Any]:
        with self.lock:
            self.payloads.append(payload)
            self.active += 1
            self.max_active = max(self.max_active, self.active)
        try:
            time.sleep(self.delay_s)
            if region in self.fail:
                raise InvokeError(self.fail[region], f"{region} said no")
            # the shard's part of the burst (lens.workload.shard), as the runner's engine fires it
            n = planned_requests(BurstSpec.model_validate(payload["spec"]).load) or 0
            recs = [RequestRecord(run_id=payload["run_id"], request_id=f"{region}-{payload['shard']}-{i}",
                                  started_at=datetime.now(UTC), region=region, shard=payload["shard"],
                                  ttft_ms=10.0 + i, status="ok") for i in range(n)]
            rows = {"records": [{**r.to_dict(), "started_at": r.started_at.isoformat()} for r in recs],
                    "chunks": [ChunkTiming(r.request_id, 0, 5.0, "text", 1).to_dict() for r in recs]}
            return {"ok": True, "run_id": payload["run_id"], "region": region, "shard": payload["shard"],
                    "n_records": n, "skipped": 1, "cold_start": payload["shard"] == 0, "init_ms": 12.5,
                    "s3_keys": {"requests": f"k/{region}/{payload['shard']}"}, "summary": {"ok": n}, "rows": rows}
        finally:
            with self.lock:
                self.active -= 1


class FakeStore:
    def __init__(self) -> None:
        self.runs: list[Any] = []
        self.rows: list[RequestRecord] = []
        self.chunks: list[ChunkTiming] = []
        self.finished: dict[str, Any] = {}

    def start_run(self, run: Any) -> None:
        self.runs.append(run)

    def add(self, record: RequestRecord, chunks: Any) -> None:
        self.rows.append(record)
        self.chunks += chunks

    def finish_run(self, run_id: str, *, status: str, skipped: int = 0, extra: Any = None) -> None:
        self.finished[run_id] = (status, skipped)


def test_shard_specs_split_the_burst_not_multiply_it() -> None:
    # concurrency 2 over 3 shards: two shards of one stream, the requests split between them
    parts = shard_specs(SPEC, 3)
    assert len(parts) == 2
    from lens.workload.loadshape import stages

    got = [stages(p.load)[0] for p in parts]
    assert [(s.level, s.requests) for s in got] == [(1, 4), (1, 3)]
    assert {p.load.seed for p in parts} == {SPEC.load.seed}
    with pytest.raises(ValueError):
        shard_specs(SPEC, 0)


@pytest.mark.parametrize("reason", ["throttled", "timeout", "not_found", "credentials"])
def test_one_region_failing_keeps_the_others(reason: str) -> None:
    inv = FakeInvoker({"eu-west-1": reason})
    store = FakeStore()
    seen: list[tuple[str, str]] = []
    t0 = time.perf_counter()
    res = fire(SPEC, ["us-east-1", "eu-west-1", "ap-south-1"], shards=2, invoker=inv, store=store,
               progress=lambda region, state, info: seen.append((region, state)), run_id="fleet-x")
    elapsed = time.perf_counter() - t0
    assert inv.max_active == 6 and elapsed < 1.0  # 6 invocations at once, not one by one
    assert res.failures.keys() == {"eu-west-1"}
    assert res.failures["eu-west-1"].startswith(reason)
    assert res.statuses["eu-west-1"].state == "failed" and res.statuses["eu-west-1"].reason == reason
    for region in ("us-east-1", "ap-south-1"):
        st = res.statuses[region]
        assert st.ok and st.n_records == 7 and st.shards_ok == 2 and st.skipped == 2 and st.cold_starts == 1
    assert len(res.records) == 14 and len(res.chunks) == 14
    assert set(res.frame["region"]) == {"us-east-1", "ap-south-1"}
    assert {p["run_id"] for p in inv.payloads} == {"fleet-x"}
    assert sorted((p["region"], p["shard"]) for p in inv.payloads) == sorted(
        (r, s) for r in ("us-east-1", "eu-west-1", "ap-south-1") for s in (0, 1))
    assert all(p["shards"] == 2 for p in inv.payloads)
    # progress: every region started and ended with its final state
    assert {(r, s) for r, s in seen} >= {("us-east-1", "ok"), ("eu-west-1", "failed"), ("ap-south-1", "ok"),
                                         ("eu-west-1", "running")}
    assert len(store.rows) == 14 and store.finished["fleet-x"] == ("incomplete", 4)
    assert store.runs[0].run_id == "fleet-x" and store.runs[0].runner == "fleet"


def test_refusal_and_broken_invoker_are_reported() -> None:
    class Refuses(FakeInvoker):
        def invoke(self, region: str, payload: dict[str, Any]) -> dict[str, Any]:
            if region == "us-west-2":
                return {"ok": False, "error": "spec.targets[0].base_url ... allow-list"}
            if region == "sa-east-1":
                raise RuntimeError("boom")
            return super().invoke(region, payload)

    res = fire(SPEC, ["us-west-2", "sa-east-1", "us-east-1"], invoker=Refuses({}, delay_s=0))
    assert res.failures["us-west-2"].startswith("refused") and "allow-list" in res.failures["us-west-2"]
    assert "boom" in res.failures["sa-east-1"]
    assert res.statuses["us-east-1"].ok and len(res.records) == 7


def test_dt_is_fixed_once_per_run_and_sent_to_every_shard(monkeypatch: pytest.MonkeyPatch) -> None:
    """Shards invoked after UTC midnight still carry the run's start date (one partition per run)."""
    import lens.fleet.executor as fleet

    times = iter([datetime(2026, 11, 27, 23, 59, 59, tzinfo=UTC)])

    class Clock(datetime):
        @classmethod
        def now(cls, tz: Any = None) -> datetime:  # type: ignore[override]
            return next(times, datetime(2026, 11, 28, 0, 0, 1, tzinfo=UTC))

    monkeypatch.setattr(fleet, "datetime", Clock)
    inv = FakeInvoker({}, delay_s=0)
    res = fire(SPEC, ["us-east-1", "eu-west-1"], shards=2, invoker=inv)
    assert len(inv.payloads) == 4 and {p["dt"] for p in inv.payloads} == {"2026-11-27"}
    assert re.fullmatch(r"\d{8}-\d{6}-[0-9a-f]{6}", res.run_id)  # the one run-id format
    # the runner takes the fleet's dt as given
    from lens.fleet.runner.wire import RunnerEvent

    assert RunnerEvent.model_validate(inv.payloads[0]).dt == "2026-11-27"


def test_rows_a_runner_could_not_return_mark_the_region_partial() -> None:
    class Truncates(FakeInvoker):
        def invoke(self, region: str, payload: dict[str, Any]) -> dict[str, Any]:
            out = super().invoke(region, payload)
            if region == "eu-west-1":
                out["rows_truncated"] = 5
            return out

    store = FakeStore()
    res = fire(SPEC, ["us-east-1", "eu-west-1"], invoker=Truncates({}, delay_s=0), store=store, run_id="fleet-t")
    st = res.statuses["eu-west-1"]
    assert st.state == "partial" and st.rows_truncated == 5 and st.n_records == 7
    assert "left 5 rows out" in res.failures["eu-west-1"] and "LENS_RESULTS_BUCKET" in res.failures["eu-west-1"]
    assert res.statuses["us-east-1"].ok and res.statuses["us-east-1"].rows_truncated == 0
    assert store.finished["fleet-t"][0] == "incomplete"
