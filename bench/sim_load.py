"""Can the simulated endpoint serve N concurrent streams on time?

Runs the sim in its own process (``lens sim``) and a lean raw-aiohttp client here, opens
N concurrent streamed requests (openai_chat, profile: ttft 50 ms, 64 tokens at a fixed
10 ms gap), then reports, from the sim's ground truth: the server's scheduling lag (how
late each token event was written versus its absolute plan) and the write-call duration,
plus client-side arrival minus server write_start (the sim is not the bottleneck if its
lag stays near asyncio's ~1 ms timer granularity).

    .venv/bin/python -m bench.sim_load [--streams 1 64 256 1024]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import re
import signal
import subprocess
import sys
import time

import aiohttp

PROFILE: dict[str, float] = {"header_ms": 0, "ttft_ms": 50, "itl_ms": 10, "output_tokens": 64, "itl_jitter": 0.0}


def _cpu_s(pid: int) -> float:
    """User+system CPU seconds of a process (from /proc; Linux)."""
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _pct(values: list[float], q: float) -> float:
    values = sorted(values)
    return values[min(len(values) - 1, int(q * len(values)))] if values else float("nan")


async def _one(session: aiohttp.ClientSession, url: str, arrivals: dict[str, list[int]]) -> None:
    body = {"model": "m", "messages": [{"role": "user", "content": "hi"}], "stream": True,
            "stream_options": {"include_usage": True}}
    async with session.post(url, json=body) as resp:
        times: list[int] = []
        buf = b""
        async for data in resp.content.iter_any():
            now = time.perf_counter_ns()
            buf += data
            while b"\n\n" in buf:
                _, buf = buf.split(b"\n\n", 1)
                times.append(now)
        arrivals[resp.headers["x-request-id"]] = times


async def run_level(base: str, n: int, pid: int) -> dict[str, float]:
    arrivals: dict[str, list[int]] = {}
    conn = aiohttp.TCPConnector(limit=0)
    async with aiohttp.ClientSession(connector=conn) as session:
        t = time.perf_counter()
        await asyncio.gather(*(_one(session, base + "/p/bench/v1/chat/completions", arrivals) for _ in range(n)))
        wall = time.perf_counter() - t
        sim_cpu, client_cpu = _cpu_s(pid), time.process_time()
        lags: list[float] = []
        writes: list[float] = []
        errs: list[float] = []
        ev_lags: list[float] = []
        for rid, times in arrivals.items():
            async with session.get(f"{base}/_sim/truth/{rid}") as r:
                truth = json.loads(await r.read())
            lags.append(truth["max_lag_ns"] / 1e6)
            if not PROFILE["itl_jitter"]:  # exact plan known: lag of every token event
                toks = [e for e in truth["events"] if e["n_tokens"]]
                for k, ev in enumerate(toks):
                    planned = truth["received_ns"] + (PROFILE["ttft_ms"] + k * PROFILE["itl_ms"]) * 1e6
                    ev_lags.append((ev["write_start_ns"] - planned) / 1e6)
            for ev, arr in zip(truth["events"], times, strict=False):
                writes.append((ev["write_end_ns"] - ev["write_start_ns"]) / 1e6)
                errs.append((arr - ev["write_start_ns"]) / 1e6)
    return {"sim_cpu": sim_cpu, "client_cpu": client_cpu, "streams": n, "wall_s": wall, "lag_p50_ms": _pct(lags, 0.5), "lag_p99_ms": _pct(lags, 0.99),
            "lag_max_ms": max(lags), "ev_lag_p50_ms": _pct(ev_lags, 0.5), "ev_lag_p99_ms": _pct(ev_lags, 0.99), "write_p99_ms": _pct(writes, 0.99),
            "arrival_err_p50_ms": _pct(errs, 0.5), "arrival_err_p99_ms": _pct(errs, 0.99)}


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--streams", type=int, nargs="+", default=[1, 64, 256, 1024])
    ap.add_argument("--itl-ms", type=float, default=10.0, help="gap between token events")
    ap.add_argument("--tokens", type=int, default=64, help="token events per stream")
    ap.add_argument("--jitter", type=float, default=0.0, help="lognormal sigma of the gaps")
    ap.add_argument("--loop", choices=("asyncio", "uvloop"), default="asyncio", help="the sim's event loop")
    args = ap.parse_args()
    PROFILE.update(itl_ms=args.itl_ms, output_tokens=args.tokens, itl_jitter=args.jitter)
    proc = subprocess.Popen(
        [sys.executable, "-m", "lens.sim", "--port", "0", "--profile", "bench=" + json.dumps(PROFILE),
         "--loop", args.loop],
        stdout=subprocess.PIPE, text=True, env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )
    try:
        assert proc.stdout is not None
        line = proc.stdout.readline()
        m = re.search(r"http://\S+", line)
        if not m:
            raise SystemExit(f"sim did not start: {line!r}")
        base = m.group(0)
        print(f"sim loop {args.loop}; profile {PROFILE}")
        print("| streams | wall s | sim max-lag p50 ms | p99 ms | max ms | write() p99 ms | client arrival - write_start p50 ms | p99 ms | sim CPU us/event | client CPU us/event | event lag p50 ms | p99 ms |")
        print("|---|---|---|---|---|---|---|---|---|---|---|---|")
        for n in args.streams:
            cpu0, me0 = _cpu_s(proc.pid), time.process_time()
            r = asyncio.run(run_level(base, n, proc.pid))
            events = n * (args.tokens + 4)
            r["sim_us_per_event"] = (r["sim_cpu"] - cpu0) / events * 1e6
            r["client_us_per_event"] = (r["client_cpu"] - me0) / events * 1e6
            print(f"| {n} | {r['wall_s']:.2f} | {r['lag_p50_ms']:.2f} | {r['lag_p99_ms']:.2f} | {r['lag_max_ms']:.2f} "
                  f"| {r['write_p99_ms']:.3f} | {r['arrival_err_p50_ms']:.2f} | {r['arrival_err_p99_ms']:.2f} "
                  f"| {r['sim_us_per_event']:.1f} | {r['client_us_per_event']:.1f} "
                  f"| {r['ev_lag_p50_ms']:.2f} | {r['ev_lag_p99_ms']:.2f} |", flush=True)
    finally:
        proc.send_signal(signal.SIGINT)
        proc.wait(10)


if __name__ == "__main__":
    main()
