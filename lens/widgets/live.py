"""Helpers behind the live panel: the fleet invoker and the quick summary table redrawn
while a burst runs."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from lens.record import ChunkTiming, RequestRecord

RowsCallback = Callable[[str, list[RequestRecord], list[ChunkTiming]], None]


def fleet_invoker(boto3_session: Any = None) -> Any:
    """Lambda when a fleet config and AWS credentials exist, else a started local fleet with
    every local region (the caller closes it): lens.fleet.default_invoker's rule."""
    from lens.fleet import default_invoker
    from lens.fleet.delay_proxy import DEFAULT_RTT_MS

    invoker, _close = default_invoker(boto3_session, list(DEFAULT_RTT_MS))
    return invoker


def live_summary(df: Any, metric: str = "ttft_ms", group: str = "target",
                 percentiles: tuple[int, ...] = (50, 90, 99)) -> Any:
    """Per group: requests, ok, errors, then ``metric`` percentiles over ok rows. Cheap
    (no bootstrap), for redrawing while rows arrive; lens.analysis.stats has the CIs."""
    import pandas as pd

    d = df
    if "warmup" in d.columns:
        d = d.loc[~d["warmup"].fillna(False).astype(bool)]
    g = d.assign(_ok=d["status"].astype("object") == "ok").groupby(group, observed=True)
    out = pd.DataFrame({"requests": g.size(), "ok": g["_ok"].sum()})
    out["errors"] = out["requests"] - out["ok"]
    ok = d.loc[d["status"].astype("object") == "ok"].groupby(group, observed=True)[metric]
    for p in percentiles:
        out[f"p{p} {metric}"] = ok.quantile(p / 100)
    out = out.reset_index()
    out[group] = out[group].astype("object")
    return out
