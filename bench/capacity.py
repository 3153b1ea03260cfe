"""Capacity search: wall time and requests spent to find a simulated server's known capacity.

    python -m bench.capacity [--slots 4 8 16] [--requests 12] [--repeat 1]

For each ``slots-N`` server of the embedded simulator (lens.widgets.capacity.SIM_PROFILE:
N streams at once, 20 ms to the first token, 24 tokens 10 ms apart, the rest queued) runs
``lens.burst.capacity.search_capacity`` with ``ttft_ms<=60`` at 95% attainment over the
grid 1, 2, 4, ..., 64, and prints the answer (the right one is N), the levels fired, the
requests spent and the wall time. The simulator runs in this process (a thread), as in
``lens capacity --provider sim``.
"""

from __future__ import annotations

import argparse
import statistics

from lens.burst.capacity import search_capacity
from lens.sim import start_sim_in_thread
from lens.widgets.capacity import SIM_PROFILE

GRID = [1, 2, 4, 8, 16, 32, 64]


def main() -> int:
    ap = argparse.ArgumentParser(prog="bench.capacity")
    ap.add_argument("--slots", type=int, nargs="+", default=[4, 8, 16])
    ap.add_argument("--requests", type=int, default=12, help="requests per level at least")
    ap.add_argument("--repeat", type=int, default=1)
    args = ap.parse_args()
    profiles = {f"slots-{n}": {**SIM_PROFILE, "max_concurrency": n} for n in args.slots}
    print("| slots (right answer) | answer | levels fired | requests | wall s |")
    print("|---:|---:|---:|---:|---:|")
    with start_sim_in_thread(profiles) as sim:
        for n in args.slots:
            walls, reqs, answers, levels = [], [], [], []
            for _ in range(args.repeat):
                spec = {"targets": [{"provider": "sim", "dialect": "openai_chat", "model": "m",
                                     "base_url": sim.base_url("openai_chat", f"slots-{n}")}],
                        "prompts": {"synthetic_tokens": 32}, "max_tokens": 64}
                res = search_capacity(spec, slo=["ttft_ms<=60"],
                                      search={"levels": GRID, "requests": args.requests})
                walls.append(res.wall_s)
                reqs.append(res.requests)
                answers.append(res.answer)
                levels.append(len(res.results))
            ans = ", ".join("-" if a is None else f"{a:g}" for a in answers)
            print(f"| {n} | {ans} | {statistics.median(levels):g} | "
                  f"{statistics.median(reqs):g} | {statistics.median(walls):.1f} |", flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
