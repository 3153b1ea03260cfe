"""Summaries per time window within a run: does latency drift during a burst?

Each measured (non-warm-up) request is placed by its **start time into the run**: with
``clock="started_at"`` (default) ``started_at`` minus the run's first measured
``started_at``; with ``clock="scheduled"`` its ``scheduled_ms`` (ms from the burst start,
as the load shape planned it). Window ``w`` holds requests with
``w * window_s <= t < (w + 1) * window_s``. Windows are aligned per run, so several runs of
one target pool by time into the burst. Every window from the first to the last of a
group is listed, empty ones with ``n = 0``; the last is usually partial (``partial``).

Per window: ``n``, ``ok``, ``error_rate``, ``started_per_s`` (n / window_s), latency
percentiles of successful requests (``ttft_ms_p50``/``_p95``, ``tpot_ms_p50``,
``e2e_ms_p50``/``_p95``, ``itl_max_ms_p95``), ``stalls`` and ``stalled_requests`` (ok
requests), ``output_tokens`` (ok requests), and with SLOs ``attainment`` with its
Wilson ``ci_low``/``ci_high`` (lens.analysis.slo rules).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd

from lens.analysis.slo import counted, meets, wilson_interval
from lens.errors import AnalysisError
from lens.record.frames import without_warmup
from lens.spec.slo import ObjectivesLike, as_objectives

PERCENTILES: tuple[tuple[str, int], ...] = (
    ("ttft_ms", 50), ("ttft_ms", 95), ("tpot_ms", 50), ("e2e_ms", 50), ("e2e_ms", 95),
    ("itl_max_ms", 95),
)


def start_offsets(df: pd.DataFrame, clock: str = "started_at") -> pd.Series:
    """Seconds from the run's start to each request's start (see the module docstring)."""
    if clock == "scheduled":
        return pd.to_numeric(df["scheduled_ms"], errors="coerce").astype("float64") / 1000.0
    if clock != "started_at":
        raise AnalysisError(f"unknown clock {clock!r}", hint="use 'started_at' or 'scheduled'")
    start = pd.to_datetime(df["started_at"], utc=True)
    runs = df["run_id"].astype("object") if "run_id" in df.columns else pd.Series(0, df.index)
    first = start.groupby(runs).transform("min")
    return (start - first).dt.total_seconds()


def _pct(x: pd.Series, q: int) -> float:
    a = pd.to_numeric(x, errors="coerce").dropna().to_numpy(dtype="float64")
    return float(np.quantile(a, q / 100)) if a.size else float("nan")


def _window_row(g: pd.DataFrame, good: pd.Series | None, level: float) -> dict[str, Any]:
    status = g["status"].astype("object")
    ok = g.loc[status == "ok"]
    n = len(g)
    row: dict[str, Any] = {"n": n, "ok": len(ok),
                           "error_rate": (n - len(ok)) / n if n else float("nan")}
    for metric, q in PERCENTILES:
        row[f"{metric}_p{q}"] = _pct(ok[metric], q) if metric in ok else float("nan")
    stalls = pd.to_numeric(ok.get("stalls", pd.Series(dtype="float64")), errors="coerce")
    row["stalls"] = int(stalls.fillna(0).sum())
    row["stalled_requests"] = int((stalls > 0).sum())
    row["output_tokens"] = int(pd.to_numeric(ok["output_tokens"], errors="coerce").fillna(0).sum())
    if good is not None:
        rows = counted(g)
        k, m = int(good.loc[rows.index].sum()), len(rows)
        row["attainment"] = k / m if m else float("nan")
        row["ci_low"], row["ci_high"] = wilson_interval(k, m, level)
    return row


def timeslices(
    requests: pd.DataFrame, *, window_s: float = 10.0, by: Sequence[str] = ("target",),
    objectives: ObjectivesLike = None, clock: str = "started_at", level: float = 0.95,
) -> pd.DataFrame:
    """One row per (group, window): the module docstring's columns plus ``window``,
    ``t_start_s``, ``t_end_s`` and ``partial``."""
    if not window_s > 0:
        raise AnalysisError(f"window_s must be > 0, got {window_s!r}",
                            hint="give the window length in seconds, e.g. 10")
    d = without_warmup(requests)
    if d.empty:
        return pd.DataFrame()
    d = d.reset_index(drop=True)  # concatenated runs may repeat index labels
    t = start_offsets(d, clock)
    d = d.assign(_window=np.floor(t.to_numpy() / window_s).astype("int64"))
    objs = as_objectives(objectives)
    good = meets(d, objs) if objs else None
    keys = [k for k in by if k in d.columns]
    groups: Any = d.groupby(keys, observed=True, sort=False, dropna=False) if keys else [((), d)]
    rows: list[dict[str, Any]] = []
    for key, g in groups:
        base = dict(zip(keys, key if isinstance(key, tuple) else (key,), strict=True))
        by_w = dict(iter(g.groupby("_window", sort=True)))
        last = int(g["_window"].max())
        for w in range(int(g["_window"].min()), last + 1):
            part = by_w.get(w, g.iloc[0:0])
            row = {**base, "window": w, "t_start_s": w * window_s,
                   "t_end_s": (w + 1) * window_s, "partial": w == last}
            row.update(_window_row(part, good, level))
            row["started_per_s"] = row["n"] / window_s
            rows.append(row)
    return pd.DataFrame(rows)


def drift(requests: pd.DataFrame, metric: str = "ttft_ms", *,
          by: Sequence[str] = ("target",), clock: str = "started_at") -> pd.DataFrame:
    """Per group: Spearman's rank correlation between start time into the run and
    ``metric`` over successful measured requests (``rho``, two-sided ``p_value``, ``n``):
    rho > 0 with a small p says the metric rose during the burst."""
    from scipy import stats as sps

    d = without_warmup(requests)
    d = d.loc[d["status"].astype("object") == "ok"]
    d = d.assign(_t=start_offsets(d, clock), _y=pd.to_numeric(d[metric], errors="coerce"))
    d = d.dropna(subset=["_t", "_y"])
    keys = [k for k in by if k in d.columns]
    groups: Any = d.groupby(keys, observed=True, sort=False, dropna=False) if keys else [((), d)]
    rows = []
    for key, g in groups:
        row = dict(zip(keys, key if isinstance(key, tuple) else (key,), strict=True))
        if len(g) >= 3 and g["_t"].nunique() > 1 and g["_y"].nunique() > 1:
            res = sps.spearmanr(g["_t"], g["_y"])
            rho, p = float(res.statistic), float(res.pvalue)
        else:
            rho = p = float("nan")
        rows.append({**row, "metric": metric, "rho": rho, "p_value": p, "n": len(g)})
    return pd.DataFrame(rows)
