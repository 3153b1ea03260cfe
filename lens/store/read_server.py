"""Read request/chunk rows from a server database (PostgreSQL) for lens.store.read.load.

SQLite stores are read by frames.py's own fast sqlite3 path; any other SQLAlchemy URL
comes here. Filters match the SQLite loader's; time bounds are applied coarsely (a day
either side) and exactly by read._filter_frame afterwards.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

import pandas as pd
import sqlalchemy as sa

from lens.errors import StoreError
from lens.store.schema import CHUNK_NAMES, CHUNKS, REQUEST_NAMES, REQUESTS, RUNS
from lens.store.sql import normalize_url

__all__ = ["load_frames"]


def _tagged_runs(conn: sa.Connection, tags: Mapping[str, str]) -> list[str]:
    rows = conn.execute(sa.select(RUNS.c.run_id, RUNS.c.tags_json))
    return [
        r.run_id
        for r in rows
        if all(json.loads(r.tags_json or "{}").get(k) == str(v) for k, v in tags.items())
    ]


def load_frames(
    url: str,
    *,
    runs: list[str] | None = None,
    tags: Mapping[str, str] | None = None,
    since: pd.Timestamp | None = None,
    until: pd.Timestamp | None = None,
    targets: list[str] | None = None,
    chunks: bool = False,
    include_warmup: bool = True,
) -> tuple[pd.DataFrame, pd.DataFrame | None]:
    """(requests, chunks or None) as raw frames (callers conform the dtypes)."""
    try:
        engine = sa.create_engine(normalize_url(url))
    except (sa.exc.SQLAlchemyError, ImportError) as exc:
        raise StoreError(
            f"cannot open the store {url.split('://')[0]}://...: {exc}",
            hint="check the URL (postgresql://user@host/db) and that the postgres extra is installed",
        ) from None
    try:
        with engine.connect() as conn:
            q: Any = sa.select(*(REQUESTS.c[n] for n in REQUEST_NAMES))
            run_ids = list(runs) if runs else None
            if tags:
                tagged = _tagged_runs(conn, tags)
                run_ids = [r for r in (run_ids if run_ids is not None else tagged) if r in tagged]
            if run_ids is not None:
                q = q.where(REQUESTS.c.run_id.in_(run_ids))
            if targets:
                q = q.where(REQUESTS.c.target.in_(targets))
            if since is not None:
                q = q.where(REQUESTS.c.started_at >= (since - pd.Timedelta(days=1)).to_pydatetime())
            if until is not None:
                q = q.where(REQUESTS.c.started_at < (until + pd.Timedelta(days=2)).to_pydatetime())
            if not include_warmup:
                q = q.where(sa.or_(REQUESTS.c.warmup.is_(None), REQUESTS.c.warmup.is_(False)))
            rows = conn.execute(q.order_by(REQUESTS.c.started_at, REQUESTS.c.request_id)).all()
            req = pd.DataFrame([tuple(r) for r in rows], columns=list(REQUEST_NAMES))
            ch = None
            if chunks:
                sub = q.with_only_columns(REQUESTS.c.run_id, REQUESTS.c.request_id).subquery()
                cq = (
                    sa.select(*(CHUNKS.c[n] for n in CHUNK_NAMES))
                    .join(
                        sub,
                        sa.and_(
                            CHUNKS.c.run_id == sub.c.run_id, CHUNKS.c.request_id == sub.c.request_id
                        ),
                    )
                    .order_by(CHUNKS.c.request_id, CHUNKS.c["index"])
                )
                ch = pd.DataFrame([tuple(r) for r in conn.execute(cq)], columns=list(CHUNK_NAMES))
    except sa.exc.SQLAlchemyError as exc:
        raise StoreError(
            f"reading {engine.url.render_as_string(hide_password=True)} failed: {exc.__class__.__name__}",
            hint="is this a lens store? create it with `lens run --db URL`",
        ) from None
    finally:
        engine.dispose()
    return req, ch
