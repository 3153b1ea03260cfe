"""What the Fire panel draws from the rows so far: the summary table, the ECDF, and the
closing line (done / stopped after N of M / every request failed, and whether the client
kept up). Pure functions of frames, run in a worker thread while a burst runs."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from lens.widgets.live import live_summary

SERIES = "series"  # the combined "target · region" column when both vary


def chart_group(df: Any, regions: Sequence[str]) -> str:
    """Group rows by target, by region (one target, several regions), or by both."""
    if len(regions) > 1 and "region" in df.columns:
        return "region" if df["target"].nunique() <= 1 else SERIES
    return "target"


def with_series(df: Any) -> Any:
    """``df`` plus ``series`` = 'target · region'."""
    return df.assign(**{SERIES: df["target"].astype("object").astype(str) + " · "
                        + df["region"].astype("object").astype(str)})


def summary_table(df: Any, metric: str, group: str, slo: Any = None) -> Any:
    """Per group: requests, ok, failed, p50/p90/p99 of ``metric`` over ok rows, and with
    SLOs (a spec's ``slo`` block) the share of requests meeting all of them."""
    d = with_series(df) if group == SERIES else df
    out = live_summary(d, metric, group).rename(columns={"errors": "failed"})
    if slo is not None:
        import importlib

        from lens.analysis.reporting.fmt import pct

        attainment_of = importlib.import_module("lens.analysis.slo").attainment_of
        objectives = slo.objectives()
        shares = {str(k): attainment_of(g, objectives).attainment
                  for k, g in d.groupby(group, observed=True)}
        out["SLO attainment"] = [pct(shares.get(str(k))) for k in out[group]]
    return out


def draw(df: Any, metric: str, regions: Sequence[str], domain: Sequence[str],
         slo: Any = None) -> tuple[Any, Any, dict[str, Any] | None]:
    """(summary, chart or None, its mimebundle or None) from the rows so far.

    ``domain``: every target of the panel, so each keeps its colour across redraws and runs.
    """
    from lens.widgets._display import chart_bundle

    group = chart_group(df, regions)
    summary = summary_table(df, metric, group, slo)
    ok = df[(df["status"].astype("object") == "ok") & df[metric].notna()]
    if not len(ok):
        return summary, None, None
    from lens.analysis import charts

    d = with_series(df) if group == SERIES else df
    chart = charts.ecdf(d, metric, group, domain=list(domain) if group == "target" else None)
    return summary, chart, chart_bundle(chart)


def closing_line(run_id: str | None, done: int, planned: int | None, failed: int,
                 stopped: bool, skipped: int = 0) -> tuple[str, str]:
    """(kind, text) for the status line when a burst ends: kind 'info', 'warn' or 'error'."""
    of = f" of {planned:,}" if planned else ""
    if stopped:
        text = f"stopped after {done:,}{of} requests"
        if failed:
            text += f" ({failed:,} failed)"
        if skipped:
            text += f"; {skipped:,} not sent"
        return "warn", f"{text} (run {run_id}, kept as incomplete)"
    if done and failed == done:
        return "error", f"every request failed ({done:,}{of}, run {run_id}): see the reason under each bar"
    if failed:
        return "warn", f"done {run_id}: {done:,} requests, {failed:,} failed (reasons under the bars)"
    return "info", f"done {run_id}: {done:,} requests, none failed"


def health_line(df: Any, run_client: Any) -> tuple[str, str]:
    """(kind, text): whether the client kept up (lens.analysis.health), for the summary."""
    from lens.analysis.health import client_health

    h = client_health(df, run_client)
    if h.flagged:
        return "warn", h.message("this burst")
    return "info", h.summary()
