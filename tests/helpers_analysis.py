"""Synthetic request/chunk data for the analysis tests: known distributions, a SQLite file
written with plain sqlite3 using the record's column names (no store internals)."""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np
import pandas as pd

from lens.analysis.frames import chunks_to_frame, records_to_frame
from lens.record import CHUNK_FIELDS, REQUEST_FIELDS, ChunkTiming, RequestRecord

T0 = datetime(2025, 6, 1, 12, 0, tzinfo=UTC)


def make_records(
    n: int = 200, *, run_id: str = "run-a", seed: int = 0, ttft_scale: float = 1.0,
    target: str = "openai/gpt-4o", provider: str = "openai", model: str = "gpt-4o",
    region: str = "us-east-1", error_every: int = 0, warmup: int = 0,
    start: datetime = T0, concurrency: int = 4,
) -> list[RequestRecord]:
    """Lognormal TTFT (median 200 ms x ttft_scale), TTFT rising with prompt size."""
    rng = np.random.default_rng(seed)
    out: list[RequestRecord] = []
    for i in range(n):
        prompt = int(rng.choice([100, 500, 1000, 2000]))
        ttft = float(rng.lognormal(np.log(200.0), 0.3)) * ttft_scale + 0.05 * prompt
        out_tok = int(rng.integers(50, 150))
        tpot = float(rng.lognormal(np.log(20.0), 0.2))
        last = ttft + tpot * (out_tok - 1)
        failed = error_every > 0 and i % error_every == error_every - 1
        out.append(RequestRecord(
            run_id=run_id, request_id=f"{run_id}-{i:05d}", started_at=start + timedelta(seconds=i),
            region=region, target=target, provider=provider, dialect="openai_chat", model=model,
            endpoint_host="api.example", prompt_id=f"p{i % 7}", warmup=i < warmup,
            concurrency=concurrency, scheduled_ms=float(i * 10), queue_ms=0.5,
            ttft_ms=None if failed else ttft, last_token_ms=None if failed else last,
            e2e_ms=(ttft / 2) if failed else last + 5.0, n_chunks=0 if failed else out_tok,
            itl_mean_ms=None if failed else tpot, itl_p50_ms=None if failed else tpot * 0.95,
            tpot_ms=None if failed else tpot,
            output_tokens_per_s=None if failed else 1000.0 / tpot,
            input_tokens=prompt, cached_input_tokens=0, output_tokens=0 if failed else out_tok,
            reasoning_tokens=0, tokens_estimated=failed,
            status="rate_limited" if failed else "ok",
            http_status=429 if failed else 200,
        ))
    return out


def make_frame(n: int = 200, **kw: object) -> pd.DataFrame:
    return records_to_frame(make_records(n, **kw))  # type: ignore[arg-type]


def make_chunks(records: Sequence[RequestRecord], per_request: int = 5) -> list[ChunkTiming]:
    out: list[ChunkTiming] = []
    for r in records:
        if r.ttft_ms is None:
            continue
        step = ((r.last_token_ms or r.ttft_ms) - r.ttft_ms) / max(per_request - 1, 1)
        for k in range(per_request):
            out.append(ChunkTiming(r.request_id, k, r.ttft_ms + k * step, "text", 1))
    return out


def _sql_value(v: object) -> object:
    if isinstance(v, datetime):
        return v.astimezone(UTC).replace(tzinfo=None).isoformat(sep=" ")
    if isinstance(v, bool):
        return int(v)
    return v


def write_sqlite(
    path: Path, runs: dict[str, tuple[list[RequestRecord], dict[str, str]]],
    chunks: Sequence[ChunkTiming] = (),
) -> Path:
    """Create a store-shaped SQLite file: runs(run_id, name, started_at, ..., tags JSON),
    requests(REQUEST_FIELDS), chunks(CHUNK_FIELDS)."""
    con = sqlite3.connect(path)
    con.execute("CREATE TABLE runs (run_id TEXT PRIMARY KEY, name TEXT, started_at TEXT, "
                "finished_at TEXT, status TEXT, tags TEXT, spec_json TEXT)")
    cols = [c.name for c in REQUEST_FIELDS]
    con.execute(f"CREATE TABLE requests ({', '.join(repr(c) for c in cols)})")
    ccols = [c.name for c in CHUNK_FIELDS]
    con.execute(f"CREATE TABLE chunks ({', '.join(repr(c) for c in ccols)})")
    for run_id, (records, tags) in runs.items():
        con.execute("INSERT INTO runs VALUES (?,?,?,?,?,?,?)",
                    (run_id, run_id, str(T0), str(T0), "complete", json.dumps(tags), "{}"))
        con.executemany(
            f"INSERT INTO requests VALUES ({','.join('?' * len(cols))})",
            [tuple(_sql_value(v) for v in r.to_dict().values()) for r in records])
    con.executemany(f"INSERT INTO chunks VALUES ({','.join('?' * len(ccols))})",
                    [tuple(c.to_dict().values()) for c in chunks])
    con.commit()
    con.close()
    return path


__all__ = ["T0", "chunks_to_frame", "make_chunks", "make_frame", "make_records", "write_sqlite"]
