"""Fast reads of request/chunk rows from a SQLite store (ADBC when installed, else sqlite3).

SQLite stores are read directly, not through SQLAlchemy: about 3x less CPU per row
(bench/analysis_load.py). Server databases (PostgreSQL) go through lens.store.read_server.
"""

from __future__ import annotations

import os
import sqlite3
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from lens.errors import NotFoundError, StoreError
from lens.record.columns import CHUNK_FIELDS, COST_FIELDS, REQUEST_FIELDS, Column
from lens.record.frames import PANDAS_DTYPES


def _sqlite_path(db: str | os.PathLike[str]) -> str:
    s = os.path.expanduser(os.fspath(db))
    if "://" in s:
        s = s.split(":///", 1)[1] if ":///" in s else s.split("://", 1)[1]
    if not Path(s).is_file():
        raise NotFoundError(f"SQLite store {s!r} does not exist",
                            hint="pass the path of a lens store (lens run --db PATH creates one)")
    return s


def _resolve_runs(con: sqlite3.Connection, path: str, runs: list[str]) -> list[str]:
    """Run ids as the CLI takes them (exact, 'latest', a unique prefix); one that names no
    run is an error, not an empty frame the caller cannot tell from an empty run."""
    if not _table_columns(con, "runs"):
        return runs
    out = []
    for rid in runs:
        exact = "SELECT 1 FROM runs WHERE run_id = ? UNION ALL SELECT 1 FROM requests WHERE run_id = ? LIMIT 1"
        if con.execute(exact, (rid, rid)).fetchone():
            out.append(rid)
            continue
        if rid == "latest":
            found = con.execute("SELECT run_id FROM runs ORDER BY started_at DESC LIMIT 1").fetchall()
        else:
            like = rid.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
            found = con.execute("SELECT run_id FROM runs WHERE run_id LIKE ? ESCAPE '\\' LIMIT 2",
                                (like,)).fetchall()
        if len(found) != 1:
            what = "is ambiguous" if found else "matches no run"
            raise NotFoundError(f"run '{rid}' {what} in {path}",
                                hint="list the runs with `lens runs --db PATH` and give a full run id")
        out.append(str(found[0][0]))
    return out


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
                                  format="ISO8601").astype(PANDAS_DTYPES["timestamp"])
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


def load_sqlite(
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
        if runs:
            runs = _resolve_runs(con, path, runs)
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
