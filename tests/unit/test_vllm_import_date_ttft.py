"""vLLM bench results with a bad ``date`` or a TTFT after the request's end.

A ``date`` vLLM did not write (``--append-result`` files edited by hand, a missing key)
used to place every request in January 1970, silently; now the start times come from the
file's modification time (when vLLM saved it, like ``date``), said in the notes as the CSV
importer says it. A TTFT larger than the request's latency is a file that lies: the whole
file is refused, as lens.importers.sanity refuses negative times.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
from helpers_cli import lens

from lens.importers import PeerImportError, import_file
from lens.store.sql import open_store

PEERS = Path(__file__).resolve().parents[1] / "data" / "peers"
VLLM = next((PEERS / "vllm").glob("*.json"))
AIPERF = PEERS / "aiperf"
SAVED = datetime(2025, 7, 1, 9, 30, 15, tzinfo=UTC)  # the file's modification time


def _vllm(tmp_path: Path, mutate: Callable[[dict[str, Any]], None]) -> Path:
    doc = json.loads(VLLM.read_text())
    mutate(doc)
    out = tmp_path / "vllm.json"
    out.write_text(json.dumps(doc))
    os.utime(out, (SAVED.timestamp(), SAVED.timestamp()))
    return out


@pytest.mark.parametrize("date", ["yesterday", "2026-03-10 16:05:12", None, 20260310])
def test_a_bad_date_falls_back_to_the_files_time_and_says_so(tmp_path: Path, date: Any) -> None:
    def mutate(d: dict[str, Any]) -> None:
        if date is None:
            del d["date"]
        else:
            d["date"] = date

    path = _vllm(tmp_path, mutate)
    duration = json.loads(VLLM.read_text())["duration"]
    run = import_file(path)
    first = run.requests["started_at"].min()
    assert first.year != 1970
    # like vLLM's date, the modification time is when the result was saved, after the run
    assert abs(first + pd.Timedelta(seconds=duration) - pd.Timestamp(SAVED)) < pd.Timedelta("1us")
    said = " ".join(run.notes)
    shown = "no 'date'" if date is None else f"'date' ({date})"
    assert f"The result has {shown}" in said, said
    assert "file's modification time (2025-07-01 09:30:15 UTC)" in said, said
    assert "read as UTC (pass tz=" not in said  # the date's zone note no longer applies


def test_a_good_date_needs_no_fallback_note() -> None:
    run = import_file(VLLM)
    assert not any("modification time" in n for n in run.notes)


def test_a_ttft_after_the_requests_end_is_refused(tmp_path: Path) -> None:
    def mutate(d: dict[str, Any]) -> None:
        d["ttfts"][2] = d["latencies"][2] + 1.5  # first token 1.5 s after the last byte
        d["ttfts"][5] = d["latencies"][5] * 2

    path = _vllm(tmp_path, mutate)
    with pytest.raises(PeerImportError) as info:
        import_file(path)
    msg = str(info.value)
    assert msg.startswith(f"{path}: 1 column of the imported rows holds impossible values")
    assert "'ttft_ms' is later than 'e2e_ms' (a first token after the request ended) in " \
           "request 3, 6" in msg
    db = tmp_path / "d.db"
    res = lens(["import", str(path), "--db", str(db)])
    assert res.code == 2 and res.err.startswith("lens: error: ") and "fix:" in res.err
    store = open_store(db)
    try:
        assert store.list_runs() == []
    finally:
        store.close()


def test_a_ttft_equal_to_the_latency_is_kept(tmp_path: Path) -> None:
    # one chunk that is the whole answer: the first token is the last byte
    path = _vllm(tmp_path, lambda d: d["ttfts"].__setitem__(2, d["latencies"][2]))
    df = import_file(path).requests
    assert df["ttft_ms"].iloc[2] == df["e2e_ms"].iloc[2]


def test_aiperf_ttft_after_the_requests_end_is_refused_too(tmp_path: Path) -> None:
    rows = [json.loads(x) for x in (AIPERF / "profile_export.jsonl").read_text().splitlines()]
    m = rows[0]["metrics"]
    scale = {"ns": 1e6, "us": 1e3, "ms": 1.0, "s": 1e-3}
    md = rows[0]["metadata"]
    lat_ms = (md["request_end_ns"] - md["request_start_ns"]) / 1e6  # lens's e2e_ms
    for name in ("time_to_first_token", "time_to_first_output_token"):  # TTFO is ttft_ms
        if name in m:
            m[name]["value"] = (lat_ms + 50.0) * scale[m[name]["unit"]]
    d = tmp_path / "aiperf"
    d.mkdir()
    (d / "profile_export_aiperf.json").write_text(
        (AIPERF / "profile_export_aiperf.json").read_text())
    (d / "profile_export.jsonl").write_text("\n".join(json.dumps(r) for r in rows) + "\n")
    with pytest.raises(PeerImportError, match="'ttft_ms' is later than 'e2e_ms'"):
        import_file(d / "profile_export.jsonl")
