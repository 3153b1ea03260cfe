"""0003: ``text_samples``, redacted text kept only when a user opts in (keep_text=True)."""

from __future__ import annotations

import sqlalchemy as sa

from lens.store.extra_tables import TEXT_SAMPLE_COLUMNS, TEXT_SAMPLES
from lens.store.migrations import create_table


def up(conn: sa.Connection) -> None:
    create_table(conn, TEXT_SAMPLES, TEXT_SAMPLE_COLUMNS)
