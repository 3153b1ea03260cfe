"""A shard whose S3 write fails (real awswrangler against a moto server) keeps its rows:
they come back inline with the error; once the bucket exists the same event writes them."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import pytest
from helpers_aws import Moto, list_keys, make_bucket, moto_server
from helpers_runner import burst_executor

from lens.fleet.invoker import rows_from_response
from lens.record import ChunkTiming, RequestRecord

__all__ = ["moto_server"]
BUCKET = "lens-missing-bucket"
URL = "http://127.0.0.1:8000/v1"


class Ctx:
    aws_request_id = "req-s3-failure"

    def get_remaining_time_in_millis(self) -> int:
        return 60_000


def fake_burst(spec: Any, *, run_id: str, sink: Any, should_start: Any, api_keys: Any, shard: int) -> Any:
    for i in range(4):
        rid = f"req-{i}"
        sink.add(RequestRecord(run_id=run_id, request_id=rid, started_at=datetime.now(UTC), status="ok",
                               region=spec.region, ttft_ms=20.0 + i, e2e_ms=40.0 + i),
                 [ChunkTiming(rid, 0, 20.0 + i, "text", 3)])

    class Result:
        skipped = 1
        records: list[RequestRecord] = []

    return Result()


@pytest.fixture()
def handler(moto_server: Moto) -> Iterator[Any]:
    import lens.fleet.runner.handle as H

    H.configure(session=moto_server.session(), env={
        "LENS_RESULTS_BUCKET": BUCKET, "LENS_ALLOWED_BASE_URLS": URL, "LENS_REGION_LABEL": "sa-east-1",
    })
    yield H
    H.configure()


def test_failed_write_returns_the_rows_then_a_retry_stores_them(handler: Any, moto_server: Moto) -> None:
    ev = {"run_id": "s3-fail-run", "shard": 2, "inline": False, "dt": "2026-11-27",
          "spec": {"targets": [{"provider": "openai_compat", "base_url": URL, "model": "m"}],
                   "load": {"requests": 4, "concurrency": 1}}}
    resp = handler.handle(ev, Ctx(), executor=burst_executor(fake_burst))
    assert resp["ok"] is False and resp["s3_keys"] == {}
    assert f"writing the shard to s3://{BUCKET} failed" in resp["error"] and "NoSuchBucket" in resp["error"]
    assert resp["summary"]["ok"] == 4 and resp["summary"]["ttft_p50_ms"] == 21.5 and resp["skipped"] == 1
    json.dumps(resp)  # the whole response is JSON (Lambda serializes it)
    records, chunks = rows_from_response(resp)
    assert [r.request_id for r in records] == ["req-0", "req-1", "req-2", "req-3"]
    assert {r.shard for r in records} == {2} and len(chunks) == 4 and resp["rows_truncated"] == 0

    make_bucket(moto_server.session(), BUCKET)
    again = handler.handle(ev, Ctx(), executor=burst_executor(fake_burst))
    assert again["ok"] is True and "rows" not in again  # stored, and the caller asked for no rows
    assert sorted(again["s3_keys"].values()) == list_keys(moto_server.session(), BUCKET)
    assert all("dt=2026-11-27/region=sa-east-1/run_id=s3-fail-run" in k for k in again["s3_keys"].values())
