"""Capacity search rules against a model server whose capacity is known."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from lens.analysis.capacity import (
    CapacityResult,
    LevelResult,
    Search,
    is_saturated,
    measure_level,
)
from lens.analysis.frames import records_to_frame
from lens.record import RequestRecord
from lens.spec import SearchSpec, as_objectives

T0 = datetime(2026, 1, 1, tzinfo=UTC)


def server(level: float, capacity: float, *, slo_slack: float = 0.0) -> LevelResult:
    """A closed-loop server with ``capacity`` slots: below it every request meets the SLO;
    above it the extra requests queue (throughput flat, wait growing) and miss it, unless
    ``slo_slack`` (in levels) lets queueing through."""
    served = min(level, capacity)
    att = 1.0 if level <= capacity + slo_slack else capacity / level
    wait = 50.0 * max(1.0, level / capacity)
    return LevelResult(level=level, phase="", n=100, met=round(100 * att), attainment=att,
                       throughput_rps=10.0 * served, wait_p50=wait, passed=att >= 0.95)


def drive(search: SearchSpec, capacity: float, **kw: float) -> Search:
    s = Search(search, target=search.attainment)
    while (level := s.next_level()) is not None:
        s.record(server(level, capacity, **kw))
    return s


@pytest.mark.parametrize("capacity", [1, 3, 4, 5, 6, 7, 12, 31, 100])
def test_finds_the_highest_passing_level_exactly(capacity: int) -> None:
    s = drive(SearchSpec(levels=[1, 2, 4, 8, 16, 32, 64, 128]), capacity)
    # the right answer, by brute force over every level: C itself below C = 19, above it
    # the highest level whose few queued requests still leave 95% meeting (C / 0.95)
    truth = max(lv for lv in range(1, 300) if server(lv, capacity).passed)
    assert s.answer == truth and s.stop_reason == "bracketed"
    # sweep then bisect; a level comes twice only as the confirmation of a doubtful miss
    levels = [r.level for r in s.results if r.phase != "confirm"]
    assert len(levels) == len(set(levels))
    for prev, r in zip(s.results, s.results[1:], strict=False):
        assert (r.phase == "confirm") == prev.retried
        if r.phase == "confirm":
            assert r.level == prev.level and not prev.passed
    top = [r.level for r in s.results].index(max(levels))
    assert all(r.phase in ("bisect", "confirm") for r in s.results[top + 1:])


def test_lowest_level_failing_gives_no_answer() -> None:
    s = drive(SearchSpec(levels=[2, 4, 8]), capacity=1)  # half the requests miss: decided
    assert s.answer is None and s.stop_reason == "lowest_fails" and len(s.results) == 1


def test_a_small_miss_at_the_first_level_is_confirmed() -> None:
    s = Search(SearchSpec(levels=[2, 4, 8]))
    first = server(s.next_level() or 0, capacity=8)
    first.n, first.met, first.passed = 16, 14, False  # one wave of 2 missed, nothing to compare
    s.record(first)
    assert first.retried and first.verdict == "misses, retried" and s.next_level() == 2
    s.record(server(2, capacity=8))
    assert s.results[1].phase == "confirm" and s.lo == 2 and s.next_level() == 4
    off = Search(SearchSpec(levels=[2, 4, 8], confirm=False))
    off.record(first)
    assert off.stop_reason == "lowest_fails"


def test_a_miss_without_a_queue_is_confirmed_and_a_hiccup_forgiven() -> None:
    s = Search(SearchSpec(levels=[1, 2, 4, 8, 16]))
    hiccup = True
    while (level := s.next_level()) is not None:
        r = server(level, capacity=8)
        if level == 4 and hiccup:  # one stall: a whole wave misses, the median wait unmoved
            hiccup, r.n, r.met, r.attainment, r.passed = False, 16, 12, 0.75, False
        s.record(r)
    assert s.answer == 8
    assert [(r.level, r.phase) for r in s.results][:4] == [
        (1, "sweep"), (2, "sweep"), (4, "sweep"), (4, "confirm")]
    # above capacity misses are many: 16 decides at once, and so does the bisection
    assert [r.phase for r in s.results].count("confirm") == 1


def test_grid_end_is_a_lower_bound() -> None:
    s = drive(SearchSpec(levels=[1, 2, 4]), capacity=50)
    assert s.answer == 4 and s.stop_reason == "grid_exhausted"
    res = CapacityResult("concurrency", 0.95, ["ttft_ms<=1"], s.results, s.answer,
                         s.stop_reason)
    assert res.lower_bound and "(at least)" in res.explain()


def test_saturation_stops_the_sweep_a_level_early() -> None:
    # The SLO tolerates queueing up to 3 levels past capacity: attainment still holds at 8
    # with 4 slots, but throughput is flat and the wait doubled -> stop at 8, not fire 16.
    s = drive(SearchSpec(levels=[1, 2, 4, 8, 16, 32]), capacity=4, slo_slack=8)
    assert s.stop_reason == "saturated" and s.answer == 8
    assert [r.level for r in s.results] == [1, 2, 4, 8] and s.results[-1].saturated
    assert s.results[-1].verdict == "meets, saturated"


def test_saturation_rule_needs_flat_throughput_and_growing_wait() -> None:
    plan = SearchSpec()
    a = LevelResult(level=4, phase="sweep", throughput_rps=40.0, wait_p50=50.0)
    flat_slow = LevelResult(level=8, phase="sweep", throughput_rps=41.0, wait_p50=100.0)
    gaining = LevelResult(level=8, phase="sweep", throughput_rps=60.0, wait_p50=100.0)
    flat_fast = LevelResult(level=8, phase="sweep", throughput_rps=40.0, wait_p50=55.0)
    assert is_saturated(a, flat_slow, plan)
    assert not is_saturated(a, gaining, plan) and not is_saturated(a, flat_fast, plan)
    loose = SearchSpec(saturation={"min_throughput_gain": 0.6})
    assert is_saturated(a, gaining, loose)
    assert not is_saturated(a, LevelResult(level=8, phase="sweep"), plan)  # no figures


def test_a_stopped_level_is_kept_but_decides_nothing() -> None:
    s = Search(SearchSpec(levels=[1, 2, 4]))
    s.record(server(s.next_level() or 0, capacity=8))
    cut = server(s.next_level() or 0, capacity=0.5)  # cut short: looks like a miss
    s.stop(cut)
    assert s.stop_reason == "stopped" and s.next_level() is None
    assert s.answer == 1 and [r.phase for r in s.results] == ["sweep", "stopped"]


def test_level_budget_and_rate_mode_bisects_geometrically() -> None:
    s = drive(SearchSpec(levels=[1, 2, 4, 8, 16, 32, 64, 128], max_levels=3), capacity=100)
    assert s.stop_reason == "max_levels" and len(s.results) == 3
    r = drive(SearchSpec(mode="rate", levels=[1, 2, 4, 8, 16], resolution=0.05), capacity=5.5)
    assert r.stop_reason == "bracketed" and r.hi is not None and r.answer is not None
    boundary = 5.5 / 0.95  # attainment 5.5 / rate falls below 95% here
    assert r.answer <= boundary < r.hi and r.hi / r.answer - 1 <= 0.05
    assert r.results[4].level == pytest.approx(5.66)  # sqrt(4 * 8), 3 significant digits


def rec(i: int, **kw: object) -> RequestRecord:
    base: dict[str, object] = dict(
        run_id="lv", request_id=f"q-{i}", started_at=T0 + timedelta(seconds=i / 2), target="a",
        provider="sim", model="m", dialect="openai_chat", ttft_ms=100.0, queue_ms=5.0,
        e2e_ms=500.0, n_chunks=10, output_tokens=10)
    base.update(kw)
    return RequestRecord(**base)  # type: ignore[arg-type]


def test_measure_level_from_rows() -> None:
    # 10 requests 0.5 s apart, each 0.5 s long: wall 5 s; 2 fail; 1 misses the SLO.
    recs = [rec(i) for i in range(7)] + [rec(7, ttft_ms=900.0)]
    recs += [rec(8, status="overloaded", ttft_ms=None), rec(9, status="timeout", ttft_ms=None)]
    recs.append(rec(-4, warmup=True))
    r = measure_level(records_to_frame(recs), 4, as_objectives(["ttft_ms<=500"]), 0.95,
                      run_id="lv")
    assert (r.fired, r.n, r.met) == (11, 10, 7)
    assert r.attainment == pytest.approx(0.7) and not r.passed
    assert r.wall_s == pytest.approx(5.0) and r.error_rate == pytest.approx(0.2)
    assert r.throughput_rps == pytest.approx(8 / 5.0) and r.goodput_rps == pytest.approx(7 / 5)
    assert r.output_tok_s == pytest.approx(80 / 5.0)
    assert r.wait_p50 == pytest.approx(105.0) and r.ttft_p50 == pytest.approx(100.0)


def test_result_frame_knee_and_dict() -> None:
    s = drive(SearchSpec(levels=[1, 2, 4, 8, 16]), capacity=6)
    for r in s.results:  # latency flat up to capacity, then climbing
        r.ttft_p95 = 50.0 * max(1.0, r.level / 6) ** 2
    res = CapacityResult("concurrency", 0.95, ["ttft_ms<=60"], s.results, s.answer,
                         s.stop_reason, search_id="cap-x", wall_s=3.0)
    f = res.frame()
    assert list(f["level"]) == [1, 2, 4, 8, 6, 7] and res.answer == 6
    assert res.knee == 6
    d = res.to_dict()
    assert d["answer"] == 6 and d["lower_bound"] is False and len(d["levels"]) == 6
    assert res.explain().startswith("highest concurrency meeting 95% attainment of "
                                    "ttft_ms<=60: 6. Stopped: bisected")
