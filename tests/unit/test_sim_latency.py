from __future__ import annotations

import statistics
from collections import Counter

from lens.sim.latency import (
    PrefixCache,
    choose_fault,
    estimate_tokens,
    fault_position,
    make_plan,
    request_rng,
    token_text,
)
from lens.sim.profiles import Faults, Profile


def _plan(profile: Profile, n: int = 1, **kw: int | None):
    args = {"prompt_tokens": 100, "cached_tokens": 0, "max_tokens": None}
    args.update(kw)
    return make_plan(profile, request_rng(7, n), **args)  # type: ignore[arg-type]


def test_ttft_includes_prefill_for_uncached_tokens() -> None:
    p = Profile(ttft_ms=10, prefill_ms_per_token=0.5, itl_ms=2)
    assert _plan(p).ttft_ns == int((10 + 50) * 1e6)
    assert _plan(p, cached_tokens=60).ttft_ns == int((10 + 20) * 1e6)
    assert _plan(p).events[0].offset_ns == _plan(p).ttft_ns


def test_gaps_and_chunking_exact_without_jitter() -> None:
    p = Profile(ttft_ms=5, itl_ms=3, output_tokens=10, tokens_per_chunk=4)
    plan = _plan(p)
    assert [e.n_tokens for e in plan.events] == [4, 4, 2]
    gaps = [(b.offset_ns - a.offset_ns) / 1e6 for a, b in zip(plan.events, plan.events[1:], strict=False)]
    assert gaps == [12.0, 6.0]  # itl per token x tokens in the later event
    assert [e.token_index for e in plan.events] == [0, 4, 8]


def test_reasoning_first_then_text_and_max_tokens_cap() -> None:
    p = Profile(output_tokens=50, reasoning_tokens=5)
    plan = _plan(p, max_tokens=8)
    kinds = [e.kind for e in plan.events]
    assert kinds == ["reasoning"] * 5 + ["text"] * 8
    assert plan.text_tokens == 8 and plan.finish_reason == "length"
    assert _plan(p, max_tokens=500).finish_reason == "stop"
    offsets = [e.offset_ns for e in plan.events]
    assert offsets == sorted(offsets)


def test_seeded_and_reproducible_with_jitter() -> None:
    p = Profile(ttft_ms=50, ttft_jitter_ms=10, itl_ms=5, itl_jitter=0.5, tokens_per_chunk=(1, 3), output_tokens=40)
    a = _plan(p, 3)
    b = _plan(p, 3)
    c = _plan(p, 4)
    assert [(e.offset_ns, e.n_tokens) for e in a.events] == [(e.offset_ns, e.n_tokens) for e in b.events]
    assert [e.offset_ns for e in a.events] != [e.offset_ns for e in c.events]
    assert sum(e.n_tokens for e in a.events) == 40
    assert {e.n_tokens for e in a.events} <= {1, 2, 3}


def test_lognormal_gap_mean_is_itl() -> None:
    p = Profile(ttft_ms=0, itl_ms=10, itl_jitter=0.6, output_tokens=4001)
    plan = _plan(p)
    gaps = [(b.offset_ns - a.offset_ns) / 1e6 for a, b in zip(plan.events, plan.events[1:], strict=False)]
    assert 9.0 < statistics.mean(gaps) < 11.0
    assert statistics.pstdev(gaps) > 3.0


def test_fault_draws_follow_rates() -> None:
    p = Profile(faults=Faults(rate_limited=0.2, reset=0.1))
    counts = Counter(choose_fault(p, request_rng(1, i)) for i in range(5000))
    assert abs(counts["rate_limited"] / 5000 - 0.2) < 0.03
    assert abs(counts["reset"] / 5000 - 0.1) < 0.03
    assert set(counts) == {None, "rate_limited", "reset"}
    assert choose_fault(Profile(), request_rng(1, 1)) is None


def test_fault_position() -> None:
    p = Profile(faults=Faults(at_fraction=0.5))
    assert fault_position(p, request_rng(0, 0), 10) == 5
    pos = [fault_position(Profile(), request_rng(0, i), 10) for i in range(200)]
    assert min(pos) >= 1 and max(pos) <= 8


def test_estimate_tokens_and_text() -> None:
    assert estimate_tokens("") == 0
    assert estimate_tokens("abcd") == 1
    assert estimate_tokens("abcde") == 2
    assert token_text(0, 3) == token_text(0, 1) + token_text(1, 1) + token_text(2, 1)
    assert all('"' not in token_text(i, 1) and "\\" not in token_text(i, 1) for i in range(32))


def test_prefix_cache_counts_whole_shared_blocks() -> None:
    cache = PrefixCache()
    base = "x" * 1000
    assert cache.lookup_and_add(base + "A" * 300) == 0
    assert cache.lookup_and_add(base + "B" * 300) == 768  # 3 full 256-char blocks shared
    assert cache.lookup_and_add("y" + base) == 0
