"""Summaries per group and baseline-vs-candidate comparisons.

Rows used: warm-up requests are always excluded. Latency metrics use ``status == "ok"``
rows only (a failed request's timings describe the failure, not the service); failures
are counted by the error rates instead, so a regression that turns into timeouts still
shows up there. Requests the client cancelled on purpose (status ``cancelled``, the
spec's ``cancel``) are neither: they count in no latency metric and in no error rate
(``error_rate`` = errors / requests not cancelled).

Metrics (all per request, see DESIGN.md): ``ttft_ms``, ``tpot_ms``, ``itl_p50_ms`` (each
request's median inter-token gap) and ``itl_mean_ms`` (each request's mean gap), ``e2e_ms``,
``output_tokens_per_s``. So "p95 of itl_p50_ms" is the 95th percentile *across requests*
of the per-request median gap, not a percentile of pooled gaps (pool chunk timings from
``load(chunks=True)`` for that).

Percentiles use numpy's 'linear' method; their CIs are percentile-bootstrap intervals
(lens.analysis.bootstrap, seeded, exact order-statistic draws).
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np
import pandas as pd

from lens.analysis.bootstrap import (
    DEFAULT_REPS,
    mean_ci,
    percentile_interval,
    quantile_replicates,
    quantiles_ci,
)
from lens.errors import AnalysisError
from lens.record.frames import without_warmup

GROUP_KEYS: tuple[str, ...] = ("target", "region", "model", "scenario")
# metric -> True when higher is better
METRICS: dict[str, bool] = {
    "ttft_ms": False,
    "tpot_ms": False,
    "itl_p50_ms": False,
    "itl_mean_ms": False,
    "e2e_ms": False,
    "output_tokens_per_s": True,
}
PERCENTILES: tuple[int, ...] = (50, 90, 95, 99)
VERDICTS: tuple[str, ...] = ("improved", "regressed", "no significant change", "insufficient data")
# Ended by the client on purpose (spec ``cancel``): neither a success nor a server error.
CLIENT_STATUSES: frozenset[str] = frozenset({"cancelled"})


def _ok(df: pd.DataFrame) -> pd.DataFrame:
    df = without_warmup(df)
    return df.loc[df["status"].astype("object") == "ok"] if "status" in df.columns else df


def _check_metrics(df: pd.DataFrame, metrics: Iterable[str]) -> list[str]:
    out = list(metrics)
    bad = [m for m in out if m not in df.columns]
    if bad:
        raise AnalysisError(f"unknown metric {bad[0]!r}",
                            hint=f"use one of {', '.join(METRICS)} (or another numeric column)")
    return out


def _groups(df: pd.DataFrame, by: Sequence[str]) -> Iterable[tuple[tuple[Any, ...], pd.DataFrame]]:
    keys = [k for k in by if k in df.columns]
    if not keys:
        yield (), df
        return
    for key, g in df.groupby(keys, observed=True, sort=True, dropna=False):
        yield (key if isinstance(key, tuple) else (key,)), g


def judged(df: pd.DataFrame) -> pd.DataFrame:
    """Measured rows the server is judged by: client cancels left out."""
    df = without_warmup(df)
    if "status" not in df.columns:
        return df
    return df.loc[~df["status"].astype("object").isin(CLIENT_STATUSES)]


def error_rates(df: pd.DataFrame, by: Sequence[str] = GROUP_KEYS) -> pd.DataFrame:
    """Per group: ``count`` (measured requests), ``cancelled`` (by the client),
    ``errors`` (neither ok nor cancelled), ``error_rate`` = errors / (count - cancelled),
    and ``rate_<status>`` = that status's share of ``count`` for each status seen
    (warm-up excluded)."""
    d = without_warmup(df)
    keys = [k for k in by if k in d.columns]
    status = d["status"].astype("object")
    counts = pd.crosstab([d[k].astype("object") for k in keys] if keys else
                         pd.Series("all", index=d.index, name="all"), status)
    out = pd.DataFrame({"count": counts.sum(axis=1)})
    client = counts[[c for c in counts.columns if c in CLIENT_STATUSES]].sum(axis=1)
    out["cancelled"] = client
    out["errors"] = out["count"] - client - (counts["ok"] if "ok" in counts.columns else 0)
    out["error_rate"] = (out["errors"] / (out["count"] - client)).where(out["count"] > client)
    for st in counts.columns:
        out[f"rate_{st}"] = counts[st] / out["count"]
    return out.reset_index().drop(columns=["all"], errors="ignore")


def summarize(
    df: pd.DataFrame,
    by: Sequence[str] = GROUP_KEYS,
    metrics: Iterable[str] = METRICS,
    percentiles: Sequence[float] = PERCENTILES,
    *,
    reps: int = DEFAULT_REPS,
    level: float = 0.95,
    seed: int = 0,
) -> pd.DataFrame:
    """Long table: group keys, ``metric``, ``stat`` (mean | pNN), ``value``, ``ci_low``,
    ``ci_high``, ``n``. Every statistic carries a seeded bootstrap CI."""
    ok = _ok(df)
    mets = _check_metrics(df, metrics)
    keys = [k for k in by if k in df.columns]
    rng = np.random.default_rng(seed)
    rows: list[dict[str, Any]] = []
    for key, g in _groups(ok, keys):
        for m in mets:
            x = g[m].to_numpy(dtype="float64", na_value=np.nan)
            x = x[~np.isnan(x)]
            base = dict(zip(keys, key, strict=True))
            mc = mean_ci(x, reps=min(reps, 1000), level=level, seed=rng)
            rows.append({**base, "metric": m, "stat": "mean", "value": mc.estimate,
                         "ci_low": mc.low, "ci_high": mc.high, "n": x.size})
            for p, iv in zip(percentiles, quantiles_ci(x, [p / 100 for p in percentiles],
                                                       reps=reps, level=level, seed=rng),
                             strict=True):
                rows.append({**base, "metric": m, "stat": f"p{p:g}", "value": iv.estimate,
                             "ci_low": iv.low, "ci_high": iv.high, "n": x.size})
    return pd.DataFrame(rows, columns=[*keys, "metric", "stat", "value", "ci_low", "ci_high", "n"])


def summary_table(summary: pd.DataFrame, metric: str = "ttft_ms") -> pd.DataFrame:
    """One metric of a ``summarize`` result, one row per group, 'value [low, high]' cells."""
    s = summary.loc[summary["metric"] == metric].copy()
    s["cell"] = [f"{v:.1f} [{lo:.1f}, {hi:.1f}]" for v, lo, hi in
                 zip(s["value"], s["ci_low"], s["ci_high"], strict=True)]
    keys = [c for c in s.columns if c not in ("metric", "stat", "value", "ci_low", "ci_high",
                                              "n", "cell")]
    if not keys:
        s["group"] = "all"
        keys = ["group"]
    wide = s.pivot_table(index=[*keys, "n"], columns="stat", values="cell", aggfunc="first",
                         observed=True)
    order = [c for c in ("mean", *(f"p{p}" for p in PERCENTILES)) if c in wide.columns]
    return wide[order + [c for c in wide.columns if c not in order]].reset_index()


# ------------------------------------------------------------------- comparisons


@dataclass(frozen=True, slots=True)
class ErrorRateTest:
    """Error-rate change between two runs, with the test used and its two-sided p-value."""

    base_errors: int
    base_n: int
    cand_errors: int
    cand_n: int
    base_rate: float
    cand_rate: float
    diff: float
    p_value: float
    test: str  # "two-proportion z" | "fisher exact"
    verdict: str

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def error_rate_test(
    base: pd.DataFrame, cand: pd.DataFrame, *, alpha: float = 0.05, max_increase: float = 0.0,
) -> ErrorRateTest:
    """Two-sided test of equal error rates.

    Rows cancelled by the client are left out of both runs. Pooled two-proportion z-test
    when every expected cell count is >= 5, else Fisher's exact test. Verdict:
    ``regressed`` when p < alpha and the candidate rate exceeds the baseline's by more than
    ``max_increase`` (absolute), ``improved`` when p < alpha and it is lower, else
    ``no significant change``.
    """
    from scipy import stats as sps

    b, c = judged(base), judged(cand)
    nb, nc = len(b), len(c)
    if nb == 0 or nc == 0:
        raise AnalysisError("error-rate test needs rows in both runs")
    eb = int((b["status"].astype("object") != "ok").sum())
    ec = int((c["status"].astype("object") != "ok").sum())
    pb, pc = eb / nb, ec / nc
    pooled = (eb + ec) / (nb + nc)
    expected = [nb * pooled, nb * (1 - pooled), nc * pooled, nc * (1 - pooled)]
    if min(expected) >= 5:
        se = math.sqrt(pooled * (1 - pooled) * (1 / nb + 1 / nc))
        z = (pc - pb) / se if se > 0 else 0.0
        p = float(2 * sps.norm.sf(abs(z)))
        test = "two-proportion z"
    else:
        p = float(sps.fisher_exact([[eb, nb - eb], [ec, nc - ec]]).pvalue)
        test = "fisher exact"
    if p < alpha and pc - pb > max_increase:
        verdict = "regressed"
    elif p < alpha and pc < pb:
        verdict = "improved"
    else:
        verdict = "no significant change"
    return ErrorRateTest(eb, nb, ec, nc, pb, pc, pc - pb, p, test, verdict)


def cliffs_delta(base: np.ndarray, cand: np.ndarray) -> tuple[float, float]:
    """(Cliff's delta P(cand > base) - P(cand < base), Mann-Whitney U two-sided p-value)."""
    from scipy import stats as sps

    if base.size == 0 or cand.size == 0:
        return float("nan"), float("nan")
    res = sps.mannwhitneyu(cand, base, alternative="two-sided", method="asymptotic")
    return float(2 * res.statistic / (base.size * cand.size) - 1), float(res.pvalue)


def _threshold(thresholds: float | Mapping[str, float], metric: str, stat: str) -> float:
    if isinstance(thresholds, int | float):
        return float(thresholds)
    for key in (f"{metric}:{stat}", metric, "*"):
        if key in thresholds:
            return float(thresholds[key])
    return 0.0


def verdict(ratio: float, ratio_low: float, ratio_high: float, threshold: float,
            higher_is_better: bool) -> str:
    """The rule, for a lower-is-better metric (ratio = candidate / baseline):

    - ``regressed``  when ratio > 1 + threshold and the ratio's CI lies above 1;
    - ``improved``   when ratio < 1 - threshold and the CI lies below 1;
    - ``no significant change`` otherwise;
    - ``insufficient data`` when there is no ratio (a side without successful requests).

    So a change must be both larger than the user's threshold (practical significance)
    and excluded from "no change" by the CI (statistical significance). Higher-is-better
    metrics (tokens/s) swap regressed and improved: a 10% threshold flags a 10% drop.
    """
    if any(math.isnan(v) for v in (ratio, ratio_low, ratio_high)):
        return "insufficient data"
    worse_up = ratio > 1 + threshold and ratio_low > 1
    better_down = ratio < 1 - threshold and ratio_high < 1
    if higher_is_better:
        worse_up, better_down = better_down, worse_up
    return "regressed" if worse_up else "improved" if better_down else "no significant change"


def compare(
    base: pd.DataFrame,
    cand: pd.DataFrame,
    metrics: Iterable[str] = ("ttft_ms", "tpot_ms", "e2e_ms", "output_tokens_per_s"),
    percentiles: Sequence[float] = (50, 95, 99),
    thresholds: float | Mapping[str, float] = 0.10,
    *,
    by: Sequence[str] = (),
    level: float = 0.95,
    reps: int = DEFAULT_REPS,
    seed: int = 0,
) -> pd.DataFrame:
    """Baseline vs candidate, one row per (group, metric, percentile).

    Columns: group keys, ``metric``, ``stat``, ``base``, ``cand``, ``diff`` (cand - base)
    with ``diff_low``/``diff_high``, ``ratio`` (cand / base) with ``ratio_low``/
    ``ratio_high`` (percentile-bootstrap CIs at ``level`` from independent resamples of
    each run), ``mw_p`` (Mann-Whitney U two-sided p-value of the whole distributions),
    ``cliffs_delta``, ``threshold``, ``verdict`` (see ``verdict``), ``n_base``, ``n_cand``.
    ``thresholds`` is a fraction for every metric or a mapping keyed ``"metric:pNN"``,
    ``"metric"`` or ``"*"``.
    """
    b_ok, c_ok = _ok(base), _ok(cand)
    mets = _check_metrics(base, metrics)
    _check_metrics(cand, mets)
    keys = [k for k in by if k in base.columns and k in cand.columns]
    rng = np.random.default_rng(seed)
    cand_groups = dict(_groups(c_ok, keys))
    rows: list[dict[str, Any]] = []
    for key, bg in _groups(b_ok, keys):
        cg = cand_groups.get(key)
        if cg is None:
            continue
        for m in mets:
            xb = np.sort(bg[m].to_numpy(dtype="float64", na_value=np.nan))
            xc = np.sort(cg[m].to_numpy(dtype="float64", na_value=np.nan))
            xb, xc = xb[~np.isnan(xb)], xc[~np.isnan(xc)]
            delta, p_mw = cliffs_delta(xb, xc)
            for p in percentiles:
                q = p / 100
                if xb.size == 0 or xc.size == 0:
                    eb = ec = float("nan")
                    rb = rc = np.full(reps, np.nan)
                else:
                    eb, ec = float(np.quantile(xb, q)), float(np.quantile(xc, q))
                    rb = quantile_replicates(xb, q, reps, rng, presorted=True)
                    rc = quantile_replicates(xc, q, reps, rng, presorted=True)
                d = percentile_interval(rc - rb, ec - eb, level)
                with np.errstate(divide="ignore", invalid="ignore"):
                    r = percentile_interval(rc / rb, ec / eb if eb else float("nan"), level)
                stat = f"p{p:g}"
                thr = _threshold(thresholds, m, stat)
                # A percentile bootstrap of a tail quantile needs observations beyond it:
                # with fewer than one per side it under-covers and flags false regressions.
                tail = min(q, 1 - q)
                enough = min(xb.size, xc.size) * tail >= 1
                rows.append({
                    **dict(zip(keys, key, strict=True)), "metric": m, "stat": stat,
                    "base": eb, "cand": ec, "diff": d.estimate, "diff_low": d.low,
                    "diff_high": d.high, "ratio": r.estimate, "ratio_low": r.low,
                    "ratio_high": r.high, "mw_p": p_mw, "cliffs_delta": delta,
                    "threshold": thr,
                    "verdict": verdict(r.estimate, r.low, r.high, thr, METRICS.get(m, False))
                    if enough else "insufficient data",
                    "n_base": xb.size, "n_cand": xc.size,
                })
    if not rows:
        raise AnalysisError("nothing to compare: no common groups with successful requests",
                            hint="check the run ids and the by= keys")
    return pd.DataFrame(rows)


def to_markdown(table: pd.DataFrame, floatfmt: str = ".3g") -> str:
    """A GitHub-flavoured Markdown table (no tabulate dependency)."""
    cols = list(table.columns)

    def fmt(v: Any) -> str:
        if isinstance(v, float | np.floating):
            return "" if math.isnan(v) else format(float(v), floatfmt)
        return str(v).replace("|", "\\|")

    lines = ["| " + " | ".join(cols) + " |", "|" + "|".join("---" for _ in cols) + "|"]
    lines += ["| " + " | ".join(fmt(v) for v in row) + " |"
              for row in table.itertuples(index=False, name=None)]
    return "\n".join(lines) + "\n"
