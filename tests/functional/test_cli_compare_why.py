"""`lens compare` says what the servers reported differently and how many requests a
given shift would take."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from helpers_analysis import make_records, write_sqlite
from helpers_cli import lens

from lens.analysis import power
from lens.analysis.frames import records_to_frame


@pytest.fixture(scope="module")
def db(tmp_path_factory: pytest.TempPathFactory) -> Path:
    base = make_records(300, run_id="base", seed=1)
    slow = make_records(300, run_id="slow", seed=3, ttft_scale=1.5)
    for rs, fp, pop in ((base, "fp_a", "SJC"), (slow, "fp_b", "LAX")):
        for r in rs:
            r.system_fingerprint = fp
            r.routing = json.dumps({"cf-ray": pop})
    path = tmp_path_factory.mktemp("db") / "lens.db"
    return write_sqlite(path, {"base": (base, {}), "slow": (slow, {})})


def test_compare_names_the_change_and_the_requests_needed(db: Path) -> None:
    res = lens(["compare", "base", "slow", "--db", str(db), "--metric", "ttft_ms",
                "--percentile", "95", "--shift", "0.05", "--power", "0.9"])
    assert res.code == 0, res.err
    assert ("What changed between the runs: fingerprint fp_a -> fp_b; Cloudflare POP SJC -> "
            "LAX.") in res.out
    assert "detect with 90% power at alpha 0.05, and what 5% takes:" in res.out
    line = next(ln for ln in res.out.splitlines() if ln.strip().startswith("TTFT: detects"))
    # the same figures as the library gives for these rows
    frames = {r: records_to_frame(make_records(300, run_id=r, seed=s, ttft_scale=k))
              for r, s, k in (("base", 1, 1.0), ("slow", 3, 1.5))}
    row = power.detectable(frames["base"], frames["slow"], ["ttft_ms"], [95], shift=0.05,
                           power=0.9).iloc[0]
    assert f"detects p95 >= {row.mde:.0%}" in line
    assert f"5% at p95 takes about {row.n_needed} successful requests per run" in line
    assert int(re.search(r"fire about (\d+) more", line).group(1)) == row.n_needed - 300  # type: ignore[union-attr]


def test_markdown_has_the_same_sentences(db: Path) -> None:
    res = lens(["compare", "base", "slow", "--db", str(db), "--markdown"])
    assert res.code == 0, res.err
    assert "\nWhat changed between the runs: fingerprint fp_a -> fp_b" in res.out
    assert re.search(r"^- output tokens/s: detects p50 >= \d+%, p95 >= \d+%, p99 >= \d+%",
                     res.out, re.M)


def test_report_takes_the_threshold_and_the_shift(db: Path, tmp_path: Path) -> None:
    out = tmp_path / "r.html"
    res = lens(["report", "base", "slow", "--db", str(db), "-o", str(out), "--threshold",
                "0.6", "--shift", "0.2"])
    assert res.code == 0, res.err
    html = out.read_text(encoding="utf-8")
    assert "larger than 60% and its 95% bootstrap CI" in html
    assert "requests per run for 20%" in html
    assert "fingerprint fp_a \u2192 fp_b" in html
