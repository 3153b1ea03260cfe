"""Rates: what one kind of price makes of one request's usage (lens.analysis.pricing).

A rate is resolved once per (provider, model, endpoint host, half-hour) and then applied to
every request of that key, one at a time (``lens.analysis.pricing``) or to whole columns
(``lens.analysis.cost.price_frame``). Both paths call the same arithmetic here, so a request
costs the same Decimal whichever way it is priced.
"""

from __future__ import annotations

from bisect import bisect_left
from dataclasses import dataclass, field
from decimal import Context, Decimal
from typing import Any

ZERO = Decimal(0)
# Every request's cost is a multiple of 1e-15 USD, so that sums of costs are exact in
# Decimal's default 28 digits (up to $1e13) and do not depend on their order. Token prices
# in USD per million tokens with up to 9 decimals are already on this grid, so for them the
# rounding never happens; it matters for GPU-hour costs (a float duration divided by
# 3.6e6 x concurrency rarely terminates) and for override prices with more decimals.
QUANTUM = Decimal("1e-15")
WIDE = Context(prec=100)  # exact products and sums before rounding to the grid
_MS_PER_HOUR = 3_600_000

Units = tuple[Decimal, Decimal, Decimal, Decimal, Decimal]
"""USD per request (fixed), then per uncached input, cache-read, cache-write, output token."""


@dataclass(frozen=True, slots=True)
class Free:
    """Nothing to pay (the simulated endpoint)."""

    label: str


@dataclass(frozen=True, slots=True)
class Unpriced:
    """No price known for the key; ``label`` is ``unpriced:<reason>``."""

    label: str


@dataclass(frozen=True, slots=True)
class GpuRate:
    """A self-hosted endpoint paid by the GPU-hour (a ``[[gpu_hour]]`` override).

    One request holds 1/concurrency of the GPUs for its end-to-end time, so it costs
    ``usd_per_hour * e2e_ms / (3.6e6 * concurrency)``.
    """

    usd_per_hour: Decimal  # usd_per_gpu_hour x gpus
    label: str = "gpu-hour"

    def usd(self, e2e_ms: float, concurrency: int) -> Decimal:
        # repr() gives the shortest decimal that round-trips: 800.1 ms is 800.1, not its
        # 46-digit binary expansion.
        held_ms = Decimal(repr(float(e2e_ms)))
        per = _MS_PER_HOUR * max(1, int(concurrency))
        return WIDE.divide(WIDE.multiply(self.usd_per_hour, held_ms), per).quantize(
            QUANTUM, context=WIDE)


@dataclass(frozen=True, slots=True)
class TokenRate:
    """Per-token prices, linear within each price tier.

    ``starts`` are the tier thresholds on the request's total input tokens (genai-prices'
    "cliff" tiers: above a threshold the tier's price applies to every token);
    ``segments[i]`` holds the Units in force when ``i`` thresholds lie below the total.
    """

    label: str
    segments: tuple[Units, ...]
    starts: tuple[int, ...] = ()
    # every price on the 1e-15 grid: any count x price is too, exactly, with no rounding
    on_grid: bool = field(init=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "on_grid", all(
            _on_grid(seg[0], 12) and all(_on_grid(u, 0) for u in seg[1:])
            for seg in self.segments))

    @classmethod
    def per_mtok(cls, label: str, input_mtok: Decimal, cache_read_mtok: Decimal,
                 cache_write_mtok: Decimal, output_mtok: Decimal) -> TokenRate:
        """One flat segment from USD-per-million-token prices."""
        m = Decimal(1_000_000)
        return cls(label, ((ZERO, input_mtok / m, cache_read_mtok / m, cache_write_mtok / m,
                            output_mtok / m),))

    def units(self, total_input: int) -> Units:
        return self.segments[bisect_left(self.starts, total_input)] if self.starts \
            else self.segments[0]

    def usd(self, uncached: int, cache_read: int, cache_write: int, output: int) -> Decimal:
        f, pu, pr, pw, po = self.units(uncached + cache_read + cache_write)
        if self.on_grid:  # exact as it is (see _on_grid): nothing to round
            return f + uncached * pu + cache_read * pr + cache_write * pw + output * po
        m = WIDE.multiply
        return WIDE.add(WIDE.add(WIDE.add(WIDE.add(
            f, m(uncached, pu)), m(cache_read, pr)), m(cache_write, pw)), m(output, po)
        ).quantize(QUANTUM, context=WIDE)


def _on_grid(price: Decimal, below_exp: int) -> bool:
    """On the 1e-15 grid and below 10**below_exp USD: then a count below 10**13 times it
    has at most 28 digits, exact in Decimal's default context."""
    exp = price.as_tuple().exponent
    return isinstance(exp, int) and exp >= -15 and price.adjusted() < below_exp


@dataclass(slots=True)
class ExactRate:
    """genai-prices called for every distinct usage: the fallback when a model's prices
    do not reduce to a TokenRate (checked when the rate is built, see lens.analysis.genai_rates).
    About 75 us per distinct usage, so it is only a fallback."""

    label: str
    model_price: Any
    _seen: dict[tuple[int, int, int, int], Decimal] = field(default_factory=dict)

    def usd(self, uncached: int, cache_read: int, cache_write: int, output: int) -> Decimal:
        key = (uncached, cache_read, cache_write, output)
        got = self._seen.get(key)
        if got is None:
            from genai_prices import Usage

            got = self.model_price.calc_price(Usage(
                input_tokens=uncached + cache_read + cache_write, cache_read_tokens=cache_read,
                cache_write_tokens=cache_write, output_tokens=output))["total_price"].quantize(
                QUANTUM, context=WIDE)
            if len(self._seen) > 4096:
                self._seen.clear()
            self._seen[key] = got
        return got


Rate = Free | Unpriced | GpuRate | TokenRate | ExactRate
PerToken = TokenRate | ExactRate


def split_tokens(input_tokens: int, cached: int, cache_write: int, output: int,
                 reasoning: int) -> tuple[int, int, int, int]:
    """(uncached input, cache read, cache write, billed output) from a row's counts.

    ``input_tokens`` includes cache reads and writes (OpenAI's convention); a row whose cache
    tokens exceed it counted them apart (Anthropic's raw convention), so they are added back.
    ``output_tokens`` includes reasoning, billed as output; fewer output than reasoning
    tokens means reasoning was counted apart, so it is added.
    """
    if cached + cache_write > input_tokens:
        input_tokens += cached + cache_write
    if output < reasoning:
        output += reasoning
    return input_tokens - cached - cache_write, cached, cache_write, output
