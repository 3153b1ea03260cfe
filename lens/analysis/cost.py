"""Price request frames: the one pricing rule (lens.analysis.pricing) over whole columns.

``price_frame`` gives every row exactly what ``lens.analysis.pricing.price_row`` gives it
(the same rate objects and arithmetic; a test checks it on thousands of random rows) and
adds ``cost_usd`` (float, NaN when unpriced) and ``cost_source`` (the rule that priced the
row, see lens.analysis.pricing). Money is Decimal: ``PricingReport.total_usd`` and
``by_source`` are exact sums of the rows' Decimal costs. Unpriced rows are listed by name
in the report, never counted as zero.

Token accounting per row (record semantics, lens.record): ``input_tokens`` includes cache
reads and writes, ``output_tokens`` includes reasoning, billed as output; rows that counted
them apart are recognised (lens.analysis.rates.split_tokens). The price is the one in force
when the request started (``started_at``, to the half-hour), tiered prices included.

Self-hosted endpoints (``[[gpu_hour]]`` overrides) cost
``usd_per_gpu_hour * gpus / 3600 * (e2e_ms / 1000) / concurrency`` per request: the GPU is
paid by the hour whether busy or not, and during the measurement it served ``concurrency``
requests at once, so each request holds 1/concurrency of it for its end-to-end time. Summed
over a run this is the GPU time the run kept busy at the measured load, i.e. the price per
request at the throughput actually measured (a tokens/s basis gives the same total for a
saturated server but breaks down for failed or zero-token requests, which still hold a slot).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal

import numpy as np
import pandas as pd

from lens.analysis.pricing import (
    HALF_HOUR,
    NO_DURATION,
    NO_USAGE,
    REFUSED,
    Priced,
    Prices,
    price_book,
    unpriced_name,
)
from lens.analysis.rates import WIDE, ExactRate, Free, GpuRate, TokenRate, Units
from lens.errors import AnalysisError
from lens.record.frames import without_warmup
from lens.spec import PRICE_PROVIDER_IDS

PROVIDER_IDS = PRICE_PROVIDER_IDS  # lens provider -> genai-prices provider id
__all__ = ["REFUSED", "PricingReport", "cost_summary", "price_frame"]


@dataclass
class PricingReport:
    """What was priced: exact totals and the rows that could not be priced, by name."""

    total_usd: Decimal = Decimal(0)
    priced_rows: int = 0  # rows with a cost, $0 included (free, unbilled)
    by_source: dict[str, Decimal] = field(default_factory=dict)
    unpriced: dict[str, int] = field(default_factory=dict)  # "provider/model (reason)" -> rows

    @property
    def unpriced_models(self) -> list[str]:
        return sorted(self.unpriced)

    def raise_if_unpriced(self) -> None:
        """Raise AnalysisError naming every unpriced model (for callers that need totals)."""
        if self.unpriced:
            names = ", ".join(f"{k} x{v}" for k, v in sorted(self.unpriced.items()))
            raise AnalysisError(f"cannot price: {names}",
                                hint="add them to a price override file (see data/prices.toml)")

    def add(self, provider: str, model: str, priced: Priced, rows: int = 1) -> None:
        """Count ``rows`` requests of ``provider/model`` that each got ``priced``."""
        if priced.usd is None:
            self._unpriced(unpriced_name(provider, model, priced.source), rows)
        else:
            self._add(priced.source, priced.usd * rows, rows)

    def _add(self, source: str, amount: Decimal, rows: int) -> None:
        self.by_source[source] = self.by_source.get(source, Decimal(0)) + amount
        self.total_usd += amount
        self.priced_rows += rows

    def _unpriced(self, name: str, rows: int) -> None:
        self.unpriced[name] = self.unpriced.get(name, 0) + rows


def _ints(df: pd.DataFrame, name: str) -> np.ndarray:
    if name not in df.columns:
        return np.zeros(len(df), dtype=np.int64)
    return pd.to_numeric(df[name], errors="coerce").fillna(0).to_numpy(dtype=np.int64)


def _tokens(df: pd.DataFrame) -> tuple[np.ndarray, np.ndarray]:
    """(n x 4 int64 usage as split_tokens splits it, has-usage mask), vectorised."""
    inp = _ints(df, "input_tokens")
    cr, cw = _ints(df, "cached_input_tokens"), _ints(df, "cache_write_tokens")
    out, rs = _ints(df, "output_tokens"), _ints(df, "reasoning_tokens")
    inp = np.where(cr + cw > inp, inp + cr + cw, inp)
    out = np.where(out < rs, out + rs, out)
    has = np.zeros(len(df), dtype=bool)
    for c in ("input_tokens", "output_tokens"):
        if c in df.columns:
            has |= df[c].notna().to_numpy()
    return np.stack([inp - cr - cw, cr, cw, out], axis=1), has


def _column(df: pd.DataFrame, name: str, fill: object) -> pd.Series:
    if name not in df.columns:
        return pd.Series([fill] * len(df), dtype="object")
    return df[name].astype("object").where(df[name].notna(), fill)


def price_frame(df: pd.DataFrame, overrides: Prices = None) -> tuple[pd.DataFrame, PricingReport]:
    """Return a copy of ``df`` with ``cost_usd`` and ``cost_source``, and a PricingReport.

    ``overrides``: a PriceBook, PriceOverrides, a price file path, or None (genai-prices).
    """
    book = price_book(overrides)
    src_df, df = df, df.reset_index(drop=True)
    n = len(df)
    cost = np.full(n, np.nan)
    source = np.empty(n, dtype=object)
    report = PricingReport()
    usage, has_usage = _tokens(df)
    status = _column(df, "status", "ok").replace("", "ok").to_numpy()
    estimated = _column(df, "tokens_estimated", False).astype(bool).to_numpy()
    when = pd.to_datetime(_column(df, "started_at", pd.NaT), utc=True).dt.as_unit("ns")
    when = when.fillna(pd.Timestamp.now(tz="UTC"))  # no date: today's price
    slot = ((when - pd.Timestamp(0, tz="UTC")) // pd.Timedelta(HALF_HOUR)).astype("int64")
    keys = pd.DataFrame({"provider": _column(df, "provider", ""), "model": _column(df, "model", ""),
                         "host": _column(df, "endpoint_host", ""), "slot": slot})
    unbilled = np.isin(status, REFUSED) & (~has_usage | estimated)
    for st in np.unique(status[unbilled]):
        sel = unbilled & (status == st)
        cost[sel], source[sel] = 0.0, f"unbilled:{st}"
        report._add(f"unbilled:{st}", Decimal(0), int(sel.sum()))
    for (prov, model, host, sl), g in keys[~unbilled].groupby(
            ["provider", "model", "host", "slot"], sort=False):
        idx = g.index.to_numpy()
        rate = book.rate(str(prov), str(model), str(host), int(sl))
        name = (str(prov), str(model))
        if isinstance(rate, GpuRate):
            e2e = pd.to_numeric(df["e2e_ms"], errors="coerce").to_numpy(dtype="float64")[idx] \
                if "e2e_ms" in df.columns else np.full(idx.size, np.nan)
            conc = pd.to_numeric(df["concurrency"], errors="coerce").fillna(1) \
                .to_numpy(dtype="float64")[idx] if "concurrency" in df.columns else np.ones(idx.size)
            ok = ~np.isnan(e2e)
            _unpriced(report, name, idx[~ok], NO_DURATION, source)
            amounts = [rate.usd(e, int(c)) for e, c in zip(e2e[ok], conc[ok], strict=True)]
            cost[idx[ok]] = [float(a) for a in amounts]
            source[idx[ok]] = rate.label
            if amounts:
                report._add(rate.label, sum(amounts, Decimal(0)), len(amounts))
        elif isinstance(rate, TokenRate | ExactRate):
            _unpriced(report, name, idx[~has_usage[idx]], NO_USAGE, source)
            idx = idx[has_usage[idx]]
            if idx.size:
                source[idx] = rate.label
                cost[idx], amount = _per_token(rate, usage[idx])
                report._add(rate.label, amount, idx.size)
        elif isinstance(rate, Free):
            cost[idx], source[idx] = 0.0, rate.label
            report._add(rate.label, Decimal(0), idx.size)
        else:
            _unpriced(report, name, idx, rate.label, source)
    out = src_df.copy()
    out["cost_usd"] = cost
    out["cost_source"] = pd.Categorical(source)
    return out, report


def _unpriced(report: PricingReport, name: tuple[str, str], idx: np.ndarray, why: str,
              source: np.ndarray) -> None:
    if idx.size:
        source[idx] = why
        report._unpriced(unpriced_name(*name, why), int(idx.size))


def _per_token(rate: TokenRate | ExactRate, usage: np.ndarray) -> tuple[np.ndarray, Decimal]:
    """Float costs equal to float(rate.usd(row)) for every row, and their exact Decimal sum."""
    if isinstance(rate, ExactRate) or not rate.on_grid:
        uniq, inverse = np.unique(usage, axis=0, return_inverse=True)
        prices = [rate.usd(*map(int, u)) for u in uniq]
        counts = np.bincount(inverse.ravel(), minlength=len(prices))
        total = Decimal(0)
        for p, c in zip(prices, counts, strict=True):
            total = WIDE.add(total, WIDE.multiply(p, int(c)))
        return np.array([float(p) for p in prices])[inverse.ravel()], total
    seg = np.searchsorted(np.asarray(rate.starts, dtype=np.int64), usage[:, :3].sum(axis=1),
                          side="left") if rate.starts else np.zeros(len(usage), dtype=np.int64)
    floats = np.empty(len(usage))
    total = Decimal(0)
    for s in np.unique(seg):
        rows = seg == s
        units = rate.segments[int(s)]
        part = usage[rows]
        # The rows' exact costs summed: fixed x rows + (column sum) x unit. Each row's cost
        # is on the 1e-15 grid (TokenRate.on_grid), so this equals adding them one by one.
        for col_sum, unit in zip([int(rows.sum()), *map(int, part.sum(axis=0))], units,
                                 strict=True):
            total = WIDE.add(total, WIDE.multiply(col_sum, unit))
        floats[rows] = _exact_floats(part, units, rate)
    return floats, total


def _exact_floats(part: np.ndarray, units: Units, rate: TokenRate) -> np.ndarray:
    """float(Decimal cost) per row, vectorised when exact: with every price scaled by 10**k
    to an integer, a row's cost is an integer N below 2**53 and N / 10**k (k <= 22, so
    10**k is an exact double) is the correctly rounded double of N x 10**-k, as float() of
    the Decimal is. Otherwise row by row."""
    k = max(0, *(-int(u.as_tuple().exponent) for u in units))
    scaled = [int(u.scaleb(k)) for u in units] if k <= 22 else []
    if scaled and all(s >= 0 for s in scaled) and part.min(initial=0) >= 0:
        bound = scaled[0] + sum(s * int(part[:, i].max(initial=0))
                                for i, s in enumerate(scaled[1:]))
        if bound < 2**53:
            n = scaled[0] + part @ np.asarray(scaled[1:], dtype=np.int64)
            return n / float(10**k)
    return np.array([float(rate.usd(*map(int, r))) for r in part])


def cost_summary(priced: pd.DataFrame, by: tuple[str, ...] = ("target",)) -> pd.DataFrame:
    """Per group: requests, priced requests, total and mean cost per measured request
    (warm-up excluded; unpriced rows are excluded from the sums and counted apart)."""
    d = without_warmup(priced)
    keys = [k for k in by if k in d.columns] or None
    g = d.assign(_priced=d["cost_usd"].notna()).groupby(keys or (lambda _: "all"), observed=True)
    out = pd.DataFrame({
        "requests": g.size(),
        "priced": g["_priced"].sum(),
        "total_usd": g["cost_usd"].sum(min_count=1),
    })
    out["usd_per_request"] = out["total_usd"] / out["priced"].where(out["priced"] > 0)
    return out.reset_index()
