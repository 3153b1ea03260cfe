"""Every command reads the store `lens run` writes by default: a newcomer never needs --db
to look at what they just fired (README quick start)."""

from __future__ import annotations

import os
from pathlib import Path

from helpers_cli import lens


def test_report_compare_gate_chart_read_the_default_store(tmp_path: Path) -> None:
    env = {"XDG_DATA_HOME": str(tmp_path / "data")}
    saved = os.environ.pop("LENS_DB", None)
    try:
        for run_id in ("base", "cand"):
            out = lens(["run", "--provider", "sim", "--model", "sim-model", "--requests", "8",
                        "--concurrency", "2", "--run-id", run_id, "--no-progress"], env=env)
            assert out.code == 0, out.err
        assert (tmp_path / "data" / "lens" / "lens.db").is_file()
        rep = lens(["report", "base", "cand", "-o", str(tmp_path / "r.html")], env=env)
        assert rep.code == 0, rep.err
        assert "cand" in (tmp_path / "r.html").read_text()
        cmp = lens(["compare", "base", "latest"], env=env)
        assert cmp.code == 0, cmp.err
        assert "cand vs base" in cmp.out or "latest vs base" in cmp.out
        gate = lens(["gate", "--baseline", "base", "--candidate", "cand"], env=env)
        assert gate.code in (0, 1, 2) and "lens gate" in gate.out, gate.err
        chart = lens(["chart", "ecdf", "base", "-o", str(tmp_path / "e.svg")], env=env)
        assert chart.code == 0, chart.err
    finally:
        if saved is not None:
            os.environ["LENS_DB"] = saved


def test_without_any_store_the_error_says_where_it_looked(tmp_path: Path) -> None:
    env = {"XDG_DATA_HOME": str(tmp_path / "empty")}
    saved = os.environ.pop("LENS_DB", None)
    try:
        out = lens(["report", "nope", "-o", str(tmp_path / "r.html")], env=env)
    finally:
        if saved is not None:
            os.environ["LENS_DB"] = saved
    assert out.code == 2
    assert "no store at" in out.err and str(tmp_path / "empty") in out.err and "--db" in out.err
