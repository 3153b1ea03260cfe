"""Imported runs go into a store whole, and lens's commands work on them."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest
from helpers_cli import lens

from lens.importers import import_file
from lens.importers.store import save
from lens.store.sql import SQLStore, open_store

PEERS = Path(__file__).resolve().parents[1] / "data" / "peers"
AIPERF = PEERS / "aiperf" / "profile_export.jsonl"
VLLM = next((PEERS / "vllm").glob("*.json"))


@pytest.fixture
def db(tmp_path: Path) -> str:
    path = tmp_path / "s.db"
    store = open_store(path)
    try:
        save(store, import_file(AIPERF), run_id="base")
        save(store, import_file(VLLM), run_id="cand")
    finally:
        store.close()
    return str(path)


def test_saved_run_keeps_rows_chunks_source_and_times(db: str) -> None:
    run = import_file(AIPERF)
    store = open_store(db)
    try:
        info = store.get_run("base")
        assert info.status == "complete" and info.runner == "aiperf"
        assert info.extra["source_tool"] == "aiperf" and info.extra["source_version"] == "0.13.0"
        assert info.extra["import_notes"] == run.notes
        assert info.finished_at is not None
        span = (info.finished_at - info.started_at).total_seconds()
        assert 0 < span < 60  # the run's own span, not the time of the import
        spec = json.loads(info.spec_json)
        assert spec["targets"] == [{"name": "meta-llama/Llama-3.1-8B-Instruct",
                                    "provider": "unknown",
                                    "model": "meta-llama/Llama-3.1-8B-Instruct"}]
        back = store.requests_frame("base")
        ours = run.requests.set_index("request_id")["ttft_ms"]
        stored = back.set_index("request_id")["ttft_ms"].reindex(ours.index)
        assert len(back) == 24
        pd.testing.assert_series_equal(stored, ours)
        assert len(store.chunks_frame("base")) == len(run.chunks)
    finally:
        store.close()


def test_a_failed_save_leaves_nothing(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    store = open_store(tmp_path / "s.db")
    try:
        def boom(*_a: object, **_k: object) -> None:
            raise RuntimeError("disk full")

        monkeypatch.setattr(SQLStore, "add_many", boom)
        with pytest.raises(RuntimeError):
            save(store, import_file(AIPERF), run_id="x")
        assert [r.run_id for r in store.list_runs()] == []
    finally:
        store.close()


def test_show_compare_and_gate_work_on_imported_runs(db: str) -> None:
    show = lens(["show", "base", "--db", db])
    assert show.code == 0, show.err
    assert "rate_limited 1, timeout 1" in show.out and "155 / 172 / 180" in show.out
    cmp = lens(["compare", "base", "cand", "--db", db, "--markdown"])
    assert cmp.code == 0, cmp.err
    assert "| TTFT | p50 |" in cmp.out.replace("  ", " ")
    gate = lens(["gate", "--baseline", "base", "--candidate", "cand", "--db", db,
                 "--max-p95-ttft-regression", "0.5"])
    assert gate.code == 0, gate.out + gate.err
    assert "lens gate: PASS" in gate.out
