"""The latency model: turn a Profile and a request into an absolute event plan.

Every offset is relative to the moment the request holds a capacity slot (``t0``), so
the server sleeps until ``t0 + offset`` for each event and scheduling jitter never
accumulates. Randomness comes from a per-request ``random.Random`` seeded from the
server seed and the request counter, so a run is reproducible.

Prompt tokens are estimated as ceil(characters / 4) (OpenAI's rule of thumb for English);
that is cheap and good enough to drive a prefill cost.
"""

from __future__ import annotations

import hashlib
import math
import random
from collections import OrderedDict
from dataclasses import dataclass

from lens.sim.profiles import Profile

# Words that need no JSON escaping, so wire writers can splice them into templates.
_WORDS: tuple[str, ...] = (
    " the", " quick", " brown", " fox", " jumps", " over", " lazy", " dog", " and",
    " latency", " tokens", " stream", " model", " answer", " first", " time",
)
_NW = len(_WORDS)


def estimate_tokens(text: str) -> int:
    """Prompt tokens from text: ceil(len(text) / 4)."""
    return (len(text) + 3) // 4


def token_text(start: int, n: int) -> str:
    """Deterministic text for ``n`` tokens beginning at token index ``start``."""
    if n == 1:
        return _WORDS[start % _NW]
    return "".join(_WORDS[(start + k) % _NW] for k in range(n))


@dataclass(slots=True)
class PlannedEvent:
    offset_ns: int  # from t0
    kind: str  # "reasoning" | "text"
    n_tokens: int
    token_index: int  # index of its first token within its kind


@dataclass(slots=True)
class Plan:
    ttft_ns: int
    events: list[PlannedEvent]
    text_tokens: int
    reasoning_tokens: int
    finish_reason: str  # "stop" | "length"

    @property
    def end_ns(self) -> int:
        return self.events[-1].offset_ns if self.events else self.ttft_ns


def request_rng(seed: int, counter: int) -> random.Random:
    # Mix seed and counter so neighbouring seeds do not share streams.
    return random.Random((seed * 0x9E3779B1 + counter * 0x85EBCA77) & 0xFFFFFFFFFFFF)


def _chunk_sizes(total: int, lo: int, hi: int, rng: random.Random) -> list[int]:
    if lo == hi:
        full, rest = divmod(total, lo)
        return [lo] * full + ([rest] if rest else [])
    sizes: list[int] = []
    left = total
    while left > 0:
        n = min(left, rng.randint(lo, hi))
        sizes.append(n)
        left -= n
    return sizes


def make_plan(
    profile: Profile,
    rng: random.Random,
    *,
    prompt_tokens: int,
    cached_tokens: int,
    max_tokens: int | None,
) -> Plan:
    """Compute when each token event is written (ns offsets from t0)."""
    uncached = max(0, prompt_tokens - cached_tokens)
    ttft_ms = profile.ttft_ms + profile.prefill_ms_per_token * uncached
    if profile.ttft_jitter_ms > 0:
        ttft_ms = max(0.0, ttft_ms + rng.gauss(0.0, profile.ttft_jitter_ms))
    text_tokens = profile.output_tokens if max_tokens is None else max(1, min(max_tokens, profile.output_tokens))
    finish = "length" if max_tokens is not None and max_tokens < profile.output_tokens else "stop"
    lo, hi = profile.chunk_range
    sigma = profile.itl_jitter
    mu = -sigma * sigma / 2.0  # lognormal with mean 1
    events: list[PlannedEvent] = []
    t = ttft_ms
    first = True
    for kind, total, itl in (
        ("reasoning", profile.reasoning_tokens, profile.reasoning_itl_ms if profile.reasoning_itl_ms is not None else profile.itl_ms),
        ("text", text_tokens, profile.itl_ms),
    ):
        index = 0
        for n in _chunk_sizes(total, lo, hi, rng):
            if not first:
                gap = itl * n
                if sigma > 0 and gap > 0:
                    gap *= rng.lognormvariate(mu, sigma)
                t += gap
            first = False
            events.append(PlannedEvent(int(t * 1e6), kind, n, index))
            index += n
    return Plan(int(ttft_ms * 1e6), events, text_tokens, profile.reasoning_tokens, finish)


def choose_fault(profile: Profile, rng: random.Random) -> str | None:
    """Draw at most one fault for a request from the profile's rates."""
    u = rng.random()
    acc = 0.0
    for kind, rate in profile.faults.rates():
        acc += rate
        if rate > 0 and u < acc:
            return kind
    return None


def fault_position(profile: Profile, rng: random.Random, n_events: int) -> int:
    """Index of the token event before which a mid-stream fault happens (>= 1 if possible)."""
    frac = profile.faults.at_fraction
    if frac is None:
        frac = rng.uniform(0.2, 0.8)
    pos = math.floor(frac * n_events)
    return max(min(pos, n_events), 1 if n_events > 1 else 0)


class PrefixCache:
    """Remembers prompt prefixes in 256-character blocks (about 64 tokens).

    ``lookup_and_add`` returns how many leading characters of ``text`` were seen before
    (a whole number of blocks), then remembers all of this prompt's block prefixes.
    Bounded: the least recently used prefixes are forgotten beyond ``max_entries`` blocks
    (a hit refreshes a block, like an LRU KV cache).
    """

    BLOCK = 256

    def __init__(self, max_entries: int = 200_000) -> None:
        self._seen: OrderedDict[bytes, None] = OrderedDict()
        self._max = max_entries

    @classmethod
    def for_tokens(cls, capacity_tokens: int) -> PrefixCache:
        """A cache holding about ``capacity_tokens`` prompt tokens (4 characters each; 0:
        the default bound of 200,000 blocks); least recently used prefixes go first."""
        if capacity_tokens <= 0:
            return cls()
        return cls(max(1, capacity_tokens * 4 // cls.BLOCK))

    def lookup_and_add(self, text: str) -> int:
        data = text.encode("utf-8", "surrogatepass")
        h = hashlib.blake2b(digest_size=16)
        cached_chars = 0
        still_cached = True
        for start in range(0, len(data) - len(data) % self.BLOCK, self.BLOCK):
            h.update(data[start : start + self.BLOCK])
            key = h.copy().digest()
            if still_cached and key in self._seen:
                cached_chars = start + self.BLOCK
                self._seen.move_to_end(key)
            else:
                still_cached = False
                self._seen[key] = None
                if len(self._seen) > self._max:
                    self._seen.popitem(last=False)
        return cached_chars
