"""SLO attainment and goodput from request rows (definitions: docs/metrics.md#slos).

- Rows counted: warm-up excluded; status ``cancelled`` (the user abandoned the stream)
  excluded from the denominator; every other status counted.
- A request **meets** the SLOs when its status is ``ok`` and every bound holds. A missing
  value fails its bound, except the gap metrics (lens.spec.slo.GAP_METRICS) of a response
  with fewer than two token-bearing events (``n_chunks < 2``), which have no gap to bound.
- **Attainment** = met / counted, with a Wilson score interval (``level``, default 95%).
- **Wall time** = per run, from the first counted-or-cancelled request's ``started_at`` to
  the last one's end (``started_at + e2e_ms``); summed over runs when a group spans several.
- **Goodput** = met requests / wall time (requests/s), and the met requests' output tokens
  / wall time (tokens/s).
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass, field
from statistics import NormalDist
from typing import Any

import numpy as np
import pandas as pd

from lens.analysis.stats import judged
from lens.errors import AnalysisError
from lens.record.frames import without_warmup
from lens.spec.slo import GAP_METRICS, Objective, ObjectivesLike, as_objectives

_COMPARE = {"<=": np.less_equal, "<": np.less, ">=": np.greater_equal, ">": np.greater}


def counted(df: pd.DataFrame) -> pd.DataFrame:
    """The rows attainment counts: measured (no warm-up), not cancelled by the client
    (``lens.analysis.stats.judged``, the rows error rates count)."""
    return judged(df)


def _objectives(objectives: ObjectivesLike) -> list[Objective]:
    objs = as_objectives(objectives)
    if not objs:
        raise AnalysisError("no SLOs given",
                            hint="pass objectives such as ['ttft_ms<=500', 'tpot_ms<=40']")
    return objs


def objective_met(df: pd.DataFrame, objective: Objective) -> pd.Series:
    """Per row: ok and this one bound holds (see the module docstring for missing values)."""
    if objective.metric not in df.columns:
        raise AnalysisError(f"the rows have no {objective.metric!r} column",
                            hint="load request rows with lens.load (all record columns)")
    x = pd.to_numeric(df[objective.metric], errors="coerce").astype("float64")
    ok = (df["status"].astype("object") == "ok").to_numpy()
    held = _COMPARE[objective.op](x.to_numpy(), objective.limit)  # NaN compares False
    if objective.metric in GAP_METRICS and "n_chunks" in df.columns:
        chunks = pd.to_numeric(df["n_chunks"], errors="coerce").fillna(0).to_numpy()
        held |= x.isna().to_numpy() & (chunks < 2)
    return pd.Series(ok & held, index=df.index)


def meets(df: pd.DataFrame, objectives: ObjectivesLike) -> pd.Series:
    """Per row: True when the request meets every SLO (status ok and all bounds hold)."""
    objs = _objectives(objectives)
    out = pd.Series(True, index=df.index)
    for o in objs:
        out &= objective_met(df, o)
    return out


def wilson_interval(k: int, n: int, level: float = 0.95) -> tuple[float, float]:
    """Wilson score interval for k successes in n trials (NaNs when n == 0)."""
    if n <= 0:
        return float("nan"), float("nan")
    z = NormalDist().inv_cdf(0.5 + level / 2)
    p = k / n
    den = 1 + z * z / n
    mid = (p + z * z / (2 * n)) / den
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / den
    # exact ends at k = 0 and k = n (the formula gives them only up to rounding)
    return (0.0 if k == 0 else max(0.0, mid - half)), (1.0 if k == n else min(1.0, mid + half))


def wall_seconds(df: pd.DataFrame) -> float:
    """Sum over runs of (last request end - first request start), in seconds."""
    if df.empty:
        return float("nan")
    start = pd.to_datetime(df["started_at"], utc=True)
    e2e = pd.to_numeric(df["e2e_ms"], errors="coerce").fillna(0.0)
    end = start + pd.to_timedelta(e2e, unit="ms")
    runs = df["run_id"].astype("object") if "run_id" in df.columns else pd.Series(0, df.index)
    total = 0.0
    for _, idx in runs.groupby(runs, sort=False).groups.items():
        total += (end.loc[idx].max() - start.loc[idx].min()).total_seconds()
    return total


@dataclass(slots=True)
class Attainment:
    """SLO attainment and goodput of one group of requests."""

    n: int = 0
    met: int = 0
    attainment: float = float("nan")
    ci_low: float = float("nan")
    ci_high: float = float("nan")
    level: float = 0.95
    cancelled: int = 0
    wall_s: float = float("nan")
    goodput_rps: float = float("nan")
    goodput_tok_s: float = float("nan")
    by_objective: dict[str, float] = field(default_factory=dict)
    objectives: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return {k: (None if isinstance(v, float) and math.isnan(v) else v)
                for k, v in asdict(self).items()}


def attainment_of(df: pd.DataFrame, objectives: ObjectivesLike, *,
                  level: float = 0.95) -> Attainment:
    """Attainment and goodput of all rows of ``df`` (one group)."""
    objs = _objectives(objectives)
    measured = without_warmup(df.reset_index(drop=True))  # concatenated runs may repeat labels
    rows = counted(measured)
    out = Attainment(level=level, objectives=[str(o) for o in objs])
    out.cancelled = len(measured) - len(rows)
    out.n = len(rows)
    if not out.n:
        return out
    good = meets(rows, objs)
    out.met = int(good.sum())
    out.attainment = out.met / out.n
    out.ci_low, out.ci_high = wilson_interval(out.met, out.n, level)
    out.by_objective = {str(o): float(objective_met(rows, o).mean()) for o in objs}
    out.wall_s = wall_seconds(measured)
    if out.wall_s > 0:
        tokens = pd.to_numeric(rows.loc[good, "output_tokens"], errors="coerce").fillna(0).sum()
        out.goodput_rps = out.met / out.wall_s
        out.goodput_tok_s = float(tokens) / out.wall_s
    return out


def attainment(df: pd.DataFrame, objectives: ObjectivesLike,
               by: Sequence[str] = ("target",), *, level: float = 0.95) -> pd.DataFrame:
    """One row per group: ``n``, ``met``, ``attainment``, ``ci_low``/``ci_high`` (Wilson),
    ``cancelled``, ``wall_s``, ``goodput_rps``, ``goodput_tok_s`` and one column per SLO
    (the fraction of counted requests meeting that bound alone)."""
    objs = _objectives(objectives)
    keys = [k for k in by if k in df.columns]
    groups: Iterable[tuple[Any, pd.DataFrame]]
    groups = (df.groupby(keys, observed=True, sort=False, dropna=False) if keys
              else [((), df)])
    rows: list[dict[str, Any]] = []
    for key, g in groups:
        a = attainment_of(g, objs, level=level)
        key_t = key if isinstance(key, tuple) else (key,)
        row = dict(zip(keys, key_t, strict=True))
        row.update({k: getattr(a, k) for k in ("n", "met", "attainment", "ci_low", "ci_high",
                                                 "cancelled", "wall_s", "goodput_rps",
                                                 "goodput_tok_s")})
        row.update(a.by_objective)
        rows.append(row)
    return pd.DataFrame(rows)


# ------------------------------------------------------------------ comparisons


def proportion_test(k1: int, n1: int, k2: int, n2: int) -> tuple[float, str]:
    """Two-sided p-value of equal proportions k1/n1 vs k2/n2: pooled two-proportion z-test
    when every expected cell count is >= 5, else Fisher's exact test."""
    from scipy import stats as sps

    pooled = (k1 + k2) / (n1 + n2)
    expected = [n1 * pooled, n1 * (1 - pooled), n2 * pooled, n2 * (1 - pooled)]
    if min(expected) >= 5:
        se = math.sqrt(pooled * (1 - pooled) * (1 / n1 + 1 / n2))
        z = (k2 / n2 - k1 / n1) / se if se > 0 else 0.0
        return float(2 * sps.norm.sf(abs(z))), "two-proportion z"
    return float(sps.fisher_exact([[k1, n1 - k1], [k2, n2 - k2]]).pvalue), "fisher exact"


@dataclass(frozen=True, slots=True)
class AttainmentTest:
    """Attainment of a baseline and a candidate, and whether it dropped."""

    base: Attainment
    cand: Attainment
    diff: float  # cand - base
    p_value: float
    test: str
    verdict: str  # regressed | improved | no significant change | insufficient data


def attainment_test(base: pd.DataFrame, cand: pd.DataFrame, objectives: ObjectivesLike, *,
                    alpha: float = 0.05, max_drop: float = 0.0,
                    level: float = 0.95) -> AttainmentTest:
    """``regressed`` when the candidate's attainment is lower by more than ``max_drop``
    (absolute) and the proportion test gives p < ``alpha``; ``improved`` when it is
    significantly higher; ``insufficient data`` when a side has no counted requests."""
    b = attainment_of(base, objectives, level=level)
    c = attainment_of(cand, objectives, level=level)
    if not b.n or not c.n:
        return AttainmentTest(b, c, float("nan"), float("nan"), "", "insufficient data")
    p, test = proportion_test(b.met, b.n, c.met, c.n)
    diff = c.attainment - b.attainment
    if p < alpha and -diff > max_drop:
        verdict = "regressed"
    elif p < alpha and diff > 0:
        verdict = "improved"
    else:
        verdict = "no significant change"
    return AttainmentTest(b, c, diff, p, test, verdict)
