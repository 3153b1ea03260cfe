"""Write the sample traces in data/traces/ (synthetic, generated here, CC0).

    python scripts/gen_sample_traces.py

Deterministic (seeded): re-running writes identical files. The shapes imitate the public
formats (Mooncake JSONL, BurstGPT CSV) so lens's trace replay can be tried and tested
without downloading anything; no row comes from a real service.
"""

from __future__ import annotations

import csv
import json
import math
import random
from pathlib import Path

OUT = Path(__file__).resolve().parent.parent / "data" / "traces"
BLOCK = 512


def mooncake(rows: int = 80, span_ms: int = 8000, seed: int = 14) -> list[dict[str, object]]:
    """Bursty arrivals; four "system prompts" (shared block chains of 1-3 blocks) that
    requests extend with blocks of their own, the way Mooncake's hash_ids share prefixes."""
    rng = random.Random(seed)
    next_id = 0
    families = []
    for n in (1, 2, 3, 1):
        families.append(list(range(next_id, next_id + n)))
        next_id += n
    t = 0.0
    out = []
    for _ in range(rows):
        # Mostly Poisson; now and then a burst of simultaneous arrivals.
        if rng.random() > 0.2:
            t += rng.expovariate(rows / span_ms)
        fam = families[rng.randrange(len(families))]
        own = rng.randint(0, 2)
        ids = fam + list(range(next_id, next_id + own))
        next_id += own
        full = len(ids)
        input_length = (full - 1) * BLOCK + rng.randint(64, BLOCK)
        out.append({
            "timestamp": int(t), "input_length": input_length,
            "output_length": rng.randint(8, 96), "hash_ids": ids,
        })  # fmt: skip
    return out


def burstgpt(rows: int = 80, span_s: float = 8.0, seed: int = 15) -> list[dict[str, object]]:
    """Two bursts over a quiet background; ChatGPT and GPT-4, conversation and API logs,
    a few failed requests (Response tokens 0) as in the real trace."""
    rng = random.Random(seed)
    out = []
    for _ in range(rows):
        burst = rng.random() < 0.5
        ts = rng.choice((2.0, 5.5)) + abs(rng.gauss(0, 0.3)) if burst else rng.uniform(0, span_s)
        req = max(1, int(math.exp(rng.gauss(5.5, 0.8))))
        resp = 0 if rng.random() < 0.05 else max(1, int(math.exp(rng.gauss(4.0, 0.6))))
        out.append({
            "Timestamp": round(min(ts, span_s), 3),
            "Model": "GPT-4" if rng.random() < 0.3 else "ChatGPT",
            "Request tokens": req, "Response tokens": resp, "Total tokens": req + resp,
            "Log Type": "API log" if rng.random() < 0.4 else "Conversation log",
        })  # fmt: skip
    out.sort(key=lambda r: float(r["Timestamp"]))  # type: ignore[arg-type]
    return out


def main() -> None:
    OUT.mkdir(parents=True, exist_ok=True)
    with (OUT / "sample_mooncake.jsonl").open("w", encoding="utf-8") as fh:
        for row in mooncake():
            fh.write(json.dumps(row) + "\n")
    rows = burstgpt()
    with (OUT / "sample_burstgpt.csv").open("w", encoding="utf-8", newline="") as fh:
        w = csv.DictWriter(fh, fieldnames=list(rows[0]))
        w.writeheader()
        w.writerows(rows)


if __name__ == "__main__":
    main()
