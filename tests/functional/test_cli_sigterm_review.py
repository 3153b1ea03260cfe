"""SIGTERM outside a burst (``lens run --repeat`` between runs, start-up) stops lens as
Ctrl-C does: exit 130 with a word on stderr, finished runs kept, the ExitStack's closers
(store, exporter sinks) run. It killed the process outright (exit -15, sinks unflushed)."""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest

from lens.sim import start_sim_in_thread

pytestmark = pytest.mark.slow


def _runs(db: Path) -> list[tuple[str, str]]:
    try:
        with sqlite3.connect(f"file:{db}?mode=ro", uri=True, timeout=5) as con:
            return [(str(a), str(b)) for a, b in
                    con.execute("select run_id, status from runs order by run_id")]
    except sqlite3.OperationalError:  # not created / migrated yet
        return []


def test_sigterm_between_repeats_stops_like_ctrl_c(tmp_path: Path) -> None:
    db = tmp_path / "rep.db"
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[2])}
    with start_sim_in_thread({"default": "fast"}) as sim:
        proc = subprocess.Popen(
            [sys.executable, "-m", "lens.cli", "run", "--provider", "sim",
             "--base-url", sim.base_url("openai_chat"), "--model", "m", "--requests", "4",
             "--concurrency", "4", "--max-tokens", "8", "--repeat", "3", "--interval", "30",
             "--db", str(db), "--run-id", "rep", "--no-progress"],
            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True, env=env,
        )  # fmt: skip
        try:
            deadline = time.monotonic() + 60
            while ("rep-1", "complete") not in _runs(db):
                assert proc.poll() is None, proc.communicate()[1]
                assert time.monotonic() < deadline, "the first run did not finish in 60 s"
                time.sleep(0.05)
            time.sleep(1.5)  # its report printed: lens is sleeping out the interval
            proc.send_signal(signal.SIGTERM)
            _, err = proc.communicate(timeout=30)
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.wait()
    assert proc.returncode == 130, (proc.returncode, err)
    assert "interrupted" in err, err
    assert _runs(db) == [("rep-1", "complete")]
