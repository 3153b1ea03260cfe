"""Client-side rate limiter: token buckets, server-driven pauses, and the engine hook."""

from __future__ import annotations

import asyncio
import json

import pytest
from helpers_observatory import make_record

from lens.errors import ConfigError
from lens.probe.ratelimit import ClientRateLimiter, RateLimit, TokenBucket, parse_reset
from lens.spec import BurstSpec


class FakeTime:
    """A clock that only moves when the limiter sleeps."""

    def __init__(self) -> None:
        self.now = 1000.0
        self.wall = 1_800_000_000.0
        self.sleeps: list[float] = []

    def clock(self) -> float:
        return self.now

    def wall_clock(self) -> float:
        return self.wall + (self.now - 1000.0)

    async def sleep(self, s: float) -> None:
        self.sleeps.append(s)
        self.now += s


def limiter(ft: FakeTime, **kw: object) -> ClientRateLimiter:
    return ClientRateLimiter(clock=ft.clock, sleep=ft.sleep, wall_clock=ft.wall_clock, **kw)  # type: ignore[arg-type]


def test_bucket_allows_a_minute_then_paces() -> None:
    b = TokenBucket(60, now=0.0)
    assert [b.reserve(1, 0.0) for _ in range(60)] == [0.0] * 60
    assert b.reserve(1, 0.0) == pytest.approx(1.0)
    assert b.reserve(1, 0.0) == pytest.approx(2.0)
    # after 10 s, 10 tokens came back; the debt of 2 leaves 8
    assert b.reserve(8, 10.0) == 0.0
    assert b.reserve(1, 10.0) == pytest.approx(1.0)


async def test_rpm_limit_spaces_requests_and_returns_waits() -> None:
    ft = FakeTime()
    lim = limiter(ft, default=RateLimit(rpm=120))  # 2 per second, burst of 120
    waits = [await lim.acquire("t", 10) for _ in range(123)]
    assert waits[:120] == [0.0] * 120
    assert waits[120:] == pytest.approx([0.5, 0.5, 0.5])  # each waits after the previous
    assert lim.stats()["t"]["waited_s"] == pytest.approx(1.5)


async def test_tpm_limit_counts_estimated_tokens() -> None:
    ft = FakeTime()
    lim = limiter(ft, default=RateLimit(tpm=6000))  # 100 tokens/s
    assert await lim.acquire("t", 5000) == 0.0
    assert await lim.acquire("t", 2000) == pytest.approx(10.0)  # 1000 short -> 10 s
    # a request bigger than a minute's budget waits for a full bucket instead of forever
    w = await lim.acquire("t", 10_000)
    assert w == pytest.approx(60.0)


async def test_concurrent_waiters_keep_order_and_exact_waits() -> None:
    # real clock and sleep: concurrent waiters must not share or lose each other's waits
    lim = ClientRateLimiter(default=RateLimit(rpm=600))  # one per 0.1 s after the burst
    for _ in range(600):
        assert await lim.acquire("t", 1) == 0.0
    waits = await asyncio.gather(*(lim.acquire("t", 1) for _ in range(3)))
    # all three booked at (almost) the same instant: 0.1 s, 0.2 s, 0.3 s
    assert waits == pytest.approx([0.1, 0.2, 0.3], abs=0.04)


async def test_retry_after_pauses_later_sends_of_the_same_key() -> None:
    ft = FakeTime()
    spec = BurstSpec.model_validate({"targets": [
        {"name": "a", "provider": "openai", "model": "gpt-4o"},
        {"name": "b", "provider": "openai", "model": "gpt-4o-mini"},
        {"name": "c", "provider": "anthropic", "model": "claude"},
    ]})  # fmt: skip
    lim = ClientRateLimiter.for_spec(spec, clock=ft.clock, sleep=ft.sleep, wall_clock=ft.wall_clock)
    assert lim.key("a") == lim.key("b") != lim.key("c")
    lim.observe(
        make_record(1, target="a", status="rate_limited", http_status=429, retry_after_s=7.0)
    )
    assert await lim.acquire("c", 10) == 0.0  # another key is not paused
    assert await lim.acquire("b", 10) == pytest.approx(7.0)  # same key (OPENAI_API_KEY)
    assert await lim.acquire("a", 10) == 0.0  # pause is over
    st = lim.stats()[lim.key("a")]
    assert st["pauses"] == 1 and st["rate_limited"] == 1 and st["last_reason"] == "retry-after"


async def test_429_without_hint_backs_off_exponentially_and_resets_on_success() -> None:
    ft = FakeTime()
    lim = limiter(ft)
    pauses = []
    for _ in range(4):
        lim.observe(make_record(1, target="t", status="rate_limited", http_status=429))
        pauses.append(await lim.acquire("t", 1))
    assert pauses == pytest.approx([1.0, 2.0, 4.0, 8.0])
    lim.observe(make_record(2, target="t", status="ok"))
    lim.observe(make_record(3, target="t", status="rate_limited", http_status=429))
    assert await lim.acquire("t", 1) == pytest.approx(1.0)


async def test_exhausted_remaining_header_pauses_until_reset() -> None:
    ft = FakeTime()
    lim = limiter(ft)
    hdrs = {"x-ratelimit-remaining-requests": "0", "x-ratelimit-reset-requests": "1m30s",
            "x-ratelimit-remaining-tokens": "5000", "x-ratelimit-reset-tokens": "20ms"}  # fmt: skip
    lim.observe(make_record(1, target="t", status="ok", ratelimit=json.dumps(hdrs)))
    assert await lim.acquire("t", 1) == pytest.approx(90.0)


async def test_anthropic_reset_timestamp_after_429() -> None:
    ft = FakeTime()
    lim = limiter(ft)
    reset = "2027-01-15T08:00:12Z"
    ft.wall = 1_800_000_000.0  # 2027-01-15T08:00:00Z
    hdrs = {"anthropic-ratelimit-tokens-remaining": "0", "anthropic-ratelimit-tokens-reset": reset}
    lim.observe(make_record(1, target="t", status="rate_limited", http_status=429,
                            ratelimit=json.dumps(hdrs)))  # fmt: skip
    assert await lim.acquire("t", 1) == pytest.approx(12.0)


async def test_remaining_header_clamps_the_local_bucket() -> None:
    ft = FakeTime()
    lim = limiter(ft, default=RateLimit(rpm=600))  # 10/s
    hdrs = {"x-ratelimit-remaining-requests": "2", "x-ratelimit-reset-requests": "1s"}
    lim.observe(make_record(1, target="t", ratelimit=json.dumps(hdrs)))
    assert [await lim.acquire("t", 1) for _ in range(3)] == pytest.approx([0.0, 0.0, 0.1])


def test_parse_reset_formats() -> None:
    now = 1_800_000_000.0
    assert parse_reset("20", now) == 20.0
    assert parse_reset("6m0s", now) == 360.0
    assert parse_reset("250ms", now) == pytest.approx(0.25)
    assert parse_reset("1h2m3.5s", now) == pytest.approx(3723.5)
    assert parse_reset(str(now + 5), now) == pytest.approx(5.0)
    assert parse_reset("2027-01-15T08:00:03+00:00", now) == pytest.approx(3.0)
    assert parse_reset("soon", now) is None


def test_bad_limits_are_config_errors() -> None:
    with pytest.raises(ConfigError, match="rpm"):
        RateLimit(rpm=0)
    with pytest.raises(ConfigError, match="tpm"):
        RateLimit(tpm=float("inf"))


@pytest.mark.slow
async def test_engine_counts_limiter_wait_into_queue_ms() -> None:
    """A real burst against the simulator: the limiter's wait shows up in queue_ms."""
    from lens.probe.engine import run_burst
    from lens.sim.server import SimServer, base_url_for

    async with SimServer() as sim:
        spec = BurstSpec.model_validate({
            "targets": [{"name": "sim", "provider": "sim", "model": "sim-1",
                         "base_url": base_url_for(sim.url, "openai_chat")}],
            "prompts": {"synthetic_tokens": 16}, "max_tokens": 8,
            "load": {"kind": "concurrency", "concurrency": 4, "requests": 6},
        })  # fmt: skip
        waits: list[float] = []

        class Recording(ClientRateLimiter):
            async def acquire(self, target_label: str, est_tokens: int) -> float:
                w = await super().acquire(target_label, est_tokens)
                waits.append(w)
                return w

        lim = Recording(default=RateLimit(rpm=240))
        # drain the bucket so each request books 0.25 s after the previous one
        st = lim.state("sim")
        assert st.requests is not None
        st.requests.level = 0
        res = await run_burst(spec, limiter=lim)
    assert [r.status for r in res.records] == ["ok"] * 6
    assert len(waits) == 6
    # requests are spaced 0.25 s apart by the limiter (the bucket refills while the engine
    # sets up, so the first one may go at once): at least five of the six waited
    assert sum(w > 0.05 for w in waits) >= 5
    assert sum(waits) >= 1.0
    # every second the limiter held a request is inside queue_ms, never hidden
    queue = sorted(r.queue_ms / 1000 for r in res.records)
    for q, w in zip(queue, sorted(waits), strict=True):
        assert q >= w - 0.002
