"""lens.load(athena=SQL) and lens.load(s3=...) over the Parquet objects the runner wrote to moto.

The Athena SQL is run for real: sqlglot transpiles it (athena -> duckdb) and DuckDB 1.5.5,
with httpfs loaded from the PyPI extension wheel, reads the very objects on the moto server.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from helpers_aws import Moto, make_bucket, moto_server

import lens
from lens.fleet.invoker import rows_from_response
from lens.sim import start_sim_in_thread

__all__ = ["moto_server"]
EVENTS = Path(__file__).resolve().parents[2] / "lambdas" / "runner" / "events"
BUCKET = "lens-athena-test"


class Ctx:
    aws_request_id = "req-athena"

    def __init__(self, ms: float) -> None:
        self.deadline = time.monotonic() + ms / 1000

    def get_remaining_time_in_millis(self) -> int:
        return int((self.deadline - time.monotonic()) * 1000)


@pytest.fixture(scope="module")
def written(moto_server: Moto) -> Iterator[dict]:
    import lens.fleet.runner.handle as H

    session = moto_server.session()
    make_bucket(session, BUCKET)
    with start_sim_in_thread({"a": {"ttft_ms": 15.0, "itl_ms": 1.0, "output_tokens": 6},
                              "b": {"ttft_ms": 60.0, "itl_ms": 1.0, "output_tokens": 6}}) as sim:
        out: dict[str, list] = {}
        for region, profile, n in (("us-east-1", "a", 5), ("ap-south-1", "b", 3)):
            H.configure(session=session, env={
                "LENS_RESULTS_BUCKET": BUCKET, "LENS_GLUE_CREATE_TABLES": "true", "LENS_GLUE_DATABASE": "lensdb",
                "LENS_ALLOWED_BASE_URLS": sim.url, "LENS_REGION_LABEL": region,
            })
            ev = json.loads((EVENTS / "valid.json").read_text())
            ev.pop("region")
            ev["run_id"] = "athena-run"
            ev["spec"]["targets"][0]["base_url"] = f"{sim.url}/p/{profile}/v1"
            ev["spec"]["load"] = {"requests": n, "concurrency": 1}
            resp = H.handler(ev, Ctx(60_000))
            assert resp["ok"], resp
            out[region] = rows_from_response(resp)[0]
            if region == "us-east-1":  # a retry of the same shard must not add rows
                assert H.handler(ev, Ctx(60_000))["ok"]
                out[region] = rows_from_response(H.handler(ev, Ctx(60_000)))[0]
        yield {"session": session, "records": out}
    H.configure()


def test_athena_sql_runs_on_duckdb_over_the_written_objects(written: dict) -> None:
    sql = """
        SELECT region, count(*) AS n, approx_percentile(ttft_ms, 0.5) AS ttft_p50,
               max(date_diff('millisecond', started_at, started_at)) AS zero
        FROM lensdb.requests
        WHERE run_id = 'athena-run' AND dt = date_format(current_date, '%Y-%m-%d')
        GROUP BY region ORDER BY region
    """
    df = lens.load(
        athena=sql,
        boto3_session=written["session"],
        athena_options={"database": "lensdb", "engine": "duckdb", "lake": f"s3://{BUCKET}/lens"},
    )
    by_region = {row.region: row for row in df.itertuples()}
    recs = written["records"]
    assert set(by_region) == {"us-east-1", "ap-south-1"}
    for region, records in recs.items():
        assert by_region[region].n == len(records)  # retried shard: still 5 rows, not 15
        ttfts = sorted(r.ttft_ms for r in records)
        assert ttfts[0] <= by_region[region].ttft_p50 <= ttfts[-1]
    assert by_region["ap-south-1"].ttft_p50 > by_region["us-east-1"].ttft_p50 + 30
    assert str(df["region"].dtype) == "category"


def test_whole_rows_come_back_conformed(written: dict) -> None:
    df = lens.load(
        athena="SELECT * FROM requests WHERE region = 'us-east-1'",
        boto3_session=written["session"],
        athena_options={"database": "lensdb", "engine": "duckdb", "lake": f"s3://{BUCKET}/lens"},
    )
    want = {r.request_id: r for r in written["records"]["us-east-1"]}
    assert set(df["request_id"]) == set(want)
    for row in df.itertuples():
        assert row.ttft_ms == pytest.approx(want[row.request_id].ttft_ms)
        assert row.run_id == "athena-run" and row.shard == 0
    assert str(df["started_at"].dt.tz) == "UTC"
    got = {row.request_id: row.started_at for row in df.itertuples()}
    for rid, rec in want.items():  # microseconds survive the Parquet round trip
        assert abs((got[rid].to_pydatetime() - rec.started_at).total_seconds()) < 1e-5
    s3_df = lens.load(s3=f"s3://{BUCKET}/lens/requests/", boto3_session=written["session"])
    assert len(s3_df) == 8 and set(s3_df["region"]) == {"us-east-1", "ap-south-1"}
