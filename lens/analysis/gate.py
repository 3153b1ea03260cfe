"""The CI gate: does a candidate run stay within thresholds relative to a baseline?

Thresholds come from a TOML file (examples/gate.toml; pydantic, unknown keys refused with
the file and field named) and/or flags; flags win. Checks:

- ``max_p95_ttft_regression`` (fraction): fails when stats.compare's verdict for p95 TTFT
  is ``regressed``: ratio > 1 + threshold *and* the ratio's bootstrap CI lies above 1.
- ``[[regressions]]``: the same rule for any metric and percentile.
- ``max_error_rate`` (fraction): the candidate's error rate (non-ok / measured requests).
- ``max_error_rate_increase`` (absolute): fails when the error-rate test (two-proportion z
  or Fisher exact) finds a significant increase larger than this.
- ``max_cost_per_request`` / ``max_total_cost`` (USD): candidate cost from
  lens.analysis.cost; unpriced rows fail the check (a cost cannot be verified as zero).
- ``[slo]`` (a spec's ``slo:`` block, lens.spec.slo): the summary shows both runs' SLO
  attainment and goodput (lens.analysis.slo). ``min_attainment`` (fraction) fails when the
  candidate's attainment is below it; ``max_attainment_drop`` (absolute) fails when the
  attainment fell by more than this and the proportion test (two-proportion z or Fisher
  exact, ``alpha``) says the drop is significant. A side without counted requests fails both.
"""

from __future__ import annotations

import math
import os
import tomllib
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Any

import pandas as pd
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from lens.analysis import slo as slo_stats
from lens.analysis import stats
from lens.analysis.cost import price_frame
from lens.analysis.health import client_health
from lens.analysis.prices import PriceOverrides
from lens.errors import ConfigError
from lens.record.frames import without_warmup
from lens.spec.slo import SLOSpec


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class RegressionRule(_Strict):
    metric: str
    percentile: float = Field(default=95, gt=0, lt=100)
    max_increase: float = Field(ge=0)


class GateThresholds(_Strict):
    """Gate limits; ``None`` means "not checked"."""

    max_p95_ttft_regression: float | None = Field(default=0.10, ge=0)
    max_error_rate: float | None = Field(default=None, ge=0, le=1)
    max_error_rate_increase: float | None = Field(default=None, ge=0, le=1)
    max_cost_per_request: Decimal | None = Field(default=None, ge=0)
    max_total_cost: Decimal | None = Field(default=None, ge=0)
    regressions: list[RegressionRule] = Field(default_factory=list)
    slo: SLOSpec | None = None
    min_attainment: float | None = Field(default=None, ge=0, le=1)
    max_attainment_drop: float | None = Field(default=None, ge=0, le=1)
    confidence: float = Field(default=0.95, gt=0.5, lt=1)
    alpha: float = Field(default=0.05, gt=0, lt=0.5)
    reps: int = Field(default=2000, ge=200)
    seed: int = 0

    @model_validator(mode="after")
    def _attainment_needs_slos(self) -> GateThresholds:
        wants = self.min_attainment is not None or self.max_attainment_drop is not None
        if wants and not (self.slo and self.slo.objectives()):
            raise ValueError("min_attainment and max_attainment_drop need SLOs: add a [slo] "
                             "table (e.g. ttft_ms = 500) or --slo ttft_ms<=500")
        return self


def load_thresholds(path: str | os.PathLike[str] | None = None,
                    **overrides: Any) -> GateThresholds:
    """Thresholds from a TOML file (optional), then non-None ``overrides`` (flags)."""
    data: dict[str, Any] = {}
    source = "<flags>"
    if path is not None:
        p = Path(path)
        source = str(p)
        if not p.is_file():
            raise ConfigError("threshold file not found", source=source, hint="check the path")
        try:
            data = tomllib.loads(p.read_text(encoding="utf-8"))
        except tomllib.TOMLDecodeError as exc:
            raise ConfigError(f"cannot parse: {exc}", source=source, hint="fix the TOML") from None
    given = {k: v for k, v in overrides.items() if v is not None}
    if isinstance(data.get("slo"), dict) and isinstance(given.get("slo"), dict):
        given["slo"] = {**data["slo"], **given["slo"]}  # a flag's SLO replaces that metric's
    data.update(given)
    try:
        return GateThresholds.model_validate(data)
    except ValidationError as exc:
        err = exc.errors()[0]
        loc = "".join(f"[{p}]" if isinstance(p, int) else f".{p}" for p in err["loc"]).lstrip(".")
        hint = ("remove the key or check its spelling against examples/gate.toml"
                if err["type"] == "extra_forbidden" else "see examples/gate.toml")
        raise ConfigError(err["msg"].removeprefix("Value error, "), source=source, field=loc,
                          hint=hint) from None


@dataclass
class Check:
    name: str
    passed: bool
    value: str
    limit: str
    detail: str = ""


@dataclass
class GateResult:
    checks: list[Check] = field(default_factory=list)
    comparison: pd.DataFrame | None = None
    errors: stats.ErrorRateTest | None = None
    refused: str | None = None  # why no verdict can be given (a client-saturated run)
    attainment: slo_stats.AttainmentTest | None = None

    @property
    def passed(self) -> bool:
        return self.refused is None and all(c.passed for c in self.checks)

    @property
    def exit_code(self) -> int:
        """0 pass, 1 fail, 2 no verdict (the timings cannot be trusted)."""
        if self.refused is not None:
            return 2
        return 0 if self.passed else 1


def evaluate(base: pd.DataFrame, cand: pd.DataFrame, thresholds: GateThresholds,
             prices: PriceOverrides | str | os.PathLike[str] | None = None) -> GateResult:
    """Run every configured check of ``cand`` against ``base``.

    A run whose client could not keep up (lens.analysis.health) gets no verdict at all:
    ``refused`` says why and the exit code is 2, since its latencies include the client's
    own delay and a pass or a fail would blame or clear the provider wrongly.
    """
    t = thresholds
    res = GateResult()
    for label, frame in (("baseline", base), ("candidate", cand)):
        health = client_health(frame, frame.attrs.get("lens_client"))
        if health.flagged:
            res.refused = health.message(f"the {label}")
            return res
    rules = [RegressionRule(metric=r.metric, percentile=r.percentile, max_increase=r.max_increase)
             for r in t.regressions]
    if t.max_p95_ttft_regression is not None:
        rules.insert(0, RegressionRule(metric="ttft_ms", percentile=95,
                                       max_increase=t.max_p95_ttft_regression))
    if rules:
        parts = [stats.compare(base, cand, [r.metric], [r.percentile], r.max_increase,
                               level=t.confidence, reps=t.reps, seed=t.seed) for r in rules]
        res.comparison = pd.concat(parts, ignore_index=True)
        from lens.analysis.reporting import fmt

        for r, row in zip(rules, res.comparison.itertuples(index=False), strict=True):
            unit = fmt.unit(r.metric)
            detail = f"{fmt.qty(row.base, unit)} -> {fmt.qty(row.cand, unit)}; {row.verdict}"
            if row.verdict == "insufficient data":
                # Cannot verify is not a pass: e.g. a candidate whose requests all failed.
                tail = min(r.percentile, 100 - r.percentile) / 100
                detail = (f"cannot verify: {row.n_base} baseline and {row.n_cand} candidate "
                          f"successful requests; p{r.percentile:g} needs at least "
                          f"{math.ceil(1 / tail)} on each side")
            res.checks.append(Check(
                f"p{r.percentile:g} {fmt.label(r.metric)} regression",
                row.verdict not in ("regressed", "insufficient data"),
                f"x{row.ratio:.3f} [{row.ratio_low:.3f}, {row.ratio_high:.3f}]",
                f"<= x{1 + r.max_increase:.3f} (or CI includes 1)", detail))
    res.errors = stats.error_rate_test(base, cand, alpha=t.alpha,
                                       max_increase=t.max_error_rate_increase or 0.0)
    e = res.errors
    if t.max_error_rate is not None:
        res.checks.append(Check("error rate", e.cand_rate <= t.max_error_rate,
                                f"{e.cand_rate:.2%} ({e.cand_errors}/{e.cand_n})",
                                f"<= {t.max_error_rate:.2%}"))
    if t.max_error_rate_increase is not None:
        res.checks.append(Check(
            "error rate increase", e.verdict != "regressed", f"{e.diff:+.2%} (p={e.p_value:.3g})",
            f"<= +{t.max_error_rate_increase:.2%} or not significant", e.test))
    if t.max_cost_per_request is not None or t.max_total_cost is not None:
        _cost_checks(cand, t, prices, res)
    if t.slo is not None and t.slo.objectives():
        _attainment_checks(base, cand, t, res)
    return res


def _attainment_checks(base: pd.DataFrame, cand: pd.DataFrame, t: GateThresholds,
                       res: GateResult) -> None:
    a = res.attainment = slo_stats.attainment_test(
        base, cand, t.slo, alpha=t.alpha, max_drop=t.max_attainment_drop or 0.0,
        level=t.confidence)
    value = f"{a.cand.attainment:.2%} ({a.cand.met}/{a.cand.n})" if a.cand.n else "no requests"
    if t.min_attainment is not None:
        res.checks.append(Check("SLO attainment", bool(a.cand.n)
                                and a.cand.attainment >= t.min_attainment, value,
                                f">= {t.min_attainment:.2%}", " and ".join(a.cand.objectives)))
    if t.max_attainment_drop is not None:
        res.checks.append(Check(
            "SLO attainment drop", a.verdict not in ("regressed", "insufficient data"),
            f"{a.diff:+.2%} (p={a.p_value:.3g})" if a.cand.n and a.base.n else "no requests",
            f">= -{t.max_attainment_drop:.2%} or not significant", a.test or a.verdict))


def _cost_checks(cand: pd.DataFrame, t: GateThresholds, prices: Any, res: GateResult) -> None:
    # Both checks over the same rows (measured, warm-up excluded), in exact Decimal.
    measured = without_warmup(cand)
    _priced, report = price_frame(measured, prices)
    unpriced = ", ".join(report.unpriced_models)
    if t.max_cost_per_request is not None:
        per = report.total_usd / max(len(measured), 1)
        res.checks.append(Check("cost per request", not unpriced and per <= t.max_cost_per_request,
                                f"${per:.6f}", f"<= ${t.max_cost_per_request}",
                                f"unpriced: {unpriced}" if unpriced else ""))
    if t.max_total_cost is not None:
        res.checks.append(Check("total cost", not unpriced and report.total_usd <= t.max_total_cost,
                                f"${report.total_usd:.6f}", f"<= ${t.max_total_cost}",
                                f"unpriced: {unpriced}" if unpriced else ""))


def to_markdown(res: GateResult, base_label: str = "baseline",
                cand_label: str = "candidate") -> str:
    """A Markdown summary for a PR comment or $GITHUB_STEP_SUMMARY."""
    head = "NO VERDICT" if res.refused else ("PASS" if res.passed else "FAIL")
    lines = [f"## lens gate: {head}", "", f"Candidate `{cand_label}` vs baseline `{base_label}`.",
             ""]
    if res.refused:
        return "\n".join([*lines, f"**{res.refused}**", ""]) + "\n"
    lines += ["| check | result | value | limit | detail |", "|---|---|---|---|---|"]
    for c in res.checks:
        mark = "pass" if c.passed else "**FAIL**"
        lines.append(f"| {c.name} | {mark} | {c.value} | {c.limit} | {c.detail} |")
    if not res.checks:
        lines.append("| (no checks configured) | pass | | | |")
    if res.attainment is not None:
        lines += ["", "### SLOs: " + " and ".join(res.attainment.cand.objectives), "",
                  "| run | met / n | attainment [CI] | goodput req/s | goodput tok/s |",
                  "|---|---|---|---|---|"]
        for label, a in ((base_label, res.attainment.base), (cand_label, res.attainment.cand)):
            lines.append(f"| {label} | {a.met}/{a.n} | {a.attainment:.2%} [{a.ci_low:.2%}, "
                         f"{a.ci_high:.2%}] | {a.goodput_rps:.3g} | {a.goodput_tok_s:.3g} |")
    if res.comparison is not None and len(res.comparison):
        # for people, as `lens compare` shows it: labels, units, the change with its CI
        from lens.analysis.compare_view import markdown, people_table

        lines += ["", "### Percentiles", "", markdown(people_table(res.comparison)).rstrip()]
    return "\n".join(lines) + "\n"
