"""nbval over notebooks/: every notebook runs headless and offline (embedded sim, local fleet,
sample data); stable outputs are compared exactly after notebooks/nbval_sanitize.cfg, cells
with live timings or chart specs carry a justified ``# NBVAL_IGNORE_OUTPUT`` (or, in 06, the
``nbval-ignore-output`` cell tag: every such cell there shows live timings or a chart)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
NOTEBOOKS = sorted((ROOT / "notebooks").glob("[0-9][0-9]_*.ipynb"))

pytestmark = pytest.mark.slow


def test_there_are_six_numbered_notebooks() -> None:
    assert [p.name[:2] for p in NOTEBOOKS] == ["01", "02", "03", "04", "05", "06"]


@pytest.mark.timeout(600)
def test_notebooks_pass_nbval(tmp_path: Path) -> None:
    cmd = [
        sys.executable, "-m", "pytest", "--nbval", "--nbval-current-env",
        "--nbval-sanitize-with", str(ROOT / "notebooks" / "nbval_sanitize.cfg"),
        "--nbval-cell-timeout", "300", "-p", "no:cacheprovider", "-q",
        "-o", "addopts=", "--rootdir", str(ROOT / "notebooks"),
        *map(str, NOTEBOOKS),
    ]
    proc = subprocess.run(cmd, cwd=tmp_path, capture_output=True, text=True, timeout=580)
    tail = (proc.stdout + proc.stderr)[-6000:]
    assert proc.returncode == 0, tail
    assert " passed" in proc.stdout and "failed" not in proc.stdout, tail
