"""The local fleet: the runner under awslambdaric per simulated region, each behind a delay
proxy; TTFT differences between regions follow the proxies' RTT, on the wire."""

from __future__ import annotations

import statistics
import sys
from pathlib import Path

import pytest

sys.path[:0] = [str(Path(__file__).resolve().parents[1]), str(Path(__file__).resolve().parents[2])]

import lens  # noqa: E402
from lens.fleet import fire  # noqa: E402
from lens.fleet.delay_proxy import DelayProxy  # noqa: E402
from lens.fleet.local import LocalFleet  # noqa: E402
from lens.sim import start_sim_in_thread  # noqa: E402
from lens.spec import spec_from_dict  # noqa: E402
from lens.store.sql import open_store  # noqa: E402

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
