"""`lens run` against the simulated endpoint, checked against its ground truth."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

import pytest
from helpers_cli import lens, lens_proc

from lens.sim import start_sim_in_thread
from lens.store.sql import open_store


@pytest.fixture(scope="module")
def sim():
    with start_sim_in_thread({"default": "fast"}) as s:
        yield s


def test_stored_rows_match_sim_ground_truth(sim, tmp_path: Path) -> None:
    db = tmp_path / "lens.db"
    res = lens(
        [
            "run", "--provider", "sim", "--base-url", sim.base_url("openai_chat", "steady"),
            "--model", "m1", "--requests", "8", "--concurrency", "2", "--max-tokens", "24",
            "--warmup", "1", "--prompt-set", "short", "--db", str(db), "--run-id", "gt",
            "--tag", "suite=functional", "--json",
        ]
    )  # fmt: skip
    assert res.code == 0, res.err
    summary = json.loads(res.out)  # stdout is exactly one JSON document
    assert summary["run_id"] == "gt" and summary["status"] == "complete"
    assert summary["tags"] == {"suite": "functional"}
    (t,) = summary["targets"]
    assert (t["count"], t["ok"], t["warmup_excluded"]) == (8, 8, 1)

    store = open_store(db)
    try:
        df = store.requests_frame("gt")
        chunks = store.chunks_frame("gt")
        run = store.get_run("gt")
    finally:
        store.close()
    assert len(df) == 9 and run.status == "complete" and run.n_requests == 9
    spec = json.loads(run.spec_json)
    assert spec["targets"][0]["base_url"].endswith("/p/steady/v1") and spec["max_tokens"] == 24
    for row in df.itertuples():
        truth = sim.truth(row.server_request_id)
        assert truth.profile == "steady"
        assert row.output_tokens == truth.output_tokens
        mine = chunks[chunks.request_id == row.request_id]
        text = mine[mine.kind == "text"]
        assert int(text.n_tokens.sum()) == truth.text_tokens
        assert len(text) == len(truth.token_events("text"))
        # Client start precedes server receipt; client receipt follows server write.
        server_ttft = (truth.first_text_ns - truth.received_ns) / 1e6
        assert row.ttft_ms >= server_ttft - 0.5
        assert row.ttft_ms <= server_ttft + 250
        # Decode window: compare intervals measured on each side (no shared origin needed).
        ev = truth.token_events("text")
        server_window = (ev[-1].write_start_ns - ev[0].write_start_ns) / 1e6
        client_window = row.last_token_ms - row.ttft_ms
        assert abs(client_window - server_window) <= 30 + 0.2 * server_window
        assert row.e2e_ms >= row.last_token_ms >= row.ttft_ms >= row.headers_ms
    assert df.warmup.sum() == 1


def test_demo_mode_stores_three_providers(tmp_path: Path) -> None:
    db = tmp_path / "demo.db"
    res = lens(["run", "--demo", "--db", str(db), "--requests", "4", "--warmup", "0", "--json"])
    assert res.code == 0, res.err
    assert "started the simulated endpoint at http://127.0.0.1:" in res.err
    data = json.loads(res.out)
    targets = {t["target"]: t for t in data["targets"]}
    assert set(targets) == {"sim-fast", "sim-steady", "sim-slow"}
    assert {t["dialect"] for t in targets.values()} == {"openai_chat", "anthropic", "gemini"}
    assert all(t["ok"] == 4 for t in targets.values())
    assert targets["sim-fast"]["ttft_ms"]["p50"] < targets["sim-slow"]["ttft_ms"]["p50"]
    with sqlite3.connect(db) as con:
        assert con.execute("select count(*) from requests").fetchone()[0] == 12
        assert con.execute("select status from runs").fetchone()[0] == "complete"


def test_table_output_and_show_and_runs(sim, tmp_path: Path) -> None:
    db = tmp_path / "t.db"
    base = sim.base_url("anthropic", "fast")
    res = lens(["run", "--provider", "sim", "--base-url", base, "--model", "m", "--requests", "3",
                "--max-tokens", "8", "--db", str(db), "--run-id", "tab", "--no-progress"])  # fmt: skip
    assert res.code == 0, res.err
    assert "run tab" in res.out and "TTFT ms" in res.out and "sim/m" in res.out
    shown = lens(["show", "ta", "--db", str(db)])
    assert shown.code == 0 and "run tab" in shown.out and "sim/m" in shown.out
    listed = lens(["runs", "--db", str(db), "--json"])
    (row,) = json.loads(listed.out)
    assert row["run_id"] == "tab" and row["status"] == "complete" and row["n_requests"] == 3
    again = lens(
        [
            "run",
            "--provider",
            "sim",
            "--base-url",
            base,
            "--model",
            "m",
            "--db",
            str(db),
            "--run-id",
            "tab",
        ]
    )
    assert again.code == 2 and "--run-id: a run 'tab' already exists" in again.err


def test_failed_requests_are_data_not_an_exit_code(tmp_path: Path) -> None:
    with start_sim_in_thread({"default": {"preset": "fast", "faults": {"overloaded": 1.0}}}) as bad:
        res = lens(["run", "--provider", "sim", "--base-url", bad.base_url("openai_chat"),
                    "--model", "m", "--requests", "3", "--db", str(tmp_path / "f.db"), "--json"])  # fmt: skip
    assert res.code == 0, res.err
    (t,) = json.loads(res.out)["targets"]
    assert t["ok"] == 0 and t["errors"] == {"overloaded": 3}


def test_env_var_selects_the_database(sim, tmp_path: Path) -> None:
    db = tmp_path / "env.db"
    res = lens(["run", "--provider", "sim", "--base-url", sim.base_url("openai_chat"), "--model", "m",
                "--requests", "1", "--json"], env={"LENS_DB": str(db)})  # fmt: skip
    assert res.code == 0, res.err
    assert json.loads(res.out)["db"] == str(db) and db.exists()


@pytest.mark.slow
def test_make_demo_entry_point_in_a_subprocess(tmp_path: Path) -> None:
    res = lens_proc(
        ["run", "--demo", "--no-progress"], env={"LENS_DB": str(tmp_path / "d.db")}, timeout=60
    )
    assert res.code == 0, res.err
    assert "sim-fast" in res.out and "sim-slow" in res.out and "p50 / p90 / p99" in res.out
    assert "Traceback" not in res.err
