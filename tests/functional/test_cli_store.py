"""`lens runs`, `lens show`, `lens export` and `lens import` on a run fired at the sim."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest
from helpers_cli import lens

from lens.sim import start_sim_in_thread
from lens.store.files_import import read_run
from lens.store.sql import open_store


@pytest.fixture(scope="module")
def fired(tmp_path_factory: pytest.TempPathFactory) -> Path:
    db = tmp_path_factory.mktemp("store") / "src.db"
    with start_sim_in_thread(
        {"default": {"preset": "fast", "faults": {"rate_limited": 0.3}}}, seed=3
    ) as sim:
        res = lens(["run", "--provider", "sim", "--base-url", sim.base_url("openai_chat"), "--model", "m",
                    "--requests", "12", "--concurrency", "3", "--max-tokens", "12", "--warmup", "1",
                    "--db", str(db), "--run-id", "src-run", "--tag", "a=b", "--json"])  # fmt: skip
    assert res.code == 0, res.err
    return db


@pytest.mark.parametrize("fmt", ["parquet", "csv", "jsonl"])
def test_export_import_via_cli_round_trips(fired: Path, tmp_path: Path, fmt: str) -> None:
    out = tmp_path / f"exp.{fmt}"
    res = lens(["export", "src", "-o", str(out), "--db", str(fired)])
    assert res.code == 0, res.err
    assert (
        out.exists()
        and (tmp_path / f"exp.chunks.{fmt}").exists()
        and (tmp_path / "exp.meta.json").exists()
    )
    dest = tmp_path / "dest.db"
    res = lens(["import", str(out), "--db", str(dest)])
    assert res.code == 0 and "imported run src-run" in res.out
    a, b = open_store(fired), open_store(dest)
    try:
        pd.testing.assert_frame_equal(a.requests_frame("src-run"), b.requests_frame("src-run"))
        pd.testing.assert_frame_equal(a.chunks_frame("src-run"), b.chunks_frame("src-run"))
        statuses = set(a.requests_frame("src-run")["status"].astype(str))
        assert "rate_limited" in statuses and "ok" in statuses  # failures survive too
    finally:
        a.close()
        b.close()
    _, req, chunks = read_run(out)
    assert len(req) == 13 and len(chunks) > 13
    # summaries agree between the source and the imported copy
    s1 = json.loads(lens(["show", "src-run", "--db", str(fired), "--json"]).out)
    s2 = json.loads(lens(["show", "src-run", "--db", str(dest), "--json"]).out)
    assert s1["targets"] == s2["targets"]


def test_format_flag_overrides_suffix_and_rename_on_import(fired: Path, tmp_path: Path) -> None:
    out = tmp_path / "exp.data"
    assert (
        lens(["export", "latest", "-o", str(out), "--format", "jsonl", "--db", str(fired)]).code
        == 0
    )
    first = out.read_text().splitlines()[0]
    assert json.loads(first)["run_id"] == "src-run"
    dest = tmp_path / "d.db"
    res = lens(["import", str(out), "--format", "jsonl", "--run-id", "copy", "--db", str(dest)])
    assert res.code == 0, res.err
    runs = json.loads(lens(["runs", "--db", str(dest), "--json"]).out)
    assert [(r["run_id"], r["status"], r["n_requests"], r["tags"]) for r in runs] == [
        ("copy", "complete", 13, {"a": "b"})
    ]


def test_runs_table_lists_runs(fired: Path) -> None:
    res = lens(["runs", "--db", str(fired)])
    assert res.code == 0 and "src-run" in res.out and "complete" in res.out and "a=b" in res.out


def test_runs_on_empty_db(tmp_path: Path) -> None:
    res = lens(["runs", "--db", str(tmp_path / "e.db")])
    assert res.code == 0 and "no runs in" in res.out
