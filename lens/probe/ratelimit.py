"""Client-side rate limiting per provider key: requests and tokens per minute, plus back-off.

It implements the engine's ``RateLimiter`` hook (lens.probe.engine): the engine calls
``await limiter.acquire(target_label, est_tokens)`` before sending and adds
the returned seconds to the record's ``queue_ms``, so time spent waiting on the limiter is
always visible and never counted as provider latency. After each request the engine calls
``limiter.observe(record)``: a 429 is recorded as ``rate_limited`` (the engine never retries
silently), and the limiter pauses *later* sends of the same key until the reset the server
announced (``retry-after``, ``x-ratelimit-reset-*``, ``anthropic-ratelimit-*-reset``) or, with
no hint, for an exponential back-off.

Targets that share an API key share a budget at the provider, so buckets are keyed by
provider + key environment-variable *name* (never the key value).
"""

from __future__ import annotations

import asyncio
import logging
import math
import time
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from lens.errors import ConfigError
from lens.probe.ratelimit_headers import (
    exhausted_pause,
    header_pause,
    headers_of,
    parse_reset,
    remaining,
)
from lens.record import RequestRecord

__all__ = ["ClientRateLimiter", "KeyState", "RateLimit", "TokenBucket", "parse_reset"]

if TYPE_CHECKING:
    from lens.spec import BurstSpec

log = logging.getLogger(__name__)

BACKOFF_START_S = 1.0
BACKOFF_MAX_S = 60.0
# Reset hints beyond this are treated as bogus (a clock-skewed absolute date, a typo).
MAX_PAUSE_S = 300.0


@dataclass(frozen=True)
class RateLimit:
    """Limits for one provider key; None means unlimited."""

    rpm: float | None = None
    tpm: float | None = None

    def __post_init__(self) -> None:
        for name in ("rpm", "tpm"):
            v = getattr(self, name)
            if v is not None and not (v > 0 and math.isfinite(v)):
                raise ConfigError(f"{name} must be a positive number, got {v}", field=name)


class TokenBucket:
    """A token bucket that may go into debt: ``reserve`` books now and says how long to wait.

    Booking immediately keeps concurrent waiters in arrival order and their waits exact.
    Capacity is one minute's worth, so a fresh bucket allows a burst of ``per_minute``.
    """

    def __init__(self, per_minute: float, now: float) -> None:
        self.rate = per_minute / 60.0
        self.capacity = per_minute
        self.level = per_minute
        self._t = now

    def _refill(self, now: float) -> None:
        self.level = min(self.capacity, self.level + (now - self._t) * self.rate)
        self._t = now

    def reserve(self, amount: float, now: float) -> float:
        """Take ``amount``; return seconds until the balance is non-negative again."""
        self._refill(now)
        self.level -= amount
        return 0.0 if self.level >= 0 else -self.level / self.rate

    def clamp(self, remaining: float, now: float) -> None:
        """The server says only ``remaining`` is left: never believe we have more."""
        self._refill(now)
        self.level = min(self.level, remaining)


@dataclass
class KeyState:
    """Buckets and back-off of one provider key."""

    requests: TokenBucket | None
    tokens: TokenBucket | None
    paused_until: float = 0.0
    backoff_s: float = 0.0
    waited_s: float = 0.0
    pauses: int = 0
    rate_limited: int = 0
    last_reason: str = ""
    targets: set[str] = field(default_factory=set)


class ClientRateLimiter:
    """Token buckets (rpm, tpm) and server-driven pauses per provider key.

    ``limits`` maps a key group (see ``key_of``) or a target label to its RateLimit;
    ``default`` applies to every other group. ``key_of`` maps a target label to its key
    group; by default each target is its own group. ``for_spec`` builds both from a spec.
    """

    def __init__(
        self,
        limits: Mapping[str, RateLimit] | None = None,
        *,
        default: RateLimit | None = None,
        key_of: Mapping[str, str] | None = None,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], Awaitable[object]] = asyncio.sleep,
        wall_clock: Callable[[], float] = time.time,
    ) -> None:
        self._limits = dict(limits or {})
        self._default = default or RateLimit()
        self._key_of = dict(key_of or {})
        self._clock = clock
        self._sleep = sleep
        self._wall = wall_clock
        self._states: dict[str, KeyState] = {}

    @classmethod
    def for_spec(
        cls, spec: BurstSpec, *, rpm: float | None = None, tpm: float | None = None, **kw: Any
    ) -> ClientRateLimiter:
        """Group the spec's targets by provider + API-key variable name, each with rpm/tpm."""
        key_of = {t.label: f"{t.provider}:{'|'.join(t.key_envs) or t.label}" for t in spec.targets}
        return cls(default=RateLimit(rpm=rpm, tpm=tpm), key_of=key_of, **kw)

    def key(self, target_label: str) -> str:
        return self._key_of.get(target_label, target_label)

    def state(self, target_label: str) -> KeyState:
        key = self.key(target_label)
        st = self._states.get(key)
        if st is None:
            lim = self._limits.get(key) or self._limits.get(target_label) or self._default
            now = self._clock()
            st = KeyState(
                requests=TokenBucket(lim.rpm, now) if lim.rpm else None,
                tokens=TokenBucket(lim.tpm, now) if lim.tpm else None,
            )
            self._states[key] = st
        st.targets.add(target_label)
        return st

    async def acquire(self, target_label: str, est_tokens: int) -> float:
        """Wait until ``target_label``'s key may send a request of ``est_tokens`` tokens.

        Returns the seconds waited (the engine adds them to ``queue_ms``).
        """
        st = self.state(target_label)
        now = self._clock()
        wait = 0.0
        if st.requests is not None:
            wait = max(wait, st.requests.reserve(1, now))
        if st.tokens is not None:
            # A request larger than a minute's budget could never fit: let it go after a full
            # refill rather than block forever.
            wait = max(wait, st.tokens.reserve(min(est_tokens, st.tokens.capacity), now))
        start = now
        deadline = now + wait
        slept = False
        # Re-check after each sleep: observe() may have paused the key meanwhile.
        while True:
            delay = max(deadline, st.paused_until) - self._clock()
            if delay <= 0:
                break
            await self._sleep(delay)
            slept = True
        waited = max(0.0, self._clock() - start) if slept else 0.0
        st.waited_s += waited
        return waited

    def observe(self, record: RequestRecord) -> None:
        """Learn from a finished request: pause on 429/overload, follow rate-limit headers."""
        st = self.state(record.target or record.provider)
        now = self._clock()
        headers = headers_of(record.ratelimit)
        pause = 0.0
        reason = ""
        limited = record.status in ("rate_limited", "overloaded") or record.http_status == 429
        if limited:
            st.rate_limited += 1
            if record.retry_after_s is not None and record.retry_after_s >= 0:
                pause, reason = record.retry_after_s, "retry-after"
            else:
                hint = header_pause(headers, self._wall())
                if hint is not None:
                    pause, reason = hint, "rate-limit reset header"
                else:
                    st.backoff_s = min(BACKOFF_MAX_S, st.backoff_s * 2 or BACKOFF_START_S)
                    pause, reason = st.backoff_s, "back-off (no retry-after)"
        else:
            if record.status == "ok":
                st.backoff_s = 0.0
            exhausted = exhausted_pause(headers, self._wall())
            if exhausted is not None:
                pause, reason = exhausted, "x-ratelimit-remaining = 0"
        self._clamp(st, headers, now)
        pause = min(pause, MAX_PAUSE_S)
        if pause > 0 and now + pause > st.paused_until:
            st.paused_until = now + pause
            st.pauses += 1
            st.last_reason = reason
            log.info(
                "rate limit: pausing %s for %.2fs (%s)", self.key(record.target), pause, reason
            )

    def _clamp(self, st: KeyState, headers: Mapping[str, str], now: float) -> None:
        for bucket, kind in ((st.requests, "requests"), (st.tokens, "tokens")):
            if bucket is None:
                continue
            left = remaining(headers, kind)
            if left is not None:
                bucket.clamp(left, now)

    def stats(self) -> dict[str, dict[str, float | int | str]]:
        """Per key group: seconds waited, pauses, rate-limited responses, last pause reason."""
        return {
            k: {
                "waited_s": round(s.waited_s, 6),
                "pauses": s.pauses,
                "rate_limited": s.rate_limited,
                "last_reason": s.last_reason,
            }
            for k, s in self._states.items()
        }
