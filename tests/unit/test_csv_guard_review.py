"""Review of the CSV formula guard: what lens's CSV readers take off, and what they leave.

The guard (lens.store.files.csv_guard) puts a ``'`` only before a cell starting with
``= + - @``, tab, carriage return or ``'``. So a cell a guarded export holds starting with
``'`` always has one of those right after it; a cell like ``'messages' is a required
property`` (OpenAI's error text) can only come from a file written before the guard, or by
hand, and must be read as it stands.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from helpers_store import make_chunks, make_record, run_info

import lens.store.files as files_mod
from lens.importers import import_file
from lens.store.files import export_run
from lens.store.files_import import read_run
from lens.store.sql import open_store

OPENAI_ERROR = "'messages' is a required property"
QUOTED = {  # text a server or a user may legitimately start with a quote
    "error": OPENAI_ERROR,
    "server_model": "'gpt-x' (preview)",
    "routing": "'",
    "session_id": "'x'",
}


def _export(tmp_path: Path, *, guarded: bool, monkeypatch: pytest.MonkeyPatch) -> Path:
    s = open_store(tmp_path / "src.db")
    try:
        s.start_run(run_info("r1"))
        recs = [make_record("r1", i) for i in range(3)]
        for name, value in QUOTED.items():
            setattr(recs[1], name, value)
        s.add_many(recs, [c for r in recs for c in make_chunks(r, 2)])
        s.finish_run("r1", status="complete")
        out = tmp_path / "run.csv"
        if not guarded:  # as lens wrote CSV before the guard existed
            monkeypatch.setattr(files_mod, "csv_guard", lambda text: text)
        export_run(s, "r1", out)
        monkeypatch.undo()
        return out
    finally:
        s.close()


@pytest.mark.parametrize("guarded", [True, False], ids=["this-lens", "older-lens"])
def test_text_starting_with_a_quote_reads_back_whole(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, guarded: bool
) -> None:
    out = _export(tmp_path, guarded=guarded, monkeypatch=monkeypatch)
    raw = out.read_text(encoding="utf-8")
    assert ("''messages'" in raw) is guarded  # the file is what each version writes
    _, req, _ = read_run(out)
    run = import_file(out)
    for name, value in QUOTED.items():
        assert req[name].iloc[1] == value, name
        assert run.requests[name].iloc[1] == value, name


def test_export_import_export_is_byte_identical(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    first = _export(tmp_path, guarded=True, monkeypatch=monkeypatch)
    dest = open_store(tmp_path / "dest.db")
    try:
        from lens.store.files_import import import_run

        assert import_run(dest, first) == "r1"
        again = tmp_path / "again" / "run.csv"
        again.parent.mkdir()
        export_run(dest, "r1", again)
    finally:
        dest.close()
    assert again.read_bytes() == first.read_bytes()
    for suffix in (".chunks.csv",):
        a = first.with_name("run" + suffix)
        b = again.with_name("run" + suffix)
        if a.exists():
            assert b.read_bytes() == a.read_bytes()
