"""The client health of the runs a frame holds, for readers that only get the frame.

``lens gate`` reads a run's loop probe (``RunInfo.extra["client"]``) from the store beside
its rows; a notebook that calls ``lens.load(db)`` and ``lens.analysis.gate.evaluate`` gets
only the rows, whose fallback rule is far weaker (issue #16). :func:`attach_run_clients`
puts the probe on the frame (``frame.attrs["lens_client"]``, which pandas carries through
filtering), so every reader applies the same rule.
"""

from __future__ import annotations

import json
import os
import sqlite3
from typing import Any

import pandas as pd

__all__ = ["attach_run_clients"]

_MAX_RUNS = 1000  # a frame of more runs than this is an archive, not a comparison


def attach_run_clients(frame: pd.DataFrame, db: str | os.PathLike[str]) -> None:
    """Set ``frame.attrs["lens_client"]`` to the worst loop probe (highest p99 lag) of the
    frame's runs, when every one of them has a probe in store ``db``; else leave it unset
    (then the rows' ``client_lag_ms`` decide). Never raises: health is an addition."""
    if "run_id" not in frame.columns or frame.empty:
        return
    ids = [str(r) for r in frame["run_id"].dropna().unique()]
    if not ids or len(ids) > _MAX_RUNS:
        return
    try:
        clients = _clients(db, ids)
    except Exception:  # an older or foreign store: the rows decide
        return
    if len(clients) != len(ids):
        return
    frame.attrs["lens_client"] = max(clients.values(),
                                     key=lambda c: float(c.get("lag_p99_ms", 0.0)))


def _clients(db: str | os.PathLike[str], ids: list[str]) -> dict[str, dict[str, Any]]:
    s = os.fspath(db)
    if "://" in s and not s.startswith("sqlite"):
        from lens.store.sql import open_store

        store = open_store(s)
        try:
            runs = {i: store.get_run(i).extra.get("client") for i in ids}
        finally:
            store.close()
        return {i: dict(c) for i, c in runs.items() if isinstance(c, dict)}
    from lens.store.read_sqlite import _sqlite_path

    con = sqlite3.connect(f"file:{_sqlite_path(s)}?mode=ro", uri=True)
    try:
        marks = ",".join("?" * len(ids))
        rows = con.execute(f"SELECT run_id, extra_json FROM runs WHERE run_id IN ({marks})", ids)
        out: dict[str, dict[str, Any]] = {}
        for rid, extra in rows:
            client = json.loads(extra or "{}").get("client")
            if isinstance(client, dict) and "lag_p99_ms" in client:
                out[str(rid)] = client
        return out
    finally:
        con.close()
