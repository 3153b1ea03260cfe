"""The local fleet: the runner under awslambdaric per simulated region, each behind a delay
proxy; TTFT differences between regions follow the proxies' RTT, on the wire."""

from __future__ import annotations

import statistics
import sys
from pathlib import Path

import pytest

import lens
from lens.fleet import fire
from lens.fleet.delay_proxy import DelayProxy
from lens.fleet.local import LocalFleet
from lens.sim import start_sim_in_thread
from lens.spec import spec_from_dict
from lens.store.sql import open_store

pytestmark = pytest.mark.slow
RTT = {"us-east-1": 10.0, "ap-south-1": 130.0}


def test_regions_differ_by_their_rtt(tmp_path: Path) -> None:
    with start_sim_in_thread({"default": {"header_ms": 1.0, "ttft_ms": 20.0, "itl_ms": 2.0, "output_tokens": 6}}) as sim:
        spec = spec_from_dict({
            "targets": [{"provider": "openai_compat", "base_url": sim.url + "/v1", "model": "m"}],
            "prompts": {"synthetic_tokens": 16}, "max_tokens": 6,
            "load": {"requests": 6, "concurrency": 1},
        })
        states: list[tuple[str, str]] = []
        store = open_store(tmp_path / "fleet.db")
        with LocalFleet(list(RTT), rtt_ms=RTT) as fleet:
            res = fire(spec, list(RTT), invoker=fleet, store=store, run_id="fleet-local-1",
                       progress=lambda r, s, i: states.append((r, s)))
            store.close()
            assert res.failures == {}
            assert {st.cold_starts for st in res.statuses.values()} == {1}
            again = fire(spec, list(RTT), invoker=fleet, shards=2, inline=False)  # rows via local S3
            assert again.failures == {} and len(again.records) == 12
            assert {st.cold_starts for st in again.statuses.values()} == {0}  # warm containers
        truths = {t.request_id: t for t in sim.truths()}
    df = res.frame
    assert len(df) == 12 and set(df["runner"]) == {"lambda"}
    assert set(df["endpoint_host"]) == {sim.url.removeprefix("http://")}  # not the proxy's
    ttft = {r: statistics.median(df[df["region"] == r]["ttft_ms"]) for r in RTT}
    # One request/response exchange on a warm connection: TTFT grows by one RTT.
    assert ttft["ap-south-1"] - ttft["us-east-1"] == pytest.approx(RTT["ap-south-1"] - RTT["us-east-1"], abs=25)
    # The server saw the same work in both regions: the difference is on the wire.
    server_ttft = {r: [] for r in RTT}
    for rec in res.records:
        t = truths[rec.server_request_id]
        first = next(e for e in t.events if e.kind == "text")
        server_ttft[rec.region].append((first.t_ns - t.received_ns) / 1e6)
    assert abs(statistics.median(server_ttft["ap-south-1"]) - statistics.median(server_ttft["us-east-1"])) < 10
    assert ("ap-south-1", "ok") in states and ("us-east-1", "running") in states
    # Gathered into the SQLite store, as the CLI and notebooks read it back.
    stored = lens.load(tmp_path / "fleet.db")
    assert len(stored) == 12 and set(stored["run_id"]) == {"fleet-local-1"}
    assert stored.groupby("region", observed=True).size().to_dict() == {"ap-south-1": 6, "us-east-1": 6}


def test_delay_proxy_adds_one_way_delays() -> None:
    import socket
    import threading
    import time

    srv = socket.socket()
    srv.bind(("127.0.0.1", 0))
    srv.listen()

    def echo() -> None:
        conn, _ = srv.accept()
        with conn:
            while data := conn.recv(1024):
                conn.sendall(data)

    threading.Thread(target=echo, daemon=True).start()
    with DelayProxy("127.0.0.1", srv.getsockname()[1], up_ms=30, down_ms=50) as proxy:
        with socket.create_connection(("127.0.0.1", proxy.port)) as c:
            rtts = []
            for _ in range(3):
                t0 = time.perf_counter()
                c.sendall(b"ping")
                assert c.recv(1024) == b"ping"
                rtts.append((time.perf_counter() - t0) * 1000)
    srv.close()
    assert all(80 <= r < 120 for r in rtts), rtts


CHILD = """
import json, sys, time
import lens
from lens.fleet.local import HANDLER, LocalFleet
from lens.sim import start_sim_in_thread

slow = {"header_ms": 1.0, "ttft_ms": 100.0, "itl_ms": 1000.0, "output_tokens": 500}
with start_sim_in_thread({"slow": slow}) as sim, LocalFleet(["eu-west-1"], rtt_ms={"eu-west-1": 5.0},
                                                           timeout_s=8) as fleet:
    ev = {"run_id": "installed", "inline": False, "spec": {
        "targets": [{"provider": "openai_compat", "base_url": sim.url + "/p/slow/v1", "model": "m"}],
        "prompts": {"synthetic_tokens": 8}, "max_tokens": 500, "load": {"requests": 3, "concurrency": 1},
        "timeouts": {"idle_s": 30, "total_s": 30}}}
    t0 = time.monotonic()
    resp = fleet.invoke("eu-west-1", ev)
    elapsed = time.monotonic() - t0
    records, chunks = fleet.fetch_rows("eu-west-1", resp)
    print(json.dumps({"lens": lens.__file__, "handler": HANDLER, "ok": resp.ok, "elapsed": elapsed,
                      "skipped": resp.skipped, "keys": sorted(resp.s3_keys),
                      "records": [[r.status, r.error, len([c for c in chunks if c.request_id == r.request_id])]
                                  for r in records]}))
"""


@pytest.mark.timeout(120)
def test_runs_the_installed_package_and_cuts_at_the_deadline(tmp_path: Path) -> None:
    """The lens package alone (no checkout, no lambdas/) runs the runner under awslambdaric;
    an 8 s invocation against a stream that would take minutes answers before 8 s, the
    request in flight cut at the deadline minus the 2 s margin and written to S3 (#17 item 1)."""
    import json
    import os
    import shutil
    import subprocess

    site = tmp_path / "site"
    shutil.copytree(Path(lens.__file__).parent, site / "lens", ignore=shutil.ignore_patterns("__pycache__"))
    env = {**os.environ, "PYTHONPATH": str(site)}
    res = subprocess.run([sys.executable, "-c", CHILD], env=env, cwd=tmp_path, capture_output=True,
                         text=True, timeout=110)
    assert res.returncode == 0, res.stderr[-3000:]
    out = json.loads(res.stdout.strip().splitlines()[-1])
    assert out["lens"].startswith(str(site)) and out["handler"] == "lens.fleet.runner.handle.handler"
    assert out["ok"] is True and out["elapsed"] < 8.0, out
    assert out["keys"] == ["chunks", "requests"]  # read back from the local S3
    (status, error, n_chunks), = out["records"]
    assert status == "timeout" and "cut at the burst's deadline" in error and n_chunks >= 1
    assert out["skipped"] == 2
