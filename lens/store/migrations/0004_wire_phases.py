"""0004: the real wire's columns: tcp/tls split, re-sent requests, SDK retry attempts, server-reported timing."""

from __future__ import annotations

import sqlalchemy as sa

from lens.store.migrations import add_columns
from lens.store.schema import REQUESTS

COLUMNS = (
    "server_prefill_ms",
    "server_decode_ms",
    "server_processing_ms",
    "tcp_ms",
    "tls_ms",
    "resent",
    "attempt",
)


def up(conn: sa.Connection) -> None:
    add_columns(conn, REQUESTS, COLUMNS)
