"""Point-estimate summary per target from request rows (numpy/pandas only).

What each figure means:

- ``count``: measured requests (warm-up rows are excluded everywhere here);
  ``ok``: status ``ok``; ``cancelled``: requests the client abandoned on purpose (the
  spec's ``cancel``), neither ok nor errors; ``errors``: the other statuses with their
  counts; ``error_rate`` = errors / (count - cancelled).
- ``cache_hit_rate``: prompt tokens read from the provider's cache / prompt tokens, over
  measured requests whose usage reported cached tokens (lens.analysis.cache).
- Latency percentiles (p50/p90/p99, linear interpolation) of ``ttft_ms``, ``tpot_ms`` and
  ``e2e_ms`` are over **successful** requests: a failed request's e2e is its time to fail,
  which is reported through ``errors``, not mixed into latency.
- ITL: exact percentiles over every inter-token gap need chunk rows. When chunk rows are
  given, ITL pools all gaps between successive token-bearing events (text/reasoning with
  n_tokens > 0) of successful requests (``itl_source = "chunks"``). From request rows
  alone, ITL is the distribution of per-request median gaps (``itl_p50_ms``;
  ``itl_source = "request_p50"``): its p50 is the typical request's typical gap; its p99
  is the worst requests' *median* gap, not the p99 of all gaps (for that, see the
  per-request ``itl_p99_ms``, summarised as ``itl_p99_ms_p50``).
- ``output_tokens_per_s``: percentiles of each successful request's decode rate (the
  record's ``output_tokens_per_s``); ``throughput_tok_s``: all output tokens of the
  target's successful requests divided by the wall span from the first start to the last
  end (aggregate throughput under the burst's load).
- Stalls (successful requests): ``itl_max_ms`` is the distribution of each request's
  longest inter-token gap; ``stalls`` the number of gaps over the stall threshold (250 ms,
  lens.probe.measure.STALL_MS) summed over requests; ``stalled_requests`` the requests
  with at least one.
- ``slo`` (only with ``objectives``): attainment and goodput, lens.analysis.slo.

Confidence intervals live in lens.analysis.stats; this module is the quick table the CLI
prints after a burst.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from lens.analysis.cache import token_hit_rate
from lens.analysis.stats import CLIENT_STATUSES

QUANTILES: tuple[float, ...] = (0.5, 0.9, 0.99)
METRICS: tuple[str, ...] = ("ttft_ms", "tpot_ms", "itl_ms", "e2e_ms", "output_tokens_per_s")


@dataclass(slots=True)
class Dist:
    """Percentiles of one metric; None when no value was measured."""

    n: int = 0
    p50: float | None = None
    p90: float | None = None
    p99: float | None = None
    mean: float | None = None

    @classmethod
    def of(cls, values: Any) -> Dist:
        arr = np.asarray(pd.to_numeric(pd.Series(values), errors="coerce"), dtype="float64")
        arr = arr[~np.isnan(arr)]
        if arr.size == 0:
            return cls()
        p50, p90, p99 = (float(x) for x in np.quantile(arr, QUANTILES))
        return cls(n=int(arr.size), p50=p50, p90=p90, p99=p99, mean=float(arr.mean()))


@dataclass(slots=True)
class TargetSummary:
    target: str
    provider: str = ""
    model: str = ""
    dialect: str = ""
    count: int = 0
    ok: int = 0
    errors: dict[str, int] = field(default_factory=dict)
    cancelled: int = 0
    cache_hit_rate: float | None = None
    warmup_excluded: int = 0
    ttft_ms: Dist = field(default_factory=Dist)
    tpot_ms: Dist = field(default_factory=Dist)
    itl_ms: Dist = field(default_factory=Dist)
    itl_source: str = "request_p50"
    itl_p99_ms_p50: float | None = None
    e2e_ms: Dist = field(default_factory=Dist)
    output_tokens_per_s: Dist = field(default_factory=Dist)
    output_tokens: int = 0
    throughput_tok_s: float | None = None
    itl_max_ms: Dist = field(default_factory=Dist)
    stalls: int = 0
    stalled_requests: int = 0
    slo: dict[str, Any] | None = None

    @property
    def error_rate(self) -> float:
        judged = self.count - self.cancelled
        return (judged - self.ok) / judged if judged else 0.0

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d["error_rate"] = self.error_rate
        return d


def _first(s: pd.Series) -> str:
    vals = s.dropna()
    return str(vals.iloc[0]) if len(vals) else ""


def _pooled_gaps(chunks: pd.DataFrame, ok_ids: set[str]) -> np.ndarray:
    c = chunks[
        chunks["request_id"].isin(ok_ids)
        & chunks["kind"].astype(str).isin(("text", "reasoning"))
        & (pd.to_numeric(chunks["n_tokens"], errors="coerce").fillna(0) > 0)
    ]
    if c.empty:
        return np.array([], dtype="float64")
    c = c.sort_values(["request_id", "index"])
    t = c["t_ms"].to_numpy(dtype="float64")
    rid = c["request_id"].to_numpy()
    same = rid[1:] == rid[:-1]
    return (t[1:] - t[:-1])[same]


def summarize(
    requests: pd.DataFrame, chunks: pd.DataFrame | None = None, *, by: str = "target",
    objectives: Any = None,
) -> list[TargetSummary]:
    """One TargetSummary per value of ``by`` (default: target), in first-seen order; with
    ``objectives`` (SLOs, see lens.spec.slo.as_objectives) each carries ``slo``."""
    if requests.empty:
        return []
    warm = requests["warmup"].fillna(False).astype(bool) if "warmup" in requests else None
    out: list[TargetSummary] = []
    for key, g in requests.groupby(by, sort=False, observed=True, dropna=False):
        n_warm = int(warm.loc[g.index].sum()) if warm is not None else 0
        if warm is not None:
            g = g[~warm.loc[g.index]]
        status = g["status"].astype(str)
        ok = g[status == "ok"]
        failed = (status != "ok") & ~status.isin(CLIENT_STATUSES)
        errors = {str(k): int(v) for k, v in status[failed].value_counts().items() if v}
        s = TargetSummary(
            target=str(key),
            provider=_first(g["provider"]) if "provider" in g else "",
            model=_first(g["model"]) if "model" in g else "",
            dialect=_first(g["dialect"]) if "dialect" in g else "",
            count=len(g),
            ok=len(ok),
            errors=dict(sorted(errors.items())),
            cancelled=int(status.isin(CLIENT_STATUSES).sum()),
            cache_hit_rate=token_hit_rate(g),
            warmup_excluded=n_warm,
            ttft_ms=Dist.of(ok["ttft_ms"]),
            tpot_ms=Dist.of(ok["tpot_ms"]),
            e2e_ms=Dist.of(ok["e2e_ms"]),
            output_tokens_per_s=Dist.of(ok["output_tokens_per_s"]),
        )
        if chunks is not None and not chunks.empty:
            s.itl_ms = Dist.of(_pooled_gaps(chunks, set(ok["request_id"].astype(str))))
            s.itl_source = "chunks"
        else:
            s.itl_ms = Dist.of(ok["itl_p50_ms"])
        s.itl_p99_ms_p50 = Dist.of(ok["itl_p99_ms"]).p50
        if "itl_max_ms" in ok:
            s.itl_max_ms = Dist.of(ok["itl_max_ms"])
        if "stalls" in ok:
            stalls = pd.to_numeric(ok["stalls"], errors="coerce").fillna(0)
            s.stalls, s.stalled_requests = int(stalls.sum()), int((stalls > 0).sum())
        if objectives:
            from lens.analysis.slo import attainment_of

            s.slo = attainment_of(g, objectives).to_dict()
        tokens = pd.to_numeric(ok["output_tokens"], errors="coerce")
        s.output_tokens = int(tokens.fillna(0).sum())
        if len(ok) and s.output_tokens:
            start = pd.to_datetime(ok["started_at"], utc=True)
            end = start + pd.to_timedelta(pd.to_numeric(ok["e2e_ms"], errors="coerce"), unit="ms")
            span_s = (end.max() - start.min()).total_seconds()
            if span_s and not math.isnan(span_s) and span_s > 0:
                s.throughput_tok_s = s.output_tokens / span_s
        out.append(s)
    return out


def summary_frame(summaries: list[TargetSummary]) -> pd.DataFrame:
    """Flat frame: one row per target, columns like ``ttft_ms_p50``."""
    rows = []
    for s in summaries:
        row: dict[str, Any] = {
            "target": s.target, "provider": s.provider, "model": s.model, "count": s.count,
            "ok": s.ok, "error_rate": s.error_rate,
            "errors": ", ".join(f"{k}={v}" for k, v in s.errors.items()),
        }  # fmt: skip
        for m in METRICS:
            d: Dist = getattr(s, m)
            for q in ("p50", "p90", "p99"):
                row[f"{m}_{q}"] = getattr(d, q)
        row["throughput_tok_s"] = s.throughput_tok_s
        row["itl_max_ms_p99"] = s.itl_max_ms.p99
        row["stalled_requests"] = s.stalled_requests
        if s.slo is not None:
            for k in ("attainment", "ci_low", "ci_high", "goodput_rps", "goodput_tok_s"):
                row[f"slo_{k}"] = s.slo[k]
        rows.append(row)
    return pd.DataFrame(rows)
