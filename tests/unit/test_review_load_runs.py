"""``lens.load(db, runs=[...])`` takes run ids as the CLI does, and a wrong one is an error.

Newcomer review: ``lens.load(db, runs=["latest"])`` (``lens show latest`` works) and a run
id prefix returned an empty frame, and so did a mistyped id: no way to tell "no such run"
from "a run without rows".
"""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest
from helpers_store import make_record

import lens
from lens.errors import NotFoundError
from lens.record import RunInfo
from lens.store.sql import open_store


@pytest.fixture
def db(tmp_path: Path) -> Path:
    path = tmp_path / "s.db"
    store = open_store(path)
    for i, rid in enumerate(("20260101-000000-aaaaaa", "20260102-000000-bbbbbb")):
        store.start_run(RunInfo(run_id=rid, name="n", started_at=datetime(2026, 1, 1 + i, tzinfo=UTC)))
        store.add_many([make_record(rid, k) for k in range(2 + i)], [])
        store.finish_run(rid, status="complete")
    store.close()
    return path


def test_latest_and_prefixes_resolve_as_in_the_cli(db: Path) -> None:
    assert set(lens.load(db, runs=["latest"])["run_id"]) == {"20260102-000000-bbbbbb"}
    assert len(lens.load(db, runs=["20260101"])) == 2
    assert len(lens.load(db, runs="20260102-000000-bbbbbb")) == 3


@pytest.mark.parametrize("rid, words", [("no-such-run", "matches no run"), ("2026", "is ambiguous")])
def test_a_run_id_that_names_no_single_run_is_an_error(db: Path, rid: str, words: str) -> None:
    with pytest.raises(NotFoundError) as info:
        lens.load(db, runs=[rid])
    assert f"run '{rid}' {words}" in str(info.value) and str(db) in str(info.value)
