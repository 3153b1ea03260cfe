from __future__ import annotations

import shutil
import sqlite3
from pathlib import Path

import pytest
import sqlalchemy as sa

from lens.errors import StoreError
from lens.store import migrations
from lens.store.schema import metadata
from lens.store.sql import open_store


def _engine(path: Path) -> sa.Engine:
    return sa.create_engine(f"sqlite:///{path}")


def test_rerun_is_a_noop(tmp_path: Path) -> None:
    eng = _engine(tmp_path / "a.db")
    every = [m.name for m in migrations.discover()]
    assert every[0] == "0001_initial"
    assert migrations.migrate(eng) == every
    with eng.connect() as conn:
        before = conn.exec_driver_sql("select name, applied_at from _lens_migrations").all()
    assert migrations.migrate(eng) == []
    with eng.connect() as conn:
        assert conn.exec_driver_sql("select name, applied_at from _lens_migrations").all() == before


def test_migrated_schema_matches_schema_module(tmp_path: Path) -> None:
    # Catches a record field added without a migration that adds its column.
    eng = _engine(tmp_path / "a.db")
    migrations.migrate(eng)
    insp = sa.inspect(eng)
    for table in ("runs", "requests", "chunks"):
        db_cols = [c["name"] for c in insp.get_columns(table)]
        assert db_cols == [c.name for c in metadata.tables[table].columns], table
    fks = insp.get_foreign_keys("chunks")
    assert fks[0]["referred_table"] == "requests"
    assert fks[0]["constrained_columns"] == ["run_id", "request_id"]


def test_database_from_migration_n_upgrades_and_keeps_rows(tmp_path: Path) -> None:
    mig_dir = tmp_path / "migs"
    mig_dir.mkdir()
    shutil.copy(migrations.MIGRATIONS_DIR / "0001_initial.py", mig_dir)
    (mig_dir / "0002_add_note.py").write_text(
        "def up(conn):\n"
        "    conn.exec_driver_sql('ALTER TABLE runs ADD COLUMN note TEXT')\n"
        "    conn.exec_driver_sql(\"UPDATE runs SET note = 'upgraded'\")\n"
    )
    (mig_dir / "README.txt").write_text("not a migration")
    db = tmp_path / "old.db"
    eng = _engine(db)
    assert migrations.migrate(eng, directory=mig_dir, upto="0001") == ["0001_initial"]
    with eng.begin() as conn:
        conn.exec_driver_sql(
            "INSERT INTO runs (run_id, name, started_at, status, host, user, region, runner,"
            " lens_version, spec_json, tags_json, extra_json, skipped)"
            " VALUES ('r', 'n', '2026-01-01 00:00:00.000000', 'complete', '', '', 'local',"
            " 'local', '', '{}', '{}', '{}', 0)"
        )
    assert migrations.migrate(eng, directory=mig_dir) == ["0002_add_note"]
    assert migrations.migrate(eng, directory=mig_dir) == []
    with sqlite3.connect(db) as con:
        assert con.execute("select run_id, note from runs").fetchall() == [("r", "upgraded")]
        names = [r[0] for r in con.execute("select name from _lens_migrations order by name")]
    assert names == ["0001_initial", "0002_add_note"]


def test_failed_migration_rolls_back_and_names_itself(tmp_path: Path) -> None:
    mig_dir = tmp_path / "migs"
    mig_dir.mkdir()
    shutil.copy(migrations.MIGRATIONS_DIR / "0001_initial.py", mig_dir)
    (mig_dir / "0002_broken.py").write_text(
        "def up(conn):\n"
        "    conn.exec_driver_sql('CREATE TABLE half (x INTEGER)')\n"
        "    conn.exec_driver_sql('ALTER TABLE nosuch ADD COLUMN y TEXT')\n"
    )
    eng = _engine(tmp_path / "a.db")
    with pytest.raises(StoreError, match="migration 0002_broken failed"):
        migrations.migrate(eng, directory=mig_dir)
    with eng.connect() as conn:
        assert migrations.applied(conn) == ["0001_initial"]
    assert "half" not in sa.inspect(eng).get_table_names()  # DDL rolled back with it


def test_duplicate_numbers_and_missing_up_are_errors(tmp_path: Path) -> None:
    (tmp_path / "0001_a.py").write_text("def up(conn): pass\n")
    (tmp_path / "0001_b.py").write_text("def up(conn): pass\n")
    with pytest.raises(StoreError, match="two migrations share the number 0001"):
        migrations.discover(tmp_path)
    other = tmp_path / "o"
    other.mkdir()
    (other / "0001_noup.py").write_text("x = 1\n")
    with pytest.raises(StoreError, match="defines no up"):
        migrations.migrate(_engine(tmp_path / "b.db"), directory=other)


def test_open_store_migrates_an_existing_older_db(tmp_path: Path) -> None:
    db = tmp_path / "lens.db"
    eng = _engine(db)
    with eng.begin() as conn:
        migrations.applied(conn)  # only the applied table: a "migration 0" database
    s = open_store(db)
    try:
        assert {"runs", "requests", "chunks"} <= set(sa.inspect(s.engine).get_table_names())
    finally:
        s.close()
