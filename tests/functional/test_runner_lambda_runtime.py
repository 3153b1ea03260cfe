"""The runner end to end through the real Lambda runtime client (awslambdaric), against the
simulated endpoint and a moto server (S3, Glue, Secrets Manager) over real HTTP."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from helpers_aws import Moto, list_keys, make_bucket, moto_server

from lens.fleet.invoker import rows_from_response
from lens.fleet.runtime_api import RuntimeApi
from lens.sim import start_sim_in_thread
from lens.store.lake_schema import object_key

pytestmark = pytest.mark.slow
__all__ = ["moto_server"]

EVENTS = Path(__file__).resolve().parents[2] / "lambdas" / "runner" / "events"
BUCKET = "lens-runner-test"
SECRET_VALUE = "sk-lens-test-0123456789abcdefghijkl"


def _event(name: str, sim_url: str, **spec_changes: object) -> dict:
    ev = json.loads((EVENTS / f"{name}.json").read_text())
    ev.pop("region", None)  # the label then comes from LENS_REGION_LABEL
    for t in ev["spec"]["targets"]:
        t["base_url"] = sim_url + "/p/keyed/v1"
        t["api_key_env"] = "OPENAI_API_KEY"
    ev["spec"].update(spec_changes)
    return ev


@pytest.fixture(scope="module")
def sim() -> Iterator:
    keyed = {"header_ms": 1.0, "ttft_ms": 20.0, "itl_ms": 2.0, "output_tokens": 8, "require_key": True}
    with start_sim_in_thread({"default": "fast", "keyed": keyed, "slowish": {**keyed, "ttft_ms": 150.0}}) as s:
        yield s


@pytest.fixture(scope="module")
def runtime(moto_server: Moto, sim) -> Iterator[RuntimeApi]:
    session = moto_server.session()
    make_bucket(session, BUCKET)
    session.client("secretsmanager").create_secret(Name="lens/openai", SecretString=SECRET_VALUE)
    api = RuntimeApi()
    root = Path(__file__).resolve().parents[2]
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "LENS_"))}
    env.update(moto_server.env("us-east-1"))
    env.update({
        "AWS_LAMBDA_RUNTIME_API": api.address,
        "PYTHONPATH": str(root),
        "LENS_RESULTS_BUCKET": BUCKET, "LENS_GLUE_CREATE_TABLES": "true",
        "LENS_RESULTS_PREFIX": "lake",
        "LENS_GLUE_DATABASE": "lensdb",
        "LENS_ALLOWED_BASE_URLS": f"{sim.url}/p/keyed,{sim.url}/p/slowish,{sim.url}/p/fast",
        "LENS_MAX_CONCURRENCY": "4",
        "LENS_MAX_REQUESTS": "40",
        "LENS_API_KEY_SECRETS": json.dumps({"OPENAI_API_KEY": "lens/openai"}),
        # The key may go to these two only; /p/fast is allowed for keyless targets.
        "LENS_API_KEY_URLS": json.dumps({"OPENAI_API_KEY": [f"{sim.url}/p/keyed", f"{sim.url}/p/slowish"]}),
        "LENS_REGION_LABEL": "eu-west-1",
        "LENS_DEADLINE_MARGIN_MS": "1500",
    })
    proc = subprocess.Popen([sys.executable, "-m", "awslambdaric", "lambdas.runner.handler.handler"],
                            env=env, cwd=root, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    api.output = proc  # type: ignore[attr-defined]
    try:
        yield api
    finally:
        proc.terminate()
        proc.wait(timeout=10)
        out = proc.stdout.read().decode() if proc.stdout else ""
        api.close()
        # The key fetched from Secrets Manager never reaches the function's logs.
        assert SECRET_VALUE not in out


def test_sample_event_writes_rows_at_deterministic_keys(runtime: RuntimeApi, moto_server: Moto, sim) -> None:
    ev = _event("valid", sim.url)
    resp = runtime.invoke(ev, timeout_ms=60_000)
    assert resp["ok"] is True, resp
    assert resp["cold_start"] is True and resp["init_ms"] > 0
    assert resp["region"] == "eu-west-1" and resp["run_id"] == "sample-run-0001"
    assert resp["summary"]["ok"] == 6 and resp["skipped"] == 0
    # require_key: every request succeeding proves the Secrets Manager key was sent.
    records, chunks = rows_from_response(resp)
    assert {r.status for r in records} == {"ok"} and len(records) == 6
    assert all(r.region == "eu-west-1" and r.runner == "lambda" for r in records)
    assert len(chunks) == resp["n_chunks"] > 0 and {c.request_id for c in chunks} == {r.request_id for r in records}
    dt = resp["dt"]
    want = {t: object_key("lake", t, dt=dt, region="eu-west-1", run_id="sample-run-0001", shard=0)
            for t in ("requests", "chunks")}
    assert resp["s3_keys"] == want
    session = moto_server.session()
    keys = list_keys(session, BUCKET, "lake/")
    assert sorted(want.values()) == [k for k in keys if "sample-run-0001" in k]
    import awswrangler as wr

    for table in ("requests", "chunks"):
        parts = wr.catalog.get_partitions("lensdb", table, boto3_session=session)
        loc = f"s3://{BUCKET}/{want[table].rsplit('/', 1)[0]}/"
        assert parts[loc] == [dt, "eu-west-1", "sample-run-0001"]
    df = wr.s3.read_parquet(f"s3://{BUCKET}/{want['requests']}", boto3_session=session)
    assert len(df) == 6 and sorted(df["request_id"]) == sorted(r.request_id for r in records)
    assert "run_id" not in df.columns  # a partition, not a stored column

    # Same event again: a warm container, the same keys overwritten, no duplicate rows.
    again = runtime.invoke(ev, timeout_ms=60_000)
    assert again["ok"] and again["cold_start"] is False and again["init_ms"] is None
    assert again["s3_keys"] == want
    assert list_keys(session, BUCKET, "lake/") == keys
    df2 = wr.s3.read_parquet(f"s3://{BUCKET}/{want['requests']}", boto3_session=session)
    assert len(df2) == 6
    assert set(df2["request_id"]) == {r.request_id for r in rows_from_response(again)[0]}
    assert len(wr.catalog.get_partitions("lensdb", "requests", boto3_session=session)) >= 1


@pytest.mark.parametrize(
    ("name", "needle"),
    [("bad_field", "event field concurency"), ("ssrf", "not on the runner's allow-list"),
     ("over_limit", "LENS_MAX_CONCURRENCY=4")],
)
def test_refused_events_give_clear_errors(runtime: RuntimeApi, sim, name: str, needle: str) -> None:
    ev = json.loads((EVENTS / f"{name}.json").read_text())
    if name == "over_limit":
        ev["spec"]["targets"][0]["base_url"] = sim.url + "/p/keyed/v1"
    resp = runtime.invoke(ev, timeout_ms=30_000)
    assert resp["ok"] is False
    assert needle in resp["error"]
    assert "Traceback" not in resp["error"] and SECRET_VALUE not in json.dumps(resp)
    assert "s3_keys" not in resp


def test_short_deadline_skips_requests_and_loses_none(runtime: RuntimeApi, moto_server: Moto, sim) -> None:
    ev = _event("valid", sim.url, load={"kind": "concurrency", "requests": 30, "concurrency": 1})
    ev["run_id"] = "deadline-run"
    for t in ev["spec"]["targets"]:
        t["base_url"] = sim.url + "/p/slowish/v1"
    # 3.0 s to the deadline, 1.5 s margin: ~1.5 s of ~0.17 s requests, far fewer than 30.
    resp = runtime.invoke(ev, timeout_ms=3000)
    assert resp["ok"] is True
    assert resp["skipped"] > 0
    assert resp["n_records"] + resp["skipped"] == 30
    assert 3 <= resp["n_records"] <= 20
    import awswrangler as wr

    df = wr.s3.read_parquet(f"s3://{BUCKET}/{resp['s3_keys']['requests']}", boto3_session=moto_server.session())
    # Every request that started is in S3 with a status: finished ones ok; the one in flight
    # at the deadline (minus the margin) cut there and kept as a timeout (#17 item 1).
    assert len(df) == resp["n_records"]
    assert set(df["status"]) <= {"ok", "timeout"} and (df["status"] == "timeout").sum() <= 1
    assert (df["status"] == "ok").sum() >= 3
    assert all("cut at the burst's deadline" in e for e in df[df["status"] == "timeout"]["error"])


def test_fetched_key_goes_only_to_its_bound_urls(runtime: RuntimeApi, sim) -> None:
    """/p/fast is on the allow-list but not in LENS_API_KEY_URLS: the key may not go there."""
    ev = _event("valid", sim.url)
    ev["run_id"] = "key-binding"
    ev["spec"]["targets"][0]["base_url"] = sim.url + "/p/fast/v1"
    resp = runtime.invoke(ev, timeout_ms=30_000)
    assert resp["ok"] is False and "s3_keys" not in resp
    assert (f"key OPENAI_API_KEY may not be sent to {sim.url}/p/fast/v1; allow it in LENS_API_KEY_URLS"
            in resp["error"])
    assert SECRET_VALUE not in json.dumps(resp)
    # The same host for a target that needs no key (openai_compat without api_key_env) runs.
    del ev["spec"]["targets"][0]["api_key_env"]
    resp = runtime.invoke(ev, timeout_ms=30_000)
    assert resp["ok"] is True, resp
    assert resp["summary"]["ok"] == 6
