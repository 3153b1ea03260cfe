"""`lens import` refuses values it would otherwise store as nulls or invalid enums, naming the
file, column, row and value; nothing of the run is stored."""

from __future__ import annotations

import csv
import json
import re
from pathlib import Path

import pandas as pd
import pytest
from helpers_cli import lens
from helpers_store import make_chunks, make_record, run_info

from lens.errors import StoreError
from lens.store.files import export_run
from lens.store.files_import import import_run
from lens.store.sql import SQLStore, open_store


@pytest.fixture
def store(tmp_path: Path):
    s = open_store(tmp_path / "src.db")
    s.start_run(run_info("r1"))
    recs = [make_record("r1", i) for i in range(6)]
    s.add_many(recs, [c for r in recs for c in make_chunks(r, 3)])
    s.finish_run("r1", status="complete")
    yield s
    s.close()


def _edit_csv(path: Path, row: int, column: str, value: str) -> None:
    """Set data row ``row`` (1-based) of ``column`` to ``value``."""
    with path.open(newline="", encoding="utf-8") as fh:
        rows = list(csv.reader(fh))
    rows[row][rows[0].index(column)] = value
    with path.open("w", newline="", encoding="utf-8") as fh:
        csv.writer(fh).writerows(rows)


def _edit_jsonl(path: Path, row: int, column: str, value: object) -> None:
    lines = path.read_text(encoding="utf-8").splitlines()
    obj = json.loads(lines[row - 1])
    obj[column] = value
    lines[row - 1] = json.dumps(obj)
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")


CSV_CASES = [
    # (file, column, row, bad value, message)
    ("requests", "ttft_ms", 3, "abc", r"'abc' is not a valid float"),
    ("requests", "status", 2, "okay", r"'okay' is not one of ok, http_error, rate_limited"),
    ("requests", "shard", 4, "1.5", r"'1.5' is not a valid int"),
    ("requests", "output_tokens", 1, "12k", r"'12k' is not a valid int"),
    ("requests", "warmup", 5, "maybe", r"'maybe' is not true or false"),
    ("requests", "started_at", 6, "yesterday", r"'yesterday' is not a valid timestamp"),
    ("requests", "request_id", 2, "\\N", r"None is missing, and the column is required"),
    ("chunks", "kind", 7, "done", r"'done' is not one of text, reasoning, usage, error, other"),
    ("chunks", "t_ms", 2, "", r"'' is not a valid float"),
]  # fmt: skip


@pytest.mark.parametrize(("which", "column", "row", "value", "message"), CSV_CASES,
                         ids=[f"{c[1]}={c[3]}" for c in CSV_CASES])  # fmt: skip
def test_bad_csv_value_is_refused_with_file_column_row_and_fix(
    store: SQLStore, tmp_path: Path, which: str, column: str, row: int, value: str, message: str
) -> None:
    files = export_run(store, "r1", tmp_path / "out" / "run.csv")
    path = files.requests if which == "requests" else files.chunks
    _edit_csv(path, row, column, value)
    dest = open_store(tmp_path / "dest.db")
    try:
        with pytest.raises(StoreError) as ei:
            import_run(dest, files.requests, run_id="copy")
        msg = str(ei.value)
        assert msg.startswith(f"{path}: column {column!r}, row {row} (line {row + 1}): ")
        assert re.search(message, msg), msg
        assert "fix: correct the value in the file (write \\N for no value)" in msg
        assert dest.list_runs() == []  # refused before anything was stored
    finally:
        dest.close()


def test_bad_jsonl_values_are_refused(store: SQLStore, tmp_path: Path) -> None:
    files = export_run(store, "r1", tmp_path / "run.jsonl")
    _edit_jsonl(files.requests, 2, "e2e_ms", "slow")
    with pytest.raises(
        StoreError,
        match=r"run\.jsonl: column 'e2e_ms', row 2: 'slow' is not a valid float\n  fix: .*write null",
    ):
        import_run(store, files.requests, run_id="copy")  # fmt: skip
    _edit_jsonl(files.requests, 2, "e2e_ms", 12.5)
    _edit_jsonl(files.requests, 3, "status", "OK")
    with pytest.raises(StoreError, match=r"column 'status', row 3: 'OK' is not one of ok,"):
        import_run(store, files.requests, run_id="copy")
    _edit_jsonl(files.requests, 3, "status", "timeout")
    assert import_run(store, files.requests, run_id="copy") == "copy"  # fixed: imports
    got = store.requests_frame("copy")
    assert got["e2e_ms"].iloc[1] == 12.5 and got["status"].iloc[2] == "timeout"


def test_bad_parquet_value_is_refused(store: SQLStore, tmp_path: Path) -> None:
    files = export_run(store, "r1", tmp_path / "run.parquet")
    df = pd.read_parquet(files.requests)
    # a parquet file from another tool, the column typed as text
    df["ttft_ms"] = [None if pd.isna(v) else repr(v) for v in df["ttft_ms"]]
    df.loc[3, "ttft_ms"] = "n/a"
    df.to_parquet(files.requests, index=False)
    with pytest.raises(StoreError, match=r"column 'ttft_ms', row 4: 'n/a' is not a valid float"):
        import_run(store, files.requests, run_id="copy")


def test_cli_import_of_bad_value_exits_2_with_the_message(store: SQLStore, tmp_path: Path) -> None:
    files = export_run(store, "r1", tmp_path / "run.csv")
    _edit_csv(files.requests, 1, "status", "okay")
    res = lens(["import", str(files.requests), "--run-id", "copy", "--db", str(tmp_path / "d.db")])
    assert res.code == 2
    # lens import goes through lens.importers: one message naming every bad column
    assert f"{files.requests}: 1 column cannot be imported ('status')" in res.err
    assert "'status': row 1 (line 2) holds \"okay\", which is not one of ok," in res.err
    assert "Traceback" not in res.err and "np." not in res.err


def test_nulls_and_every_status_round_trip(store: SQLStore, tmp_path: Path) -> None:
    # Valid data is untouched by the checks: nulls, every status, bool text forms.
    files = export_run(store, "r1", tmp_path / "run.csv")
    for row, status in enumerate(("http_error", "network", "stream_error", "truncated"), 1):
        _edit_csv(files.requests, row, "status", status)
    _edit_csv(files.requests, 1, "warmup", "false")
    _edit_csv(files.requests, 2, "ttft_ms", "\\N")
    assert import_run(store, files.requests, run_id="copy") == "copy"
    got = store.requests_frame("copy")
    assert list(got["status"].iloc[:4]) == ["http_error", "network", "stream_error", "truncated"]
    assert not got["warmup"].iloc[0] and pd.isna(got["ttft_ms"].iloc[1])
