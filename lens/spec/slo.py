"""Per-request service-level objectives (SLOs): ``ttft_ms<=500``, ``tpot_ms<=40``, ...

An SLO bounds one per-request record column. A request *meets* the SLOs when its status
is ``ok`` and every bound holds (lens.analysis.slo counts attainment and goodput). The
spec's ``slo:`` block is an :class:`SLOSpec` (one optional field per metric, unknown keys
refused); the CLI's ``--slo METRIC<=LIMIT`` flags and Python lists of such strings are
parsed by :func:`parse_objective`. A bare number is the worst acceptable value: an upper
bound for times and stall counts, a lower bound for ``output_tokens_per_s``.
"""

from __future__ import annotations

import difflib
import math
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from pydantic import BaseModel, ConfigDict, field_validator

from lens.errors import ConfigError

# metric -> the comparison a bare number means (the worst acceptable value).
SLO_METRICS: dict[str, str] = {
    "ttft_ms": "<=",
    "tpot_ms": "<=",
    "e2e_ms": "<=",
    "itl_p50_ms": "<=",
    "itl_p99_ms": "<=",
    "itl_max_ms": "<=",
    "itl_mean_ms": "<=",
    "stalls": "<=",
    "headers_ms": "<=",
    "output_tokens_per_s": ">=",
}
# Undefined for a response of fewer than two token-bearing events (no gap to measure):
# such a request meets these bounds (vLLM's goodput takes its TPOT as 0 the same way).
GAP_METRICS: frozenset[str] = frozenset(
    {"tpot_ms", "itl_p50_ms", "itl_p99_ms", "itl_max_ms", "itl_mean_ms", "stalls",
     "output_tokens_per_s"})
OPS: tuple[str, ...] = ("<=", ">=", "<", ">")
_NUMBER = r"[+]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?"
_BOUND = re.compile(rf"^\s*(<=|>=|<|>)?\s*({_NUMBER})\s*$")
_OBJECTIVE = re.compile(r"^\s*([A-Za-z0-9_]+)\s*(<=|>=|<|>|=<|=>|==|=)\s*(\S.*?)\s*$")


@dataclass(frozen=True, slots=True)
class Objective:
    """One bound: ``metric op limit`` (e.g. ttft_ms <= 500)."""

    metric: str
    op: str
    limit: float

    def __str__(self) -> str:
        return f"{self.metric}{self.op}{self.limit:g}"

    def holds(self, value: float) -> bool:
        """Whether ``value`` satisfies the bound (NaN never does)."""
        if math.isnan(value):
            return False
        return {"<=": value <= self.limit, "<": value < self.limit,
                ">=": value >= self.limit, ">": value > self.limit}[self.op]


def _unknown_metric(name: str, source: str) -> ConfigError:
    close = difflib.get_close_matches(name, list(SLO_METRICS), n=1)
    hint = (f"did you mean {close[0]!r}? " if close else "") + f"SLO metrics: {', '.join(SLO_METRICS)}"
    return ConfigError(f"unknown SLO metric {name!r}", source=source, hint=hint)


def _read_bound(metric: str, value: Any) -> tuple[str, float] | str:
    """(op, limit), or what is wrong with ``value`` in plain words."""
    if isinstance(value, bool) or not isinstance(value, int | float | str):
        return f"give a number or a string like '<=500', got {value!r}"
    if isinstance(value, str):
        m = _BOUND.match(value)
        if not m:
            return f"cannot read the bound {value!r}"
        op, limit = m.group(1) or SLO_METRICS[metric], float(m.group(2))
    else:
        op, limit = SLO_METRICS[metric], float(value)
    if not math.isfinite(limit) or limit < 0:
        return f"the bound must be a finite number >= 0, got {value!r}"
    return op, limit


BOUND_HINT = "write a number (the worst acceptable value) or a string like '<=500' or '>=20'"


def parse_bound(metric: str, value: Any, *, source: str = "slo") -> Objective:
    """``500`` or ``"<=500"`` for ``metric`` -> Objective; ConfigError naming ``source``."""
    if metric not in SLO_METRICS:
        raise _unknown_metric(metric, source)
    got = _read_bound(metric, value)
    if isinstance(got, str):
        raise ConfigError(f"{metric}: {got}", source=source, hint=BOUND_HINT)
    return Objective(metric, *got)


def parse_objective(text: str, *, source: str = "--slo") -> Objective:
    """``"ttft_ms<=500"`` -> Objective. Errors name ``source`` (the flag) and the fix."""
    m = _OBJECTIVE.match(text or "")
    if not m:
        raise ConfigError(f"cannot read {text!r}", source=source,
                          hint="write METRIC<=LIMIT, e.g. --slo ttft_ms<=500 (milliseconds)")
    metric, op, rest = m.groups()
    if op in ("=", "==", "=<", "=>"):
        raise ConfigError(f"{text!r}: use <=, <, >= or >", source=source,
                          hint=f"e.g. {metric}{SLO_METRICS.get(metric, '<=')}{rest}")
    return parse_bound(metric, f"{op}{rest}", source=source)


class SLOSpec(BaseModel):
    """The spec's ``slo:`` block: one optional bound per metric (a number, the worst
    acceptable value, or a string with its comparison, e.g. ``"<=500"``)."""

    model_config = ConfigDict(extra="forbid", validate_assignment=True)

    ttft_ms: float | str | None = None
    tpot_ms: float | str | None = None
    e2e_ms: float | str | None = None
    itl_p50_ms: float | str | None = None
    itl_p99_ms: float | str | None = None
    itl_max_ms: float | str | None = None
    itl_mean_ms: float | str | None = None
    stalls: float | str | None = None
    headers_ms: float | str | None = None
    output_tokens_per_s: float | str | None = None

    @field_validator("*")
    @classmethod
    def _bound(cls, v: float | str | None, info: Any) -> float | str | None:
        if v is None:
            return v
        got = _read_bound(info.field_name, v)
        if isinstance(got, str):
            raise ValueError(got)
        return v.replace(" ", "") if isinstance(v, str) else v

    def objectives(self) -> list[Objective]:
        """The bounds given, in field order."""
        return [parse_bound(name, v) for name in type(self).model_fields
                if (v := getattr(self, name)) is not None]


ObjectivesLike = SLOSpec | Mapping[str, Any] | Iterable[str | Objective] | str | None


def as_objectives(value: ObjectivesLike, *, source: str = "slo") -> list[Objective]:
    """SLOs from a spec block, a mapping, a list of ``"metric<=limit"`` strings (or
    Objectives), or one such string; None -> []."""
    if value is None:
        return []
    if isinstance(value, SLOSpec):
        return value.objectives()
    if isinstance(value, str):
        return [parse_objective(value, source=source)]
    if isinstance(value, Mapping):
        return [parse_bound(str(k), v, source=source) for k, v in value.items()]
    return [o if isinstance(o, Objective) else parse_objective(str(o), source=source)
            for o in value]


def objectives_mapping(objectives: Iterable[Objective]) -> dict[str, str]:
    """Objectives -> a mapping for an ``slo:`` block (``{"ttft_ms": "<=500"}``); a later
    bound on the same metric wins, like a later flag."""
    return {o.metric: f"{o.op}{o.limit:g}" for o in objectives}
