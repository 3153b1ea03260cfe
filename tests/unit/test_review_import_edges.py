"""Adversarial review of ``lens import``: what got past the #17 hardening.

- a whole number too large for the store (> 2**63 - 1) in a count column was a raw
  pandas ``TypeError`` traceback instead of the one-message refusal;
- ``--run-id latest`` was accepted: ``lens show latest`` then names another run, and when
  storing the rows failed, the rollback ``delete_run("latest")`` removed the *newest other*
  run of the store instead of the half-imported one;
- the run id was printed raw by ``lens import`` (terminal controls reached the terminal).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from helpers_cli import lens
from helpers_store import make_chunks, make_record, run_info

from lens.errors import StoreError
from lens.importers import PeerImportError, import_file
from lens.importers.store import save
from lens.record import RunInfo
from lens.store.files import export_run
from lens.store.sql import open_store


@pytest.fixture
def exported(tmp_path: Path) -> Iterator[Callable[[str], Path]]:
    src = open_store(tmp_path / "src.db")
    src.start_run(run_info("r1"))
    recs = [make_record("r1", i) for i in range(4)]
    src.add_many(recs, [c for r in recs for c in make_chunks(r, 2)])
    src.finish_run("r1", status="complete")

    def make(fmt: str) -> Path:
        out = tmp_path / f"out-{fmt}" / f"run.{fmt}"
        export_run(src, "r1", out)
        return out

    yield make
    src.close()


@pytest.mark.parametrize("value", ["99999999999999999999999", "9223372036854775808", "1e30"])
def test_a_count_too_large_to_store_is_a_clear_refusal(exported, tmp_path: Path, value: str) -> None:
    path = exported("jsonl")
    lines = path.read_text().splitlines()
    row = json.loads(lines[1])
    row["output_tokens"] = 0  # placeholder, replaced textually to keep the exact digits
    lines[1] = json.dumps(row).replace('"output_tokens": 0', f'"output_tokens": {value}')
    path.write_text("\n".join(lines) + "\n")
    with pytest.raises(PeerImportError) as info:
        import_file(path)
    assert "output_tokens" in str(info.value) and "row 2" in str(info.value)
    res = lens(["import", str(path), "--db", str(tmp_path / "d.db")])
    assert res.code == 2 and "Traceback" not in res.err, res.err
    assert "output_tokens" in res.err and "fix:" in res.err


def test_latest_is_not_a_run_id(exported, tmp_path: Path) -> None:
    db = tmp_path / "d.db"
    res = lens(["import", str(exported("jsonl")), "--db", str(db), "--run-id", "latest"])
    assert res.code == 2 and "Traceback" not in res.err, res.err
    assert "latest" in res.err and "--run-id" in res.err
    store = open_store(db)
    try:
        assert store.list_runs() == []
    finally:
        store.close()


def test_a_failed_import_never_deletes_another_run(exported, tmp_path: Path, monkeypatch) -> None:
    store = open_store(tmp_path / "d.db")
    try:
        # newer than the imported run, so 'latest' resolves to it
        store.start_run(RunInfo(run_id="precious", name="p", started_at=datetime(2027, 1, 1, tzinfo=UTC)))
        store.add_many([make_record("precious", 0)], [])
        store.finish_run("precious", status="complete")
        run = import_file(exported("jsonl"))
        # A run id that resolves to another run (a prefix, or the word 'latest') must not
        # steer the rollback: the store fails mid-import (disk full, a lost connection...).
        def boom(*a, **k):
            raise StoreError("disk full")
        monkeypatch.setattr(store, "add_many", boom)
        for rid in ("latest", "r1"):
            with pytest.raises(StoreError):
                save(store, run, run_id=rid)
        monkeypatch.undo()
        ids = [r.run_id for r in store.list_runs()]
        assert ids == ["precious"]
        assert len(store.requests_frame("precious")) == 1
    finally:
        store.close()


def test_import_prints_the_run_id_without_terminal_controls(exported, tmp_path: Path) -> None:
    evil = "ev\x1b]0;TITLE\x07il\x1b[2J"
    res = lens(["import", str(exported("jsonl")), "--db", str(tmp_path / "d.db"), "--run-id", evil])
    assert "\x1b" not in res.out + res.err and "\x07" not in res.out + res.err
