"""`lens chart NAME RUN...`: one chart of stored runs to a file, and plain errors."""

from __future__ import annotations

from pathlib import Path

import pytest
from helpers_cli import lens


@pytest.fixture(scope="module")
def db(tmp_path_factory: pytest.TempPathFactory) -> str:
    path = str(tmp_path_factory.mktemp("chart") / "lens.db")
    for run_id in ("one", "two"):
        out = lens(["run", "--provider", "sim", "--model", "sim-model", "--requests", "12",
                    "--concurrency", "3", "--db", path, "--run-id", run_id, "--no-progress"])
        assert out.code == 0, out.err
    return path


def test_a_chart_of_a_stored_run_as_svg(db: str, tmp_path: Path) -> None:
    out = lens(["chart", "ecdf", "one", "--db", db, "-o", str(tmp_path / "e.svg")])
    assert out.code == 0, out.err
    svg = (tmp_path / "e.svg").read_text()
    assert svg.startswith("<svg") and "TTFT" in svg  # the axis says what it shows


def test_two_runs_are_coloured_by_run_and_chunks_are_read_for_the_waterfall(
        db: str, tmp_path: Path) -> None:
    out = lens(["chart", "box", "one", "two", "--metric", "e2e_ms", "--db", db,
                "-o", str(tmp_path / "b.json")])
    assert out.code == 0, out.err
    spec = (tmp_path / "b.json").read_text()
    assert '"one"' in spec and '"two"' in spec and "run_id" in spec
    out = lens(["chart", "waterfall", "latest", "--db", db, "-o", str(tmp_path / "w.html")])
    assert out.code == 0, out.err
    assert "vegaEmbed" in (tmp_path / "w.html").read_text()


@pytest.mark.parametrize(("args", "words"), [
    (["chart", "ecfd", "one"], ["no chart named 'ecfd'", "did you mean 'ecdf'"]),
    (["chart", "ecdf", "one", "--metric", "ttft"], ["no column 'ttft'", "ttft_ms"]),
    (["chart", "ecdf", "one", "-o", "x.pdf"], ["--output", ".svg, .png, .json or .html"]),
    (["chart", "ecdf", "nope"], ["nope"]),
])
def test_errors_name_what_to_fix(db: str, args: list[str], words: list[str]) -> None:
    out = lens([*args, "--db", db])
    assert out.code == 2, (out.out, out.err)
    assert "Traceback" not in out.err
    for w in words:
        assert w in out.err
