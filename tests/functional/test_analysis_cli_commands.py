"""`lens report`, `lens compare`, `lens gate` end to end on a store file and exports."""

from __future__ import annotations

import re
import subprocess
import sys
from datetime import timedelta
from pathlib import Path

import pytest
from helpers_analysis import make_chunks, make_records, write_sqlite
from helpers_cli import lens

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def db(tmp_path_factory: pytest.TempPathFactory) -> Path:
    base = make_records(300, run_id="base", seed=1, concurrency=4, warmup=5)
    same = make_records(300, run_id="same", seed=2, concurrency=8)
    slow = make_records(300, run_id="slow", seed=3, concurrency=16, ttft_scale=1.7,
                        error_every=8)
    path = tmp_path_factory.mktemp("db") / "lens.db"
    return write_sqlite(path, {"base": (base, {}), "same": (same, {}), "slow": (slow, {})},
                        chunks=make_chunks(base[:6]))


@pytest.mark.slow
def test_report_is_self_contained_with_images(db: Path, tmp_path: Path) -> None:
    out = tmp_path / "r" / "report.html"
    res = lens(["report", "base", "slow", "--db", str(db), "-o", str(out),
                "--png", str(tmp_path / "img")])
    assert res.code == 0, res.err
    html = out.read_text(encoding="utf-8")
    # nothing fetched from the network: no external scripts, styles, frames or images
    assert not re.search(r"<script[^>]+src=", html, re.I)
    assert not re.search(r"<link[^>]+href=[\"']?(https?:)?//", html, re.I)
    assert not re.search(r"<iframe", html, re.I)
    assert "cdn.jsdelivr" not in html and "unpkg.com" not in html
    assert "vegaEmbed" in html and len(html) > 500_000  # the Vega bundle is inline
    for heading in ("<h2>Verdict</h2>", "p95 TTFT of openai/gpt-4o rose", "<h2>Latency</h2>",
                    "<h2>Errors</h2>", "<h2>Cost</h2>", "candidate slow vs baseline base",
                    "data-name='comparison_forest'", "data-name='token_waterfall'",
                    "<h2>How many requests</h2>"):
        assert heading in html, heading
    assert html.count("type='application/json'") >= 7
    pngs = sorted(p.name for p in (tmp_path / "img").glob("*.png"))
    svgs = sorted(p.name for p in (tmp_path / "img").glob("*.svg"))
    assert "ttft_ecdf.png" in pngs and len(pngs) == len(svgs) >= 6
    assert (tmp_path / "img" / "ttft_ecdf.png").read_bytes()[:4] == b"\x89PNG"


def test_compare_markdown_and_terminal(db: Path) -> None:
    res = lens(["compare", "base", "slow", "--db", str(db), "--markdown", "--metric", "ttft_ms",
                "--percentile", "95"])
    assert res.code == 0, res.err
    lines = [ln for ln in res.out.splitlines() if ln.startswith("| TTFT | p95 |")]
    assert len(lines) == 1 and "regressed" in lines[0] and " ms |" in lines[0]
    assert "Error rate: 0.00% -> 12.33%" in res.out
    res = lens(["compare", "base", "same", "--db", str(db)])
    assert res.code == 0 and "no significant change" in res.out and "TTFT" in res.out
    assert "ttft_ms" not in res.out.split("How many requests")[0]  # people's names in the table


def test_gate_exit_codes_and_summary(db: Path, tmp_path: Path) -> None:
    summary = tmp_path / "summary.md"
    res = lens(["gate", "--baseline", "base", "--candidate", "slow", "--db", str(db),
                "--max-error-rate", "0.05", "--summary", str(summary)])
    assert res.code == 1
    md = summary.read_text()
    assert md.startswith("## lens gate: FAIL") and "| error rate | **FAIL** |" in md
    step = tmp_path / "step.md"
    res = lens(["gate", "--baseline", "base", "--candidate", "same", "--db", str(db),
                "--max-p95-ttft-regression", "0.10"], env={"GITHUB_STEP_SUMMARY": str(step)})
    assert res.code == 0, res.out + res.err
    assert step.read_text().startswith("## lens gate: PASS")


def test_gate_thresholds_file_and_errors(db: Path, tmp_path: Path) -> None:
    res = lens(["gate", "--baseline", "base", "--candidate", "same", "--db", str(db),
                "--thresholds", str(ROOT / "examples" / "gate.toml")])
    assert res.code == 0, res.out + res.err
    bad = tmp_path / "bad.toml"
    bad.write_text("max_eror_rate = 0.1\n")
    res = lens(["gate", "--baseline", "base", "--candidate", "same", "--db", str(db),
                "--thresholds", str(bad)])
    assert res.code == 2 and str(bad) in res.err and "max_eror_rate" in res.err
    res = lens(["gate", "--baseline", "nope", "--candidate", "same", "--db", str(db)])
    assert res.code == 2 and "nope" in res.err


def test_refs_may_be_exported_files(db: Path, tmp_path: Path) -> None:
    from lens.analysis.frames import load
    from lens.record import REQUEST_FIELDS
    from lens.store.files import write_frame

    write_frame(load(db, runs="base"), tmp_path / "base.parquet", "parquet", REQUEST_FIELDS)
    write_frame(load(db, runs="slow"), tmp_path / "slow.csv", "csv", REQUEST_FIELDS)
    res = lens(["compare", str(tmp_path / "base.parquet"), str(tmp_path / "slow.csv"),
                "--markdown", "--metric", "ttft_ms", "--percentile", "95"])
    assert res.code == 0, res.err
    assert "regressed" in res.out


def test_gate_as_a_process(db: Path) -> None:
    cmd = [sys.executable, "-m", "lens.cli", "gate", "--baseline", "base", "--candidate",
           "slow", "--db", str(db)]
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=120, cwd=ROOT)
    assert proc.returncode == 1, proc.stderr
    assert "## lens gate: FAIL" in proc.stdout


def test_run_ids_resolve_in_a_real_store(tmp_path: Path) -> None:
    from helpers_analysis import T0

    from lens.store.base import RunInfo
    from lens.store.sql import open_store

    path = tmp_path / "store.db"
    store = open_store(path)
    for i, (run_id, scale) in enumerate((("20250601-aaaa", 1.0), ("20250602-bbbb", 2.0))):
        store.start_run(RunInfo(run_id=run_id, name=run_id,
                                started_at=T0 + timedelta(days=i)))
        store.add_many(make_records(150, run_id=run_id, seed=i, ttft_scale=scale), [])
        store.finish_run(run_id, status="complete")
    store.close()
    res = lens(["compare", "20250601", "latest", "--db", str(path), "--markdown",
                "--metric", "ttft_ms", "--percentile", "50"])
    assert res.code == 0, res.err
    assert "regressed" in res.out


def test_compare_table_shows_bracketed_file_names_verbatim(db: Path, tmp_path: Path) -> None:
    from lens.analysis.frames import load
    from lens.record import REQUEST_FIELDS
    from lens.store.files import write_frame

    odd = tmp_path / "[eu] nightly"
    odd.mkdir()
    write_frame(load(db, runs="base"), odd / "base.parquet", "parquet", REQUEST_FIELDS)
    write_frame(load(db, runs="slow"), odd / "slow.parquet", "parquet", REQUEST_FIELDS)
    res = lens(["compare", str(odd / "base.parquet"), str(odd / "slow.parquet"),
                "--metric", "ttft_ms", "--percentile", "95"])  # fmt: skip
    assert res.code == 0, res.err
    assert "[eu] nightly" in res.out.replace("\n", "")


def test_compare_keeps_targets_apart_unless_pooled(tmp_path: Path) -> None:
    import json

    from lens.analysis import stats
    from lens.analysis.frames import records_to_frame

    def run(run_id: str, seed: int, slow_fast: float) -> list:
        fast = make_records(120, run_id=run_id, seed=seed, target="fast", ttft_scale=0.2)
        slow = make_records(120, run_id=run_id, seed=seed + 50, target="slow",
                            ttft_scale=slow_fast)
        for i, r in enumerate(slow):
            r.request_id = f"{run_id}-slow-{i}"
        return fast + slow

    base, cand = run("b", 1, 5.0), run("c", 2, 7.5)  # only the slow target regressed
    db = write_sqlite(tmp_path / "t.db", {"b": (base, {}), "c": (cand, {})})
    res = lens(["compare", "b", "c", "--db", str(db), "--metric", "ttft_ms", "--percentile",
                "50", "--markdown"])
    assert res.code == 0, res.err
    rows = [ln for ln in res.out.splitlines() if ln.startswith("| fast") or ln.startswith("| slow")]
    assert len(rows) == 2, res.out
    assert "regressed" in next(r for r in rows if r.startswith("| slow"))
    assert "regressed" not in next(r for r in rows if r.startswith("| fast"))
    js = lens(["compare", "b", "c", "--db", str(db), "--metric", "ttft_ms", "--percentile",
               "50", "--json"])
    out = json.loads(js.out)
    assert out["by"] == ["target"] and {r["target"] for r in out["comparison"]} == {"fast", "slow"}
    want = stats.compare(records_to_frame(base), records_to_frame(cand), ["ttft_ms"], [50],
                         by=["target"])
    got = {r["target"]: r["cand"] for r in out["comparison"]}
    assert got == dict(zip(want["target"], want["cand"], strict=True))
    pooled = lens(["compare", "b", "c", "--db", str(db), "--metric", "ttft_ms",
                   "--percentile", "50", "--pooled", "--markdown"])
    assert "(targets pooled)" in pooled.out and "| TTFT | p50 |" in pooled.out
