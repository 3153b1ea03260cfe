"""Helpers behind the live panel: rows per fleet shard as they arrive, the fleet invoker,
and the quick summary table redrawn while a burst runs."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from lens.record import ChunkTiming, RequestRecord

RowsCallback = Callable[[str, list[RequestRecord], list[ChunkTiming]], None]


class LiveInvoker:
    """Wraps a lens.fleet Invoker so each shard's rows reach ``on_rows`` as soon as that
    shard answers (lens.fleet.fire only returns rows when every region is done).

    It is a RowFetcher too: fire() gets back exactly the rows already read, so rows are
    fetched (e.g. from S3) once.
    """

    def __init__(self, inner: Any, on_rows: RowsCallback) -> None:
        self.inner = inner
        self.on_rows = on_rows
        self._rows: dict[int, tuple[list[RequestRecord], list[ChunkTiming]]] = {}

    def invoke(self, region: str, payload: Mapping[str, Any]) -> dict[str, Any]:
        from lens.fleet.invoker import RowFetcher, rows_from_response

        response = self.inner.invoke(region, payload)
        if isinstance(self.inner, RowFetcher):
            rows = self.inner.fetch_rows(region, response)
        else:
            rows = rows_from_response(response) or ([], [])
        self._rows[id(response)] = rows
        if rows[0]:
            self.on_rows(region, list(rows[0]), list(rows[1]))
        return response

    def fetch_rows(self, region: str, response: Mapping[str, Any]) -> tuple[list[RequestRecord], list[ChunkTiming]]:
        return self._rows.pop(id(response), ([], []))


def fleet_invoker(boto3_session: Any = None) -> Any:
    """Lambda (lens.fleet.lambda_) when a fleet config and AWS credentials exist, else a
    started local fleet (the caller closes it). Same rule as lens.fleet.fire's default."""
    from lens.fleet.config import load_fleet_config

    config = load_fleet_config()
    if config is not None:
        try:
            import boto3

            session = boto3_session or boto3.Session()
            if session.get_credentials() is not None:
                from lens.fleet.lambda_ import LambdaInvoker

                return LambdaInvoker(config, boto3_session=session)
        except ImportError:
            pass
    from lens.fleet.local import LocalFleet

    return LocalFleet().start()


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
