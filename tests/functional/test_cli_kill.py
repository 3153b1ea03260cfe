"""SIGKILL a burst mid-way: every finished request is kept, the DB is sound, the run is
reported incomplete."""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import subprocess
import time
from pathlib import Path

import pytest
from helpers_cli import LENS, lens

from lens.sim import start_sim_in_thread

pytestmark = pytest.mark.slow

MARGIN_NS = 1_500_000_000  # finished this long before the kill => must be committed


def _count(db: Path) -> int:
    try:
        with sqlite3.connect(f"file:{db}?mode=ro", uri=True, timeout=5) as con:
            return int(con.execute("select count(*) from requests").fetchone()[0])
    except sqlite3.OperationalError:  # not created / migrated yet
        return 0


def test_sigkill_keeps_every_finished_request(tmp_path: Path) -> None:
    db = tmp_path / "kill.db"
    with start_sim_in_thread({"default": "slow"}) as sim:
        proc = subprocess.Popen(
            [str(LENS), "run", "--provider", "sim", "--base-url", sim.base_url("openai_chat"),
             "--model", "m", "--requests", "500", "--concurrency", "4", "--max-tokens", "24",
             "--db", str(db), "--run-id", "killed", "--no-progress"],
            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
        )  # fmt: skip
        try:
            deadline = time.monotonic() + 60
            while _count(db) < 8:
                assert proc.poll() is None, proc.stderr.read().decode() if proc.stderr else ""
                assert time.monotonic() < deadline, "burst did not store 8 requests in 60 s"
                time.sleep(0.1)
            time.sleep(2.0)
            kill_ns = time.perf_counter_ns()
            os.kill(proc.pid, signal.SIGKILL)
            proc.wait(10)
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.wait()
        truths = sim.truths()

    assert proc.returncode == -signal.SIGKILL
    with sqlite3.connect(db) as con:
        assert con.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        assert (
            con.execute("select status from runs where run_id='killed'").fetchone()[0] == "running"
        )
        stored = {r[0] for r in con.execute("select server_request_id from requests")}
        # request row and chunk rows were committed together
        bad = con.execute(
            "select r.request_id from requests r left join chunks c on c.run_id = r.run_id"
            " and c.request_id = r.request_id and c.kind in ('text','reasoning') and c.n_tokens > 0"
            " group by r.request_id having count(c.request_id) != max(r.n_chunks)"
        ).fetchall()
    assert bad == []
    finished_early = [
        t.request_id for t in truths
        if t.finished_ns is not None and t.finished_ns < kill_ns - MARGIN_NS and not t.client_disconnected
    ]  # fmt: skip
    assert len(finished_early) >= 8
    missing = [rid for rid in finished_early if rid not in stored]
    assert missing == [], f"{len(missing)} finished requests lost"

    res = lens(["runs", "--db", str(db), "--json"])
    assert res.code == 0
    (run,) = json.loads(res.out)
    assert run["run_id"] == "killed" and run["status"] == "incomplete"
    assert run["n_requests"] == len(stored)
    shown = lens(["show", "killed", "--db", str(db), "--json"])
    assert json.loads(shown.out)["status"] == "incomplete"


@pytest.mark.parametrize(
    ("sig", "workers"),
    [(signal.SIGINT, 1), (signal.SIGTERM, 1), (signal.SIGTERM, 2)],
    ids=["sigint", "sigterm", "sigterm-2-workers"],
)
def test_sigint_stores_what_finished_and_marks_incomplete(
    tmp_path: Path, sig: signal.Signals, workers: int
) -> None:
    # SIGTERM is what `timeout`, systemd, docker stop and Kubernetes send: it stops the burst
    # like Ctrl-C (what finished is stored, the run is incomplete), with worker processes too.
    db = tmp_path / "int.db"
    with start_sim_in_thread({"default": "slow"}) as sim:
        proc = subprocess.Popen(
            [str(LENS), "run", "--provider", "sim", "--base-url", sim.base_url("openai_chat"),
             "--model", "m", "--requests", "500", "--concurrency", "4", "--max-tokens", "16",
             "--db", str(db), "--run-id", "ctrlc", "--no-progress", "--json",
             "--workers", str(workers)],
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        )  # fmt: skip
        try:
            deadline = time.monotonic() + 60
            while _count(db) < 2:
                assert proc.poll() is None
                assert time.monotonic() < deadline
                time.sleep(0.1)
            proc.send_signal(sig)
            out, err = proc.communicate(timeout=30)
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.wait()
    assert proc.returncode == 130, err
    assert "stopping: no new requests" in err
    summary = json.loads(out)
    assert summary["status"] == "incomplete" and summary["skipped"] > 0
    with sqlite3.connect(db) as con:
        n = con.execute("select count(*) from requests").fetchone()[0]
        assert con.execute("select status from runs").fetchone()[0] == "incomplete"
    assert summary["n_requests"] == n and n >= 2
    assert "Traceback" not in err
