"""Write speed of the SQLite store: request rows per second, committed.

Measures the path a burst uses -- ``store.add(record, chunks)`` from one thread, the
background writer committing as it goes -- until ``flush()`` returns (every row durable
in WAL with synchronous=NORMAL), and ``add_many`` (one transaction, used by imports).
Records are fully populated (all 49 columns); chunk rows per request are configurable.

    python -m bench.store_write [--rows 50000] [--chunks 0] [--repeat 3]
"""

from __future__ import annotations

import argparse
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

from lens.record import ChunkTiming, RequestRecord
from lens.store.base import RunInfo
from lens.store.sql import open_store

TARGET_ROWS_PER_S = 20_000


def make(run_id: str, n: int, n_chunks: int) -> list[tuple[RequestRecord, list[ChunkTiming]]]:
    t0 = datetime(2026, 1, 1, tzinfo=UTC)
    out = []
    for i in range(n):
        r = RequestRecord(
            run_id=run_id, request_id=f"{i:08x}-{run_id}", started_at=t0 + timedelta(milliseconds=i),
            target="sim-fast", provider="sim", dialect="openai_chat", model="sim-fast-1",
            endpoint_host="127.0.0.1:8000", prompt_id=f"short-{i % 20:02d}",
            prompt_hash=f"{i:016x}", server_request_id=f"sim-{i}", concurrency=64,
            scheduled_ms=i * 0.5, queue_ms=0.01, conn_reused=True, sent_ms=0.3, headers_ms=2.0,
            ttft_ms=25.0 + i % 7, last_token_ms=300.0, e2e_ms=301.0, n_chunks=n_chunks or 64,
            itl_mean_ms=4.1, itl_p50_ms=4.0, itl_p99_ms=6.0, itl_max_ms=9.0, tpot_ms=4.1,
            tokens_per_chunk=1.0, output_tokens_per_s=240.0, input_tokens=20,
            cached_input_tokens=0, output_tokens=64, reasoning_tokens=0, output_chars=300,
            status="ok", http_status=200,
        )  # fmt: skip
        chunks = [ChunkTiming(r.request_id, k, 25.0 + 4.0 * k, "text", 1) for k in range(n_chunks)]
        out.append((r, chunks))
    return out


def bench_once(directory: Path, rows: int, n_chunks: int, tag: str) -> tuple[float, float]:
    store = open_store(directory / f"bench-{tag}.db")
    try:
        items = make(f"add-{tag}", rows, n_chunks)
        store.start_run(RunInfo(run_id=f"add-{tag}", name="bench", started_at=datetime.now(UTC)))
        t = time.perf_counter()
        for r, c in items:
            store.add(r, c)
        store.flush()
        add_s = time.perf_counter() - t
        items = make(f"many-{tag}", rows, n_chunks)
        store.start_run(RunInfo(run_id=f"many-{tag}", name="bench", started_at=datetime.now(UTC)))
        t = time.perf_counter()
        store.add_many([r for r, _ in items], [c for _, cs in items for c in cs])
        many_s = time.perf_counter() - t
    finally:
        store.close()
    return rows / add_s, rows / many_s


def main() -> int:
    ap = argparse.ArgumentParser(prog="python -m bench.store_write")
    ap.add_argument("--rows", type=int, default=50_000)
    ap.add_argument("--chunks", type=int, default=0, help="chunk rows per request")
    ap.add_argument("--repeat", type=int, default=3)
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as d:
        results = [bench_once(Path(d), args.rows, args.chunks, str(i)) for i in range(args.repeat)]
    add_best = max(r[0] for r in results)
    many_best = max(r[1] for r in results)
    print(f"rows={args.rows} chunks/request={args.chunks} repeat={args.repeat} (best of)")
    print(f"  add() + flush (writer thread): {add_best:,.0f} request rows/s "
          f"[runs: {', '.join(f'{r[0]:,.0f}' for r in results)}]")  # fmt: skip
    print(f"  add_many (one transaction):    {many_best:,.0f} request rows/s "
          f"[runs: {', '.join(f'{r[1]:,.0f}' for r in results)}]")  # fmt: skip
    ok = add_best >= TARGET_ROWS_PER_S
    print(f"  target >= {TARGET_ROWS_PER_S:,} rows/s via add(): {'met' if ok else 'NOT met'}")
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
