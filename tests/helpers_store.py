"""Record factories for store tests (no conftest: shared helpers live in helpers_<area>)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from lens.record import ChunkTiming, RequestRecord
from lens.store.base import RunInfo


def run_info(run_id: str = "run-1", **kw: object) -> RunInfo:
    return RunInfo(
        run_id=run_id,
        name="test",
        started_at=datetime(2026, 1, 2, 3, 4, 5, 678901, tzinfo=UTC),
        **kw,
    )  # type: ignore[arg-type]


def make_record(run_id: str, i: int, **kw: object) -> RequestRecord:
    """A fully populated record with awkward values: nulls, False, 0.0, empty strings."""
    base = dict(
        run_id=run_id,
        request_id=f"req-{i:05d}",
        started_at=datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC) + timedelta(microseconds=1234567 * i),
        target=["fast", "slow"][i % 2],
        provider="sim",
        dialect="openai_chat",
        model="m-1",
        endpoint_host="127.0.0.1:9",
        prompt_id=f"p{i % 3}",
        prompt_hash="" if i % 4 == 0 else f"{i:016x}",
        warmup=i == 0,
        shard=i % 2,
        server_request_id=None if i % 5 == 0 else f"sim-{i}",
        concurrency=4,
        scheduled_ms=0.1 * i,
        queue_ms=0.0,
        conn_reused=None if i % 3 == 0 else bool(i % 2),
        dns_ms=None,
        connect_ms=1.0 / 3.0 if i % 2 else None,
        sent_ms=0.5,
        headers_ms=10.0 + i,
        ttft_ms=20.123456789 + i,
        last_token_ms=100.0 + i,
        e2e_ms=101.5 + i,
        n_chunks=3,
        itl_mean_ms=5.0,
        itl_p50_ms=4.0 + (i % 7),
        itl_p99_ms=9.0 + (i % 7),
        itl_max_ms=10.0,
        tpot_ms=2.5 + 0.1 * (i % 10),
        tokens_per_chunk=1.0,
        output_tokens_per_s=400.0 - i,
        input_tokens=12,
        cached_input_tokens=0,
        cache_write_tokens=None,
        output_tokens=32,
        reasoning_tokens=None,
        tokens_estimated=bool(i % 2),
        output_chars=100,
        status="ok" if i % 6 else "rate_limited",
        http_status=200 if i % 6 else 429,
        error=None if i % 6 else 'HTTP 429: "slow down", please\nretry',
        retry_after_s=None if i % 6 else 1.5,
        ratelimit='{"x-ratelimit-remaining": "0"}' if i % 6 == 0 else None,
        server_latency_ms=None,
    )
    base.update(kw)
    return RequestRecord(**base)  # type: ignore[arg-type]


def make_chunks(record: RequestRecord, n: int = 3) -> list[ChunkTiming]:
    kinds = ["reasoning", "text", "text", "usage"]
    return [
        ChunkTiming(
            record.request_id,
            k,
            20.0 + 5.0 * k + 1e-9 * k,
            kinds[k % 4],
            0 if kinds[k % 4] == "usage" else k + 1,
        )
        for k in range(n)
    ]
