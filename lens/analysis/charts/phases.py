"""Where the time goes before the first token: DNS, connect, send, wait for headers (TTFB),
headers to first token, as median milliseconds per group, stacked."""

from __future__ import annotations

import altair as alt
import numpy as np
import pandas as pd

from lens.analysis.charts.theme import measured

PHASES: tuple[str, ...] = ("dns", "connect", "send", "ttfb wait", "first token")


def phase_frame(df: pd.DataFrame, group: str = "target") -> pd.DataFrame:
    """Per group and phase: the median duration (ms) over ok, non-warm-up requests.

    Per request: dns = dns_ms, connect = connect_ms (0 when the connection was reused),
    send = sent_ms - dns - connect, ttfb wait = headers_ms - sent_ms, first token =
    ttft_ms - headers_ms. Medians of phases need not add up to the median TTFT.
    """
    d = measured(df)

    def col(name: str) -> np.ndarray:
        return pd.to_numeric(d[name], errors="coerce").to_numpy(dtype="float64")

    dns, conn = np.nan_to_num(col("dns_ms")), np.nan_to_num(col("connect_ms"))
    sent, head, ttft = col("sent_ms"), col("headers_ms"), col("ttft_ms")
    parts = pd.DataFrame({
        group: d[group].astype("object").to_numpy(),
        "dns": dns, "connect": conn, "send": np.clip(sent - dns - conn, 0, None),
        "ttfb wait": head - sent, "first token": ttft - head,
    })
    long = parts.melt(id_vars=[group], var_name="phase", value_name="ms")
    out = long.groupby([group, "phase"], sort=False)["ms"].median().reset_index()
    out["order"] = out["phase"].map({p: i for i, p in enumerate(PHASES)})
    return out.sort_values([group, "order"]).reset_index(drop=True)


def phase_breakdown(df: pd.DataFrame, group: str = "target") -> alt.Chart:
    """Stacked horizontal bars of the median phase durations per ``group``."""
    data = phase_frame(df, group)
    return alt.Chart(data, title="Where the time goes before the first token (medians)").mark_bar().encode(
        x=alt.X("ms:Q", title="ms from request start", stack="zero"),
        y=alt.Y(f"{group}:N", title=group),
        color=alt.Color("phase:N", sort=list(PHASES), title="phase"),
        order=alt.Order("order:Q"),
        tooltip=[alt.Tooltip(f"{group}:N"), alt.Tooltip("phase:N"),
                 alt.Tooltip("ms:Q", format=".2f", title="median ms")],
    )
