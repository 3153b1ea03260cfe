"""How many requests do I need? The smallest shift two runs can detect, per percentile.

``stats.compare`` calls a percentile changed when the percentile-bootstrap CI of the ratio
candidate/baseline excludes 1. How small a change can that see, and how many requests
would it take to see a given one (say 10% at p95)?

Method (docs/stats.md):

- Each run's percentile has a bootstrap standard error ``se`` (the same exact
  order-statistic bootstrap the CIs use, lens.analysis.bootstrap); by the delta method
  the log of the ratio has ``se_log = sqrt((se_b / q_b)^2 + (se_c / q_c)^2)``.
- The log ratio is asymptotically normal, so with a true shift ``d`` the CI (level
  ``1 - alpha``) excludes 1 with probability ``power = Phi(|log(1 + d)| / se_log - z)``,
  ``z = z_{1 - alpha/2}``. The smallest shift found with probability ``power`` is
  ``d_min = exp((z + z_power) * se_log) - 1`` (an increase; a decrease of
  ``1 - exp(-(z + z_power) * se_log)`` is as detectable).
- A sample quantile's variance is ``q(1 - q) / (n f(x_q)^2)`` (asymptotically), i.e. it
  shrinks as ``1/n``: with ``n`` successful requests in each run,
  ``se_log(n)^2 = ((se_b/q_b)^2 n_b + (se_c/q_c)^2 n_c) / n``. Solving
  ``se_log(n) = log(1 + d) / (z + z_power)`` gives the requests per run for shift ``d``;
  at least ``1 / min(q, 1 - q)`` of them, which compare needs before it judges a tail.
  Failed requests do not count: the number to *fire* divides by the share that succeeded.

A simulation test (tests/unit/test_analysis_power.py) checks that shifts of the claimed
size are detected at about the stated power.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from statistics import NormalDist
from typing import Any

import numpy as np
import pandas as pd

from lens.analysis.bootstrap import DEFAULT_REPS, quantile_replicates
from lens.analysis.stats import _check_metrics, _groups, _ok
from lens.record.frames import without_warmup

__all__ = ["DEFAULT_METRICS", "detectable", "mde", "requests_needed", "sentence"]

DEFAULT_METRICS: tuple[str, ...] = ("ttft_ms", "tpot_ms", "e2e_ms", "output_tokens_per_s")


def _z(p: float) -> float:
    return NormalDist().inv_cdf(p)


def mde(se_log: float, *, alpha: float = 0.05, power: float = 0.8) -> float:
    """Smallest relative increase detected with probability ``power`` (two-sided ``alpha``)."""
    if not math.isfinite(se_log) or se_log <= 0:
        return float("nan")
    return math.expm1((_z(1 - alpha / 2) + _z(power)) * se_log)


def requests_needed(rel_var_n: float, shift: float, q: float, *, alpha: float = 0.05,
                    power: float = 0.8) -> int | None:
    """Successful requests per run to detect ``shift`` (e.g. 0.10).

    ``rel_var_n`` is ``(se_b/q_b)^2 n_b + (se_c/q_c)^2 n_c``: the two runs' relative
    variances scaled to one request each.
    """
    if not math.isfinite(rel_var_n) or rel_var_n <= 0 or shift <= 0:
        return None
    target = math.log1p(shift) / (_z(1 - alpha / 2) + _z(power))
    tail = min(q, 1 - q)
    return max(math.ceil(rel_var_n / target**2), math.ceil(1 / tail) if tail > 0 else 1)


def _rel_se(x: np.ndarray, q: float, reps: int, rng: np.random.Generator) -> float:
    if x.size < 2:
        return float("nan")
    est = float(np.quantile(x, q))
    if est == 0:
        return float("nan")
    rep = quantile_replicates(x, q, reps, rng, presorted=True)
    return float(np.std(rep, ddof=1)) / abs(est)


def detectable(
    base: pd.DataFrame,
    cand: pd.DataFrame,
    metrics: Iterable[str] = DEFAULT_METRICS,
    percentiles: Sequence[float] = (50, 95, 99),
    *,
    shift: float = 0.10,
    alpha: float = 0.05,
    power: float = 0.8,
    by: Sequence[str] = (),
    reps: int = DEFAULT_REPS,
    seed: int = 0,
) -> pd.DataFrame:
    """Per (group, metric, percentile): what these two runs can detect.

    Columns: group keys, ``metric``, ``stat``, ``n_base``, ``n_cand`` (successful
    requests), ``se_log`` (standard error of the log ratio), ``mde`` (smallest detectable
    relative increase at ``alpha`` and ``power``), ``target_shift``, ``n_needed`` (successful
    requests per run to detect ``shift``), ``fire_more`` (requests to add to the larger
    shortfall of the two runs, failures included at the runs' success rate; 0 when
    enough). NaN/None where a run has no successful request.
    """
    b_ok, c_ok = _ok(base), _ok(cand)
    mets = _check_metrics(base, metrics)
    keys = [k for k in by if k in base.columns and k in cand.columns]
    rng = np.random.default_rng(seed)
    cand_groups = dict(_groups(c_ok, keys))
    b_all, c_all = dict(_groups(without_warmup(base), keys)), dict(_groups(without_warmup(cand), keys))
    rows: list[dict[str, Any]] = []
    for key, bg in _groups(b_ok, keys):
        cg = cand_groups.get(key)
        if cg is None:
            continue
        n_tot = len(b_all.get(key, bg)) + len(c_all.get(key, cg))
        ok_share = (len(bg) + len(cg)) / n_tot if n_tot else 1.0
        for m in mets:
            xb = np.sort(bg[m].to_numpy(dtype="float64", na_value=np.nan))
            xc = np.sort(cg[m].to_numpy(dtype="float64", na_value=np.nan))
            xb, xc = xb[~np.isnan(xb)], xc[~np.isnan(xc)]
            for p in percentiles:
                q = p / 100
                rb, rc = _rel_se(xb, q, reps, rng), _rel_se(xc, q, reps, rng)
                se_log = math.sqrt(rb**2 + rc**2)
                rel_var_n = rb**2 * xb.size + rc**2 * xc.size
                need = requests_needed(rel_var_n, shift, q, alpha=alpha, power=power)
                short = 0 if need is None else max(need - xb.size, need - xc.size, 0)
                rows.append({
                    **dict(zip(keys, key, strict=True)), "metric": m, "stat": f"p{p:g}",
                    "n_base": xb.size, "n_cand": xc.size, "se_log": se_log,
                    "mde": mde(se_log, alpha=alpha, power=power), "target_shift": shift,
                    "n_needed": need,
                    "fire_more": None if need is None else math.ceil(short / max(ok_share, 1e-9)),
                })
    return pd.DataFrame(rows)


def sentence(row: Any, *, label: str = "") -> str:
    """One row of ``detectable`` in words (alpha and power said once, by the caller), e.g.
    "p95 TTFT: detects shifts of 14% or more; 10% takes about 420 successful requests per
    run (fire about 260 more)"."""
    what = f"{row.stat} {label or row.metric}"
    if not math.isfinite(float(row.mde)):
        return f"{what}: too few successful requests to say what could be detected"
    head = f"{what}: detects shifts of {row.mde:.0%} or more"
    need, more = _count(row.n_needed), _count(row.fire_more)
    if need is None:
        return head
    if not more:
        return f"{head}; {row.target_shift:.0%} is within reach of these runs"
    return (f"{head}; {row.target_shift:.0%} takes about {need} successful requests per run "
            f"(fire about {more} more)")


def group_lines(det: pd.DataFrame, keys: Sequence[str] = (), *,
                focus: str = "p95") -> list[str]:
    """``detectable`` in one line per (group, metric): the smallest detectable shift at each
    percentile, then what the target shift takes at ``focus`` (e.g. "sim-fast TTFT: detects
    p50 >= 9%, p95 >= 22%, p99 >= 19%; 10% at p95 takes about 208 successful requests per
    run (fire about 160 more)")."""
    from lens.analysis.reporting.fmt import label

    lines: list[str] = []
    cols = [k for k in keys if k in det.columns]
    for key, g in det.groupby([*cols, "metric"], sort=False, observed=True):
        parts = key if isinstance(key, tuple) else (key,)
        head = " ".join(str(v) for v in parts[:-1]) + (" " if cols else "") + label(str(parts[-1]))
        finite = [f"{r.stat} >= {r.mde:.0%}" for r in g.itertuples(index=False)
                  if math.isfinite(float(r.mde))]
        if not finite:
            lines.append(f"{head}: too few successful requests to say what could be detected")
            continue
        line = f"{head}: detects {', '.join(finite)}"
        at = g.loc[g["stat"] == focus]
        if len(at):
            r = next(at.itertuples(index=False))
            need, more = _count(r.n_needed), _count(r.fire_more)
            q = float(focus.removeprefix("p")) / 100
            floor = math.ceil(1 / min(q, 1 - q)) if 0 < q < 1 else 1
            if need is None:
                pass
            elif not more:
                line += f"; {r.target_shift:.0%} at {focus} is within reach of these runs"
            elif need <= floor and float(r.mde) <= r.target_shift:
                # the shift is detectable; the tail just has too few observations beyond it
                line += (f"; a {focus} verdict needs at least {need} successful requests per "
                         f"run (fire about {more} more)")
            else:
                line += (f"; {r.target_shift:.0%} at {focus} takes about {need} successful "
                         f"requests per run (fire about {more} more)")
        lines.append(line)
    return lines


def _count(v: Any) -> int | None:
    """An int from a count cell (None/NaN when a frame column mixed them: None)."""
    if v is None or (isinstance(v, float) and math.isnan(v)):
        return None
    return int(v)
