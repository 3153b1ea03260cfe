"""Probe timing benchmark: client timing error against the sim's ground truth, and client
capacity (chunk events per second on one core).

    python -m bench.timing                 # all levels, all client variants
    python -m bench.timing --quick         # smaller, for a smoke run

The simulated endpoint runs in a separate process (pinned to core 1 when the machine has
two cores, the client to core 0). Timing error of an event = the client's arrival time
(perf_counter_ns taken after the framer returned it) minus the server's ``write_start_ns``
for that event (CLOCK_MONOTONIC is shared between processes on one host).

Client variants: ``asyncio`` (stdlib loop), ``uvloop`` (uvloop loop), ``uvloop+stdjson``
(uvloop, and the dialects' JSON decoder forced to the standard library's instead of orjson,
which the engine uses when the ``fast`` extra is installed).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import multiprocessing as mp
import os
import time
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

from lens.probe.lag import saturated

BENCH_PROFILE = {
    # 20 events/s per stream (50 ms gaps, lognormal jitter): aggregate = 20 x streams.
    "header_ms": 1.0,
    "ttft_ms": 50.0,
    "ttft_jitter_ms": 20.0,
    "itl_ms": 50.0,
    "itl_jitter": 0.3,
    "output_tokens": 24,
}
CAPACITY_PROFILE = {"header_ms": 0.0, "ttft_ms": 0.0, "itl_ms": 0.0, "output_tokens": 256}


def _pin(core: int) -> bool:
    if core < 0:
        return False
    if hasattr(os, "sched_setaffinity") and (os.cpu_count() or 1) > core:
        try:
            os.sched_setaffinity(0, {core})
            return True
        except OSError:
            return False
    return False


def _sim_process(conn: Any, core: int, tls: bool = False) -> None:
    _pin(core)
    from lens.sim import SimServer

    ca: Any = None
    if tls:
        from lens.sim.tls import TestCA

        ca = TestCA(["127.0.0.1", "localhost"])

    async def main() -> None:
        async with SimServer(
            {"bench": BENCH_PROFILE, "cap": CAPACITY_PROFILE}, max_truths=200_000,
            ssl_context=ca.server_context() if ca is not None else None,
        ) as sim:
            conn.send((sim.port, str(ca.ca_path) if ca is not None else None))
            await asyncio.get_running_loop().run_in_executor(None, conn.recv)

    try:
        import uvloop

        uvloop.run(main())
    except ImportError:
        asyncio.run(main())


@dataclass
class Sim:
    url: str
    proc: Any
    conn: Any
    ca: str | None = None  # the test CA's PEM when the sim serves HTTPS

    def truths(self, limit: int) -> dict[str, dict[str, Any]]:
        import ssl

        ctx = ssl.create_default_context(cafile=self.ca) if self.ca else None
        with urllib.request.urlopen(f"{self.url}/_sim/truth?limit={limit}", timeout=60,
                                    context=ctx) as r:
            data = json.loads(r.read())
        return {t["request_id"]: t for t in data["truths"]}

    def close(self) -> None:
        self.conn.send("stop")
        self.proc.join(10)
        if self.proc.is_alive():
            self.proc.terminate()


def start_sim(*, pin: bool = True, tls: bool = False) -> Sim:
    ctx = mp.get_context("spawn")
    parent, child = ctx.Pipe()
    proc = ctx.Process(target=_sim_process, args=(child, 1 if pin else -1, tls), daemon=True)
    proc.start()
    if not parent.poll(30):
        proc.terminate()
        raise RuntimeError("sim process did not start")
    port, ca = parent.recv()
    return Sim(f"{'https' if tls else 'http'}://127.0.0.1:{port}", proc, parent, ca)


def _variant(name: str) -> Callable[[], asyncio.AbstractEventLoop] | None:
    from lens.probe.dialects import _common

    # The engine decodes with orjson when the ``fast`` extra is installed; "+stdjson" forces
    # the standard library's decoder (what an install without the extra does).
    _common._loads = json.loads if name.endswith("+stdjson") else _common._make_loads()
    if name.startswith("uvloop"):
        import uvloop

        return uvloop.new_event_loop
    return None


STREAM_S = 1.3  # about one bench stream: 50 ms TTFT + 24 x 50 ms gaps (+ jitter)


CA_BUNDLE: str | None = None  # set by main() for --tls


def _spec(url: str, profile: str, level: int, requests: int, shape: str = "burst") -> Any:
    from lens.spec import spec_from_dict

    if shape == "ramp" and level > 1:
        # Open loop: arrivals spread evenly at the rate that keeps ``level`` streams in flight.
        load: dict[str, Any] = {
            "kind": "rate",
            "rate": level / STREAM_S,
            "requests": requests,
            "max_in_flight": level,
        }
    else:
        # Closed loop: ``level`` streams start together, each worker starts its next at once.
        load = {"kind": "concurrency", "concurrency": level, "requests": requests}
    return spec_from_dict(
        {
            "targets": [
                {"provider": "openai_compat", "base_url": f"{url}/p/{profile}/v1", "model": "bench"}
            ],
            "prompts": {"synthetic_tokens": 64},
            "max_tokens": 512,
            "load": load,
            "timeouts": {"idle_s": 60, "first_token_s": 120, "total_s": 600},
            "ca_bundle": CA_BUNDLE,
        }
    )


def _run(
    spec: Any, loop_factory: Callable[[], asyncio.AbstractEventLoop] | None
) -> tuple[Any, float, float]:
    from lens.probe.engine import run_burst

    out: list[Any] = []

    async def main() -> None:  # returns None: see run_burst_sync on Runner and big results
        out.append(await run_burst(spec))

    cpu0, wall0 = time.process_time(), time.perf_counter()
    with asyncio.Runner(loop_factory=loop_factory) as runner:
        runner.run(main())
    return out[0], time.perf_counter() - wall0, time.process_time() - cpu0


def timing_error(sim: Sim, variant: str, level: int, requests: int, shape: str) -> dict[str, Any]:
    res, wall, cpu = _run(_spec(sim.url, "bench", level, requests, shape), _variant(variant))
    truths = sim.truths(requests)
    by_req: dict[str, list[Any]] = {}
    for c in res.chunks:
        by_req.setdefault(c.request_id, []).append(c)
    chunk_err: list[float] = []
    ttft_err: list[float] = []
    where: list[tuple[float, int, str, float | None]] = []  # per event, for --worst
    t_first = min(res.origins_ns.values()) if res.origins_ns else 0
    bad = 0
    sim_lag = 0
    for r in res.records:
        if r.status != "ok":
            bad += 1
            continue
        t = truths[r.server_request_id]
        sim_lag = max(sim_lag, t["max_lag_ns"])
        o = res.origins_ns[r.request_id]
        evs = t["events"]
        chunks = by_req[r.request_id]
        assert len(chunks) == len(evs), "client and server disagree on the event count"
        first_text = next(e for e in evs if e["kind"] == "text" and e["n_tokens"])
        ttft_err.append(r.ttft_ms - (first_text["write_start_ns"] - o) / 1e6)
        chunk_err.extend(
            c.t_ms - (e["write_start_ns"] - o) / 1e6 for c, e in zip(chunks, evs, strict=True)
        )
        where.extend(
            ((e["write_start_ns"] - t_first) / 1e6, k, r.request_id, r.client_lag_ms)
            for k, e in enumerate(evs)
        )
    ce = np.array(chunk_err)
    order = np.argsort(-ce)
    te = np.array(ttft_err)
    return {
        "variant": variant,
        "shape": shape,
        "streams": level,
        "requests": requests,
        "failed": bad,
        "events": len(ce),
        "events_per_s": len(ce) / wall,
        "cpu_us_per_event": cpu / len(ce) * 1e6,
        "chunk_p50_ms": float(np.percentile(ce, 50)),
        "chunk_p99_ms": float(np.percentile(ce, 99)),
        "chunk_max_ms": float(ce.max()),
        "chunk_min_ms": float(ce.min()),
        "ttft_p50_ms": float(np.percentile(te, 50)),
        "ttft_p99_ms": float(np.percentile(te, 99)),
        "sim_max_lag_ms": sim_lag / 1e6,
        # the run's own verdict on itself (lens.probe.lag): does it agree with the truth?
        "lag_p99_ms": (res.client or {}).get("lag_p99_ms", float("nan")),
        "cpu_wait": (res.client or {}).get("cpu_wait", float("nan")),
        "flagged": bool(saturated(res.client)) if res.client else False,
        # the most late events: error, ms into the burst, event index, request, its client_lag_ms
        "worst": [(float(ce[i]), *where[i]) for i in order[:20]],
    }


def capacity(sim: Sim, variant: str, streams: int, requests: int) -> dict[str, Any]:
    res, wall, cpu = _run(_spec(sim.url, "cap", streams, requests), _variant(variant))
    n = len(res.chunks)
    return {
        "variant": variant,
        "streams": streams,
        "requests": requests,
        "failed": sum(r.status != "ok" for r in res.records),
        "events": n,
        "wall_s": wall,
        "client_cpu_s": cpu,
        "events_per_s_wall": n / wall,
        "events_per_cpu_s": n / cpu if cpu else float("nan"),
    }


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(
        prog="python -m bench.timing", description=__doc__.split("\n\n")[0]
    )
    ap.add_argument("--levels", default="1,64,256,1024")
    ap.add_argument("--variants", default="asyncio,uvloop,uvloop+stdjson")
    ap.add_argument(
        "--shapes",
        default="burst,ramp",
        help="burst: N streams start together; ramp: spread arrivals",
    )
    ap.add_argument("--quick", action="store_true", help="fewer requests per level")
    ap.add_argument("--repeat", type=int, default=1,
                    help="fire each timing row this many times (e.g. 10 for the saturation "
                         "flag's false-positive rate)")
    ap.add_argument("--no-capacity", action="store_true", help="skip the capacity table")
    ap.add_argument("--worst", type=int, default=0, metavar="N",
                    help="after each row, its N latest events: when in the burst, which event "
                         "of which request, and that request's own client_lag_ms")
    ap.add_argument("--tls", action="store_true", help="the sim serves HTTPS (a throwaway test CA)")
    ap.add_argument(
        "--no-pin", action="store_true", help="let the OS place client and sim (busy shared box)"
    )
    args = ap.parse_args(argv)
    levels = [int(x) for x in args.levels.split(",")]
    variants = [v for v in args.variants.split(",") if v]
    shapes = [v for v in args.shapes.split(",") if v]
    pinned = False if args.no_pin else _pin(0)
    global CA_BUNDLE
    sim = start_sim(pin=not args.no_pin, tls=args.tls)
    CA_BUNDLE = sim.ca
    print(
        f"# sim at {sim.url} (separate process); client pinned to core 0: {pinned}; cores: {os.cpu_count()}; "
        f"load average before: {os.getloadavg()[0]:.2f}"
    )
    try:
        _run(_spec(sim.url, "bench", 4, 8), None)  # warm imports, tokenizer, sim
        print("\n## timing error (client arrival - server write_start), ms")
        print(
            f"{'variant':14} {'shape':5} {'streams':>7} {'events':>7} {'ev/s':>6} {'cpu us/ev':>9} "
            f"{'chunk p50':>9} {'p99':>7} {'max':>7} {'ttft p50':>8} {'p99':>7} {'sim lag':>7} "
            f"{'lag p99':>7} {'wait':>5} flag failed"
        )
        for variant in variants:
            for shape in shapes:
                for level in levels:
                    if shape == "ramp" and level == 1:
                        continue
                    n = 30 if level == 1 else (level if args.quick else 2 * level)
                    for _ in range(args.repeat):
                        r = timing_error(sim, variant, level, n, shape)
                        print(
                            f"{variant:14} {shape:5} {level:7d} {r['events']:7d} {r['events_per_s']:6.0f} "
                            f"{r['cpu_us_per_event']:9.1f} {r['chunk_p50_ms']:9.3f} {r['chunk_p99_ms']:7.3f} "
                            f"{r['chunk_max_ms']:7.2f} {r['ttft_p50_ms']:8.3f} {r['ttft_p99_ms']:7.3f} "
                            f"{r['sim_max_lag_ms']:7.1f} {r['lag_p99_ms']:7.2f} {r['cpu_wait']:5.2f} "
                            f"{'YES ' if r['flagged'] else 'no  '} {r['failed']}",
                            flush=True,
                        )
                        for err, at, k, rid, lag in r["worst"][: args.worst]:
                            shown = "-" if lag is None else f"{lag:.2f}"
                            print(f"    late {err:6.2f} ms: event {k} of request ...{rid[-6:]}, "
                                  f"{at:7.1f} ms into the burst; its client_lag_ms {shown}")
        if args.no_capacity:
            return 0
        print("\n## client capacity (sim with zero gaps, 256 tokens per stream)")
        print(
            f"{'variant':14} {'streams':>7} {'events':>7} {'wall s':>7} {'cpu s':>7} {'ev/s wall':>10} {'ev/cpu-s':>9}"
        )
        for variant in variants:
            r = capacity(sim, variant, 64, 128 if args.quick else 384)
            print(
                f"{variant:14} {r['streams']:7d} {r['events']:7d} {r['wall_s']:7.2f} {r['client_cpu_s']:7.2f} "
                f"{r['events_per_s_wall']:10.0f} {r['events_per_cpu_s']:9.0f}",
                flush=True,
            )
    finally:
        sim.close()
    print(f"# load average after: {os.getloadavg()[0]:.2f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
