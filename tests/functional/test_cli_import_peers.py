"""`lens import FILE` on every peer fixture, then show / compare / report / gate on the run."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from helpers_cli import lens

from lens.importers import import_file

PEERS = Path(__file__).resolve().parents[1] / "data" / "peers"
VLLM = next((PEERS / "vllm").glob("*.json"))
CSV_MAP = ["--map", "ttft=ttft_s:s", "--map", "e2e=latency_s:s", "--map", "started_at=ts_epoch:s",
           "--map", "ok=success", "--map", "output_tokens=completion_tokens",
           "--map", "input_tokens=prompt_tokens", "--map", "error=err", "--model", "llama-3.1-8b"]
CASES = {
    "aiperf": (PEERS / "aiperf" / "profile_export.jsonl", [], "AIPerf 0.13.0", 24),
    "aiperf-folder": (PEERS / "aiperf_reasoning", [], "AIPerf 0.13.0", 20),
    "guidellm": (PEERS / "guidellm" / "benchmarks.json", [], "GuideLLM 0.8.1", 22),
    "vllm": (VLLM, ["--tz", "Europe/Paris"], "vLLM bench serve", 30),
    "csv": (PEERS / "csv" / "loadtest.csv", CSV_MAP, "CSV", 12),
    "lens-v0": (PEERS / "lens_v0" / "baseline.jsonl", [], "lens export", 6),
}


@pytest.mark.parametrize("case", list(CASES))
def test_import_then_show_compare_report_gate(case: str, tmp_path: Path) -> None:
    path, extra, tool, n = CASES[case]
    db = str(tmp_path / "s.db")
    res = lens(["import", str(path), "--run-id", "peer", *extra, "--db", db])
    assert res.code == 0, res.err
    assert res.out.startswith("imported run peer into ")
    assert f"({tool}" in res.out and f"{n} requests" in res.out
    run = import_file(path, run_id="peer", **({"map": [a for a in extra[1::2] if "=" in a][:7],
                                "model": "llama-3.1-8b"} if case == "csv" else
                               {"tz": "Europe/Paris"} if case == "vllm" else {}))
    for note in run.notes:  # every note is said, in CLI words (flags, not Python options)
        assert note.split(":")[0].replace("provider=", "--provider") in res.out
    assert "provider=" not in res.out and "tz='" not in res.out
    if run.checks:
        assert f"all {len(run.checks)} figures match" in res.out

    show = json.loads(lens(["show", "peer", "--db", db, "--json"]).out)
    assert show["n_requests"] == n
    assert sum(t["count"] + t["warmup_excluded"] for t in show["targets"]) == n
    ok = sum(t["ok"] for t in show["targets"])
    # the same run imported twice compares as "no significant change" everywhere
    assert lens(["import", str(path), "--run-id", "again", *extra, "--db", db]).code == 0
    cmp = lens(["compare", "peer", "again", "--db", db, "--markdown"])
    assert cmp.code == 0, cmp.err
    assert "regressed" not in cmp.out and "| TTFT |" in cmp.out.replace("  ", " ")
    out = tmp_path / "r.html"
    rep = lens(["report", "peer", "again", "--db", db, "-o", str(out)])
    assert rep.code == 0, rep.err
    html = out.read_text(encoding="utf-8")
    assert "<h2" in html and "peer" in html
    gate = lens(["gate", "--baseline", "peer", "--candidate", "again", "--db", db])
    if ok >= 20:  # p95 needs a request beyond it on each side
        assert gate.code == 0, gate.out + gate.err
        assert "lens gate: PASS" in gate.out
    else:  # too few to verify is not a pass, and it says why
        assert gate.code == 1 and "cannot verify" in gate.out, gate.out + gate.err


def test_a_summary_that_disagrees_is_said(tmp_path: Path) -> None:
    folder = tmp_path / "artifacts"
    shutil.copytree(PEERS / "aiperf", folder)
    summary = folder / "profile_export_aiperf.json"
    doc = json.loads(summary.read_text())
    doc["time_to_first_token"]["p50"] = 999.5  # as if AIPerf's summary were of other rows
    summary.write_text(json.dumps(doc))
    res = lens(["import", str(folder / "profile_export.jsonl"), "--db", str(tmp_path / "s.db")])
    assert res.code == 0, res.err
    assert "1 of 12 figures of AIPerf's own summary differ" in res.out
    assert "time_to_first_token p50: AIPerf says 999.5, lens recomputes 155.356" in res.out


def test_legacy_file_format_flag_and_csv_meaning(tmp_path: Path) -> None:
    # `--format csv` on a lens CSV export still means the export, not a mapped CSV
    res = lens(["import", str(PEERS / "lens_v0" / "baseline.csv"), "--format", "csv",
                "--db", str(tmp_path / "s.db")])
    assert res.code == 0, res.err
    assert "(lens export)" in res.out and "6 requests" in res.out


def test_import_errors_are_plain_and_name_flags(tmp_path: Path) -> None:
    odd = tmp_path / "notes.txt"
    odd.write_text("hello\nworld\n")
    res = lens(["import", str(odd), "--db", str(tmp_path / "s.db")])
    assert res.code == 2
    assert "does not recognise this file's format" in res.err and "aiperf" in res.err
    assert "--format NAME" in res.err and "format=" not in res.err
    res = lens(["import", str(PEERS / "csv" / "loadtest.csv"), "--map", "ttft=nope:s",
                "--db", str(tmp_path / "s.db")])
    assert res.code == 2 and "nope" in res.err and "Traceback" not in res.err


def test_a_lens_export_without_chunks_imports(tmp_path: Path) -> None:
    # a run whose requests all failed before a token: `lens export` writes an empty JSONL
    from helpers_store import make_record, run_info

    from lens.store.sql import open_store

    src = tmp_path / "src.db"
    with open_store(src) as store:
        store.start_run(run_info("r"))
        store.add_many([make_record("r", i, status="ok") for i in range(1, 4)], [])
        store.finish_run("r", status="complete")
    assert lens(["export", "r", "-o", str(tmp_path / "r.jsonl"), "--db", str(src)]).code == 0
    assert (tmp_path / "r.chunks.jsonl").read_text() == ""
    res = lens(["import", str(tmp_path / "r.jsonl"), "--run-id", "copy",
                "--db", str(tmp_path / "d.db")])
    assert res.code == 0, res.err
    assert "3 requests" in res.out


def test_first_design_records_import_and_three_bad_columns_are_named_at_once(
        tmp_path: Path) -> None:
    src = PEERS / "lens_v0" / "baseline.csv"  # the first published record: no target, shard
    res = lens(["import", str(src), "--db", str(tmp_path / "s.db")])
    assert res.code == 0, res.err
    assert "'target' was missing: set to provider/model" in res.out
    assert "'shard' was missing: set to 0" in res.out
    lines = src.read_text(encoding="utf-8").splitlines()
    head = lines[0].split(",")
    cells = lines[2].split(",")
    for col, bad in (("ttft_ms", "abc"), ("status", "okay"), ("warmup", "maybe")):
        cells[head.index(col)] = bad
    broken = tmp_path / "broken.csv"
    broken.write_text("\n".join([lines[0], lines[1], ",".join(cells), *lines[3:]]) + "\n")
    shutil.copy(PEERS / "lens_v0" / "baseline.chunks.csv", tmp_path / "broken.chunks.csv")
    res = lens(["import", str(broken), "--db", str(tmp_path / "s.db")])
    assert res.code == 2
    assert "3 columns cannot be imported ('status', 'ttft_ms', 'warmup')" in res.err
    assert "np." not in res.err and "nan" not in res.err and "Traceback" not in res.err
