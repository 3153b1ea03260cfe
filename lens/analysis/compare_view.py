"""Baseline vs candidate for people: ``stats.compare``'s rows as formatted cells.

The same numbers the report's comparison table shows (lens.analysis.reporting.fmt), as
plain text for terminals and Markdown (``lens compare``): per target (and region when the
runs span several), each metric's percentiles, the change with its bootstrap CI, the
effect size in words with the Mann-Whitney p-value, and the verdict.
"""

from __future__ import annotations

from collections.abc import Sequence

import pandas as pd

from lens.analysis import stats
from lens.analysis.reporting import fmt

__all__ = ["compare_keys", "markdown", "people_table", "verdict_counts"]

COLUMNS = ("metric", "pctl", "baseline", "candidate", "change [CI]", "effect size", "verdict")


def compare_keys(base: pd.DataFrame, cand: pd.DataFrame, *, pooled: bool = False) -> list[str]:
    """Group keys a comparison should keep apart: ``target`` (and ``region``) when the runs
    measured more than one; none when ``pooled``."""
    if pooled:
        return []
    keys = []
    for k in ("target", "region"):
        if k in base.columns and k in cand.columns:
            seen = set(base[k].dropna().astype(str)) | set(cand[k].dropna().astype(str))
            if len(seen) > 1:
                keys.append(k)
    return keys


def people_table(cmp: pd.DataFrame, keys: Sequence[str] = ()) -> pd.DataFrame:
    """One row of text cells per row of ``stats.compare(...)`` (same order)."""
    units = [fmt.unit(m) for m in cmp["metric"]]
    out = pd.DataFrame({k: cmp[k].astype(str) for k in keys if k in cmp.columns})
    out["metric"] = [fmt.label(m) for m in cmp["metric"]]
    out["pctl"] = cmp["stat"].astype(str).tolist()
    out["baseline"] = [fmt.qty(v, u) for v, u in zip(cmp["base"], units, strict=True)]
    out["candidate"] = [fmt.qty(v, u) for v, u in zip(cmp["cand"], units, strict=True)]
    out["change [CI]"] = [fmt.change(r, lo, hi) for r, lo, hi in
                          zip(cmp["ratio"], cmp["ratio_low"], cmp["ratio_high"], strict=True)]
    out["effect size"] = [f"{fmt.cliffs_words(d)}, {fmt.pvalue(p)}" if pd.notna(d) else "-"
                          for d, p in zip(cmp["cliffs_delta"], cmp["mw_p"], strict=True)]
    out["verdict"] = cmp["verdict"].astype(str).tolist()
    return out.reset_index(drop=True)


def markdown(table: pd.DataFrame) -> str:
    """The people table as GitHub Markdown."""
    return stats.to_markdown(table)


def verdict_counts(cmp: pd.DataFrame) -> pd.DataFrame:
    """How many comparisons (groups x percentiles) got each verdict, per metric, labelled."""
    counts = pd.crosstab(cmp["metric"].map(fmt.label), cmp["verdict"].astype(str))
    counts.index.name, counts.columns.name = "metric", None
    return counts.reset_index()
