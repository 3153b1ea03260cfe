"""0002: a key/value ``settings`` table (per-store retention and future options)."""

from __future__ import annotations

import sqlalchemy as sa

from lens.store.extra_tables import SETTINGS, SETTINGS_COLUMNS
from lens.store.migrations import create_table


def up(conn: sa.Connection) -> None:
    create_table(conn, SETTINGS, SETTINGS_COLUMNS)
