"""Measurement: exact derived fields from synthetic event times."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from lens.probe.measure import Measurement, percentile
from lens.record import Delta, RequestRecord, Usage

MS = 1_000_000
T0 = 10_000 * MS


def _m(**kw: object) -> Measurement:
    rec = RequestRecord(
        run_id="r", request_id="q", started_at=datetime.now(UTC), model="gpt-4o", **kw
    )  # type: ignore[arg-type]
    m = Measurement(rec, prompt="hello world")
    m.start(T0)
    return m


def text(s: str) -> list[Delta]:
    return [Delta("text", s)]


def test_phases_ttft_itl_tpot_exact() -> None:
    m = _m()
    m.mark("connect_start", T0 + 1 * MS)
    m.mark("connect_end", T0 + 3 * MS)
    m.mark("sent", T0 + 4 * MS)
    m.mark("headers", T0 + 50 * MS)
    m.on_event(T0 + 60 * MS, [Delta("text", "")])  # role-only chunk: not a token
    m.on_event(T0 + 100 * MS, text("a"))
    m.on_event(T0 + 110 * MS, text("b"))
    m.on_event(T0 + 130 * MS, text("c"))
    m.on_event(T0 + 170 * MS, text("d"))
    m.on_event(T0 + 180 * MS, [Delta("usage", usage=Usage(input_tokens=7, output_tokens=9))])
    m.on_event(T0 + 181 * MS, [Delta("done")])
    rec, chunks = m.finish(t_ns=T0 + 200 * MS, http_status=200)
    assert rec.status == "ok" and rec.error is None and rec.http_status == 200
    assert rec.connect_ms == 2.0 and rec.sent_ms == 4.0 and rec.headers_ms == 50.0
    assert rec.ttft_ms == 100.0 and rec.last_token_ms == 170.0 and rec.e2e_ms == 200.0
    assert rec.first_reasoning_ms is None
    assert rec.n_chunks == 4
    # gaps 10, 20, 40
    assert rec.itl_mean_ms == pytest.approx(70 / 3)
    assert rec.itl_p50_ms == pytest.approx(20.0)
    assert rec.itl_p99_ms == pytest.approx(20 + 20 * 0.98)
    assert rec.itl_max_ms == 40.0
    assert rec.output_tokens == 9 and rec.input_tokens == 7 and rec.tokens_estimated is False
    assert rec.tpot_ms == pytest.approx(70 / 8)
    assert rec.output_tokens_per_s == pytest.approx(8 / 0.070)
    assert rec.tokens_per_chunk == pytest.approx(9 / 4)
    assert rec.output_chars == 4
    assert [c.kind for c in chunks] == ["other", "text", "text", "text", "text", "usage", "other"]
    assert [c.t_ms for c in chunks] == [60.0, 100.0, 110.0, 130.0, 170.0, 180.0, 181.0]
    assert [c.index for c in chunks] == list(range(7))
    assert [c.n_tokens for c in chunks] == [0, 1, 1, 1, 1, 0, 0]


def test_reasoning_then_text_and_several_tokens_per_chunk() -> None:
    m = _m()
    m.on_event(T0 + 20 * MS, [Delta("reasoning", "thinking hard")])
    m.on_event(T0 + 30 * MS, [Delta("reasoning", "more")])
    m.on_event(T0 + 50 * MS, text("The answer is forty two."))
    m.on_event(T0 + 50 * MS, [Delta("done")])
    rec, chunks = m.finish(t_ns=T0 + 60 * MS)
    assert rec.first_reasoning_ms == 20.0 and rec.ttft_ms == 50.0 and rec.last_token_ms == 50.0
    assert rec.n_chunks == 3
    # No server usage: counted locally and flagged.
    assert rec.tokens_estimated is True
    assert rec.output_tokens is not None and rec.output_tokens >= 8
    assert rec.reasoning_tokens == 3  # "thinking hard" + "more"
    assert rec.input_tokens == 2
    assert [c.kind for c in chunks] == ["reasoning", "reasoning", "text", "other"]
    assert chunks[2].n_tokens >= 5  # several tokens in one chunk count as several
    # TPOT covers the window from the first token of any kind (reasoning included).
    assert rec.tpot_ms == pytest.approx(30.0 / (rec.output_tokens - 1))


def test_stream_error_event_gives_its_status_and_partial_timings() -> None:
    m = _m()
    m.on_event(T0 + 10 * MS, text("x"))
    m.on_event(T0 + 20 * MS, [Delta("error", error="Overloaded", error_status="overloaded")])
    rec, chunks = m.finish(t_ns=T0 + 21 * MS, http_status=200)
    assert rec.status == "overloaded" and rec.error == "Overloaded"
    assert rec.ttft_ms == 10.0 and rec.e2e_ms == 21.0 and chunks[1].kind == "error"

    m = _m()
    m.on_event(T0 + 10 * MS, [Delta("error", error="boom")])
    rec, _ = m.finish(t_ns=T0 + 11 * MS)
    assert rec.status == "stream_error" and rec.ttft_ms is None


def test_truncated_without_done_and_explicit_status_wins() -> None:
    m = _m()
    m.on_event(T0 + 10 * MS, text("x"))
    rec, _ = m.finish(t_ns=T0 + 12 * MS)
    assert rec.status == "truncated" and "terminal event" in (rec.error or "")

    m = _m()
    m.on_event(T0 + 10 * MS, text("x"))
    rec, _ = m.finish("timeout", error="timeout: idle", t_ns=T0 + 30 * MS)
    assert rec.status == "timeout" and rec.error == "timeout: idle" and rec.ttft_ms == 10.0
    assert rec.itl_mean_ms is None and rec.tpot_ms is None


def test_pool_wait_goes_to_queue_ms_and_moves_origin() -> None:
    m = _m(queue_ms=1.5)
    m.mark("pool_wait_start", T0 + 0)
    m.mark("pool_wait_end", T0 + 5 * MS)
    m.mark("dns_start", T0 + 5 * MS)
    m.mark("connect_start", T0 + 5 * MS)
    m.mark("dns_end", T0 + 6 * MS)
    m.mark("connect_end", T0 + 8 * MS)
    m.on_event(T0 + 25 * MS, text("x"))
    m.on_event(T0 + 25 * MS, [Delta("done")])
    rec, chunks = m.finish(t_ns=T0 + 30 * MS)
    assert rec.queue_ms == pytest.approx(6.5)
    assert rec.ttft_ms == 20.0 and rec.e2e_ms == 25.0 and chunks[0].t_ms == 20.0
    assert m.origin_ns == T0 + 5 * MS
    assert rec.dns_ms == 1.0 and rec.connect_ms == 2.0  # DNS is not part of connect_ms


def test_usage_merges_later_reports_win() -> None:
    m = _m()
    m.on_event(
        T0 + 1 * MS,
        [Delta("usage", usage=Usage(input_tokens=10, cached_input_tokens=4, output_tokens=1))],
    )
    m.on_event(T0 + 2 * MS, text("hi"))
    m.on_event(
        T0 + 3 * MS,
        [Delta("usage", usage=Usage(output_tokens=5, reasoning_tokens=2)), Delta("done")],
    )
    rec, _ = m.finish(t_ns=T0 + 4 * MS)
    assert (rec.input_tokens, rec.cached_input_tokens, rec.output_tokens, rec.reasoning_tokens) == (
        10,
        4,
        5,
        2,
    )
    assert rec.tokens_estimated is False
    assert rec.tpot_ms is None  # a single token-bearing event has no decode window


def test_percentile_matches_numpy_linear() -> None:
    np = pytest.importorskip("numpy")
    vals = sorted([3.0, 1.0, 4.0, 1.5, 9.0, 2.6, 5.0])
    for q in (0, 10, 50, 90, 99, 100):
        assert percentile(vals, q) == pytest.approx(float(np.percentile(vals, q)))


def test_hidden_reasoning_tokens_are_not_in_the_decode_window() -> None:
    # o-series style: 100 reasoning tokens counted in usage but never streamed, then 11
    # one-token answer events 10 ms apart: TPOT is 100 ms / 10, not 100 ms / 110.
    m = _m()
    for i in range(11):
        m.on_event(T0 + (500 + 10 * i) * MS, text(f"t{i}"))
    usage = Usage(input_tokens=5, output_tokens=111, reasoning_tokens=100)
    m.on_event(T0 + 700 * MS, [Delta("usage", usage=usage), Delta("done")])
    rec, _ = m.finish(t_ns=T0 + 710 * MS, http_status=200)
    assert rec.output_tokens == 111 and rec.reasoning_tokens == 100
    assert rec.tpot_ms == pytest.approx(10.0)
    assert rec.tokens_per_chunk == pytest.approx(1.0)
    assert rec.output_tokens_per_s == pytest.approx(100.0)


def test_reasoning_streamed_only_as_a_summary_keeps_hidden_tokens_out() -> None:
    # Responses-API style: 5 short summary events, then 100 one-token answer events 10 ms
    # apart; usage says 2,000 reasoning tokens. The ~1,990 hidden ones are not decode time.
    m = _m()
    for i in range(5):
        m.on_event(T0 + (100 + i) * MS, [Delta("reasoning", "plan")])
    for i in range(100):
        m.on_event(T0 + (500 + 10 * i) * MS, text("x"))
    usage = Usage(input_tokens=5, output_tokens=2100, reasoning_tokens=2000)
    m.on_event(T0 + 1600 * MS, [Delta("usage", usage=usage), Delta("done")])
    rec, _ = m.finish(t_ns=T0 + 1610 * MS, http_status=200)
    # window: first reasoning event (100 ms) to last answer token (1490 ms) = 1390 ms over
    # 100 answer + 5 streamed reasoning tokens - 1 = 104 gaps
    assert rec.tpot_ms == pytest.approx(1390 / 104, rel=0.01)


def test_a_cut_stream_does_not_keep_a_provisional_output_count() -> None:
    # Anthropic: message_start carries output_tokens 1; the stream then times out before
    # message_delta. 200 text events were received, so the row must not say 1.
    m = _m()
    m.on_event(T0 + 10 * MS, [Delta("usage", usage=Usage(input_tokens=20, output_tokens=1))])
    for i in range(200):
        m.on_event(T0 + (50 + i) * MS, text(" word"))
    rec, _ = m.finish("timeout", t_ns=T0 + 400 * MS, error="timeout: idle")
    assert rec.output_tokens is not None and rec.output_tokens >= 200
    assert rec.tokens_estimated is True and rec.input_tokens == 20
