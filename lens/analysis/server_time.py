"""What the server says it spent, beside what lens measured: where does the time go?

Where a server reports its own timing (llama.cpp's ``timings.prompt_ms``, the
``openai-processing-ms`` header, Bedrock's ``latencyMs``), ``ttft_ms`` minus the server's
prefill is what the network, the server's queueing before it timed itself, and the client
add (docs/metrics.md, "Server-reported time").
"""

from __future__ import annotations

from collections.abc import Sequence

import pandas as pd

from lens.record.frames import without_warmup

__all__ = ["SERVER_COLUMNS", "server_split"]

# The server-reported time each source gives, in order of preference per request.
SERVER_COLUMNS: tuple[tuple[str, str], ...] = (
    ("server_prefill_ms", "server prefill (llama.cpp timings.prompt_ms)"),
    ("server_processing_ms", "server processing (openai-processing-ms)"),
    ("server_latency_ms", "server latency (Bedrock latencyMs)"),
)


def server_split(requests: pd.DataFrame, by: Sequence[str] = ("target",)) -> pd.DataFrame:
    """Per group: requests with server-reported time, its kind, median TTFT, median server
    time and median of (TTFT - server time) per request. Empty when no server reported.

    Successful, measured requests only. The server time used is the first of
    ``server_prefill_ms``, ``server_processing_ms``, ``server_latency_ms`` a request has.
    """
    d = requests
    if "status" in d.columns:
        d = d.loc[d["status"].astype("object") == "ok"]
    d = without_warmup(d)
    cols = [c for c, _ in SERVER_COLUMNS if c in d.columns]
    if d.empty or not cols:
        return pd.DataFrame()
    server = pd.Series(float("nan"), index=d.index)
    kind = pd.Series(None, index=d.index, dtype="object")
    for col, name in SERVER_COLUMNS:
        if col not in d.columns:
            continue
        v = pd.to_numeric(d[col], errors="coerce")
        take = server.isna() & v.notna()
        server[take] = v[take]
        kind[take] = name
    ttft = pd.to_numeric(d["ttft_ms"], errors="coerce")
    has = server.notna() & ttft.notna()
    if not has.any():
        return pd.DataFrame()
    keys = [k for k in by if k in d.columns]
    frame = pd.DataFrame({**{k: d[k].astype("object") for k in keys}, "ttft_ms": ttft,
                          "server_ms": server, "kind": kind}).loc[has]
    frame["outside_ms"] = frame["ttft_ms"] - frame["server_ms"]
    g = frame.groupby(keys, sort=False, observed=True) if keys else frame.groupby(lambda _: "all")
    out = pd.DataFrame({
        "requests": g.size(),
        "kind": g["kind"].agg(lambda s: ", ".join(sorted(set(s.dropna())))),
        "ttft_p50_ms": g["ttft_ms"].median(),
        "server_p50_ms": g["server_ms"].median(),
        "outside_p50_ms": g["outside_ms"].median(),
    })
    return out.reset_index()
