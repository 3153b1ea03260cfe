from __future__ import annotations

from datetime import UTC, datetime, timedelta

import numpy as np
import pytest

from lens.analysis.frames import chunks_to_frame, records_to_frame
from lens.analysis.summary import Dist, summarize, summary_frame
from lens.record import ChunkTiming, RequestRecord

T0 = datetime(2026, 1, 1, tzinfo=UTC)


def rec(i: int, target: str, **kw: object) -> RequestRecord:
    base: dict[str, object] = dict(
        run_id="r", request_id=f"{target}-{i}", started_at=T0 + timedelta(seconds=i),
        target=target, provider="sim", model="m", dialect="openai_chat",
        ttft_ms=float(10 * (i + 1)), tpot_ms=2.0, e2e_ms=1000.0, itl_p50_ms=float(i),
        itl_p99_ms=float(i + 100), output_tokens=100, output_tokens_per_s=50.0 + i,
    )  # fmt: skip
    base.update(kw)
    return RequestRecord(**base)  # type: ignore[arg-type]


def test_counts_errors_warmup_and_percentiles() -> None:
    recs = [rec(i, "a") for i in range(10)]
    recs.append(rec(99, "a", warmup=True, ttft_ms=99999.0))
    recs.append(rec(11, "a", status="rate_limited", ttft_ms=None, e2e_ms=5.0, output_tokens=None))
    recs.append(rec(12, "a", status="timeout", ttft_ms=5000.0))
    recs += [rec(i, "b", status="http_error", ttft_ms=None) for i in range(3)]
    (a, b) = summarize(records_to_frame(recs))
    assert (a.target, a.count, a.ok, a.errors, a.warmup_excluded) == (
        "a", 12, 10, {"rate_limited": 1, "timeout": 1}, 1,
    )  # fmt: skip
    ttft = np.array([10.0 * (i + 1) for i in range(10)])
    assert a.ttft_ms.p50 == pytest.approx(np.quantile(ttft, 0.5))
    assert a.ttft_ms.p99 == pytest.approx(np.quantile(ttft, 0.99))
    assert a.ttft_ms.n == 10  # the failed timeout's ttft and the warm-up are not mixed in
    assert a.itl_source == "request_p50" and a.itl_ms.p50 == pytest.approx(4.5)
    assert a.itl_p99_ms_p50 == pytest.approx(104.5)
    assert a.output_tokens == 1000
    # 10 ok requests start at 0..9 s and last 1 s each: span 10 s
    assert a.throughput_tok_s == pytest.approx(100.0)
    assert (b.count, b.ok, b.errors, b.ttft_ms) == (3, 0, {"http_error": 3}, Dist())
    assert b.error_rate == 1.0 and b.throughput_tok_s is None
    flat = summary_frame([a, b])
    assert (
        flat.loc[0, "ttft_ms_p50"] == pytest.approx(55.0)
        and flat.loc[1, "errors"] == "http_error=3"
    )


def test_itl_from_chunks_pools_every_gap_of_ok_requests() -> None:
    recs = [rec(0, "a"), rec(1, "a"), rec(2, "a", status="stream_error")]
    chunks = [
        ChunkTiming("a-0", 0, 10.0, "text", 1), ChunkTiming("a-0", 1, 11.0, "text", 2),
        ChunkTiming("a-0", 2, 15.0, "usage", 0), ChunkTiming("a-0", 3, 16.0, "text", 1),
        ChunkTiming("a-1", 0, 100.0, "reasoning", 1), ChunkTiming("a-1", 1, 103.0, "text", 1),
        ChunkTiming("a-2", 0, 0.0, "text", 1), ChunkTiming("a-2", 1, 900.0, "text", 1),
    ]  # fmt: skip
    (a,) = summarize(records_to_frame(recs), chunks_to_frame(chunks))
    assert a.itl_source == "chunks"
    # gaps: a-0 text 10->11 (1), 11->16 (5, usage skipped); a-1 100->103 (3); a-2 failed
    assert a.itl_ms.n == 3 and a.itl_ms.p50 == pytest.approx(3.0)
    assert a.itl_ms.mean == pytest.approx(3.0)


def test_empty_frame() -> None:
    assert summarize(records_to_frame([])) == []
