from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest
from helpers_store import make_chunks, make_record, run_info

from lens.errors import ConfigError, NotFoundError, StoreError
from lens.record import CHUNK_FIELDS, REQUEST_FIELDS
from lens.store.files import export_run, read_frame, run_files, write_frame
from lens.store.files_import import import_run, read_run
from lens.store.sql import SQLStore, open_store


@pytest.fixture
def store(tmp_path: Path):
    s = open_store(tmp_path / "src.db")
    s.start_run(run_info("r1", tags={"k": "v"}, spec_json='{"name": "t"}'))
    recs = [make_record("r1", i) for i in range(25)]
    # Edge values: unicode, commas/quotes/newlines, a literal "None" string, huge/small floats.
    recs[1].error = 'boom, "quoted"\nline two — ünïcode'
    recs[2].prompt_id = "None"
    recs[3].ttft_ms = 1e-300
    recs[4].e2e_ms = 1.7976931348623157e308
    recs[5].model = "123"  # numeric-looking category
    s.add_many(recs, [c for r in recs for c in make_chunks(r, 4)])
    s.finish_run("r1", status="complete", skipped=3)
    yield s
    s.close()


@pytest.mark.parametrize("fmt", ["parquet", "csv", "jsonl"])
def test_export_import_round_trip_loses_nothing(store: SQLStore, tmp_path: Path, fmt: str) -> None:
    out = tmp_path / "out" / f"run.{fmt}"
    files = export_run(store, "r1", out)
    assert files.requests == out
    assert files.chunks == tmp_path / "out" / f"run.chunks.{fmt}"
    assert files.meta == tmp_path / "out" / "run.meta.json"
    meta = json.loads(files.meta.read_text())
    assert (
        meta["format"] == fmt and meta["n_requests"] == 25 and meta["run"]["status"] == "complete"
    )

    _, req, chunks = read_run(out)
    want_req = store.requests_frame("r1").reset_index(drop=True)
    want_chunks = store.chunks_frame("r1").reset_index(drop=True)
    pd.testing.assert_frame_equal(req, want_req)
    pd.testing.assert_frame_equal(chunks, want_chunks)
    assert req["error"].iloc[1] == 'boom, "quoted"\nline two — ünïcode'
    assert req["prompt_id"].iloc[2] == "None"
    assert req["prompt_hash"].iloc[0] == "" and req["dns_ms"].isna().all()
    assert req["conn_reused"].isna().sum() == want_req["conn_reused"].isna().sum() > 0

    dest = open_store(tmp_path / "dest.db")
    try:
        assert import_run(dest, out) == "r1"
        pd.testing.assert_frame_equal(dest.requests_frame("r1"), want_req)
        pd.testing.assert_frame_equal(dest.chunks_frame("r1"), want_chunks)
        a, b = store.get_run("r1"), dest.get_run("r1")
        assert (b.status, b.skipped, b.tags, b.spec_json, b.started_at, b.finished_at) == (
            a.status, a.skipped, a.tags, a.spec_json, a.started_at, a.finished_at,
        )  # fmt: skip
        with pytest.raises(StoreError, match="already exists"):
            import_run(dest, out)
        assert import_run(dest, files.meta, run_id="copy") == "copy"
        assert len(dest.requests_frame("copy")) == 25
    finally:
        dest.close()


def test_empty_frames_round_trip(tmp_path: Path) -> None:
    from lens.analysis.frames import conform

    for fmt in ("parquet", "csv", "jsonl"):
        empty = conform(pd.DataFrame(columns=[c.name for c in REQUEST_FIELDS]), REQUEST_FIELDS)
        write_frame(empty, tmp_path / f"e.{fmt}", fmt, REQUEST_FIELDS)
        back = read_frame(tmp_path / f"e.{fmt}", fmt, REQUEST_FIELDS)
        assert list(back.columns) == [c.name for c in REQUEST_FIELDS] and back.empty


def test_run_files_from_any_sibling(tmp_path: Path) -> None:
    a = run_files(tmp_path / "x.csv")
    assert run_files(tmp_path / "x.chunks.csv") == a
    (tmp_path / "x.meta.json").write_text(json.dumps({"format": "csv"}))
    assert run_files(tmp_path / "x.meta.json") == a


def test_format_errors_name_the_flag(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"--format: cannot tell the format of .*x\.txt"):
        run_files(tmp_path / "x.txt")
    with pytest.raises(ConfigError, match="--format: unknown format 'xml'"):
        run_files(tmp_path / "x.csv", "xml")


def test_import_errors(store: SQLStore, tmp_path: Path) -> None:
    with pytest.raises(NotFoundError, match=r"nope\.parquet: file not found"):
        import_run(store, tmp_path / "nope.parquet")
    bad = tmp_path / "bad.csv"
    bad.write_text("a,b\n1,2\n")
    with pytest.raises(StoreError, match="missing required columns"):
        read_run(bad)
    # rows of two runs without metadata are refused
    from lens.analysis.frames import records_to_frame

    two = records_to_frame([make_record("a", 1), make_record("b", 2)])
    write_frame(two, tmp_path / "two.jsonl", "jsonl", REQUEST_FIELDS)
    with pytest.raises(StoreError, match="no metadata file and 2 run ids"):
        import_run(store, tmp_path / "two.jsonl")
    # a file without metadata but one run imports as complete
    one = records_to_frame([make_record("solo", 1)])
    write_frame(one, tmp_path / "solo.jsonl", "jsonl", REQUEST_FIELDS)
    assert import_run(store, tmp_path / "solo.jsonl") == "solo"
    assert store.get_run("solo").status == "complete"
    assert CHUNK_FIELDS  # chunk file absent: imported with no chunks
    assert store.chunks_frame("solo").empty
