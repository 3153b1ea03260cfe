"""``lens ... | head -1`` ends quietly (newcomer review: ``lens import FILE | head -1``
printed a BrokenPipeError traceback)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

DATA = Path(__file__).resolve().parents[2] / "data" / "sample" / "vllm_bench_result.json"


def test_a_closed_pipe_is_not_a_traceback(tmp_path: Path) -> None:
    cmd = [sys.executable, "-m", "lens.cli", "import", str(DATA), "--db", str(tmp_path / "d.db")]
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    assert proc.stdout is not None and proc.stderr is not None
    proc.stdout.close()  # the reader is gone before lens writes a line (`| head -0`)
    err = proc.stderr.read().decode()
    code = proc.wait(timeout=120)
    assert "Traceback" not in err and "BrokenPipeError" not in err, err
    assert "Exception ignored" not in err, err
    assert code == 141
