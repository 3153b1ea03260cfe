"""Make data/sample/: real bursts of the local fleet against the simulated endpoint.

    .venv/bin/python scripts/make_sample_data.py [--out data/sample] [--days 10]

Every row comes from a real run: the runner under awslambdaric in one process per simulated
region (lens.fleet.local.LocalFleet, each region behind its delay proxy), firing at the
simulated endpoint (lens.sim) over HTTP. What it writes (lens export format, Parquet):

- ``baseline.parquet`` (+ ``.chunks.parquet``, ``.meta.json``): run ``sample-baseline``,
  three simulated providers (sim-fast/openai_chat, sim-steady/anthropic, sim-slow/gemini)
  from three regions (us-east-1, eu-west-1, ap-south-1).
- ``candidate.parquet`` (+ siblings): run ``sample-candidate``, the same burst after a
  "deploy": sim-fast's time to first token doubled and its decode got faster, so the
  regression report has a regression and an improvement to show.
- ``history.parquet``: ``--days`` scheduled runs (us-east-1, eu-west-1; sim-steady), one per
  day. The fleet stamps ``started_at`` with the time the request really ran, so each run's
  ``started_at`` is shifted back by whole days (run i of N by N-1-i days) to form a daily
  history; nothing else is changed. From the middle day on, sim-steady's profile is slower
  (TTFT 60 -> 150 ms), which gives the change-point detector a real level shift.
  No chunk file: the history notebook uses request rows only (keeps the repo small).

Latency draws are seeded (sim seed, load seed), but timings are real wall-clock
measurements, so re-running gives similar, not identical, numbers.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from datetime import timedelta
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from lens.fleet import fire  # noqa: E402
from lens.fleet.local import LocalFleet  # noqa: E402
from lens.record import REQUEST_FIELDS  # noqa: E402
from lens.sim import start_sim_in_thread  # noqa: E402
from lens.spec import spec_from_dict  # noqa: E402
from lens.store.files import export_run, write_frame  # noqa: E402
from lens.store.sql import open_store  # noqa: E402

REGIONS = ("us-east-1", "eu-west-1", "ap-south-1")
HISTORY_REGIONS = ("us-east-1", "eu-west-1")
# (target name, dialect, sim profile name, model)
TARGETS = (
    ("sim-fast", "openai_chat", "svc-fast", "sim-fast-1"),
    ("sim-steady", "anthropic", "svc-steady", "sim-steady-1"),
    ("sim-slow", "gemini", "svc-slow", "sim-slow-1"),
)
BASE_PROFILES: dict[str, Any] = {"svc-fast": "fast", "svc-steady": "steady", "svc-slow": "slow"}
# The "deploy" between baseline and candidate: slower first token, faster decode.
CANDIDATE_PROFILES: dict[str, Any] = {
    **BASE_PROFILES,
    "svc-fast": {"preset": "fast", "ttft_ms": 50.0, "itl_ms": 3.0},
}
SLOWER_STEADY: dict[str, Any] = {**BASE_PROFILES, "svc-steady": {"preset": "steady", "ttft_ms": 150.0}}


def spec_for(sim: Any, names: tuple[str, ...], *, requests: int, seed: int, name: str) -> Any:
    targets = [
        {"name": n, "provider": "sim", "dialect": d, "model": m, "base_url": sim.base_url(d, p)}
        for n, d, p, m in TARGETS if n in names
    ]
    return spec_from_dict({
        "name": name, "scenario": "sample", "targets": targets,
        "prompts": {"set": "short"}, "max_tokens": 24,
        "load": {"kind": "concurrency", "requests": requests, "concurrency": 4, "seed": seed},
        "tags": {"sample": "true"},
    }, source="make_sample_data")


def one_run(fleet: LocalFleet, store: Any, profiles: dict[str, Any], regions: tuple[str, ...],
            names: tuple[str, ...], *, run_id: str, requests: int, seed: int) -> None:
    with start_sim_in_thread(profiles, seed=seed) as sim:
        spec = spec_for(sim, names, requests=requests, seed=seed, name=run_id)
        res = fire(spec, regions, invoker=fleet, store=store, run_id=run_id)
    if res.failures:
        raise SystemExit(f"{run_id}: regions failed: {res.failures}")
    print(f"{run_id}: {len(res.records)} requests from {', '.join(regions)}", flush=True)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--out", default=str(ROOT / "data" / "sample"))
    ap.add_argument("--days", type=int, default=10)
    args = ap.parse_args(argv)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    t0 = time.monotonic()
    with tempfile.TemporaryDirectory() as tmp:
        store = open_store(Path(tmp) / "sample.db")
        all_names = tuple(t[0] for t in TARGETS)
        # One LocalFleet per sim: a new target address restarts a region's runner anyway.
        with LocalFleet(list(REGIONS)) as fleet:
            one_run(fleet, store, BASE_PROFILES, REGIONS, all_names,
                    run_id="sample-baseline", requests=16, seed=1)
        with LocalFleet(list(REGIONS)) as fleet:
            one_run(fleet, store, CANDIDATE_PROFILES, REGIONS, all_names,
                    run_id="sample-candidate", requests=16, seed=2)
        history_ids = []
        for day in range(args.days):
            profiles = BASE_PROFILES if day < args.days // 2 else SLOWER_STEADY
            run_id = f"sample-daily-{day + 1:02d}"
            with LocalFleet(list(HISTORY_REGIONS)) as fleet:
                one_run(fleet, store, profiles, HISTORY_REGIONS, ("sim-steady",),
                        run_id=run_id, requests=12, seed=100 + day)
            history_ids.append(run_id)
        store.flush()
        for run_id, name in (("sample-baseline", "baseline"), ("sample-candidate", "candidate")):
            export_run(store, run_id, out / f"{name}.parquet")
        import pandas as pd

        frames = []
        for i, run_id in enumerate(history_ids):
            df = store.requests_frame(run_id)
            # Documented backdating: whole days, so run i of N sits N-1-i days in the past.
            df["started_at"] = df["started_at"] - timedelta(days=len(history_ids) - 1 - i)
            frames.append(df)
        write_frame(pd.concat(frames, ignore_index=True), out / "history.parquet", "parquet",
                    REQUEST_FIELDS)
        (out / "history.meta.json").write_text(json.dumps({
            "runs": history_ids, "backdated_days": "run i of N shifted by N-1-i days",
            "regions": list(HISTORY_REGIONS), "target": "sim-steady",
            "made_by": "scripts/make_sample_data.py",
        }, indent=2) + "\n", encoding="utf-8")
        store.close()
    size = sum(p.stat().st_size for p in out.glob("*") if p.is_file())
    print(f"wrote {out} ({size / 1024:.0f} KiB) in {time.monotonic() - t0:.0f} s")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
