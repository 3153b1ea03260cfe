"""pandas frames of request and chunk rows with fixed, documented dtypes.

Dtypes follow lens.probe.record: ``category`` columns are pandas categoricals, ``int`` are
nullable ``Int64``, ``float`` are ``float64`` (NaN for null), ``bool`` are nullable
``boolean``, ``timestamp`` is ``datetime64[us, UTC]`` (microseconds, pandas 3's default), ``str`` is ``object`` (str or None).
Every loader returns frames through ``conform`` so the same query gives the same dtypes
whatever the source (SQLite, Parquet, CSV, JSONL, S3, Athena).
"""

from __future__ import annotations

import os
import sqlite3
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from lens.errors import ConfigError, NotFoundError, StoreError, require
from lens.probe.record import (
    CHUNK_FIELDS,
    COST_FIELDS,
    REQUEST_FIELDS,
    ChunkTiming,
    Column,
    RequestRecord,
)

_PANDAS: dict[str, Any] = {
    "str": "object",
    "category": "category",
    "int": "Int64",
    "float": "float64",
    "bool": "boolean",
    "timestamp": "datetime64[us, UTC]",
}

REQUEST_DTYPES: dict[str, Any] = {c.name: _PANDAS[c.type] for c in REQUEST_FIELDS}
CHUNK_DTYPES: dict[str, Any] = {c.name: _PANDAS[c.type] for c in CHUNK_FIELDS}
COST_DTYPES: dict[str, Any] = {c.name: _PANDAS[c.type] for c in COST_FIELDS}


def _conform_column(s: pd.Series, col: Column) -> pd.Series:
    kind = col.type
    if kind != "str" and str(s.dtype) == str(_PANDAS[kind]):
        return s
    if kind == "timestamp":
        if not len(s) or isinstance(s.dtype, pd.DatetimeTZDtype):
            return s.astype(_PANDAS[kind])
        try:  # ISO 8601 (what every lens store and export writes) parses ~5x faster
            parsed = pd.to_datetime(s, utc=True, format="ISO8601")
        except (ValueError, TypeError):
            parsed = pd.to_datetime(s, utc=True, format="mixed")
        return parsed.astype(_PANDAS[kind])
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


# --------------------------------------------------------------------------------------
# Loaders
# --------------------------------------------------------------------------------------

_FILE_READERS = {".parquet": "parquet", ".pq": "parquet", ".csv": "csv", ".jsonl": "jsonl",
                 ".ndjson": "jsonl", ".json": "jsonl"}
_CHUNK_SUFFIXES = (".chunks", "_chunks", "-chunks")


def _as_list(v: str | Iterable[str] | None) -> list[str] | None:
    if v is None:
        return None
    return [v] if isinstance(v, str) else list(v)


def _as_utc(v: Any, name: str) -> pd.Timestamp | None:
    if v is None:
        return None
    try:
        ts = pd.Timestamp(v)
    except (ValueError, TypeError) as exc:
        raise ConfigError(f"cannot read {v!r} as a time", field=name,
                          hint="use an ISO date such as 2026-01-31 or 2026-01-31T12:00Z") from exc
    return ts.tz_localize("UTC") if ts.tzinfo is None else ts.tz_convert("UTC")


def _is_server_url(db: str | os.PathLike[str]) -> bool:
    s = os.fspath(db)
    return "://" in s and not s.startswith("sqlite:")


def _sqlite_path(db: str | os.PathLike[str]) -> str:
    s = os.path.expanduser(os.fspath(db))
    if "://" in s:
        s = s.split(":///", 1)[1] if ":///" in s else s.split("://", 1)[1]
    if not Path(s).is_file():
        raise NotFoundError(f"SQLite store {s!r} does not exist",
                            hint="pass the path of a lens store (lens run --db PATH creates one)")
    return s


def _table_columns(con: sqlite3.Connection, table: str) -> list[str]:
    return [row[1] for row in con.execute(f'PRAGMA table_info("{table}")')]


def _sql_filters(
    con: sqlite3.Connection, runs: list[str] | None, tags: Mapping[str, str] | None,
    since: pd.Timestamp | None, until: pd.Timestamp | None, targets: list[str] | None,
    include_warmup: bool,
) -> tuple[str, list[Any]]:
    """WHERE clause over ``requests r``; time bounds are coarse (by date text) and refined
    in pandas, because stores may keep timestamps as 'YYYY-MM-DD HH:MM:SS' or ISO 'T' text."""
    where: list[str] = []
    params: list[Any] = []
    if runs:
        where.append(f"r.run_id IN ({','.join('?' * len(runs))})")
        params += runs
    if targets:
        where.append(f"r.target IN ({','.join('?' * len(targets))})")
        params += targets
    if tags:
        run_cols = _table_columns(con, "runs")
        tag_col = next((c for c in ("tags_json", "tags") if c in run_cols), None)
        if tag_col is None:
            raise StoreError("this store has no runs.tags_json column; cannot filter by tags",
                             hint="filter by runs= instead")
        for key, value in tags.items():
            where.append(f"r.run_id IN (SELECT run_id FROM runs WHERE json_extract({tag_col}, ?) = ?)")
            params += [f'$."{key}"', str(value)]
    if since is not None:
        where.append("substr(r.started_at, 1, 10) >= ?")
        params.append(since.strftime("%Y-%m-%d"))
    if until is not None:
        where.append("substr(r.started_at, 1, 10) <= ?")
        params.append(until.strftime("%Y-%m-%d"))
    if not include_warmup:
        where.append("(r.warmup IS NULL OR r.warmup = 0)")
    return (" WHERE " + " AND ".join(where)) if where else "", params


def _masked(arr: np.ndarray, kind: str) -> Any:
    """float64 with NaN for null -> nullable Int64 / boolean without a Python loop."""
    mask = np.isnan(arr)
    filled = np.where(mask, 0, arr)
    if kind == "bool":
        return pd.arrays.BooleanArray(filled != 0, mask)
    return pd.arrays.IntegerArray(filled.astype("int64"), mask)


_BATCH_ROWS = 100_000


def _batch_array(values: tuple[Any, ...], kind: str) -> np.ndarray:
    if kind in ("float", "int", "bool"):
        try:
            return np.array(values, dtype="float64")  # None -> NaN; ints exact below 2**53
        except (TypeError, ValueError):
            pass
    return np.array(values, dtype=object)


def _finish_column(parts: list[np.ndarray], kind: str) -> Any:
    arr = np.concatenate(parts) if len(parts) > 1 else parts[0]
    if arr.dtype == np.float64:
        return arr if kind == "float" else _masked(arr, kind)
    if kind == "category":
        return pd.Categorical(arr)
    if kind == "timestamp" and len(arr) and all(isinstance(v, str) for v in arr[:1000]):
        try:
            return pd.to_datetime(pd.Series(arr, dtype=object), utc=True,
                                  format="ISO8601").astype(_PANDAS["timestamp"])
        except (ValueError, TypeError):
            pass
    return arr


def _read_sql(con: sqlite3.Connection, sql: str, params: list[Any],
              fields: Sequence[Column]) -> pd.DataFrame:
    """Run ``sql`` and build columns straight into their dtypes.

    The fallback when the ADBC driver is missing. Materialising rows is the floor (sqlite3
    makes one Python object per value); rows are fetched in batches and each batch is
    transposed into typed numpy arrays at once, which bounds peak memory (about as fast
    as pandas.read_sql; see bench/analysis_load.py and docs/benchmarks.md).
    """
    cur = con.execute(sql, params)
    names = [d[0] for d in cur.description]
    by_name = {c.name: c for c in fields}
    kinds = [by_name[n].type if n in by_name else "str" for n in names]
    parts: list[list[np.ndarray]] = [[] for _ in names]
    while rows := cur.fetchmany(_BATCH_ROWS):
        for i, values in enumerate(zip(*rows, strict=True)):
            parts[i].append(_batch_array(values, kinds[i]))
        del rows
    if not parts or not parts[0]:
        return pd.DataFrame({n: pd.Series([], dtype=object) for n in names})
    return pd.DataFrame({n: _finish_column(p, k) for n, p, k in zip(names, parts, kinds,
                                                                    strict=True)})


# ADBC's SQLite driver builds Arrow columns in C (about 3x less CPU than sqlite3 rows:
# bench/analysis_load.py). It infers each column's type from the first rows and fails when
# a later row disagrees (a float column that starts NULL), so a typed first row, dropped
# after the fetch, pins every column's type.
_PIN = {"float": "0.0", "int": "0", "bool": "0", "str": "''", "category": "''", "timestamp": "''"}
USE_ADBC = True  # tests switch this off to cover the sqlite3 path


def _query(con: sqlite3.Connection, path: str, select: Sequence[tuple[str, Column]],
           tail: str, params: list[Any]) -> pd.DataFrame:
    """``SELECT <select> <tail>`` as a frame (columns named after the Columns)."""
    if USE_ADBC:
        try:
            return _query_adbc(path, select, tail, params)
        except Exception:  # driver not installed, or e.g. a column holding mixed types
            pass
    cols = ", ".join(f'{expr} AS "{col.name}"' for expr, col in select)
    return _read_sql(con, f"SELECT {cols} {tail}", params, [c for _, c in select])


def _query_adbc(path: str, select: Sequence[tuple[str, Column]], tail: str,
                params: list[Any]) -> pd.DataFrame:
    import adbc_driver_sqlite.dbapi as adbc
    import pyarrow.compute as pc

    head = ", ".join(["1 AS _lens_pin", *(f'{_PIN[c.type]} AS "{c.name}"' for _, c in select)])
    body = ", ".join(["0", *(expr for expr, _ in select)])
    with adbc.connect(f"file:{path}?mode=ro") as conn, conn.cursor() as cur:
        cur.execute(f"SELECT {head} UNION ALL SELECT {body} {tail}", params or None)
        table = cur.fetch_arrow_table()
    pin = table["_lens_pin"]
    if len(pin) and pin[0].as_py() == 1 and pc.sum(pin).as_py() == 1:
        table = table.slice(1)  # SQLite returns UNION ALL arms in order: zero-copy drop
    else:
        table = table.filter(pc.equal(pin, 0))
    table = table.drop_columns(["_lens_pin"])
    df = table.to_pandas()
    for _, col in select:
        if col.type == "timestamp" and len(df):
            try:
                df[col.name] = pd.to_datetime(df[col.name], utc=True, format="ISO8601")
            except (ValueError, TypeError):
                pass  # conform parses mixed formats
    return df


def _load_sqlite(
    db: str | os.PathLike[str], *, runs: list[str] | None, tags: Mapping[str, str] | None,
    since: pd.Timestamp | None, until: pd.Timestamp | None, targets: list[str] | None,
    chunks: bool, include_warmup: bool,
) -> tuple[pd.DataFrame, pd.DataFrame | None]:
    path = _sqlite_path(db)
    con = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    try:
        have = set(_table_columns(con, "requests"))
        if not have:
            raise StoreError(f"{path}: no 'requests' table", hint="is this a lens store?")
        select = [(f'r."{c.name}"', c) for c in (*REQUEST_FIELDS, *COST_FIELDS) if c.name in have]
        where, params = _sql_filters(con, runs, tags, since, until, targets, include_warmup)
        req = _query(con, path, select, f"FROM requests r{where}", params)
        ch = None
        if chunks:
            chave = set(_table_columns(con, "chunks"))
            cselect = [(f'c."{c.name}"', c) for c in CHUNK_FIELDS if c.name in chave]
            on = "c.request_id = r.request_id" + (" AND c.run_id = r.run_id"
                                                  if "run_id" in chave else "")
            tail = f'FROM chunks c JOIN requests r ON {on}{where} ORDER BY "request_id", "index"'
            ch = _query(con, path, cselect, tail, params) if chave else pd.DataFrame()
    finally:
        con.close()
    return req, ch


def _load_store_url(
    url: str, *, runs: list[str] | None, tags: Mapping[str, str] | None, chunks: bool,
) -> tuple[pd.DataFrame, pd.DataFrame | None]:
    """A database server store (PostgreSQL URL): read through the store's public API, one
    run at a time; the caller applies the remaining filters."""
    from lens.store.sqlite import open_store

    store = open_store(url)
    try:
        ids: list[str | None] = list(runs) if runs else [None]
        if tags:
            ids = [r.run_id for r in store.list_runs()
                   if all(r.tags.get(k) == str(v) for k, v in tags.items())
                   and (not runs or r.run_id in runs)]
        empty = [store.requests_frame("\0")] if not ids else []
        req = pd.concat([store.requests_frame(i) for i in ids] + empty, ignore_index=True)
        ch = None
        if chunks:
            ch = pd.concat([store.chunks_frame(i) for i in ids] or [store.chunks_frame("\0")],
                           ignore_index=True)
    finally:
        store.close()
    return req, ch


def _read_file(path: Path, fields: Sequence[Column] = REQUEST_FIELDS) -> pd.DataFrame:
    """One exported file (or a Parquet dataset directory) as a frame.

    Files go through lens.store.files.read_frame, the reader paired with ``lens export``
    (CSV ``\\N`` nulls, JSONL typing), so a round trip keeps every value.
    """
    if path.is_dir():
        return pd.read_parquet(path)
    kind = _FILE_READERS.get(path.suffix.lower())
    if kind is None:
        raise ConfigError(f"unknown file type {path.suffix!r}", source=str(path),
                          hint="use .parquet, .csv or .jsonl (as written by `lens export`)")
    from lens.store.files import read_frame

    return read_frame(path, kind, fields)


def chunk_path_for(path: str | os.PathLike[str]) -> Path | None:
    """The sibling chunk file of an exported request file, if it exists.

    Tries ``NAME.chunks.EXT``, ``NAME_chunks.EXT`` and ``NAME-chunks.EXT`` next to
    ``NAME.EXT`` (and ``chunks`` beside a ``requests`` dataset directory).
    """
    p = Path(path)
    if p.is_dir() and p.name == "requests":
        cand = p.with_name("chunks")
        return cand if cand.exists() else None
    for suffix in _CHUNK_SUFFIXES:
        cand = p.with_name(f"{p.stem}{suffix}{p.suffix}")
        if cand.exists():
            return cand
    return None


def _filter_frame(
    df: pd.DataFrame, *, runs: list[str] | None, since: pd.Timestamp | None,
    until: pd.Timestamp | None, targets: list[str] | None, include_warmup: bool,
) -> pd.DataFrame:
    mask = pd.Series(True, index=df.index)
    if runs:
        mask &= df["run_id"].isin(runs)
    if targets:
        mask &= df["target"].astype("object").isin(targets)
    if since is not None:
        mask &= df["started_at"] >= since
    if until is not None:
        # a bare date means "through the end of that day"
        if until == until.normalize():
            mask &= df["started_at"] < until + pd.Timedelta(days=1)
        else:
            mask &= df["started_at"] <= until
    if not include_warmup:
        mask &= ~df["warmup"].fillna(False).astype(bool)
    return df if bool(mask.all()) else df.loc[mask].reset_index(drop=True)


def load(
    db: str | os.PathLike[str] | None = None,
    *,
    runs: str | Iterable[str] | None = None,
    tags: Mapping[str, str] | None = None,
    since: Any = None,
    until: Any = None,
    target: str | Iterable[str] | None = None,
    path: str | os.PathLike[str] | None = None,
    s3: str | None = None,
    athena: str | None = None,
    chunks: bool = False,
    include_warmup: bool = True,
    boto3_session: Any = None,
    chunks_path: str | os.PathLike[str] | None = None,
    athena_options: Mapping[str, Any] | None = None,
) -> pd.DataFrame | tuple[pd.DataFrame, pd.DataFrame]:
    """Load request rows (and, with ``chunks=True``, their chunk timings) as pandas frames.

    Exactly one source: ``db`` (a SQLite store path or ``sqlite:///`` URL, read directly
    with sqlite3 for speed; or a PostgreSQL URL, read through lens.store; default
    ``$LENS_DB``, else the default store path of lens.store.paths), ``path`` (a Parquet/CSV/JSONL export or a Parquet directory; chunks come
    from the sibling file, see ``chunk_path_for``, or ``chunks_path``), ``s3`` (an S3 Parquet
    dataset URI, via lens.store.s3.read_dataset) or ``athena`` (an SQL query, via
    lens.store.s3.athena_query; ``athena_options`` are passed through). The AWS sources need
    the ``aws`` extra and take ``boto3_session``.

    Filters apply to every source: ``runs`` (run ids), ``tags`` (run tags, SQLite only),
    ``since``/``until`` (``started_at`` bounds, UTC; a bare date as ``until`` includes that
    whole day), ``target`` (target names), ``include_warmup``.

    Returns the request frame with the dtypes in REQUEST_DTYPES (see the module docstring),
    or ``(requests, chunks)`` when ``chunks=True`` (chunks in CHUNK_DTYPES, only for the
    selected requests).
    """
    if db is not None and not isinstance(db, str | os.PathLike) and hasattr(db, "url"):
        db = str(db.url)  # a lens.store SQLStore
    sources = {k: v for k, v in (("db", db), ("path", path), ("s3", s3), ("athena", athena))
               if v is not None}
    if len(sources) > 1:
        raise ConfigError(f"give one data source, got {', '.join(sources)}",
                          hint="pass only one of db=, path=, s3=, athena=")
    if not sources:
        from lens.store.paths import resolve_db

        sources = {"db": resolve_db()}  # $LENS_DB, else the default store path
    run_list, targets = _as_list(runs), _as_list(target)
    t0, t1 = _as_utc(since, "since"), _as_utc(until, "until")
    kind, src = next(iter(sources.items()))
    if tags and kind != "db":
        raise ConfigError("tags filter needs the SQLite store (runs table)", field="tags",
                          hint="filter by runs= instead, or load from db=")
    ch: pd.DataFrame | None = None
    if kind == "db" and "://" in os.fspath(src) and not os.fspath(src).startswith("sqlite"):
        from lens.store.sql_read import load_frames  # PostgreSQL and other server URLs

        req, ch = load_frames(os.fspath(src), runs=run_list, tags=tags, since=t0, until=t1,
                              targets=targets, chunks=chunks, include_warmup=include_warmup)
    elif kind == "db":
        req, ch = _load_sqlite(src, runs=run_list, tags=tags, since=t0, until=t1,
                               targets=targets, chunks=chunks, include_warmup=include_warmup)
    elif kind == "path":
        p = Path(src)
        if not p.exists():
            raise NotFoundError(f"{p}: no such file", hint="check the path of the export")
        req = _read_file(p)
        if chunks:
            cp = Path(chunks_path) if chunks_path else chunk_path_for(p)
            if cp is None or not cp.exists():
                raise NotFoundError(f"{p}: no chunk file beside it",
                                    hint="export with chunks or pass chunks_path=")
            ch = _read_file(cp, CHUNK_FIELDS)
    else:
        s3mod = require("lens.store.s3", "aws")
        if kind == "s3":
            # one run: let the reader skip other run_id partitions
            pf = {"run_id": run_list[0]} if run_list and len(run_list) == 1 else None
            req = s3mod.read_dataset(src, boto3_session=boto3_session, partition_filter=pf)
            if chunks:
                uri = chunks_path or str(src).rstrip("/").rsplit("/requests", 1)[0] + "/chunks/"
                ch = s3mod.read_dataset(str(uri), boto3_session=boto3_session, table="chunks",
                                        partition_filter=pf)
        else:
            req = s3mod.athena_query(src, boto3_session=boto3_session, **dict(athena_options or {}))
            if chunks:
                raise ConfigError("chunks=True is not available for athena=",
                                  hint="query the chunks table with a second athena= call")
    out = _filter_frame(conform(req, REQUEST_FIELDS), runs=run_list, since=t0, until=t1,
                        targets=targets, include_warmup=include_warmup)
    if not chunks:
        return out
    cf = conform(ch if ch is not None else pd.DataFrame(), CHUNK_FIELDS)
    if kind != "db" or _is_server_url(src):
        cf = cf.loc[cf["request_id"].isin(out["request_id"])].reset_index(drop=True)
    return out, cf
