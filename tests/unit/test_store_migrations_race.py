"""Several processes opening a fresh database at once: each migration runs exactly once and
every process gets a usable store (no "table already exists", no "database is locked")."""

from __future__ import annotations

import multiprocessing as mp
import sqlite3
import traceback
from pathlib import Path
from typing import Any

import pytest
from helpers_pg import pg_bindir, postgres_server

from lens.store import migrations

PROCESSES = 4


def _open_each(dbs: list[str], barrier: Any, results: Any) -> None:
    """Child: for each database, wait for the others, then open (create + migrate) it."""
    from lens.store.sql import open_store

    for db in dbs:
        try:
            barrier.wait(timeout=60)
            store = open_store(db)
            try:
                results.put((db, "ok", len(store.list_runs())))
            finally:
                store.close()
        except BaseException:  # report everything, the parent asserts
            results.put((db, "error", traceback.format_exc()))


def _open_concurrently(dbs: list[str]) -> dict[str, list[tuple[str, Any]]]:
    """PROCESSES processes open each fresh database in ``dbs`` at the same moment."""
    ctx = mp.get_context("spawn")  # no fork of a threaded pytest process
    barrier = ctx.Barrier(PROCESSES)
    results = ctx.Queue()
    procs = [ctx.Process(target=_open_each, args=(dbs, barrier, results)) for _ in range(PROCESSES)]
    for p in procs:
        p.start()
    out: dict[str, list[tuple[str, Any]]] = {db: [] for db in dbs}
    for _ in range(PROCESSES * len(dbs)):
        db, status, detail = results.get(timeout=120)
        out[db].append((status, detail))
    for p in procs:
        p.join(30)
    return out


def _assert_all_ok(out: dict[str, list[tuple[str, Any]]]) -> None:
    errors = [detail for rows in out.values() for status, detail in rows if status != "ok"]
    assert errors == [], errors[0]
    assert all(rows == [("ok", 0)] * PROCESSES for rows in out.values())


@pytest.mark.slow
def test_processes_opening_a_fresh_sqlite_db_at_once_all_succeed(tmp_path: Path) -> None:
    every = [m.name for m in migrations.discover()]
    dbs = [str(tmp_path / f"fresh-{i}.db") for i in range(4)]
    _assert_all_ok(_open_concurrently(dbs))
    for db in dbs:
        with sqlite3.connect(db) as con:
            names = [r[0] for r in con.execute("select name from _lens_migrations order by name")]
            tables = {
                r[0] for r in con.execute("select name from sqlite_master where type='table'")
            }
        assert names == every  # each recorded exactly once
        assert {"runs", "requests", "chunks", "settings"} <= tables


@pytest.mark.slow
@pytest.mark.skipif(pg_bindir() is None, reason="PostgreSQL not installed (make sysdeps)")
def test_processes_migrating_a_fresh_postgres_db_at_once_all_succeed() -> None:
    import sqlalchemy as sa

    every = [m.name for m in migrations.discover()]
    with postgres_server() as url:
        admin = sa.create_engine(url, isolation_level="AUTOCOMMIT")
        with admin.connect() as conn:
            for i in range(3):
                conn.exec_driver_sql(f"CREATE DATABASE fresh{i}")
        admin.dispose()
        base = url.rsplit("/", 1)[0]
        dbs = [f"{base}/fresh{i}" for i in range(3)]
        _assert_all_ok(_open_concurrently(dbs))
        for db in dbs:
            eng = sa.create_engine(db)
            with eng.connect() as conn:
                names = conn.exec_driver_sql("select name from _lens_migrations order by name")
                assert [r[0] for r in names] == every
                assert sa.inspect(conn).has_table("settings")
            eng.dispose()
