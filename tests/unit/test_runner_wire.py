"""The runner's wire format, used on both sides: what the handler answers parses with the model
the fleet reads it with, rows survive the round trip, and anything else is a clear error."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest
from helpers_runner import Ctx, burst_executor

from lens.fleet import fire
from lens.fleet.invoker import InvokeError, parse_response, rows_from_response
from lens.fleet.runner import handle as H
from lens.fleet.runner.settings import Settings
from lens.fleet.runner.wire import RunnerEvent, RunnerResponse
from lens.record import ChunkTiming, RequestRecord
from lens.spec import spec_from_dict

URL = "http://127.0.0.1:8000/v1"
EVENT = {"run_id": "wire-run", "shard": 1, "shards": 2, "dt": "2026-11-27",
         "spec": {"targets": [{"provider": "openai_compat", "base_url": URL, "model": "m"}],
                  "load": {"requests": 3, "concurrency": 1}}}


def _burst(spec: Any, *, run_id: str, sink: Any, **_: Any) -> Any:
    for i in range(3):
        rid = f"w{i}"
        sink.add(RequestRecord(run_id=run_id, request_id=rid, started_at=datetime(2026, 11, 27, 1, 2, 3, 456789, tzinfo=UTC),
                               status="ok" if i else "timeout", region=spec.region, ttft_ms=11.5 + i, e2e_ms=40.0,
                               output_tokens=7),
                 [ChunkTiming(rid, j, 11.5 + j, "text", 1) for j in range(2)])


def _answer() -> dict[str, Any]:
    st = H.Container(settings=Settings.from_env({"LENS_ALLOWED_BASE_URLS": URL, "LENS_REGION_LABEL": "sa-east-1"}))
    return H.handle(EVENT, Ctx(), st=st, executor=burst_executor(_burst))


def test_what_the_handler_answers_is_what_the_fleet_parses() -> None:
    wire = _answer()
    resp = parse_response(wire)  # extra="forbid": every key the handler wrote is a known field
    assert resp.to_wire() == wire
    assert (resp.ok, resp.run_id, resp.region, resp.shard, resp.shards, resp.dt) == (
        True, "wire-run", "sa-east-1", 1, 2, "2026-11-27")
    assert resp.summary is not None and resp.summary.by_status == {"ok": 2, "timeout": 1}
    assert resp.summary.ttft_p50_ms == 13.0 and resp.n_records == 3 and resp.n_chunks == 6
    records, chunks = rows_from_response(wire)  # type: ignore[misc]
    assert [r.request_id for r in records] == ["w0", "w1", "w2"] and {r.shard for r in records} == {1}
    assert records[0].started_at == datetime(2026, 11, 27, 1, 2, 3, 456789, tzinfo=UTC)
    assert records[2].ttft_ms == 13.5 and records[0].status == "timeout" and len(chunks) == 6


def test_refusals_carry_only_what_was_set() -> None:
    wire = H.handler({"spec": {}, "colour": "red"}, Ctx())
    assert set(wire) == {"ok", "error", "cold_start", "init_ms", "request_id"}
    assert parse_response(wire).error == wire["error"] and "event field colour" in wire["error"]


@pytest.mark.parametrize(
    ("data", "needle"),
    [({}, "ok: Field required"),
     ({"ok": True, "rowz": []}, "rowz: Extra inputs are not permitted"),
     ({"ok": True, "rows": {"records": "x"}}, "rows.records"),
     (["ok"], "answered list, not a JSON object")],
)
def test_anything_else_is_a_function_error_naming_the_field(data: Any, needle: str) -> None:
    with pytest.raises(InvokeError) as err:
        parse_response(data)
    assert err.value.reason == "function_error" and needle in str(err.value)
    assert "make package" in str(err.value) or "JSON object" in str(err.value)


def test_a_region_answering_in_another_format_fails_alone() -> None:
    class Invoker:
        def invoke(self, region: str, payload: dict[str, Any]) -> Any:
            RunnerEvent.model_validate(payload)  # the fleet sends what the runner accepts
            if region == "old":
                return {"ok": True, "records": []}  # a runner from another version
            return RunnerResponse(ok=True, n_records=0, run_id=payload["run_id"])

    spec = spec_from_dict(EVENT["spec"])
    res = fire(spec, ["old", "new"], invoker=Invoker())
    assert res.statuses["old"].reason == "function_error" and "records" in res.failures["old"]
    assert res.statuses["new"].ok
