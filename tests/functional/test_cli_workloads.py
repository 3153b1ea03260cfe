"""`lens run` workload flags against the simulated endpoint: --trace/--speedup, --turns,
--shared-prefix/--prefix-pool, --cancel-after-*, --cache-compare; errors name the flag."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from helpers_cli import lens

from lens.sim import start_sim_in_thread
from lens.store.sql import open_store

ROOT = Path(__file__).resolve().parents[2]
BURSTGPT = ROOT / "data" / "traces" / "sample_burstgpt.csv"
MOONCAKE = ROOT / "data" / "traces" / "sample_mooncake.jsonl"
CACHED = {"ttft_ms": 5, "prefill_ms_per_token": 0.1, "itl_ms": 1, "output_tokens": 6, "cache_prefix": True}


@pytest.fixture(scope="module")
def sim():
    with start_sim_in_thread({"default": "instant", "c": CACHED, "slowish": {"itl_ms": 3, "output_tokens": 60}}) as s:
        yield s


def _run(sim, db: Path, *flags: str, profile: str = "c") -> tuple[int, dict, str]:  # type: ignore[no-untyped-def]
    res = lens(["run", "--provider", "sim", "--base-url", sim.base_url("openai_chat", profile),
                "--model", "m", "--db", str(db), "--json", "--no-progress", *flags])  # fmt: skip
    return res.code, (json.loads(res.out) if res.code == 0 and res.out.strip() else {}), res.err


def test_trace_replay_from_the_cli(sim, tmp_path: Path) -> None:
    db = tmp_path / "l.db"
    code, out, err = _run(sim, db, "--trace", str(BURSTGPT), "--speedup", "4", "--requests", "30",
                          "--run-id", "tr")  # fmt: skip
    assert code == 0, err
    (t,) = out["targets"]
    assert (t["count"], t["ok"]) == (30, 30)
    with open_store(str(db)) as store:
        df = store.requests_frame("tr")
        spec = json.loads(store.get_run("tr").spec_json)
    assert spec["load"]["kind"] == "trace" and spec["load"]["trace"]["speedup"] == 4.0
    import csv

    with BURSTGPT.open() as fh:
        rows = list(csv.DictReader(fh))[:30]
    want = sorted((float(r["Timestamp"]) - float(rows[0]["Timestamp"])) * 1000 / 4 for r in rows)
    got = sorted(df["scheduled_ms"] - df["scheduled_ms"].min())
    assert got == pytest.approx(want, abs=0.01)
    assert sorted(df["input_tokens"]) != []  # every row stored
    assert set(df["prompt_id"].str.startswith("trace-burstgpt-")) == {True}


def test_sessions_prefix_and_cancel_flags(sim, tmp_path: Path) -> None:
    db = tmp_path / "l.db"
    code, out, err = _run(sim, db, "--turns", "3", "--think-time", "0.01", "--requests", "4",
                          "--concurrency", "2", "--prompt-tokens", "300", "--shared-prefix", "0.5",
                          "--prefix-pool", "2", "--run-id", "ses")  # fmt: skip
    assert code == 0, err
    assert out["targets"][0]["count"] == 12
    with open_store(str(db)) as store:
        df = store.requests_frame("ses")
    assert df["session_id"].nunique() == 4 and sorted(df["turn"].unique()) == [1, 2, 3]
    assert out["targets"][0]["cache_hit_rate"] > 0
    code, out, err = _run(sim, db, "--cancel-after-tokens", "5", "--requests", "4", "--max-tokens", "60",
                          "--run-id", "can", profile="slowish")  # fmt: skip
    assert code == 0, err
    (t,) = out["targets"]
    assert (t["count"], t["ok"], t["cancelled"], t["errors"], t["error_rate"]) == (4, 0, 4, {}, 0.0)
    res = lens(["run", "--provider", "sim", "--base-url", sim.base_url("openai_chat", "slowish"),
                "--model", "m", "--db", str(db), "--no-progress", "--requests", "2",
                "--cancel-after-ms", "40"])  # fmt: skip
    assert res.code == 0, res.err
    assert "cancelled by the client (spec cancel; neither ok nor errors): sim/m 2" in res.out


def test_cache_compare_from_the_cli(sim, tmp_path: Path) -> None:
    db = tmp_path / "l.db"
    code, out, err = _run(sim, db, "--cache-compare", "--prompt-tokens", "800", "--shared-prefix", "0.9",
                          "--requests", "12", "--run-id", "cc")  # fmt: skip
    assert code == 0, err
    assert (out["cold_run_id"], out["warm_run_id"]) == ("cc-cold", "cc-warm")
    (p50, _p95) = out["comparison"]
    assert p50["stat"] == "p50" and p50["hit_rate_cold"] == 0 and p50["hit_rate_warm"] > 0.8
    assert p50["ratio_high"] < 0.6 and p50["verdict"] == "improved"
    with open_store(str(db)) as store:
        tags = {r: store.get_run(r).tags for r in ("cc-cold", "cc-warm")}
    assert tags["cc-cold"]["cache_compare"] == "cold" and tags["cc-warm"]["cache_compare"] == "warm"
    assert tags["cc-cold"]["cache_compare_id"] == tags["cc-warm"]["cache_compare_id"]


@pytest.mark.parametrize(
    ("flags", "message"),
    [
        (["--speedup", "2"], "--speedup: --trace-format and --speedup need a trace"),
        (["--trace", "missing.jsonl"], "missing.jsonl: load.trace.file: trace file not found"),
        (["--trace", str(MOONCAKE), "--speedup", "0"], "--speedup: load.trace.speedup"),
        (["--trace", str(MOONCAKE), "--turns", "2"], "sessions cannot replay a trace"),
        (["--shared-prefix", "0.5", "--prompt-set", "short"], "--shared-prefix: prompts"),
        (["--cancel-fraction", "0.5"], "--cancel-fraction: cancel: cancel needs after_tokens, after_ms"),
        (["--cache-compare", "--repeat", "2"], "--cache-compare: --cache-compare fires two runs"),
        (["--trace", str(MOONCAKE), "--trace-format", "csvish"], "unknown trace format 'csvish'"),
    ],
)
def test_workload_flag_errors_name_the_flag(sim, tmp_path: Path, flags: list[str], message: str) -> None:
    code, _out, err = _run(sim, tmp_path / "l.db", *flags)
    assert code == 2 and message in err, err
