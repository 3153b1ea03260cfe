"""Price request rows: genai-prices (bundled data, no network), then overrides.

Token accounting per row (record semantics, lens.record):

- ``input_tokens`` is the whole prompt *including* cache reads and writes (OpenAI's
  ``prompt_tokens`` convention, which genai-prices also uses). A row whose cached + cache
  write tokens exceed ``input_tokens`` evidently counted them apart (Anthropic's raw
  convention), so they are added back.
- ``output_tokens`` includes reasoning tokens, and **reasoning tokens are billed as output**
  (every provider in genai-prices bills them at the output rate). A row with fewer output
  than reasoning tokens evidently counted them apart, so they are added.
- The price is the one in force when the request started (``started_at``, to the
  half-hour: genai-prices has start-date and time-of-day prices), tiered prices included.

Money is Decimal: ``PricingReport.total_usd`` and ``by_source`` are exact sums of integer
token counts times Decimal unit prices. The frame gets ``cost_usd`` (float) and
``cost_source``: ``genai-prices:<provider>/<model>`` | ``override`` | ``gpu-hour`` |
``unpriced:unknown-model`` | ``unpriced:no-usage`` | ``unpriced:no-duration`` |
``free:simulated`` (provider ``sim``, the simulated endpoint, unless an override prices it) |
``unbilled:<status>`` (0: a request refused before generation -- http_error, rate_limited,
overloaded, network -- without server-reported usage; providers do not bill those).
Unpriced rows get NaN, never a silent zero, and are listed by name in the report.

Self-hosted endpoints (``[[gpu_hour]]`` overrides) cost
``usd_per_gpu_hour * gpus / 3600 * (e2e_ms / 1000) / concurrency`` per request: the GPU is
paid by the hour whether busy or not, and during the measurement it served ``concurrency``
requests at once, so each request holds 1/concurrency of it for its end-to-end time. Summed
over a run this is the GPU time the run kept busy at the measured load, i.e. the price per
request at the throughput actually measured (a tokens/s basis gives the same total for a
saturated server but breaks down for failed or zero-token requests, which still hold a slot).
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from typing import Any

import numpy as np
import pandas as pd

from lens.analysis.prices import GpuHourPrice, PriceOverrides, TokenPrice, load_overrides
from lens.errors import AnalysisError
from lens.spec import PRICE_PROVIDER_IDS

PROVIDER_IDS = PRICE_PROVIDER_IDS  # lens provider -> genai-prices provider id
_BASIS = 1_000_000
REFUSED: tuple[str, ...] = ("http_error", "rate_limited", "overloaded", "network")


@dataclass
class PricingReport:
    """What ``price_frame`` priced: exact totals and the rows it could not price, by name."""

    total_usd: Decimal = Decimal(0)
    priced_rows: int = 0
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

    def _add(self, source: str, amount: Decimal, rows: int) -> None:
        self.by_source[source] = self.by_source.get(source, Decimal(0)) + amount
        self.total_usd += amount
        self.priced_rows += rows


def _ints(df: pd.DataFrame, name: str) -> np.ndarray:
    if name not in df.columns:
        return np.zeros(len(df), dtype=np.int64)
    return pd.to_numeric(df[name], errors="coerce").fillna(0).to_numpy(dtype=np.int64)


@dataclass
class _Tokens:
    uncached: np.ndarray
    cache_read: np.ndarray
    cache_write: np.ndarray
    output: np.ndarray
    has_usage: np.ndarray


def _tokens(df: pd.DataFrame) -> _Tokens:
    inp = _ints(df, "input_tokens")
    cr, cw = _ints(df, "cached_input_tokens"), _ints(df, "cache_write_tokens")
    out, rs = _ints(df, "output_tokens"), _ints(df, "reasoning_tokens")
    inp = np.where(cr + cw > inp, inp + cr + cw, inp)
    out = np.where(out < rs, out + rs, out)
    has = np.zeros(len(df), dtype=bool)
    for c in ("input_tokens", "output_tokens"):
        if c in df.columns:
            has |= df[c].notna().to_numpy()
    return _Tokens(inp - cr - cw, cr, cw, out, has)


def _genai_ref(provider: str, endpoint_host: str) -> dict[str, str] | None:
    if provider in PROVIDER_IDS:
        return {"provider_id": PROVIDER_IDS[provider]}
    if endpoint_host:
        return {"provider_api_url": f"https://{endpoint_host}"}
    return None


def _genai_calc(usage: dict[str, int], model: str, ref: dict[str, str], when: datetime) -> Any:
    from genai_prices import Usage, calc_price

    return calc_price(Usage(**usage), model, genai_request_timestamp=when, **ref)  # type: ignore[arg-type]


def _unit_prices(model: str, ref: dict[str, str], when: datetime
                 ) -> tuple[list[Decimal] | None, str]:
    """Per-token Decimal prices (fixed, uncached, cache read, cache write, output) for a
    model without tiers; None when tiered (price row by row instead)."""
    from genai_prices.types import TieredPrices

    base = _genai_calc({}, model, ref, when)
    label = f"genai-prices:{base.provider.id}/{base.model.id}"
    if any(isinstance(v, TieredPrices) for v in vars(base.model_price).values()):
        return None, label
    fixed = base.total_price

    def per_token(**u: int) -> Decimal:
        return (_genai_calc(u, model, ref, when).total_price - fixed) / _BASIS

    return [fixed, per_token(input_tokens=_BASIS),
            per_token(input_tokens=_BASIS, cache_read_tokens=_BASIS),
            per_token(input_tokens=_BASIS, cache_write_tokens=_BASIS),
            per_token(output_tokens=_BASIS)], label


def _linear(tok: _Tokens, idx: np.ndarray, p: list[Decimal]) -> tuple[np.ndarray, Decimal]:
    parts = (tok.uncached[idx], tok.cache_read[idx], tok.cache_write[idx], tok.output[idx])
    floats = np.full(idx.size, float(p[0]))
    total = p[0] * idx.size
    for arr, unit in zip(parts, p[1:], strict=True):
        floats += arr * float(unit)
        total += int(arr.sum()) * unit
    return floats, total


def price_frame(
    df: pd.DataFrame, overrides: PriceOverrides | str | os.PathLike[str] | None = None,
) -> tuple[pd.DataFrame, PricingReport]:
    """Return a copy of ``df`` with ``cost_usd`` and ``cost_source``, and a PricingReport."""
    if overrides is not None and not isinstance(overrides, PriceOverrides):
        overrides = load_overrides(overrides)
    src_df, df = df, df.reset_index(drop=True)
    n = len(df)
    cost = np.full(n, np.nan)
    source = np.empty(n, dtype=object)
    report = PricingReport()
    tok = _tokens(df)
    status = (df["status"].astype("object").fillna("ok").to_numpy() if "status" in df.columns
              else np.full(n, "ok", dtype=object))
    when = pd.to_datetime(df["started_at"], utc=True)
    when = when.fillna(pd.Timestamp.now(tz="UTC")).dt.floor("30min")  # no date: today's price
    keys = pd.DataFrame({
        "provider": df["provider"].astype("object").fillna(""),
        "model": df["model"].astype("object").fillna(""),
        "host": (df["endpoint_host"].astype("object").fillna("") if "endpoint_host" in df
                 else ""),
    })
    # Requests refused before generation (HTTP error, 429, overloaded, network) without
    # server-reported usage are not billed by providers; streams cut mid-way (timeout,
    # stream_error, truncated) were generating, so they are priced on their token counts.
    estimated = (df["tokens_estimated"].fillna(False).to_numpy(dtype=bool)
                 if "tokens_estimated" in df.columns else np.zeros(n, dtype=bool))
    unbilled = np.isin(status, REFUSED) & (~tok.has_usage | estimated)
    for st in np.unique(status[unbilled]):
        sel = unbilled & (status == st)
        cost[sel], source[sel] = 0.0, f"unbilled:{st}"
        report._add(f"unbilled:{st}", Decimal(0), int(sel.sum()))
    for (prov, model, host), g in keys.groupby(["provider", "model", "host"], sort=False):
        idx = g.index.to_numpy()
        idx = idx[~unbilled[idx]]
        if idx.size == 0:
            continue
        name = f"{prov}/{model}"
        entry = overrides.find(prov, model, host) if overrides else None
        if isinstance(entry, GpuHourPrice):
            _price_gpu(df, idx, entry, cost, source, report, name)
            continue
        if prov == "sim" and entry is None:
            # The simulated endpoint bills nothing (an override can still give it prices,
            # e.g. for what-if exploration of the sample data).
            cost[idx], source[idx] = 0.0, "free:simulated"
            report._add("free:simulated", Decimal(0), idx.size)
            continue
        no_usage = idx[~tok.has_usage[idx]]
        if no_usage.size:
            source[no_usage] = "unpriced:no-usage"
            key = f"{name} (no usage)"
            report.unpriced[key] = report.unpriced.get(key, 0) + int(no_usage.size)
        idx = idx[tok.has_usage[idx]]
        if idx.size == 0:
            continue
        if isinstance(entry, TokenPrice):
            units = [Decimal(0), *(v / 1_000_000 for v in (
                entry.input_mtok,
                entry.cached_input_mtok if entry.cached_input_mtok is not None else entry.input_mtok,
                entry.cache_write_mtok if entry.cache_write_mtok is not None else entry.input_mtok,
                entry.output_mtok))]
            cost[idx], amount = _linear(tok, idx, units)
            source[idx] = "override"
            report._add("override", amount, idx.size)
            continue
        _price_genai(tok, idx, str(prov), str(model), str(host), when, cost, source, report)
    out = src_df.copy()
    out["cost_usd"] = cost
    out["cost_source"] = pd.Categorical(source)
    return out, report


def _price_gpu(df: pd.DataFrame, idx: np.ndarray, entry: GpuHourPrice, cost: np.ndarray,
               source: np.ndarray, report: PricingReport, name: str) -> None:
    e2e = pd.to_numeric(df["e2e_ms"], errors="coerce").to_numpy(dtype="float64")[idx]
    conc = pd.to_numeric(df["concurrency"], errors="coerce").fillna(1).clip(lower=1) \
        .to_numpy(dtype="float64")[idx]
    ok = ~np.isnan(e2e)
    rate = entry.usd_per_gpu_hour * entry.gpus / 3600
    held_s = e2e[ok] / 1000.0 / conc[ok]
    cost[idx[ok]] = float(rate) * held_s
    source[idx[ok]] = "gpu-hour"
    report._add("gpu-hour", rate * Decimal(repr(float(held_s.sum()))), int(ok.sum()))
    if (~ok).any():
        source[idx[~ok]] = "unpriced:no-duration"
        key = f"{name} (no duration)"
        report.unpriced[key] = report.unpriced.get(key, 0) + int((~ok).sum())


def _price_genai(tok: _Tokens, idx: np.ndarray, prov: str, model: str, host: str,
                 when: pd.Series, cost: np.ndarray, source: np.ndarray,
                 report: PricingReport) -> None:
    ref = _genai_ref(prov, host)
    name = f"{prov}/{model}"
    buckets = when.iloc[idx]
    for ts, sub in pd.Series(idx, index=buckets.array).groupby(level=0, sort=False):
        rows = sub.to_numpy()
        moment = pd.Timestamp(ts).to_pydatetime()
        try:
            if ref is None:
                raise LookupError(name)
            units, label = _unit_prices(model, ref, moment)
        except LookupError:
            source[rows] = "unpriced:unknown-model"
            report.unpriced[name] = report.unpriced.get(name, 0) + int(rows.size)
            continue
        source[rows] = label
        if units is not None:
            cost[rows], amount = _linear(tok, rows, units)
            report._add(label, amount, rows.size)
            continue
        # tiered prices: one calc per distinct usage
        usage = np.stack([tok.uncached[rows], tok.cache_read[rows], tok.cache_write[rows],
                          tok.output[rows]], axis=1)
        uniq, inverse = np.unique(usage, axis=0, return_inverse=True)
        prices = [_genai_calc({"input_tokens": int(u + r + w), "cache_read_tokens": int(r),
                               "cache_write_tokens": int(w), "output_tokens": int(o)},
                              model, ref, moment).total_price for u, r, w, o in uniq]
        cost[rows] = np.array([float(p) for p in prices])[inverse.ravel()]
        counts = np.bincount(inverse.ravel(), minlength=len(prices))
        report._add(label, sum((p * int(c) for p, c in zip(prices, counts, strict=True)),
                               Decimal(0)), rows.size)


def cost_summary(priced: pd.DataFrame, by: tuple[str, ...] = ("target",)) -> pd.DataFrame:
    """Per group: requests, priced requests, total and mean cost per measured request
    (warm-up excluded; unpriced rows are excluded from the sums and counted apart)."""
    d = priced
    if "warmup" in d.columns:
        d = d.loc[~d["warmup"].fillna(False).astype(bool)]
    keys = [k for k in by if k in d.columns] or None
    g = d.assign(_priced=d["cost_usd"].notna()).groupby(keys or (lambda _: "all"), observed=True)
    out = pd.DataFrame({
        "requests": g.size(),
        "priced": g["_priced"].sum(),
        "total_usd": g["cost_usd"].sum(min_count=1),
    })
    out["usd_per_request"] = out["total_usd"] / out["priced"].where(out["priced"] > 0)
    return out.reset_index()
