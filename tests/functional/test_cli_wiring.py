"""`lens run` wiring to colleagues' modules: fleet, Prometheus, budgets, --repeat."""

from __future__ import annotations

import importlib
import json
from pathlib import Path
from typing import Any

import pytest
from helpers_cli import lens
from helpers_store import make_chunks, make_record

from lens.sim import start_sim_in_thread
from lens.store.sql import open_store


@pytest.fixture(scope="module")
def sim():
    with start_sim_in_thread({"default": "instant"}) as s:
        yield s


class FakeInvoker:
    """Answers like the runner with inline rows; ``us-2`` times out on shard 1."""

    def __init__(self) -> None:
        self.payloads: list[dict[str, Any]] = []

    def invoke(self, region: str, payload: dict[str, Any]) -> dict[str, Any]:
        from lens.fleet.invoker import InvokeError

        self.payloads.append(payload)
        if region == "us-2" and payload["shard"] == 1:
            raise InvokeError("timeout", "shard 1 timed out")
        recs = [make_record("ignored", payload["shard"], region=region, warmup=False)]
        recs[0].request_id = f"{region}-{payload['shard']}"
        chunks = [c for r in recs for c in make_chunks(r)]
        rows = {"records": [{**r.to_dict(), "started_at": r.started_at.isoformat()} for r in recs],
                "chunks": [c.to_dict() for c in chunks]}
        return {"ok": True, "n_records": len(recs), "rows": rows}


def test_regions_and_shards_fire_through_the_fleet_executor_and_rows_are_stored(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    fleet = importlib.import_module("lens.fleet")
    inv = FakeInvoker()
    monkeypatch.setattr(fleet, "default_invoker", lambda *a: (inv, None))
    db = tmp_path / "f.db"
    res = lens(["run", "--provider", "sim", "--model", "m", "--base-url", "http://127.0.0.1:9/v1",
                "--regions", "eu-1, us-2", "--shards", "3", "--concurrency", "3", "--db", str(db),
                "--run-id", "fl", "--json"])  # fmt: skip
    assert res.code == 0, res.err
    assert sorted({(p["region"], p["shard"]) for p in inv.payloads}) == [
        (r, s) for r in ("eu-1", "us-2") for s in range(3)]
    assert {p["run_id"] for p in inv.payloads} == {"fl"}
    assert "fleet: us-2: timeout: shard 1 timed out" in res.err
    out = json.loads(res.out)
    assert out["run_id"] == "fl" and out["status"] == "incomplete" and out["n_requests"] == 5
    s = open_store(db)
    try:
        run = s.get_run("fl")
        assert run.runner == "fleet" and run.region == "eu-1,us-2"
        assert sorted(s.requests_frame("fl")["region"].astype(str)) == ["eu-1"] * 3 + ["us-2"] * 2
        assert len(s.chunks_frame("fl")) == 5 * len(make_chunks(make_record("x", 0)))
    finally:
        s.close()


def test_repeat_with_prometheus_gives_one_json_line_per_run(sim, tmp_path: Path) -> None:
    db = tmp_path / "r.db"
    res = lens(["run", "--provider", "sim", "--base-url", sim.base_url("openai_chat"), "--model", "m",
                "--requests", "2", "--repeat", "2", "--interval", "0.1", "--prometheus", "0",
                "--run-id", "rep", "--db", str(db), "--json"])  # fmt: skip
    assert res.code == 0, res.err
    assert "serving Prometheus metrics on http://127.0.0.1:" in res.err
    lines = [json.loads(x) for x in res.out.splitlines()]
    assert [x["run_id"] for x in lines] == ["rep-1", "rep-2"]
    assert all(x["targets"][0]["ok"] == 2 for x in lines)


def test_budget_refuses_before_firing(tmp_path: Path) -> None:
    db = tmp_path / "b.db"
    res = lens(["run", "--provider", "openai", "--model", "gpt-4o-mini", "--base-url",
                "http://127.0.0.1:9/v1", "--requests", "2", "--budget-usd", "0.000001",
                "--db", str(db)], env={"OPENAI_API_KEY": "sk-test-not-real"})  # fmt: skip
    assert res.code == 2, res.out
    assert "lens: error: burst refused: estimated cost" in res.err
    assert "exceeds the per-burst budget $0.000001" in res.err
    assert "sk-test-not-real" not in res.err + res.out
    s = open_store(db)
    try:
        assert s.list_runs() == []  # refused before a run row was written
    finally:
        s.close()


def _queue_ms(db: Path, run_id: str) -> list[float]:
    s = open_store(db)
    try:
        return sorted(float(q) for q in s.requests_frame(run_id)["queue_ms"])
    finally:
        s.close()


def test_tpm_limit_delays_sends_and_the_wait_shows_in_queue_ms(sim, tmp_path: Path) -> None:
    # ~40 tokens per request (32 prompt + 8 max); 600 tpm = a 600-token bucket refilled at
    # 10 tokens/s: about 15 requests go at once, the 17th waits a few seconds.
    db = tmp_path / "tpm.db"
    base = ["run", "--provider", "sim", "--base-url", sim.base_url("openai_chat"), "--model", "m",
            "--requests", "17", "--concurrency", "17", "--prompt-tokens", "32",
            "--max-tokens", "8", "--db", str(db), "--json"]  # fmt: skip
    res = lens([*base, "--tpm", "600", "--run-id", "limited"])
    assert res.code == 0, res.err
    limited = _queue_ms(db, "limited")
    assert limited[0] < 500 and limited[12] < 500  # the bucket's burst went straight out
    assert limited[-1] > 1000  # the last ones waited for refill, and the wait is visible
    res = lens([*base, "--run-id", "free"])
    assert res.code == 0, res.err
    assert _queue_ms(db, "free")[-1] < 500


def test_rate_limit_flags_must_be_positive(tmp_path: Path) -> None:
    res = lens(["run", "--demo", "--rpm", "0", "--db", str(tmp_path / "x.db")])
    assert res.code == 2
    assert "--rpm: must be a positive number, got 0" in res.err


def test_run_applies_the_store_retention_setting(sim, tmp_path: Path) -> None:
    from datetime import UTC, datetime, timedelta

    from lens.store.base import RunInfo
    from lens.store.retention import set_retention

    db = tmp_path / "ret.db"
    s = open_store(db)
    old = datetime.now(UTC) - timedelta(days=40)
    s.start_run(RunInfo("ancient", "ancient", old))
    s.add_many([make_record("ancient", 0)], [])
    s.finish_run("ancient", status="complete")
    s.set_finished_at("ancient", old + timedelta(minutes=1))
    set_retention(s, "30d")
    s.close()
    res = lens(["run", "--provider", "sim", "--base-url", sim.base_url("openai_chat"), "--model", "m",
                "--requests", "2", "--run-id", "fresh", "--db", str(db), "--json"])  # fmt: skip
    assert res.code == 0, res.err
    assert "retention: pruned 1 run(s)" in res.err
    s = open_store(db)
    try:
        assert not s.has_run("ancient") and s.has_run("fresh")
    finally:
        s.close()


def test_fleet_budget_counts_regions_before_firing(tmp_path: Path) -> None:
    one = ["run", "--provider", "openai", "--model", "gpt-4o-mini", "--base-url",
           "http://127.0.0.1:9/v1", "--requests", "10", "--db", str(tmp_path / "f.db")]  # fmt: skip
    env = {"OPENAI_API_KEY": "sk-test-not-real", "HOME": str(tmp_path)}  # no fleet config
    res = lens([*one, "--regions", "us-east-1,eu-west-1", "--budget-usd", "0.000001"], env=env)
    assert res.code == 2, res.out
    assert "x 2 regions)" in res.err and "Lambda" not in res.err  # local fleet: no AWS cost


def test_fleet_failures_are_printed_with_reasons_and_lambda_cost_reported(monkeypatch) -> None:
    import io

    import pandas as pd
    from rich.console import Console

    from lens.cli import run_fire as run_mod

    class Result:
        frame = pd.DataFrame({
            "runner": ["lambda"] * 2, "region": ["us-east-1"] * 2, "shard": [0, 0],
            "started_at": pd.to_datetime(["2026-01-01T00:00:00Z", "2026-01-01T00:00:01Z"]),
            "e2e_ms": [1000.0, 1000.0],
        })  # fmt: skip

    buf = io.StringIO()
    run_mod._report_measuring_cost(Result(), Console(file=buf, width=200))
    assert "measuring cost $" in buf.getvalue() and "1 invocations" in buf.getvalue()


def test_prices_flag_reaches_budgets_and_the_cost_metric(tmp_path: Path) -> None:
    import argparse
    from decimal import Decimal

    from lens.cli.run_fire import exporter_sinks

    db = tmp_path / "p.db"
    prices = tmp_path / "prices.toml"
    prices.write_text('[[model]]\nmodel = "sim-*"\nprovider = "sim"\ninput_mtok = 1\noutput_mtok = 2\n')
    run = ["run", "--provider", "sim", "--base-url", "http://127.0.0.1:9/v1", "--model", "sim-a",
           "--requests", "2", "--budget-usd", "0.000001", "--db", str(db)]  # fmt: skip
    # the simulated endpoint is free, so the budget passes (the burst then fails to connect)
    assert lens(run).code == 0
    res = lens([*run, "--prices", str(prices), "--run-id", "priced"])
    assert res.code == 2, res.out
    assert "exceeds the per-burst budget $0.000001" in res.err
    bad = tmp_path / "bad.toml"
    bad.write_text('[[model]]\nmodel = "x"\ninput_mtok = "free"\noutput_mtok = 1\n')
    res = lens([*run, "--prices", str(bad), "--run-id", "bad"])
    assert res.code == 2 and str(bad) in res.err and "model[0].input_mtok" in res.err
    s = open_store(db)
    try:
        assert not {"priced", "bad"} & {r.run_id for r in s.list_runs()}
    finally:
        s.close()
    args = argparse.Namespace(prometheus=None, pushgateway="http://127.0.0.1:9", otlp=None,
                              prices=str(prices))
    (sink,) = exporter_sinks(args)
    sink.add(make_record("r", 1, provider="sim", model="sim-a", input_tokens=1000,
                         output_tokens=500), [])
    body = sink.exposition().decode()
    cost = [ln for ln in body.splitlines() if ln.startswith("lens_cost_usd_total{")]
    assert len(cost) == 1 and Decimal(cost[0].rsplit(" ", 1)[1]) == Decimal("0.002")
