from __future__ import annotations

import sqlite3
import subprocess
import sys
import threading
from pathlib import Path

import pandas as pd
import pytest
import sqlalchemy as sa
from helpers_store import make_chunks, make_record, run_info

from lens.analysis.frames import chunks_to_frame, records_to_frame
from lens.errors import NotFoundError, StoreError
from lens.record import CHUNK_FIELDS, REQUEST_FIELDS
from lens.store.sql import SQLStore, open_store


@pytest.fixture
def store(tmp_path: Path):
    s = open_store(tmp_path / "lens.db")
    yield s
    s.close()


def test_pragmas_wal_normal_foreign_keys(store: SQLStore) -> None:
    with store.engine.connect() as conn:
        assert conn.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
        assert conn.exec_driver_sql("PRAGMA synchronous").scalar() == 1  # NORMAL
        assert conn.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1


def test_tables_follow_record_fields(store: SQLStore) -> None:
    insp = sa.inspect(store.engine)
    cols = [c["name"] for c in insp.get_columns("requests")]
    assert cols == [c.name for c in REQUEST_FIELDS]
    nullable = {c["name"]: c["nullable"] for c in insp.get_columns("requests")}
    for c in REQUEST_FIELDS:
        if c.name not in ("run_id", "request_id"):
            assert nullable[c.name] == c.nullable, c.name
    assert [c["name"] for c in insp.get_columns("chunks")] == [
        "run_id",
        *(c.name for c in CHUNK_FIELDS),
    ]


def test_add_flush_roundtrip_frames_equal(store: SQLStore) -> None:
    store.start_run(run_info("r1"))
    recs = [make_record("r1", i) for i in range(30)]
    chunks = [c for r in recs for c in make_chunks(r)]
    for r in recs:
        store.add(r, [c for c in chunks if c.request_id == r.request_id])
    store.flush()
    got = store.requests_frame("r1").reset_index(drop=True)
    want = records_to_frame(recs).sort_values(["started_at", "request_id"]).reset_index(drop=True)
    pd.testing.assert_frame_equal(got, want)
    got_c = store.chunks_frame("r1").reset_index(drop=True)
    want_c = chunks_to_frame(chunks).sort_values(["request_id", "index"]).reset_index(drop=True)
    pd.testing.assert_frame_equal(got_c, want_c)
    assert str(got["started_at"].dt.tz) == "UTC"
    assert got["prompt_hash"].tolist()[0] == ""  # empty string stays empty, not null
    assert store.records("r1")[3] == recs[3]


def test_add_many_and_run_lifecycle(store: SQLStore) -> None:
    store.start_run(run_info("r1", tags={"env": "ci"}, spec_json='{"name": "x"}'))
    recs = [make_record("r1", i) for i in range(5)]
    store.add_many(recs, [c for r in recs for c in make_chunks(r)])
    run = store.get_run("r1")
    assert (run.status, run.n_requests, run.tags, run.extra["pid"]) == (
        "running",
        5,
        {"env": "ci"},
        __import__("os").getpid(),
    )
    store.finish_run("r1", status="complete", skipped=2)
    run = store.get_run("r1")
    assert run.status == "complete" and run.skipped == 2 and run.finished_at is not None
    assert run.finished_at.tzinfo is not None
    with pytest.raises(StoreError, match="unknown run status 'done'"):
        store.finish_run("r1", status="done")
    with pytest.raises(NotFoundError, match="no run 'nope'"):
        store.finish_run("nope", status="complete")


def test_duplicate_run_id_is_a_clear_error(store: SQLStore) -> None:
    store.start_run(run_info("r1"))
    with pytest.raises(StoreError, match=r"already exists.*\n  fix: choose another --run-id"):
        store.start_run(run_info("r1"))


def test_resolve_prefix_latest_ambiguous(store: SQLStore) -> None:
    from datetime import timedelta

    a = run_info("20260101-aaa")
    b = run_info("20260101-abb")
    b.started_at = a.started_at + timedelta(seconds=5)
    store.start_run(a)
    store.start_run(b)
    assert store.resolve_run_id("20260101-aa") == "20260101-aaa"
    assert store.resolve_run_id("latest") == "20260101-abb"
    with pytest.raises(NotFoundError, match="ambiguous: 20260101-aaa, 20260101-abb"):
        store.resolve_run_id("20260101-a")
    with pytest.raises(NotFoundError, match=r"no run 'zzz'.*\n  fix: list runs with `lens runs`"):
        store.get_run("zzz")
    assert [r.run_id for r in store.list_runs()] == ["20260101-abb", "20260101-aaa"]
    assert store.has_run("20260101-aaa") and not store.has_run("20260101-a")


def test_chunk_rows_need_their_request(store: SQLStore) -> None:
    store.start_run(run_info("r1"))
    rec = make_record("r1", 1)
    with pytest.raises(sa.exc.IntegrityError):
        with store.engine.begin() as conn:
            conn.exec_driver_sql(
                'INSERT INTO chunks (run_id, request_id, "index", t_ms, kind, n_tokens) VALUES (?,?,?,?,?,?)',
                ("r1", rec.request_id, 0, 1.0, "text", 1),
            )


def test_writer_error_surfaces_on_flush_and_keeps_earlier_rows(store: SQLStore) -> None:
    store.start_run(run_info("r1"))
    store.add(make_record("r1", 1), [])
    store.flush()
    store.add(make_record("r1", 1), [])  # duplicate primary key
    with pytest.raises(StoreError, match="writing results failed: IntegrityError"):
        store.flush()
    assert len(store.requests_frame("r1")) == 1


def test_add_from_many_threads_commits_everything(store: SQLStore) -> None:
    store.start_run(run_info("r1"))

    def work(k: int) -> None:
        for i in range(50):
            r = make_record("r1", k * 1000 + i)
            store.add(r, make_chunks(r, 2))

    threads = [threading.Thread(target=work, args=(k,)) for k in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    store.flush()
    assert len(store.requests_frame("r1")) == 200
    assert len(store.chunks_frame("r1")) == 400


def test_dead_running_run_is_reaped_as_incomplete(tmp_path: Path) -> None:
    db = tmp_path / "lens.db"
    code = (
        "import os\n"
        "from helpers_store import run_info\n"
        "from lens.store.sql import open_store\n"
        f"s = open_store({str(db)!r}); s.start_run(run_info('dead')); os._exit(0)\n"
    )
    env_path = str(Path(__file__).resolve().parents[1])
    subprocess.run(
        [sys.executable, "-c", code], check=True, env={"PYTHONPATH": env_path, "PATH": ""}
    )
    with sqlite3.connect(db) as con:
        assert con.execute("select status from runs").fetchone()[0] == "running"
    s = open_store(db)
    try:
        assert s.get_run("dead").status == "incomplete"
        s.start_run(run_info("alive"))  # this process is alive: stays running
        assert s.reap_dead_runs() == []
        assert s.get_run("alive").status == "running"
    finally:
        s.close()


def test_unwritable_location_is_a_store_error(tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("x")
    with pytest.raises(StoreError, match=r"cannot create the directory.*\n  fix: pass --db PATH"):
        open_store(blocker / "sub" / "lens.db")
    with pytest.raises(StoreError, match="cannot open the results store"):
        open_store("nosuchdialect://x/y")


def test_delete_run_removes_rows(store: SQLStore) -> None:
    store.start_run(run_info("r1"))
    r = make_record("r1", 1)
    store.add_many([r], make_chunks(r))
    store.delete_run("r1")
    assert not store.has_run("r1")
    assert store.requests_frame().empty and store.chunks_frame().empty


def test_add_many_of_nothing_is_a_noop(store: SQLStore) -> None:
    store.start_run(run_info("r1"))
    store.add_many([], [])
    assert store.get_run("r1").n_requests == 0
