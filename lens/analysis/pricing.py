"""The one pricing rule: what one request cost, as an exact Decimal, and why.

Reports and gates (``lens.analysis.cost.price_frame``, the same rule over whole frames),
budgets (``lens.burst.budget``), the Prometheus cost counter and the what-if widget all
price through ``PriceBook``. For one request, in this order:

1. **Refused** -- ``status`` is http_error, rate_limited, overloaded or network and the
   server reported no usage (none, or only our own estimate): ``unbilled:<status>``, $0.
   Providers do not bill a request they refused. Streams cut mid-way (timeout,
   stream_error, truncated) were generating, so they are priced on their tokens.
2. **Override** (price file, first match on provider / model / endpoint_host):
   ``[[gpu_hour]]`` -> ``gpu-hour`` (needs ``e2e_ms``, else ``unpriced:no-duration``);
   ``[[model]]`` -> ``override``.
3. **Simulated endpoint** (provider ``sim``): ``free:simulated``, $0.
4. **Self-hosted** (vllm, llamacpp, ollama) without a gpu_hour override:
   ``unpriced:self-hosted``. Their cost is the hardware, not a list price, and lens cannot
   know it; $0 would be a silent guess, so they are named instead.
5. **genai-prices**, the price in force at ``started_at`` (to the half-hour; tiers,
   cache reads and writes, reasoning billed as output): ``genai-prices:<provider>/<model>``,
   or ``unpriced:unknown-model``.

A per-token price needs usage (``input_tokens`` or ``output_tokens``), else
``unpriced:no-usage``. Unpriced is ``None`` (NaN in frames), never a silent zero.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Mapping
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any, NamedTuple, Protocol

from lens.analysis.prices import GpuHourPrice, PriceOverrides, TokenPrice, load_overrides
from lens.analysis.rates import (
    ZERO,
    ExactRate,
    Free,
    GpuRate,
    Rate,
    TokenRate,
    Unpriced,
    split_tokens,
)

REFUSED: tuple[str, ...] = ("http_error", "rate_limited", "overloaded", "network")
FREE_PROVIDERS = frozenset({"sim"})
SELF_HOSTED_PROVIDERS = frozenset({"vllm", "llamacpp", "ollama"})
UNKNOWN_MODEL, NO_USAGE = "unpriced:unknown-model", "unpriced:no-usage"
NO_DURATION, SELF_HOSTED = "unpriced:no-duration", "unpriced:self-hosted"
_WHY = {UNKNOWN_MODEL: "", NO_USAGE: " (no usage)", NO_DURATION: " (no duration)",
        SELF_HOSTED: " (self-hosted: add a [[gpu_hour]] price)"}
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
HALF_HOUR = timedelta(minutes=30)
_MAX_RATES = 8192


class UsageLike(Protocol):
    """What pricing reads from a request: a RequestRecord, a UsageRow, or any such object."""

    @property
    def provider(self) -> str: ...
    @property
    def model(self) -> str: ...
    @property
    def endpoint_host(self) -> str: ...
    @property
    def started_at(self) -> datetime | None: ...
    @property
    def status(self) -> str: ...
    @property
    def tokens_estimated(self) -> bool: ...
    @property
    def input_tokens(self) -> int | None: ...
    @property
    def cached_input_tokens(self) -> int | None: ...
    @property
    def cache_write_tokens(self) -> int | None: ...
    @property
    def output_tokens(self) -> int | None: ...
    @property
    def reasoning_tokens(self) -> int | None: ...
    @property
    def e2e_ms(self) -> float | None: ...
    @property
    def concurrency(self) -> int: ...


class UsageRow(NamedTuple):
    """A request to price when there is no RequestRecord (estimates, what-ifs, frame rows)."""

    provider: str
    model: str
    endpoint_host: str = ""
    started_at: datetime | None = None  # None: now
    status: str = "ok"
    tokens_estimated: bool = False
    input_tokens: int | None = None
    cached_input_tokens: int | None = None
    cache_write_tokens: int | None = None
    output_tokens: int | None = None
    reasoning_tokens: int | None = None
    e2e_ms: float | None = None
    concurrency: int = 1

    @classmethod
    def from_mapping(cls, row: Mapping[str, Any]) -> UsageRow:
        """From a dict or a frame row (missing keys take the defaults, NaN / NA mean None)."""
        kw = {k: v for k in cls._fields if (v := _present(row.get(k))) is not None}
        return cls(**kw)


class Priced(NamedTuple):
    """One request's cost (None: unpriced) and the rule that set it (``cost_source``)."""

    usd: Decimal | None
    source: str


def _present(v: Any) -> Any:
    """``v``, or None for None, NaN, NaT and pandas' NA."""
    if v is None:
        return None
    try:
        return None if v != v else v
    except TypeError:  # pd.NA refuses to be a bool
        return None


def _count(v: Any) -> int | None:
    v = _present(v)
    return None if v is None else int(v)


def half_hour(ts: datetime | None) -> int:
    """Index of the UTC half-hour ``ts`` falls in (None or NaT: now; naive means UTC)."""
    if ts is None or ts != ts:  # NaT is the one datetime unequal to itself
        ts = datetime.now(UTC)
    elif ts.tzinfo is None:
        ts = ts.replace(tzinfo=UTC)
    return (ts - EPOCH) // HALF_HOUR


def unpriced_name(provider: str, model: str, source: str) -> str:
    """How reports name an unpriced row: ``provider/model`` plus why when it is not the model."""
    return f"{provider}/{model}{_WHY.get(source, ' (' + source + ')')}"


class PriceBook:
    """genai-prices plus price overrides, under the one rule (see the module doc).

    Rates are resolved once per (provider, model, endpoint host, half-hour) and cached, so
    ``price`` costs microseconds: fit for the event loop (BudgetWatch, PrometheusSink).
    """

    def __init__(self, overrides: PriceOverrides | str | os.PathLike[str] | None = None) -> None:
        if overrides is not None and not isinstance(overrides, PriceOverrides):
            overrides = load_overrides(overrides)
        self.overrides: PriceOverrides | None = overrides
        self._rates: dict[tuple[str, str, str, int], Rate] = {}

    def warm(self, keys: Iterable[tuple[str, str, str]] = ()) -> PriceBook:
        """Load genai-prices and resolve these (provider, model, endpoint_host) keys for the
        current half-hour now, before a burst, rather than on the event loop mid-burst."""
        from lens.analysis.genai_rates import warm

        warm()
        slot = half_hour(None)
        for provider, model, host in keys:
            self.rate(provider, model, host, slot)
        return self

    def rate(self, provider: str, model: str, endpoint_host: str, slot: int) -> Rate:
        """The rate for requests of this key started in half-hour ``slot`` (see half_hour)."""
        key = (provider, model, endpoint_host, slot)
        got = self._rates.get(key)
        if got is None:
            got = self._resolve(provider, model, endpoint_host, EPOCH + slot * HALF_HOUR)
            if len(self._rates) >= _MAX_RATES:
                self._rates.clear()
            self._rates[key] = got
        return got

    def _resolve(self, provider: str, model: str, host: str, when: datetime) -> Rate:
        entry = self.overrides.find(provider, model, host) if self.overrides else None
        if isinstance(entry, GpuHourPrice):
            return GpuRate(entry.usd_per_gpu_hour * entry.gpus)
        if isinstance(entry, TokenPrice):
            return TokenRate.per_mtok(
                "override", entry.input_mtok,
                entry.cached_input_mtok if entry.cached_input_mtok is not None else entry.input_mtok,
                entry.cache_write_mtok if entry.cache_write_mtok is not None else entry.input_mtok,
                entry.output_mtok)
        if provider in FREE_PROVIDERS:
            return Free("free:simulated")
        if provider in SELF_HOSTED_PROVIDERS:
            return Unpriced(SELF_HOSTED)
        from lens.analysis.genai_rates import genai_rate

        return genai_rate(provider, model, host, when) or Unpriced(UNKNOWN_MODEL)

    def price(self, row: UsageLike) -> Priced:
        """What ``row`` cost under the one rule: exact USD (None: unpriced) and its source."""
        status = row.status or "ok"
        inp, out = _count(row.input_tokens), _count(row.output_tokens)
        has_usage = inp is not None or out is not None
        if status in REFUSED and (not has_usage or bool(_present(row.tokens_estimated))):
            return Priced(ZERO, f"unbilled:{status}")
        rate = self.rate(row.provider or "", row.model or "", row.endpoint_host or "",
                         half_hour(row.started_at))
        if isinstance(rate, TokenRate | ExactRate):
            if not has_usage:
                return Priced(None, NO_USAGE)
            return Priced(rate.usd(*split_tokens(
                inp or 0, _count(row.cached_input_tokens) or 0, _count(row.cache_write_tokens) or 0,
                out or 0, _count(row.reasoning_tokens) or 0)), rate.label)
        if isinstance(rate, GpuRate):
            e2e = _present(row.e2e_ms)
            if e2e is None:
                return Priced(None, NO_DURATION)
            return Priced(rate.usd(e2e, _count(row.concurrency) or 1), rate.label)
        if isinstance(rate, Free):
            return Priced(ZERO, rate.label)
        return Priced(None, rate.label)

    def usd(self, row: UsageLike) -> Decimal | None:
        """Just the cost (a ``PrometheusSink`` pricer)."""
        return self.price(row).usd


Prices = PriceBook | PriceOverrides | str | os.PathLike[str] | None
_default: PriceBook | None = None
_books: dict[int, tuple[PriceOverrides, PriceBook]] = {}


def price_book(prices: Prices = None) -> PriceBook:
    """A PriceBook for ``prices``: a book as is, overrides or a price file path, or None
    (genai-prices only). Books for the same overrides object are reused, with their cache."""
    global _default
    if isinstance(prices, PriceBook):
        return prices
    if prices is None:
        if _default is None:
            _default = PriceBook()
        return _default
    if not isinstance(prices, PriceOverrides):
        return PriceBook(prices)
    got = _books.get(id(prices))
    if got is None or got[0] is not prices:
        if len(_books) > 16:
            _books.clear()
        got = _books[id(prices)] = (prices, PriceBook(prices))
    return got[1]


def price_row(row: UsageLike | Mapping[str, Any], prices: Prices = None) -> Priced:
    """Price one request (a RequestRecord, UsageRow, or a mapping such as a frame row)."""
    if isinstance(row, Mapping):
        row = UsageRow.from_mapping(row)
    return price_book(prices).price(row)
