"""Where a shard's rows go: the dt partition (fixed at the start, or given as a date or a
Scheduler timestamp), a failed S3 write returning the rows inline, and the inline cap
under Lambda's 6 MB response limit."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from helpers_runner import burst_executor

from lens.errors import LensError
from lens.fleet.runner import handle as H
from lens.fleet.runner import results
from lens.fleet.runner.settings import Settings
from lens.record import ChunkTiming, RequestRecord

EVENTS = Path(__file__).resolve().parents[2] / "lambdas" / "runner" / "events"

URL = "http://127.0.0.1:8000/v1"
SECRET = "sk-proj-abcdefghijklmnopqrstuvwxyz0123456789"


class Ctx:
    aws_request_id = "aaaa-bbbb"

    def get_remaining_time_in_millis(self) -> int:
        return 60_000


def _event(**kw: Any) -> dict[str, Any]:
    ev: dict[str, Any] = {"run_id": "res-run", "spec": {
        "targets": [{"provider": "openai_compat", "base_url": URL, "model": "m"}],
        "load": {"requests": 5, "concurrency": 1}}}
    ev.update(kw)
    return ev


def _state(**env: str) -> H.Container:
    base = {"LENS_ALLOWED_BASE_URLS": URL, "LENS_MAX_REQUESTS": "10000", "LENS_REGION_LABEL": "eu-west-1"}
    return H.Container(session=None, settings=Settings.from_env({**base, **env}))


def _burst(n: int, chunks_each: int = 1, on_start: Any = None) -> Any:
    def run_burst(spec: Any, *, run_id: str, sink: Any, should_start: Any, api_keys: Any, shard: int) -> Any:
        if on_start:
            on_start()
        for i in range(n):
            rid = f"req-{i:06d}"
            sink.add(RequestRecord(run_id=run_id, request_id=rid, started_at=datetime(2026, 11, 27, tzinfo=UTC),
                                   status="ok", region=spec.region, ttft_ms=10.0 + i % 7, e2e_ms=50.0),
                     [ChunkTiming(rid, j, 10.0 + j, "text", 1) for j in range(chunks_each)])

        class Result:
            skipped = 2
            records: list[RequestRecord] = []

        return Result()

    return run_burst


# ---- dt -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("given", "want"),
    [("2026-11-27", "2026-11-27"), ("2026-11-27T23:59:30Z", "2026-11-27"),
     ("2026-11-28T01:30:00+02:00", "2026-11-27"), ("2026-11-27T22:30:00.123-04:00", "2026-11-28")],
)
def test_dt_is_a_date_or_a_timestamp_taken_as_its_utc_date(given: str, want: str) -> None:
    ev, _ = H.validate_event(_event(dt=given), _state().settings)
    assert ev.dt == want


@pytest.mark.parametrize("bad", ["2026-13-01", "2026-11-27T10:00:00", "<aws.scheduler.scheduled-time>",
                                 "yesterday", "2026-11-27/../x"])
def test_bad_dt_is_refused_with_the_accepted_forms(bad: str) -> None:
    with pytest.raises(LensError) as err:
        H.validate_event(_event(dt=bad), _state().settings)
    msg = str(err.value)
    assert msg.startswith("event field dt: ") and "Value error" not in msg
    assert "YYYY-MM-DD" in msg or "calendar date" in msg


def test_dt_defaults_to_the_invocation_start_not_its_end(monkeypatch: pytest.MonkeyPatch) -> None:
    """A burst that starts before UTC midnight and ends after it stays in the start's partition."""
    clock = {"now": datetime(2026, 11, 27, 23, 59, 58, tzinfo=UTC)}

    class Clock(datetime):
        @classmethod
        def now(cls, tz: Any = None) -> datetime:  # type: ignore[override]
            return clock["now"]

    monkeypatch.setattr(H, "datetime", Clock)

    def cross_midnight() -> None:
        clock["now"] += timedelta(seconds=5)

    resp = H.handle(_event(), Ctx(), st=_state(), executor=burst_executor(_burst(2, on_start=cross_midnight)))
    assert resp["dt"] == "2026-11-27" and resp["ok"] is True
    # an explicit dt (the fleet's, once per run) wins over the clock
    resp = H.handle(_event(dt="2026-11-26T23:00:00Z"), Ctx(), st=_state(), executor=burst_executor(_burst(1)))
    assert resp["dt"] == "2026-11-26"


# ---- a failed S3 write ------------------------------------------------------------------------


@pytest.mark.parametrize("inline", [True, False])
def test_failed_s3_write_returns_rows_summary_and_a_scrubbed_error(monkeypatch: pytest.MonkeyPatch,
                                                                    inline: bool) -> None:
    import lens.store.s3 as s3

    calls: list[dict[str, Any]] = []

    def failing_write(records: Any, chunks: Any, **kw: Any) -> dict[str, str]:
        calls.append(kw)
        raise RuntimeError(f"AccessDenied for request signed with Bearer {SECRET}")

    monkeypatch.setattr(s3, "write_shard", failing_write)
    state = _state(LENS_RESULTS_BUCKET="lens-results",
                   LENS_API_KEY_SECRETS=json.dumps({"OPENAI_API_KEY": "arn:a"}))
    state.api_keys = {"OPENAI_API_KEY": SECRET}
    resp = H.handle(_event(inline=inline, dt="2026-11-27"), Ctx(), st=state, executor=burst_executor(_burst(5, 2)))
    assert calls and calls[0]["bucket"] == "lens-results" and calls[0]["dt"] == "2026-11-27"
    assert resp["ok"] is False and resp["s3_keys"] == {}
    assert "writing the shard to s3://lens-results failed: RuntimeError: AccessDenied" in resp["error"]
    assert SECRET not in json.dumps(resp)
    assert resp["summary"]["ok"] == 5 and resp["skipped"] == 2 and resp["n_records"] == 5
    assert [r["request_id"] for r in resp["rows"]["records"]] == [f"req-{i:06d}" for i in range(5)]
    assert len(resp["rows"]["chunks"]) == 10 and resp["rows_truncated"] == 0


def test_rows_without_a_bucket_stay_under_lambdas_response_limit() -> None:
    """~8 MB of rows and no bucket: the response is cut at whole records, below 6 MB, and says so."""
    n = 2500
    resp = H.handle(_event(), Ctx(), st=_state(), executor=burst_executor(_burst(n, chunks_each=30)))
    body = json.dumps(resp)
    assert len(json.dumps({"records": [], "chunks": []})) < len(body) < 6 * 1024 * 1024
    rows = resp["rows"]
    kept = len(rows["records"])
    assert 0 < kept < n and resp["rows_truncated"] == n - kept
    assert len(json.dumps(rows)) <= results.INLINE_CAP_BYTES
    # whole records: every kept record has all its chunks, and no chunk of a dropped one is sent
    assert len(rows["chunks"]) == 30 * kept
    assert {c["request_id"] for c in rows["chunks"]} == {r["request_id"] for r in rows["records"]}
    assert resp["ok"] is True and resp["n_records"] == n and resp["summary"]["requests"] == n


def test_small_rows_without_a_bucket_are_all_returned() -> None:
    resp = H.handle(_event(inline=False), Ctx(), st=_state(), executor=burst_executor(_burst(3)))
    assert resp["rows_truncated"] == 0 and len(resp["rows"]["records"]) == 3  # nowhere else to find them


def test_inline_rows_keep_order_and_count_what_is_left_out() -> None:
    recs = [RequestRecord(run_id="r", request_id=f"q{i}", started_at=datetime(2026, 1, 1, tzinfo=UTC))
            for i in range(10)]
    chunks = [ChunkTiming(f"q{i}", 0, 1.0, "text", 1) for i in range(10)]
    one = len(json.dumps(results.row(recs[0]))) + len(json.dumps(chunks[0].to_dict())) + 4
    rows, left = results.inline_rows(recs, chunks, max_bytes=len('{"records": [], "chunks": []}') + 3 * one + 5)
    assert [r["request_id"] for r in rows.records] == ["q0", "q1", "q2"] and left == 7
    assert len(json.dumps(rows.model_dump())) <= len('{"records": [], "chunks": []}') + 3 * one + 5
    rows, left = results.inline_rows(recs, chunks, max_bytes=10_000_000)
    assert len(rows.records) == 10 and left == 0


def test_sample_scheduled_event_is_what_scheduler_delivers() -> None:
    sample = json.loads((EVENTS / "scheduled.json").read_text())
    ev, _ = H.validate_event(sample, _state(LENS_ALLOWED_BASE_URLS=URL).settings)
    assert (ev.dt, ev.run_id, ev.inline) == ("2026-11-27", "nightly-openai-d32c5kddcf5bb8c3", False)
