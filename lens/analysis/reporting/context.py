"""Everything a section builder may need, computed once and shared (lazily).

Builders read ``ctx.requests`` (all rows), ``ctx.measured`` (warm-up excluded),
``ctx.comparing`` with ``ctx.base``/``ctx.cand``, ``ctx.comparison`` (stats.compare per
target), ``ctx.errors`` (the error-rate test), ``ctx.priced``/``ctx.pricing``, the run
labels and colours, and ``ctx.options``: settings a section defines for itself (e.g. an
SLO section reading ``ctx.options.get("slos")``), passed through ``build_report(...,
options=...)``.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any

import pandas as pd

from lens.analysis import stats
from lens.analysis.cost import PricingReport, price_frame
from lens.analysis.prices import PriceOverrides
from lens.record.frames import without_warmup

BASE_COLOR, CAND_COLOR = "#4c78a8", "#e45756"
RUN_COLUMN = "run"  # the label column charts colour by
COMPARE_METRICS: tuple[str, ...] = ("ttft_ms", "tpot_ms", "e2e_ms", "output_tokens_per_s")
COMPARE_PERCENTILES: tuple[int, ...] = (50, 95, 99)


@dataclass
class ReportContext:
    """Inputs of one report and the analyses several sections share."""

    requests: pd.DataFrame
    chunks: pd.DataFrame | None = None
    prices: PriceOverrides | str | os.PathLike[str] | None = None
    baseline: str | None = None
    candidate: str | None = None
    group: str = "target"
    seed: int = 0
    threshold: float = 0.10  # relative change that counts (lens gate's default for p95 TTFT)
    alpha: float = 0.05
    power: float = 0.8
    shift: float | None = None  # the shift sample sizes are given for (default: threshold)
    options: Mapping[str, Any] = field(default_factory=dict)

    # -- rows --------------------------------------------------------------------------
    @cached_property
    def measured(self) -> pd.DataFrame:
        d = self.requests
        return without_warmup(d)

    @cached_property
    def runs(self) -> list[str]:
        return [str(r) for r in pd.unique(self.requests["run_id"].astype("object"))]

    @property
    def comparing(self) -> bool:
        return bool(self.baseline and self.candidate)

    @cached_property
    def base(self) -> pd.DataFrame:
        return self.requests.loc[self.requests["run_id"].astype("object") == self.baseline]

    @cached_property
    def cand(self) -> pd.DataFrame:
        return self.requests.loc[self.requests["run_id"].astype("object") == self.candidate]

    def run_label(self, run_id: str) -> str:
        if run_id == self.baseline and self.comparing:
            return f"baseline {run_id}"
        if run_id == self.candidate and self.comparing:
            return f"candidate {run_id}"
        return run_id

    @cached_property
    def labelled(self) -> pd.DataFrame:
        """All rows with a ``run`` column of run labels (what comparison charts colour by)."""
        labels = {r: self.run_label(r) for r in self.runs}
        return self.requests.assign(
            **{RUN_COLUMN: self.requests["run_id"].astype("object").map(labels)})

    @cached_property
    def run_colors(self) -> tuple[list[str], list[str]] | None:
        """(domain, range) for a run colour scale: baseline blue, candidate red."""
        if not self.comparing:
            return None
        return ([self.run_label(str(self.baseline)), self.run_label(str(self.candidate))],
                [BASE_COLOR, CAND_COLOR])

    def varying(self, keys: tuple[str, ...] = stats.GROUP_KEYS) -> list[str]:
        """The grouping keys whose value differs between rows (a constant adds nothing);
        ``target`` always, so every table names what it measured."""
        out = [k for k in keys if k in self.requests.columns
               and (k == "target" or self.requests[k].astype("object").nunique() > 1)]
        if "model" in out and "target" in out:
            pairs = self.requests[["target", "model"]].astype("object").drop_duplicates()
            if pairs["target"].is_unique:  # the target already names the model
                out.remove("model")
        return out

    @property
    def targets(self) -> list[str]:
        return [str(t) for t in pd.unique(self.measured["target"].astype("object"))]

    # -- shared analyses ---------------------------------------------------------------
    @cached_property
    def priced_pair(self) -> tuple[pd.DataFrame, PricingReport]:
        return price_frame(self.requests, self.prices)

    @property
    def priced(self) -> pd.DataFrame:
        return self.priced_pair[0]

    @property
    def pricing(self) -> PricingReport:
        return self.priced_pair[1]

    @cached_property
    def by_target(self) -> tuple[str, ...]:
        """Compare per target when both runs measured several in common."""
        if not self.comparing:
            return ()
        common = set(self.base["target"].astype(str)) & set(self.cand["target"].astype(str))
        return ("target",) if len(common) > 1 else ()

    @cached_property
    def comparison(self) -> pd.DataFrame | None:
        if not self.comparing:
            return None
        mets = [m for m in COMPARE_METRICS if _has_values(self.base, m) and _has_values(self.cand, m)]
        if not mets:
            return None
        return stats.compare(self.base, self.cand, mets, COMPARE_PERCENTILES, self.threshold,
                             by=self.by_target, level=1 - self.alpha, seed=self.seed)

    @cached_property
    def errors(self) -> stats.ErrorRateTest | None:
        if not self.comparing or not len(self.base) or not len(self.cand):
            return None
        return stats.error_rate_test(self.base, self.cand, alpha=self.alpha)

    @cached_property
    def over_time(self) -> tuple[pd.Series, list[Any], list[str]] | None:
        """With six or more runs: the p95 TTFT per run, its change points, and what the
        servers reported differently at each (lens.analysis.whatchanged)."""
        from lens.analysis import changepoints
        from lens.analysis.whatchanged import annotate_changepoints, describe

        if len(self.runs) < 6:
            return None
        series = changepoints.series(self.requests, "ttft_ms", 0.95)
        points = changepoints.detect(series)
        changed = [describe(c, "\u2192") for c in annotate_changepoints(self.requests, points)]
        return series, points, changed

    @cached_property
    def detectable(self) -> pd.DataFrame | None:
        """lens.analysis.power.detectable for the compared metrics (per target)."""
        from lens.analysis import power

        cmp = self.comparison
        if cmp is None:
            return None
        return power.detectable(self.base, self.cand, list(dict.fromkeys(cmp["metric"])),
                                COMPARE_PERCENTILES, shift=self.shift or self.threshold,
                                alpha=self.alpha, power=self.power, by=self.by_target,
                                seed=self.seed)


def _has_values(df: pd.DataFrame, metric: str) -> bool:
    if metric not in df.columns:
        return False
    ok = df.loc[df["status"].astype("object") == "ok", metric]
    return bool(pd.to_numeric(ok, errors="coerce").notna().any())
