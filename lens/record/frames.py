"""pandas frames of request and chunk rows with fixed, documented dtypes.

Dtypes follow lens.record.columns: ``category`` columns are pandas categoricals, ``int`` are
nullable ``Int64``, ``float`` are ``float64`` (NaN for null), ``bool`` are nullable
``boolean``, ``timestamp`` is ``datetime64[us, UTC]`` (microseconds, pandas 3's default),
``str`` is ``object`` (str or None). Every reader returns frames through ``conform`` so the
same query gives the same dtypes whatever the source (SQLite, Parquet, CSV, JSONL, S3, Athena).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

import pandas as pd

from lens.record.columns import CHUNK_FIELDS, COST_FIELDS, REQUEST_FIELDS, Column
from lens.record.types import ChunkTiming, RequestRecord

PANDAS_DTYPES: dict[str, Any] = {
    "str": "object",
    "category": "category",
    "int": "Int64",
    "float": "float64",
    "bool": "boolean",
    "timestamp": "datetime64[us, UTC]",
}

REQUEST_DTYPES: dict[str, Any] = {c.name: PANDAS_DTYPES[c.type] for c in REQUEST_FIELDS}
CHUNK_DTYPES: dict[str, Any] = {c.name: PANDAS_DTYPES[c.type] for c in CHUNK_FIELDS}
COST_DTYPES: dict[str, Any] = {c.name: PANDAS_DTYPES[c.type] for c in COST_FIELDS}


def _conform_column(s: pd.Series, col: Column) -> pd.Series:
    kind = col.type
    if kind != "str" and str(s.dtype) == str(PANDAS_DTYPES[kind]):
        return s
    if kind == "timestamp":
        if not len(s) or isinstance(s.dtype, pd.DatetimeTZDtype):
            return s.astype(PANDAS_DTYPES[kind])
        try:  # ISO 8601 (what every lens store and export writes) parses ~5x faster
            parsed = pd.to_datetime(s, utc=True, format="ISO8601")
        except (ValueError, TypeError):
            parsed = pd.to_datetime(s, utc=True, format="mixed")
        return parsed.astype(PANDAS_DTYPES[kind])
    if kind == "str":
        return s.astype("object").where(s.notna(), None)
    if kind == "bool":
        if s.dtype == object:
            s = s.map(
                lambda v: v
                if v is None or isinstance(v, bool)
                else str(v).strip().lower() in ("1", "true", "t", "yes")
                if pd.notna(v)
                else None
            )
        return s.astype("boolean")
    if kind == "int":
        return pd.to_numeric(s, errors="coerce").astype("Int64")
    if kind == "float":
        return pd.to_numeric(s, errors="coerce").astype("float64")
    return s.astype("category")


def conform(df: pd.DataFrame, fields: Sequence[Column] = REQUEST_FIELDS) -> pd.DataFrame:
    """Give ``df`` the documented dtypes and column order; unknown extra columns are kept last.

    Missing record columns are added as nulls, so frames from older stores still line up.
    """
    out: dict[str, pd.Series] = {}
    n = len(df)
    extra_fields = [c for c in COST_FIELDS if c.name in df.columns]
    for col in (*fields, *extra_fields):
        s = df[col.name] if col.name in df.columns else pd.Series([None] * n, index=df.index)
        out[col.name] = _conform_column(s, col)
    known = {c.name for c in (*fields, *extra_fields)}
    for name in df.columns:
        if name not in known:
            out[name] = df[name]
    return pd.DataFrame(out, index=df.index)


def records_to_frame(records: Iterable[RequestRecord]) -> pd.DataFrame:
    """RequestRecords -> request frame with the documented dtypes."""
    rows = [r.to_dict() for r in records]
    df = pd.DataFrame(rows, columns=[c.name for c in REQUEST_FIELDS])
    return conform(df, REQUEST_FIELDS)


def chunks_to_frame(chunks: Iterable[ChunkTiming]) -> pd.DataFrame:
    """ChunkTimings -> chunk frame with the documented dtypes."""
    df = pd.DataFrame([c.to_dict() for c in chunks], columns=[c.name for c in CHUNK_FIELDS])
    return conform(df, CHUNK_FIELDS)


def without_warmup(df: pd.DataFrame) -> pd.DataFrame:
    """The measured rows: warm-up requests (``warmup`` true) left out; a frame without the
    column (a peer's import, a hand-made one) is all measured."""
    if "warmup" not in df.columns:
        return df
    return df.loc[~df["warmup"].fillna(False).astype(bool)]
