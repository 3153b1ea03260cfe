"""Stalls: inter-token gaps longer than a threshold, per request and per group.

A **gap** is the time between successive token-bearing events (kind ``text`` or
``reasoning``) of one request, by chunk ``index``; a **stall** is a gap longer than the
threshold (strictly; default 250 ms, lens.probe.measure.STALL_MS). The record's ``stalls``
and ``itl_max_ms`` columns are these, counted by the engine with the default threshold;
:func:`stall_frame` recounts them from chunk rows with any threshold (the same rule, so at
250 ms it reproduces the columns, unless a stream hit ``caps.max_chunk_rows``).

:func:`stall_summary` per group (successful, measured requests): ``requests``,
``stalled_requests`` and their fraction with a Wilson interval, ``stalls`` (sum),
``stalls_per_request``, ``stalled_ms`` (sum of stalled gaps' lengths, chunks only) and
percentiles of ``itl_max_ms`` (each request's longest gap).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd

from lens.analysis.slo import wilson_interval
from lens.probe.measure import STALL_MS
from lens.record.frames import without_warmup

TOKEN_KINDS: tuple[str, ...] = ("text", "reasoning")


def gaps_frame(chunks: pd.DataFrame) -> pd.DataFrame:
    """One row per gap: ``request_id``, ``index`` (of the later event), ``t_ms`` (its
    arrival), ``gap_ms``."""
    c = chunks.loc[chunks["kind"].astype("object").isin(TOKEN_KINDS),
                   ["request_id", "index", "t_ms"]]
    c = c.assign(request_id=c["request_id"].astype("object")).sort_values(["request_id", "index"])
    rid = c["request_id"].to_numpy()
    t = c["t_ms"].to_numpy(dtype="float64")
    same = rid[1:] == rid[:-1]
    return pd.DataFrame({"request_id": rid[1:][same], "index": c["index"].to_numpy()[1:][same],
                         "t_ms": t[1:][same], "gap_ms": (t[1:] - t[:-1])[same]})


def stall_frame(chunks: pd.DataFrame, threshold_ms: float = STALL_MS) -> pd.DataFrame:
    """Per request with at least one token-bearing event: ``events``, ``gaps``,
    ``stalls`` (gaps > ``threshold_ms``), ``itl_max_ms`` (NaN without a gap) and
    ``stalled_ms`` (total length of the stalled gaps)."""
    c = chunks.loc[chunks["kind"].astype("object").isin(TOKEN_KINDS)]
    events = c["request_id"].astype("object").value_counts()
    g = gaps_frame(chunks)
    stalled = g["gap_ms"] > threshold_ms
    per = pd.DataFrame({
        "gaps": g.groupby("request_id").size(),
        "stalls": stalled.groupby(g["request_id"]).sum(),
        "itl_max_ms": g.groupby("request_id")["gap_ms"].max(),
        "stalled_ms": g["gap_ms"].where(stalled, 0.0).groupby(g["request_id"]).sum(),
    })
    out = pd.DataFrame({"events": events}).join(per, how="left")
    out[["gaps", "stalls"]] = out[["gaps", "stalls"]].fillna(0).astype("int64")
    out["stalled_ms"] = out["stalled_ms"].fillna(0.0)
    out.index.name = "request_id"
    return out.reset_index()


def stall_summary(requests: pd.DataFrame, chunks: pd.DataFrame | None = None, *,
                  by: Sequence[str] = ("target",), threshold_ms: float | None = None,
                  level: float = 0.95) -> pd.DataFrame:
    """Stall figures per group of successful, measured requests (module docstring).

    Without ``chunks`` the record's ``stalls``/``itl_max_ms`` columns are used (the
    engine's 250 ms threshold; ``threshold_ms`` must then be None or 250). With chunks
    they are recounted at ``threshold_ms`` (default 250).
    """
    d = without_warmup(requests)
    d = d.loc[d["status"].astype("object") == "ok"]
    threshold = STALL_MS if threshold_ms is None else float(threshold_ms)
    if chunks is not None and len(chunks):
        per = stall_frame(chunks, threshold).set_index("request_id")
        ids = d["request_id"].astype("object")
        d = d.assign(stalls=ids.map(per["stalls"]).fillna(0).to_numpy(),
                     itl_max_ms=ids.map(per["itl_max_ms"]).to_numpy(dtype="float64"),
                     stalled_ms=ids.map(per["stalled_ms"]).fillna(0.0).to_numpy())
    elif threshold != STALL_MS:
        from lens.errors import AnalysisError

        raise AnalysisError(f"a {threshold:g} ms stall threshold needs chunk rows",
                            hint="pass chunks= (lens.load(..., chunks=True)); the record's "
                                 f"stalls column counts gaps over {STALL_MS:g} ms")
    keys = [k for k in by if k in d.columns]
    groups: Any = d.groupby(keys, observed=True, sort=False, dropna=False) if keys else [((), d)]
    rows: list[dict[str, Any]] = []
    for key, g in groups:
        stalls = pd.to_numeric(g["stalls"], errors="coerce").fillna(0)
        worst = pd.to_numeric(g["itl_max_ms"], errors="coerce").dropna().to_numpy()
        n, k = len(g), int((stalls > 0).sum())
        lo, hi = wilson_interval(k, n, level)
        row = dict(zip(keys, key if isinstance(key, tuple) else (key,), strict=True))
        row.update({
            "threshold_ms": threshold, "requests": n, "stalled_requests": k,
            "stalled_fraction": k / n if n else float("nan"), "ci_low": lo, "ci_high": hi,
            "stalls": int(stalls.sum()), "stalls_per_request": float(stalls.mean()) if n else
            float("nan"),
            "stalled_ms": float(g["stalled_ms"].sum()) if "stalled_ms" in g else float("nan"),
        })
        for q in (50, 95, 99):
            row[f"itl_max_ms_p{q}"] = float(np.quantile(worst, q / 100)) if worst.size else \
                float("nan")
        row["itl_max_ms_max"] = float(worst.max()) if worst.size else float("nan")
        rows.append(row)
    return pd.DataFrame(rows)
