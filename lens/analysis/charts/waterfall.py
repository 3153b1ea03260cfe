"""Token-arrival waterfall: each request's chunk arrival times on its own row."""

from __future__ import annotations

from collections.abc import Sequence

import altair as alt
import pandas as pd

from lens.analysis.charts.theme import MAX_ROWS, plain


def token_waterfall(chunks: pd.DataFrame, request_ids: Sequence[str] | None = None,
                    n: int = 8) -> alt.LayerChart | alt.FacetChart:
    """Chunks of ``request_ids`` (default: the first ``n`` requests): a rule from 0 to the
    last chunk and a point per chunk at ``t_ms``, coloured by kind, sized by tokens."""
    ids = list(request_ids) if request_ids is not None else \
        list(pd.unique(chunks["request_id"].astype("object")))[:n]
    c = chunks.loc[chunks["request_id"].astype("object").isin(ids)]
    c = plain(c[["request_id", "index", "t_ms", "kind", "n_tokens"]]).head(MAX_ROWS)
    spans = c.groupby("request_id", as_index=False).agg(first_ms=("t_ms", "min"),
                                                        last_ms=("t_ms", "max"),
                                                        chunks=("index", "count"))
    spans["zero"] = 0.0
    y = alt.Y("request_id:N", title="request", sort=ids)
    rule = alt.Chart(spans).mark_rule(color="#bbb").encode(
        x=alt.X("zero:Q", title="ms from request start"), x2="last_ms:Q", y=y,
        tooltip=[alt.Tooltip("request_id:N"), alt.Tooltip("first_ms:Q", format=".1f"),
                 alt.Tooltip("last_ms:Q", format=".1f"), alt.Tooltip("chunks:Q")])
    pts = alt.Chart(c).mark_point(filled=True).encode(
        x="t_ms:Q", y=y, color=alt.Color("kind:N", title="event kind"),
        size=alt.Size("n_tokens:Q", title="tokens", scale=alt.Scale(range=[15, 120])),
        tooltip=[alt.Tooltip("request_id:N"), alt.Tooltip("index:Q"),
                 alt.Tooltip("t_ms:Q", format=".1f"), alt.Tooltip("kind:N"),
                 alt.Tooltip("n_tokens:Q")])
    return alt.layer(rule, pts, title="Token arrival (chunk times)")
