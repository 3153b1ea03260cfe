"""Tables beside runs/requests/chunks: per-store settings and opt-in redacted text samples.

They live on their own MetaData (not lens.store.schema.metadata) because they are not
derived from the record; migrations 0002 and 0003 create them.

- ``settings``: key/value text, e.g. ``retention_days`` (see lens.store.retention).
- ``text_samples``: redacted prompt/response text of a request, written only when an
  embedded sink is created with ``keep_text=True``; deleted with its request.
"""

from __future__ import annotations

import sqlalchemy as sa

from lens.store.schema import UTCDateTime

extra_metadata = sa.MetaData()

SETTINGS: sa.Table = sa.Table(
    "settings",
    extra_metadata,
    sa.Column("key", sa.String(), primary_key=True),
    sa.Column("value", sa.Text(), nullable=False),
)

TEXT_SAMPLES: sa.Table = sa.Table(
    "text_samples",
    extra_metadata,
    sa.Column("run_id", sa.String(), primary_key=True),
    sa.Column("request_id", sa.Text(), primary_key=True),
    sa.Column("created_at", UTCDateTime(), nullable=False),
    sa.Column("prompt_text", sa.Text(), nullable=True),
    sa.Column("response_text", sa.Text(), nullable=True),
    sa.ForeignKeyConstraint(
        ["run_id", "request_id"],
        ["requests.run_id", "requests.request_id"],
        ondelete="CASCADE",
    ),
)

SETTINGS_COLUMNS: tuple[str, ...] = ("key", "value")
TEXT_SAMPLE_COLUMNS: tuple[str, ...] = (
    "run_id", "request_id", "created_at", "prompt_text", "response_text",
)  # fmt: skip
