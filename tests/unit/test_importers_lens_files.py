"""lens exports of any version import: what can be derived is filled and said; what is
still missing or bad is listed, all of it, in one plain-words message."""

from __future__ import annotations

import csv
import json
import re
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from helpers_store import make_chunks, make_record, run_info

from lens.importers import PeerImportError, check_frame, import_file
from lens.importers.store import save
from lens.importers.validate import describe
from lens.record import CHUNK_FIELDS
from lens.store.files import export_run
from lens.store.sql import open_store

V0 = Path(__file__).resolve().parents[1] / "data" / "peers" / "lens_v0"
_REPR = re.compile(r"np\.|numpy|\bnan\b|NaN|None|<NA>|NaT|Timestamp\(|dtype|float64")


@pytest.mark.parametrize("name", ["baseline.jsonl", "baseline.csv"])
def test_first_design_records_import_with_derived_columns(name: str) -> None:
    run = import_file(V0 / name)
    df = run.requests.set_index("request_id")
    rows = [json.loads(x) for x in (V0 / "baseline.jsonl").read_text().splitlines()]
    assert run.run_id == "baseline" and set(df["run_id"]) == {"baseline"}
    assert set(df["target"]) == {"openai/gpt-4o-mini"}
    assert set(df["shard"]) == {0}
    # n_chunks: token-bearing events of the chunk file (the usage chunk does not count)
    assert df["n_chunks"].tolist() == [5, 5, 5, 5, 0, 5]
    # a null count is kept (it can mean "no usage"); only a missing column is derived
    assert pd.isna(df.loc["req-003", "output_tokens"]) and not df["tokens_estimated"].any()
    assert df["ttft_ms"].tolist()[:2] == [r["ttft_ms"] for r in rows[:2]]
    assert len(run.chunks) == 30
    said = " ".join(run.notes)
    for column in ("run_id", "target", "shard", "n_chunks"):
        assert f"'{column}' was" in said, column


def test_token_counts_from_chunks_when_the_column_is_missing(tmp_path: Path) -> None:
    rows = [json.loads(x) for x in (V0 / "baseline.jsonl").read_text().splitlines()]
    path = tmp_path / "early.jsonl"
    path.write_text("".join(json.dumps({k: v for k, v in r.items() if k not in (
        "output_tokens", "tokens_estimated")}) + "\n" for r in rows))
    (tmp_path / "early.chunks.jsonl").write_text((V0 / "baseline.chunks.jsonl").read_text())
    run = import_file(path)
    df = run.requests.set_index("request_id")
    assert df["output_tokens"].tolist()[:4] == [20, 20, 20, 20]  # 5 text chunks x 4 tokens
    assert pd.isna(df.loc["req-004", "output_tokens"])  # no chunks: rate limited
    assert df["tokens_estimated"].tolist() == [True, True, True, True, False, True]
    assert any("'output_tokens' was missing: summed from the chunk file" in n
               for n in run.notes)


def _store_export(tmp_path: Path, fmt: str) -> Path:
    s = open_store(tmp_path / "src.db")
    s.start_run(run_info("r1"))
    recs = [make_record("r1", i) for i in range(6)]
    s.add_many(recs, [c for r in recs for c in make_chunks(r, 3)])
    s.finish_run("r1", status="complete")
    files = export_run(s, "r1", tmp_path / f"run.{fmt}")
    s.close()
    return files.requests


@pytest.mark.parametrize("fmt", ["csv", "jsonl", "parquet"])
def test_current_exports_import_unchanged(tmp_path: Path, fmt: str) -> None:
    path = _store_export(tmp_path, fmt)
    run = import_file(path)
    s = open_store(tmp_path / "src.db")
    try:
        want = s.requests_frame("r1")
        pd.testing.assert_frame_equal(run.requests[want.columns], want, check_like=False)
        pd.testing.assert_frame_equal(run.chunks, s.chunks_frame("r1")[run.chunks.columns])
    finally:
        s.close()
    assert run.notes == [] and run.run_id == "r1" and run.name == "test"
    # stored again, the run row is the original one (spec, tags, status, times)
    dest = open_store(tmp_path / "dest.db")
    src = open_store(tmp_path / "src.db")
    try:
        assert save(dest, run, run_id="copy") == "copy"
        a, b = src.get_run("r1"), dest.get_run("copy")
        for attr in ("name", "started_at", "finished_at", "status", "spec_json", "tags",
                     "skipped"):
            assert getattr(b, attr) == getattr(a, attr), attr
        assert b.extra["source_tool"] == "lens" and b.extra["imported_from"] == str(path)
        pd.testing.assert_frame_equal(dest.requests_frame("copy").drop(columns="run_id"),
                                      src.requests_frame("r1").drop(columns="run_id"))
    finally:
        dest.close()
        src.close()


def _edit_csv(path: Path, edits: dict[tuple[int, str], str], drop: tuple[str, ...] = ()) -> None:
    with path.open(newline="", encoding="utf-8") as fh:
        rows = list(csv.reader(fh))
    for (row, column), value in edits.items():
        rows[row][rows[0].index(column)] = value
    keep = [i for i, c in enumerate(rows[0]) if c not in drop]
    with path.open("w", newline="", encoding="utf-8") as fh:
        csv.writer(fh).writerows([[r[i] for i in keep] for r in rows])


def test_record_without_target_and_shard_imports(tmp_path: Path) -> None:
    path = _store_export(tmp_path, "csv")
    _edit_csv(path, {}, drop=("target", "shard"))
    run = import_file(path)
    assert set(run.requests["target"]) == {"sim/m-1"} and set(run.requests["shard"]) == {0}


def test_three_bad_columns_in_one_message_without_reprs(tmp_path: Path) -> None:
    path = _store_export(tmp_path, "csv")
    _edit_csv(path, {(3, "ttft_ms"): "abc", (5, "ttft_ms"): "fast", (2, "status"): "okay",
                     (5, "warmup"): "maybe"})
    with pytest.raises(PeerImportError) as ei:
        import_file(path)
    msg = str(ei.value)
    head = msg.split("\n")[0]
    assert head == (f"{path}: 3 columns cannot be imported ('status', 'ttft_ms', 'warmup'):")
    assert "  - 'ttft_ms': row 3 (line 4) holds \"abc\", which is not a number; so does row 5" \
        in msg
    assert "  - 'status': row 2 (line 3) holds \"okay\", which is not one of ok, http_error," \
        in msg
    assert "  - 'warmup': row 5 (line 6) holds \"maybe\", which is not true or false" in msg
    assert not _REPR.search(msg), msg


def test_missing_required_columns_all_named(tmp_path: Path) -> None:
    path = _store_export(tmp_path, "csv")
    _edit_csv(path, {(4, "started_at"): "yesterday"},
              drop=("request_id", "status", "provider", "target"))
    with pytest.raises(PeerImportError) as ei:
        import_file(path)
    msg = str(ei.value)
    assert msg.startswith(f"{path}: 5 columns cannot be imported ('provider', 'request_id', "
                          "'started_at', 'status', 'target'):")
    assert "  - 'request_id' is missing: every row needs it" in msg
    assert "  - 'status' is missing: every row needs it (one of ok, http_error," in msg
    assert "'started_at': row 4 (line 5) holds \"yesterday\", which is not a date and time" \
        in msg
    assert not _REPR.search(msg), msg


def test_check_frame_on_a_frame_with_numpy_values() -> None:
    """What the existing import path can call on the frame it read."""
    raw = pd.DataFrame({"request_id": ["a", np.nan], "index": [0, 1], "t_ms": [1.5, "x"],
                        "kind": ["text", "done"], "n_tokens": [np.float64(2.0), 2.5]})
    with pytest.raises(PeerImportError) as ei:
        check_frame(raw, "chunks.jsonl", CHUNK_FIELDS)
    msg = str(ei.value)
    assert "'request_id': row 2 is empty, but every row needs a value" in msg
    assert "'t_ms': row 2 holds \"x\", which is not a number" in msg
    assert "'kind': row 2 holds \"done\", which is not one of text, reasoning, usage" in msg
    assert "'n_tokens': row 2 holds 2.5, which is not a whole number" in msg
    assert not _REPR.search(msg), msg
    good = check_frame(raw.iloc[:1], "chunks.jsonl", CHUNK_FIELDS)
    assert str(good["n_tokens"].dtype) == "Int64" and good["n_tokens"].iloc[0] == 2


def test_describe_values_in_plain_words() -> None:
    assert describe(np.float64(1.5)) == "1.5"
    assert describe(np.int64(7)) == "7"
    assert describe(np.nan) == describe(None) == describe(pd.NA) == "an empty value"
    assert describe(np.bool_(True)) == "true"
    assert describe("abc") == '"abc"'
    assert describe("x" * 60).endswith('..."')


def test_rows_of_several_runs_need_one_run_id(tmp_path: Path) -> None:
    lines = (V0 / "baseline.jsonl").read_text().splitlines()
    rows = [{**json.loads(x), "run_id": f"run-{i % 2}"} for i, x in enumerate(lines)]
    path = tmp_path / "two.jsonl"
    path.write_text("\n".join(json.dumps(r) for r in rows) + "\n")
    with pytest.raises(PeerImportError, match=r"the rows belong to 2 runs \(run-0, run-1\)"):
        import_file(path)
    assert set(import_file(path, run_id="merged").requests["run_id"]) == {"merged"}


def test_imported_old_run_stores_and_reads_back(tmp_path: Path) -> None:
    run = import_file(V0 / "baseline.csv")
    store = open_store(tmp_path / "dest.db")
    try:
        run_id = save(store, run, run_id="old-baseline")
        back = store.requests_frame(run_id)
        assert len(back) == 6 and set(back["target"]) == {"openai/gpt-4o-mini"}
        assert back["ttft_ms"].tolist()[:3] == [180.0, 187.5, 195.0]
        assert len(store.chunks_frame(run_id)) == 30
        info = store.get_run(run_id)
        assert info.status == "complete" and info.extra["source_tool"] == "lens"
        assert info.extra["import_notes"] == run.notes
    finally:
        store.close()
