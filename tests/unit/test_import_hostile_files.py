"""#17 item 13: bad input to ``lens import`` is a clear error, never a traceback or silence.

The review: duplicate request ids, a 100,000-deep JSON line and a bad ``.meta.json``
timestamp gave raw tracebacks; NaN, infinite and negative latencies and token counts were
stored; chunk rows whose request id matches no request were silently dropped; a read-only
database gave a raw ``OperationalError``. Each case is checked on both import paths: the
``lens import`` command (lens.store.files.import_run today) and lens.importers
(``import_file``, which ``lens import`` is moving to). Nothing of a refused run is stored.
"""

from __future__ import annotations

import csv
import json
from collections.abc import Callable
from pathlib import Path

import pytest
from helpers_cli import lens
from helpers_store import make_chunks, make_record, run_info

from lens.errors import StoreError
from lens.importers import PeerImportError, import_file
from lens.store.files import export_run
from lens.store.sql import open_store


@pytest.fixture
def exported(tmp_path: Path) -> Callable[[str], Path]:
    """A function: format -> the request file of a fresh export of a 4-request run."""
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


def _jsonl_rows(path: Path) -> list[dict]:
    return [json.loads(x) for x in path.read_text().splitlines() if x.strip()]


def _write_jsonl(path: Path, rows: list) -> None:
    path.write_text("\n".join(r if isinstance(r, str) else json.dumps(r) for r in rows) + "\n")


def _refused(path: Path, tmp_path: Path, *needles: str) -> None:
    """Both import paths refuse ``path`` with every needle in the message; nothing stored."""
    db = tmp_path / "dest.db"
    res = lens(["import", str(path), "--db", str(db)])
    assert res.code == 2 and "Traceback" not in res.err, res.err
    assert res.err.startswith("lens: error: ") and "\n  fix: " in res.err, res.err
    for n in needles:
        assert n in res.err, (n, res.err)
    store = open_store(db)
    try:
        assert store.list_runs() == []
    finally:
        store.close()
    with pytest.raises(PeerImportError) as err:
        import_file(path)
    for n in needles:
        assert n in str(err.value), (n, str(err.value))


def test_duplicate_request_ids(exported: Callable[[str], Path], tmp_path: Path) -> None:
    p = exported("jsonl")
    rows = _jsonl_rows(p)
    rows[2]["request_id"] = rows[0]["request_id"]
    _write_jsonl(p, rows)
    _refused(p, tmp_path, str(p), "request_id", "row 3")


def test_duplicate_chunk_rows(exported: Callable[[str], Path], tmp_path: Path) -> None:
    p = exported("jsonl")
    chunks = p.with_name("run.chunks.jsonl")
    rows = _jsonl_rows(chunks)
    _write_jsonl(chunks, [*rows, rows[1]])
    _refused(p, tmp_path, str(chunks), "request_id and index", f"row {len(rows) + 1}")


def test_a_100k_deep_json_line(exported: Callable[[str], Path], tmp_path: Path) -> None:
    p = exported("jsonl")
    _write_jsonl(p, [*_jsonl_rows(p), "[" * 100_000 + "]" * 100_000])
    _refused(p, tmp_path, str(p), "line 5", "nested too deeply")


def test_a_deep_meta_file(exported: Callable[[str], Path], tmp_path: Path) -> None:
    p = exported("jsonl")
    p.with_name("run.meta.json").write_text("[" * 100_000 + "]" * 100_000)
    _refused(p, tmp_path, "run.meta.json", "not a lens run metadata file")


def test_a_bad_meta_timestamp(exported: Callable[[str], Path], tmp_path: Path) -> None:
    p = exported("jsonl")
    meta = p.with_name("run.meta.json")
    data = json.loads(meta.read_text())
    data["run"]["started_at"] = "yesterday-ish"
    meta.write_text(json.dumps(data))
    _refused(p, tmp_path, str(meta), "run.started_at", "yesterday-ish", "not a date and time")


@pytest.mark.parametrize(("literal", "name"), [("NaN", "NaN"), ("Infinity", "Infinity"), ("-Infinity", "-Infinity")])
def test_nan_and_infinity_literals_in_jsonl(exported: Callable[[str], Path], tmp_path: Path, literal: str,
                                            name: str) -> None:
    p = exported("jsonl")
    lines = p.read_text().splitlines()
    lines[1] = lines[1].replace('"e2e_ms": ', f'"e2e_ms": {literal}, "_was": ', 1)
    p.write_text("\n".join(lines) + "\n")
    _refused(p, tmp_path, str(p), "line 2", f"{name} is not a JSON number")


@pytest.mark.parametrize(("column", "value", "why"), [
    ("ttft_ms", -5.0, "is negative"), ("e2e_ms", -0.5, "is negative"),
    ("output_tokens", -3, "is negative"), ("input_tokens", -1, "is negative"),
])
def test_negative_times_and_counts(exported: Callable[[str], Path], tmp_path: Path, column: str, value: float,
                                   why: str) -> None:
    p = exported("jsonl")
    rows = _jsonl_rows(p)
    rows[1][column] = value
    _write_jsonl(p, rows)
    _refused(p, tmp_path, str(p), column, why)


@pytest.mark.parametrize("value", ["inf", "-inf", "-12.5"])
def test_infinite_and_negative_values_in_csv(exported: Callable[[str], Path], tmp_path: Path, value: str) -> None:
    p = exported("csv")
    with p.open(newline="") as fh:
        rows = list(csv.reader(fh))
    rows[2][rows[0].index("ttft_ms")] = value
    with p.open("w", newline="") as fh:
        csv.writer(fh).writerows(rows)
    _refused(p, tmp_path, str(p), "ttft_ms", "row 2")


def test_infinite_value_in_parquet(exported: Callable[[str], Path], tmp_path: Path) -> None:
    import pandas as pd

    p = exported("parquet")
    df = pd.read_parquet(p)
    df.loc[1, "tpot_ms"] = float("inf")
    df.to_parquet(p, index=False)
    _refused(p, tmp_path, str(p), "tpot_ms", "is not a finite number")


def test_chunk_rows_of_no_request_are_an_error_not_dropped(exported: Callable[[str], Path], tmp_path: Path) -> None:
    p = exported("jsonl")
    chunks = p.with_name("run.chunks.jsonl")
    rows = _jsonl_rows(chunks)
    rows[3]["request_id"] = "no-such-request"
    _write_jsonl(chunks, rows)
    _refused(p, tmp_path, str(chunks), "1 chunk row belongs to no request", "row 4", "no-such-request")


def test_a_read_only_database_is_a_clear_error(exported: Callable[[str], Path], tmp_path: Path) -> None:
    """A read-only SQLite database (opened read-only here: as root, chmod 444 changes
    nothing) raises the same sqlite3 error a read-only file does."""
    p = exported("jsonl")
    db = tmp_path / "ro.db"
    open_store(db).close()  # exists, migrated
    url = f"sqlite:///file:{db}?mode=ro&uri=true"
    res = lens(["import", str(p), "--db", url])
    assert res.code == 2 and "Traceback" not in res.err and "OperationalError" not in res.err, res.err
    assert f"cannot write to the results store sqlite:///file:{db}" in res.err and "read-only here" in res.err
    assert "fix: pass --db (or set LENS_DB) to a file you may write" in res.err
    res = lens(["runs", "--db", url])  # reading a read-only store still works
    assert res.code == 0 and "no runs in" in res.out


def test_the_store_refuses_a_repeated_request_id_with_a_store_error(tmp_path: Path) -> None:
    """The last line of defence, whichever path wrote the rows: a repeated key is a
    StoreError, not a raw IntegrityError (and a taken run id keeps its own message)."""
    store = open_store(tmp_path / "l.db")
    try:
        store.start_run(run_info("r1"))
        rec = make_record("r1", 0)
        store.add_many([rec], [])
        with pytest.raises(StoreError, match=r"a request or chunk id is already there"):
            store.add_many([rec], [])
        with pytest.raises(StoreError, match="a run with id 'r1' already exists"):
            store.start_run(run_info("r1"))
    finally:
        store.close()


@pytest.mark.parametrize(("name", "fmt"), [("benchmarks.json", "guidellm"), ("result.json", "vllm"),
                                           ("profile_export.jsonl", "aiperf"), ("x.json", None)])
def test_other_tools_files_nested_100k_deep(tmp_path: Path, name: str, fmt: str | None) -> None:
    """The other importers read whole JSON documents or JSON lines: the same file is a
    PeerImportError naming it (auto-detection just does not recognise it)."""
    p = tmp_path / name
    deep = "[" * 100_000 + "]" * 100_000
    p.write_text(deep + "\n" if name.endswith(".jsonl") else '{"benchmarks": ' + deep + "}")
    with pytest.raises(PeerImportError) as err:
        import_file(p, format=fmt)
    msg = str(err.value)
    assert msg.startswith(f"{p}: ")
    assert ("nested too deeply" in msg) if fmt else ("does not recognise this file's format" in msg)
