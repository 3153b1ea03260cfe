"""0005: multi-turn sessions, stalls, what the server said about itself, client lag."""

from __future__ import annotations

import sqlalchemy as sa

from lens.store.migrations import add_columns
from lens.store.schema import REQUESTS

COLUMNS = (
    "session_id",
    "turn",
    "stalls",
    "system_fingerprint",
    "server_model",
    "routing",
    "client_lag_ms",
)


def up(conn: sa.Connection) -> None:
    add_columns(conn, REQUESTS, COLUMNS)
