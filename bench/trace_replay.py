"""Trace replay benchmark: how closely lens sends a recorded trace on its own timestamps.

    python -m bench.trace_replay              # 600 rows over 6 s at 1x, asyncio and uvloop
    python -m bench.trace_replay --quick      # 200 rows over 2 s

A Mooncake trace is generated (Poisson arrivals at 100 req/s, 15 % of rows arriving with
the one before, four shared prefixes), then replayed at 1x against the simulated endpoint
in its own process (pinned to core 1 when there are two, the client to core 0). Reported:

- ``queue_ms`` p50/p99/max: schedule -> request start, the client's own delay;
- ``recv`` p50/p99: |server receive time - trace offset| after removing the median (the
  server's clock and the client's are the same CLOCK_MONOTONIC), i.e. what the server saw;
- the most requests in flight at once (from the server's truth), and the host's load
  average during the run: on a shared machine the OS can deschedule the client, which no
  client can help.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import multiprocessing as mp
import os
import random
import tempfile
import time
import urllib.request
from pathlib import Path
from typing import Any

import numpy as np

PROFILE = {"ttft_ms": 15, "itl_ms": 1, "output_tokens": 64, "cache_prefix": True}


def write_trace(path: Path, n: int, span_ms: float, seed: int = 5) -> list[dict[str, Any]]:
    rng = random.Random(seed)
    rows, t, nxt = [], 0.0, 100
    for _ in range(n):
        if rng.random() > 0.15:
            t += rng.expovariate(n / span_ms)
        own = rng.randint(0, 1)
        ids = [rng.randrange(4), *range(nxt, nxt + own)]
        nxt += own
        rows.append({"timestamp": round(t, 3), "input_length": (len(ids) - 1) * 512 + rng.randint(100, 512),
                     "output_length": rng.randint(4, 24), "hash_ids": ids})  # fmt: skip
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    return rows


def _sim_process(conn: Any) -> None:
    from bench.timing import _pin
    from lens.sim import SimServer

    _pin(1)

    async def main() -> None:
        async with SimServer({"c": PROFILE}, max_truths=200_000) as sim:
            conn.send(sim.port)
            await asyncio.get_running_loop().run_in_executor(None, conn.recv)

    asyncio.run(main())


def replay(url: str, trace: Path, rows: list[dict[str, Any]], loop: str) -> dict[str, Any]:
    from bench.timing import _variant
    from lens.probe.engine import run_burst
    from lens.spec import spec_from_dict

    spec = spec_from_dict({"targets": [{"provider": "openai_compat", "base_url": f"{url}/p/c/v1", "model": "m"}],
                           "load": {"trace": {"file": str(trace)}}})  # fmt: skip
    out: list[Any] = []

    async def main() -> None:
        out.append(await run_burst(spec))

    load0 = os.getloadavg()[0]
    with asyncio.Runner(loop_factory=_variant(loop)) as runner:
        runner.run(main())
    load1 = os.getloadavg()[0]
    res = out[0]
    with urllib.request.urlopen(f"{url}/_sim/truth?limit={len(rows)}", timeout=60) as r:
        truths = {t["request_id"]: t for t in json.loads(r.read())["truths"]}
    recs = sorted(res.records, key=lambda r: r.scheduled_ms)
    order = sorted(range(len(rows)), key=lambda i: (rows[i]["timestamp"], i))
    want = np.array([rows[i]["timestamp"] - rows[order[0]]["timestamp"] for i in order])
    queue = np.array([r.queue_ms for r in recs])
    recv = np.array([truths[r.server_request_id]["received_ns"] for r in recs], dtype="float64")
    lag = (recv - recv[0]) / 1e6 - want
    dev = np.abs(lag - np.median(lag))
    spans = sorted((t["received_ns"], t["finished_ns"] or 0) for t in truths.values())
    return {
        "loop": loop, "requests": len(recs), "ok": sum(r.status == "ok" for r in recs),
        "queue_p50": float(np.percentile(queue, 50)), "queue_p99": float(np.percentile(queue, 99)),
        "queue_max": float(queue.max()), "recv_p50": float(np.percentile(dev, 50)),
        "recv_p99": float(np.percentile(dev, 99)),
        "in_flight_max": max(sum(1 for a, b in spans if a <= s < b) for s, _ in spans),
        "load_avg": (load0 + load1) / 2,
    }  # fmt: skip


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m bench.trace_replay")
    p.add_argument("--quick", action="store_true")
    p.add_argument("--loops", default="asyncio,uvloop")
    args = p.parse_args(argv)
    n, span = (200, 2000.0) if args.quick else (600, 6000.0)
    from bench.timing import _pin

    _pin(0)
    with tempfile.TemporaryDirectory() as tmp:
        trace = Path(tmp) / "trace.jsonl"
        rows = write_trace(trace, n, span)
        print(f"trace: {n} rows over {span / 1000:g} s, replayed at 1x; "
              f"{os.cpu_count()} cores", flush=True)  # fmt: skip
        print(f"{'loop':8} {'ok':>5} {'queue p50':>10} {'p99':>7} {'max':>7} {'recv p50':>9} "
              f"{'p99':>7} {'in flight':>10} {'load avg':>9}")  # fmt: skip
        for loop in args.loops.split(","):
            ctx = mp.get_context("spawn")
            parent, child = ctx.Pipe()
            proc = ctx.Process(target=_sim_process, args=(child,), daemon=True)
            proc.start()
            try:
                url = f"http://127.0.0.1:{parent.recv()}"
                time.sleep(0.2)
                r = replay(url, trace, rows, loop)
            finally:
                parent.send("stop")
                proc.join(10)
            print(f"{r['loop']:8} {r['ok']:>5} {r['queue_p50']:>10.2f} {r['queue_p99']:>7.2f} "
                  f"{r['queue_max']:>7.2f} {r['recv_p50']:>9.2f} {r['recv_p99']:>7.2f} "
                  f"{r['in_flight_max']:>10} {r['load_avg']:>9.2f}", flush=True)  # fmt: skip
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
