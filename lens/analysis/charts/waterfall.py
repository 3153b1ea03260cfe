"""Token-arrival waterfall: each request's chunk arrival times on its own row."""

from __future__ import annotations

from collections.abc import Sequence

import altair as alt
import pandas as pd

from lens.analysis.charts.theme import MAX_ROWS, category_color, names_of, plain


def row_labels(ids: Sequence[str], requests: pd.DataFrame | None) -> dict[str, str]:
    """request id -> a row label people can read: 'sim-fast #2' (the target and the
    request's place among that target's requests by start time) when ``requests`` has the
    rows, else 'request 2'."""
    if requests is None or not {"request_id", "target"} <= set(requests.columns):
        return {rid: f"request {i + 1}" for i, rid in enumerate(ids)}
    r = requests[["request_id", "target"]].assign(
        request_id=requests["request_id"].astype("object"),
        target=requests["target"].astype("object"))
    if "started_at" in requests.columns:
        r = r.assign(_t=requests["started_at"]).sort_values("_t", kind="stable")
    r = r.assign(_k=r.groupby("target").cumcount() + 1).set_index("request_id")
    out = {}
    for i, rid in enumerate(ids):
        out[rid] = f"{r.at[rid, 'target']} #{r.at[rid, '_k']}" if rid in r.index else \
            f"request {i + 1}"
    return out


def token_waterfall(chunks: pd.DataFrame, request_ids: Sequence[str] | None = None,
                    n: int = 8, requests: pd.DataFrame | None = None
                    ) -> alt.LayerChart | alt.FacetChart:
    """Chunks of ``request_ids`` (default: the first ``n`` requests): a rule from 0 to the
    last chunk and a point per chunk at ``t_ms``, coloured by target when ``requests`` (the
    request frame) is given, else by event kind; rows are labelled by target and number."""
    ids = list(request_ids) if request_ids is not None else \
        list(pd.unique(chunks["request_id"].astype("object")))[:n]
    c = chunks.loc[chunks["request_id"].astype("object").isin(ids)]
    c = plain(c[["request_id", "index", "t_ms", "kind", "n_tokens"]]).head(MAX_ROWS)
    labels = row_labels(ids, requests)
    c["row"] = c["request_id"].map(labels)
    c["target"] = c["row"].str.rsplit(" #", n=1).str[0]
    spans = c.groupby(["row", "request_id"], as_index=False).agg(
        first_ms=("t_ms", "min"), last_ms=("t_ms", "max"), chunks=("index", "count"))
    spans["zero"] = 0.0
    y = alt.Y("row:N", title=None, sort=[labels[i] for i in ids])
    rule = alt.Chart(spans).mark_rule(color="#bbb").encode(
        x=alt.X("zero:Q", title="ms from request start"), x2="last_ms:Q", y=y,
        tooltip=[alt.Tooltip("row:N", title="request"), alt.Tooltip("request_id:N"),
                 alt.Tooltip("first_ms:Q", format=",.1f", title="first event (ms)"),
                 alt.Tooltip("last_ms:Q", format=",.1f", title="last event (ms)"),
                 alt.Tooltip("chunks:Q", title="events")])
    by_target = requests is not None and c["target"].ne(c["row"]).any()
    color = (category_color("target", names_of(c, "target")) if by_target
             else alt.Color("kind:N", title="event kind"))
    tokens = sorted({int(v) for v in c["n_tokens"].dropna()})
    legend_values = tokens if len(tokens) <= 5 else tokens[:: -(-len(tokens) // 5)]
    pts = alt.Chart(c).mark_point(filled=True).encode(
        x="t_ms:Q", y=y, color=color,
        size=alt.Size("n_tokens:Q", title="tokens in event", scale=alt.Scale(range=[15, 120]),
                      legend=alt.Legend(values=legend_values, format="d")),
        tooltip=[alt.Tooltip("row:N", title="request"), alt.Tooltip("index:Q", title="event"),
                 alt.Tooltip("t_ms:Q", format=",.1f", title="ms from start"),
                 alt.Tooltip("kind:N"), alt.Tooltip("n_tokens:Q", title="tokens")])
    return alt.layer(rule, pts, title="Token arrival: one row per request, a point per event")
