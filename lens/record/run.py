"""A run: one burst (or one import), the row of the ``runs`` table, and its id format."""

from __future__ import annotations

import secrets
import time
from dataclasses import asdict, dataclass, field
from datetime import datetime
from typing import Any


def new_run_id() -> str:
    """A sortable, unique run id: UTC time + 6 random hex digits."""
    return time.strftime("%Y%m%d-%H%M%S", time.gmtime()) + "-" + secrets.token_hex(3)


@dataclass(slots=True)
class RunInfo:
    """One run's metadata: what fired it, where, when, and how it ended."""

    run_id: str
    name: str
    started_at: datetime
    spec_json: str = "{}"
    finished_at: datetime | None = None
    status: str = "running"  # running | complete | incomplete | failed
    host: str = ""
    user: str = ""
    region: str = "local"
    runner: str = "local"
    lens_version: str = ""
    tags: dict[str, str] = field(default_factory=dict)
    skipped: int = 0
    n_requests: int = 0
    extra: dict[str, Any] = field(default_factory=dict)


def run_info_dict(run: RunInfo) -> dict[str, Any]:
    """RunInfo as JSON-ready data (timestamps ISO 8601 UTC)."""
    d = asdict(run)
    for k in ("started_at", "finished_at"):
        if d[k] is not None:
            d[k] = d[k].isoformat()
    return d


def run_info_from_dict(d: dict[str, Any]) -> RunInfo:
    """The inverse of :func:`run_info_dict`."""
    d = dict(d)
    for k in ("started_at", "finished_at"):
        if d.get(k):
            d[k] = datetime.fromisoformat(d[k])
    return RunInfo(**d)
