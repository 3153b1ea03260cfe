"""Checks every import path runs before storing rows it did not measure itself (#17 item 13).

``lens import`` of a hostile or broken file used to end in a raw traceback (duplicate request
ids, a 100,000-deep JSON line, a bad timestamp in the ``.meta.json``) or in silence
(NaN, infinite or negative times and counts stored; chunk rows whose request id matches
no request dropped). These helpers turn each into one plain message naming the file, the
row and the fix; lens.store.files_import (``import_run``) and lens.importers (``check_frame``,
the lens-export importer) both use them.
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterable, Sequence
from datetime import UTC, datetime
from typing import Any

import pandas as pd

from lens.errors import StoreError

__all__ = [
    "bad_number",
    "check_chunk_owners",
    "json_line",
    "meta_time",
    "positions_repeated",
    "rows_text",
]

_SHOW = 3


def json_line(line: str) -> Any:
    """``json.loads`` for one row: NaN/Infinity are refused (they are not JSON, and lens's
    numbers are never either), and nesting too deep to parse is a ValueError, not a
    RecursionError."""

    def constant(name: str) -> Any:
        raise ValueError(f"{name} is not a JSON number (write null for no value)")

    try:
        return json.loads(line, parse_constant=constant)
    except RecursionError:
        raise ValueError("values are nested too deeply to be a row") from None


def bad_number(value: float) -> str | None:
    """Why a value cannot be one of lens's times or counts (None when it can): every
    numeric column holds a finite, non-negative number."""
    if math.isinf(value):
        return "is not a finite number"
    if value < 0:
        return "is negative (lens's times and counts never are)"
    return None


def positions_repeated(keys: Iterable[Any]) -> list[int]:
    """0-based positions of keys seen before (the first of each is not listed)."""
    seen: set[Any] = set()
    out = []
    for pos, k in enumerate(keys):
        if k in seen:
            out.append(pos)
        else:
            seen.add(k)
    return out


def rows_text(rows: Sequence[int], header_lines: int = 0) -> str:
    """'row 4 (line 5)' / 'rows 4, 9 and 12 more' for 0-based positions."""
    first = f"row {rows[0] + 1}" + (f" (line {rows[0] + 1 + header_lines})" if header_lines else "")
    if len(rows) == 1:
        return first
    shown = ", ".join(str(r + 1) for r in rows[1 : 1 + _SHOW])
    rest = len(rows) - 1 - _SHOW
    return f"{first}; also rows {shown}" + (f" and {rest} more" if rest > 0 else "")


def check_chunk_owners(request_ids: Iterable[Any], chunk_ids: Sequence[Any], source: str,
                       *, header_lines: int = 0) -> None:
    """StoreError when chunk rows name request ids no request row has (they would be
    dropped, or stored with no request to belong to)."""
    known = {str(r) for r in request_ids}
    orphans = [pos for pos, rid in enumerate(chunk_ids) if str(rid) not in known]
    if orphans:
        raise StoreError(
            f"{source}: {len(orphans)} chunk row{'s belong' if len(orphans) != 1 else ' belongs'} to no "
            f"request in the request file: {rows_text(orphans, header_lines)} has request_id "
            f"{str(chunk_ids[orphans[0]])[:60]!r}",
            hint="import the chunk file exported with that request file (or remove those rows)")


def meta_time(value: Any, source: str, field: str) -> datetime | None:
    """A timestamp from a ``.meta.json`` (ISO 8601), or StoreError naming the field."""
    if value is None or value == "":
        return None
    try:
        ts = pd.Timestamp(value)
        if ts is pd.NaT:
            raise ValueError
    except (TypeError, ValueError, OverflowError):
        raise StoreError(
            f"{source}: {field} holds {str(value)[:60]!r}, which is not a date and time",
            hint="write it in ISO 8601 (e.g. 2026-01-31T12:00:00Z), or re-export the run with `lens export`",
        ) from None
    dt = ts.to_pydatetime()
    return dt if dt.tzinfo is not None else dt.replace(tzinfo=UTC)
