"""Retention (prune, per-store setting) and consistent SQLite backups while writing."""

from __future__ import annotations

import sqlite3
import threading
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from lens.cli import main as lens_main
from lens.embed.sink import EmbedSink, TextSample
from lens.errors import ConfigError, StoreError
from lens.record import ChunkTiming, RequestRecord
from lens.store.backup import backup_sqlite
from lens.store.base import RunInfo
from lens.store.retention import apply_retention, get_retention, parse_age, prune, set_retention
from lens.store.sql import open_store

NOW = datetime(2026, 6, 1, tzinfo=UTC)


def _fill(db: Path) -> None:
    """Runs: old (120 d, complete), recent (10 d), and a long 'running' embedded run with
    one old and one new request. Every request has 2 chunks and a text sample."""
    store = open_store(db)
    spec = [("old", 120, "complete", [120]), ("recent", 10, "complete", [10]),
            ("embed", 200, "running", [150, 1])]  # fmt: skip
    for run_id, age, status, req_ages in spec:
        start = NOW - timedelta(days=age)
        store.start_run(RunInfo(run_id, run_id, start, status="running",
                                runner="embed" if run_id == "embed" else "local"))
        recs, chunks = [], []
        for i, a in enumerate(req_ages):
            rid = f"{run_id}-{i}"
            recs.append(RequestRecord(run_id, rid, NOW - timedelta(days=a)))
            chunks += [ChunkTiming(rid, 0, 1.0, "text", 1), ChunkTiming(rid, 1, 2.0, "text", 1)]
        store.add_many(recs, chunks)
        if status != "running":
            store.finish_run(run_id, status=status)
            store.set_finished_at(run_id, start + timedelta(minutes=5))
    with store.engine.begin() as conn:
        conn.exec_driver_sql(
            "INSERT INTO text_samples (run_id, request_id, created_at, prompt_text, response_text)"
            " SELECT run_id, request_id, started_at, 'p', 'r' FROM requests"
        )
    store.close()


def _counts(db: Path) -> dict[str, int]:
    with sqlite3.connect(db) as con:
        return {t: con.execute(f"select count(*) from {t}").fetchone()[0]
                for t in ("runs", "requests", "chunks", "text_samples")}  # fmt: skip


def test_parse_age() -> None:
    assert parse_age("90d") == timedelta(days=90)
    assert parse_age("12h") == timedelta(hours=12) and parse_age("2w") == timedelta(weeks=2)
    assert parse_age("30") == timedelta(days=30) and parse_age(1.5) == timedelta(days=1.5)
    with pytest.raises(ConfigError, match="90d"):
        parse_age("ninety days")


def test_prune_removes_old_runs_and_old_rows_of_running_runs(tmp_path: Path) -> None:
    db = tmp_path / "s.db"
    _fill(db)
    store = open_store(db)
    try:
        dry = prune(store, "90d", now=NOW, dry_run=True)
        assert (dry.runs, dry.requests, dry.chunks, dry.text_samples) == (["old"], 2, 4, 2)
        assert _counts(db) == {"runs": 3, "requests": 4, "chunks": 8, "text_samples": 4}
        res = prune(store, "90d", now=NOW)
        assert (res.runs, res.requests, res.chunks, res.text_samples) == (["old"], 2, 4, 2)
        assert _counts(db) == {"runs": 2, "requests": 2, "chunks": 4, "text_samples": 2}
        with sqlite3.connect(db) as con:
            left = sorted(r[0] for r in con.execute("select request_id from requests"))
            orphans = con.execute("select count(*) from chunks c left join requests r on "
                                  "c.run_id = r.run_id and c.request_id = r.request_id "
                                  "where r.request_id is null").fetchone()[0]  # fmt: skip
        assert left == ["embed-1", "recent-0"] and orphans == 0
        assert prune(store, "90d", now=NOW).requests == 0  # idempotent
    finally:
        store.close()


def test_retention_setting_drives_prune_and_embedded_sinks(tmp_path: Path) -> None:
    db = tmp_path / "s.db"
    _fill(db)
    store = open_store(db)
    try:
        assert get_retention(store) is None and apply_retention(store, now=NOW) is None
        with pytest.raises(ConfigError, match="retention"):
            prune(store, now=NOW)
        set_retention(store, "5d")
        assert get_retention(store) == timedelta(days=5)
        res = prune(store, now=NOW)  # no age: the setting
        assert sorted(res.runs) == ["old", "recent"] and _counts(db)["requests"] == 1
        set_retention(store, None)
        assert get_retention(store) is None
        set_retention(store, "1d")
    finally:
        store.close()
    # An embedded sink opening the store applies its retention (real clock: all is old now).
    sink = EmbedSink(store=str(db), run_id="fresh")
    sink.submit(RequestRecord("fresh", "f-1", datetime.now(UTC)), (), TextSample("x", "y"))
    sink.close()
    with sqlite3.connect(db) as con:
        assert [r[0] for r in con.execute("select request_id from requests")] == ["f-1"]


def test_prune_and_retention_cli(tmp_path: Path, capsys) -> None:
    db = tmp_path / "s.db"
    _fill(db)
    assert lens_main(["prune", "--older-than", "10000d", "--db", str(db), "--dry-run"]) == 0
    assert "would delete 0 runs" in capsys.readouterr().out
    assert lens_main(["prune", "--set-retention", "off", "--db", str(db)]) == 0
    assert "retention: off" in capsys.readouterr().out
    assert lens_main(["prune", "--db", str(db)]) == 2  # no age and no setting: a LensError
    assert "--older-than" in capsys.readouterr().err
    assert lens_main(["prune", "--set-retention", "36500d", "--db", str(db), "--json"]) == 0
    out = capsys.readouterr().out
    assert "retention: 36500 days" in out and '"requests": 0' in out
    assert _counts(db)["requests"] == 4


def test_backup_is_consistent_while_a_writer_commits(tmp_path: Path) -> None:
    db = tmp_path / "live.db"
    store = open_store(db)
    store.start_run(RunInfo("w", "w", datetime.now(UTC)))
    stop = threading.Event()
    written = [0]

    def writer() -> None:
        i = 0
        while not stop.is_set():
            recs = [RequestRecord("w", f"q{i}-{k}", datetime.now(UTC)) for k in range(20)]
            chunks = [ChunkTiming(r.request_id, j, float(j), "text", 1) for r in recs for j in range(5)]
            store.add_many(recs, chunks)  # one transaction: 20 requests + 100 chunks
            written[0] += 20
            i += 1

    t = threading.Thread(target=writer)
    t.start()
    try:
        while written[0] < 200:
            threading.Event().wait(0.01)
        results = [backup_sqlite(db, tmp_path / f"copy{i}.db") for i in range(3)]
    finally:
        stop.set()
        t.join()
        store.close()
    for res in results:
        assert res.integrity == "ok" and res.requests >= 200
        with sqlite3.connect(res.path) as con:
            assert con.execute("pragma integrity_check").fetchone()[0] == "ok"
            n_req = con.execute("select count(*) from requests").fetchone()[0]
            n_chunks = con.execute("select count(*) from chunks").fetchone()[0]
            assert con.execute("pragma journal_mode").fetchone()[0] == "delete"
        assert n_chunks == 5 * n_req and n_req % 20 == 0  # whole transactions only
    assert results[-1].requests <= written[0]
    assert not list(tmp_path.glob(".copy*"))  # no temp files left


def test_backup_cli_and_refusals(tmp_path: Path, capsys) -> None:
    db = tmp_path / "s.db"
    _fill(db)
    (tmp_path / "bk").mkdir()
    assert lens_main(["backup", str(tmp_path / "bk"), "--db", str(db)]) == 0
    out = capsys.readouterr().out
    assert "backed up 4 requests" in out and "integrity ok" in out
    with sqlite3.connect(tmp_path / "bk" / "s.db") as con:  # a directory gets the store's name
        assert con.execute("select count(*) from chunks").fetchone()[0] == 8
    with pytest.raises(ConfigError, match="pg_dump"):
        backup_sqlite("postgresql://u@h/db", tmp_path / "x.db")
    with pytest.raises(ConfigError, match="itself"):
        backup_sqlite(db, db)
    with pytest.raises(StoreError, match="no SQLite store"):
        backup_sqlite(tmp_path / "missing.db", tmp_path / "y.db")
