"""Why did it change? What servers said about themselves, before and after a shift.

Each request keeps what the provider reported (``server_model``, ``system_fingerprint``)
and where it was served (``routing``: allow-listed headers such as the Cloudflare POP,
the Azure region; lens.probe.routing), plus the ``endpoint_host`` lens called. When a
latency percentile regresses between two runs, or a change point splits a series of
runs, :func:`what_changed` compares those fields on either side: "fingerprint fp_a ->
fp_b", "server model gpt-4o-2024-08-06 -> gpt-4o-2024-11-20", "cf-ray POP SJC -> LAX".

A field changed when its most common value differs between the sides, or a value
absent before (under ``rare`` of the rows) carries at least ``mixed`` of the rows after
(a rolling deploy: "fp_b appeared on 40% of requests"). A side that did not report a
field (nulls, empty values, files from before the column existed) is no change.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import pandas as pd

from lens.analysis.changepoints import ChangePoint
from lens.record.frames import without_warmup

__all__ = ["Change", "annotate_changepoints", "describe", "what_changed"]

# (column or routing key, label in sentences)
FIELDS: tuple[tuple[str, str], ...] = (
    ("server_model", "server model"),
    ("system_fingerprint", "fingerprint"),
    ("endpoint_host", "endpoint"),
)
ROUTING_LABELS = {"cf-ray": "Cloudflare POP", "x-served-by": "Fastly POP",
                  "x-amz-cf-pop": "CloudFront POP", "x-ms-region": "Azure region",
                  "azureml-model-session": "Azure model session",
                  "x-gemini-service-tier": "Gemini tier", "server": "server"}
NOT_REPORTED = "not reported"


@dataclass(frozen=True, slots=True)
class Change:
    """One field that differs: its most common value on each side, with its share."""

    label: str
    before: str
    after: str
    before_share: float
    after_share: float
    mixed: bool = False  # the top value stayed; a new one arrived on part of the rows

    def sentence(self, arrow: str = "->") -> str:
        if self.mixed:
            return f"{self.label} {self.after} appeared on {self.after_share:.0%} of requests"
        share = f" ({self.after_share:.0%} of requests)" if self.after_share < 0.95 else ""
        return f"{self.label} {self.before} {arrow} {self.after}{share}"


_LOOPBACK = ("127.", "localhost", "[::1]")


def _host(v: str) -> str:
    """A loopback endpoint without its port: a local server's port changes every run."""
    return v.rsplit(":", 1)[0] if v.startswith(_LOOPBACK) else v


def _values(df: pd.DataFrame) -> dict[str, pd.Series]:
    """Per label, the field's value on every row (NOT_REPORTED for nulls)."""
    out: dict[str, pd.Series] = {}
    for col, label in FIELDS:
        if col in df.columns:
            v = df[col].astype("object")
            blank = v.isna() | (v.astype(str).str.strip() == "")  # imports leave "" for unknown
            out[label] = v.where(~blank, NOT_REPORTED).astype(str)
    if "endpoint" in out:
        out["endpoint"] = out["endpoint"].map(_host)
    if "routing" in df.columns:
        parsed = [_routing(v) for v in df["routing"].astype("object")]
        keys = sorted({k for d in parsed for k in d})
        for k in keys:
            label = ROUTING_LABELS.get(k, k)
            out[label] = pd.Series([d.get(k, NOT_REPORTED) for d in parsed], index=df.index,
                                   dtype="object")
    return out


def _routing(v: Any) -> dict[str, str]:
    if not isinstance(v, str) or not v:
        return {}
    try:
        d = json.loads(v)
    except ValueError:
        return {}
    return {str(k): str(x) for k, x in d.items()} if isinstance(d, dict) else {}


def _shares(s: pd.Series) -> list[tuple[str, float]]:
    counts = Counter(s)
    n = sum(counts.values())
    return [(v, c / n) for v, c in counts.most_common()] if n else []


def what_changed(before: pd.DataFrame, after: pd.DataFrame, *, rare: float = 0.05,
                 mixed: float = 0.2) -> list[Change]:
    """Fields whose values differ between ``before`` and ``after`` rows (warm-up included:
    a warm-up request was served like any other)."""
    b_vals, a_vals = _values(before), _values(after)
    out: list[Change] = []
    for label in dict.fromkeys([*b_vals, *a_vals]):
        b = _shares(b_vals[label]) if label in b_vals else [(NOT_REPORTED, 1.0)]
        a = _shares(a_vals[label]) if label in a_vals else [(NOT_REPORTED, 1.0)]
        if not a or not b:
            continue
        (bv, bs), (av, as_) = b[0], a[0]
        if bv != av:
            # a side that did not report the field says nothing about a change in it
            if NOT_REPORTED not in (bv, av):
                out.append(Change(label, bv, av, bs, as_))
            continue
        before_share = dict(b)
        for v, share in a[1:]:
            if v != NOT_REPORTED and share >= mixed and before_share.get(v, 0.0) < rare:
                out.append(Change(label, bv, v, before_share.get(v, 0.0), share, mixed=True))
                break
    return out


def describe(changes: Sequence[Change], arrow: str = "->") -> str:
    """The changes as one clause ('' when nothing changed)."""
    return "; ".join(c.sentence(arrow) for c in changes)


def _run_order(df: pd.DataFrame, by: str = "run_id") -> pd.Series:
    """Each run's first start, in time order, from the rows changepoints.series uses
    (successful, not warm-up), so a change point's ``time`` names its run."""
    d = df.loc[df["status"].astype("object") == "ok"]
    d = without_warmup(d)
    return d.groupby(by, observed=True)["started_at"].min().sort_values()


def annotate_changepoints(df: pd.DataFrame, points: Sequence[ChangePoint], *,
                          window: int = 2, by: str = "run_id") -> list[list[Change]]:
    """For each change point (from ``changepoints.detect(changepoints.series(df))``), what
    changed between the ``window`` runs before it and the ``window`` runs from it on."""
    order = _run_order(df, by)
    runs, starts = list(order.index), list(order)
    out: list[list[Change]] = []
    for p in points:
        at = next((i for i, t in enumerate(starts) if t == p.time), None)
        if at is None:
            out.append([])
            continue
        before = set(runs[max(0, at - window):at])
        after = set(runs[at:at + window])
        key = df[by].astype("object")
        out.append(what_changed(df.loc[key.isin(before)], df.loc[key.isin(after)]))
    return out
