"""Check request or chunk rows against lens's columns and report *every* problem at once.

:func:`check_frame` is what ``lens import`` calls before storing anything: it looks at
every column of the file, collects every missing required column and every value that
would be stored as a null or a wrong value, and raises one :class:`PeerImportError` that
names the file and lists them all in plain words (values quoted as the file holds them,
never as Python or numpy objects). With no problem it returns the frame with lens's
dtypes (``lens.record.frames.conform``).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import pandas as pd

from lens.importers.base import PeerImportError
from lens.record import CHUNK_KINDS, REQUEST_FIELDS, STATUSES, Column
from lens.record.frames import conform
from lens.store.import_checks import bad_number, positions_repeated

ENUMS: dict[str, tuple[str, ...]] = {"status": STATUSES, "kind": CHUNK_KINDS}
_TRUE = frozenset(("1", "true", "t", "yes"))
_FALSE = frozenset(("0", "false", "f", "no"))
_WORDS = {"float": "a number", "int": "a whole number", "bool": "true or false",
          "timestamp": "a date and time (ISO 8601, e.g. 2026-01-31T12:00:00Z)"}
_SHOW_ROWS = 3
_INT_LIMIT = 2.0**63  # the stores' INTEGER is 64-bit signed


@dataclass(slots=True)
class Problem:
    """What is wrong with one column: missing, or bad values in some rows."""

    column: str
    what: str
    rows: list[int] = field(default_factory=list)  # 0-based positions of bad rows


def describe(value: Any) -> str:
    """A cell value in plain words: text in double quotes, numbers as written."""
    if is_null(value):
        return "an empty value"
    if hasattr(value, "item") and not isinstance(value, str | bytes):
        value = value.item()  # numpy scalar -> Python
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        return f"{value:.15g}"
    if isinstance(value, int):
        return str(value)
    text = str(value)
    return f'"{text[:40]}{"..." if len(text) > 40 else ""}"'


def is_null(v: Any) -> bool:
    if v is None or v is pd.NA or v is pd.NaT:
        return True
    return isinstance(v, float) and math.isnan(v)


def _bad_value(v: Any, col: Column) -> str | None:
    """Why ``v`` cannot be stored in ``col`` (None when it can)."""
    if is_null(v):
        return None
    kind = col.type
    if kind == "bool":
        if isinstance(v, bool) or (isinstance(v, int | float) and v in (0, 1)):
            return None
        return None if str(v).strip().lower() in _TRUE | _FALSE else "is not true or false"
    if kind in ("float", "int"):
        if isinstance(v, bool):
            return f"is not {_WORDS[kind]}"
        try:
            f = float(v)
        except (TypeError, ValueError):
            return f"is not {_WORDS[kind]}"
        if math.isnan(f) or (kind == "int" and (math.isinf(f) or f != int(f))):
            return f"is not {_WORDS[kind]}"
        if kind == "int" and abs(f) >= _INT_LIMIT:
            return "is too large to be a count or size (the store keeps 64-bit whole numbers)"
        return bad_number(f)  # infinite or negative: no time or count of lens's is
    if kind == "timestamp":
        try:
            ts = pd.Timestamp(v)
        except (TypeError, ValueError, OverflowError):
            return f"is not {_WORDS[kind]}"
        return f"is not {_WORDS[kind]}" if ts is pd.NaT else None
    allowed = ENUMS.get(col.name)
    if allowed is not None and str(v) not in allowed:
        return f"is not one of {', '.join(allowed)}"
    return None


def find_problems(df: pd.DataFrame, fields: Sequence[Column] = REQUEST_FIELDS) -> list[Problem]:
    """Every missing required column and every bad value, column by column."""
    problems: list[Problem] = []
    for col in fields:
        if col.name not in df.columns:
            if not col.nullable:
                extra = f" (one of {', '.join(ENUMS[col.name])})" if col.name in ENUMS else ""
                problems.append(Problem(col.name, f"is missing: every row needs it{extra}"))
            continue
        values = df[col.name].tolist()
        by_reason: dict[str, list[int]] = {}
        for pos, v in enumerate(values):
            reason = _bad_value(v, col)
            if reason is None and is_null(v) and not col.nullable:
                reason = "is empty, but every row needs a value"
            if reason is not None:
                by_reason.setdefault(reason, []).append(pos)
        for reason, rows in by_reason.items():
            problems.append(Problem(col.name, reason, rows))
    problems.extend(_repeated_keys(df, fields))
    return problems


def _repeated_keys(df: pd.DataFrame, fields: Sequence[Column]) -> list[Problem]:
    """Rows that repeat a request id (request rows) or a request id and index (chunks):
    the store keeps one row per key, so a repeat would fail the import or hide a row."""
    names = {c.name for c in fields}
    key = ["request_id", "index"] if "index" in names else ["request_id"]
    if not set(key) <= set(df.columns) or not len(df):
        return []
    keys = zip(*(df[k].astype(str).tolist() for k in key), strict=True)
    rows = positions_repeated(keys)
    if not rows:
        return []
    what = "repeats the request_id and index of an earlier row" if len(key) == 2 \
        else "repeats the request_id of an earlier row (each request needs its own)"
    return [Problem(key[-1], what, rows)]


def check_chunk_owners(requests: pd.DataFrame, chunks: pd.DataFrame, source: str,
                       header_lines: int = 0) -> None:
    """PeerImportError when chunk rows name request ids no request row has (they would be
    dropped, or stored belonging to nothing)."""
    from lens.errors import StoreError
    from lens.store.import_checks import check_chunk_owners as check

    try:
        check(requests["request_id"], chunks["request_id"].tolist(), source, header_lines=header_lines)
    except StoreError as exc:
        raise PeerImportError(exc.message, hint=exc.hint) from None


def format_problems(source: str, df: pd.DataFrame, problems: list[Problem],
                    header_lines: int = 0) -> str:
    """One message for all problems. ``header_lines``: file lines before the first row
    (1 for CSV), so each row can also be named by its line in the file."""
    columns = sorted({p.column for p in problems})
    lines = [f"{source}: {len(columns)} column{'s' if len(columns) != 1 else ''} cannot be "
             f"imported ({', '.join(repr(c) for c in columns)}):"]
    for p in problems:
        if not p.rows:
            lines.append(f"  - '{p.column}' {p.what}")
            continue
        first = p.rows[0]
        where = f"row {first + 1}" + (f" (line {first + 1 + header_lines})"
                                       if header_lines else "")
        value = "" if "empty" in p.what else f" holds {describe(df[p.column].iloc[first])}, which"
        more = ""
        if len(p.rows) > 1:
            shown = ", ".join(str(r + 1) for r in p.rows[1:1 + _SHOW_ROWS])
            rest = len(p.rows) - 1 - _SHOW_ROWS
            more = (f"; so does row {shown}" if len(p.rows) == 2 else f"; so do rows {shown}"
                    + (f" and {rest} more" if rest > 0 else ""))
        lines.append(f"  - '{p.column}': {where}{value} {p.what}{more}")
    return "\n".join(lines)


def check_frame(df: pd.DataFrame, source: str, fields: Sequence[Column] = REQUEST_FIELDS,
                *, header_lines: int = 0, hint: str | None = None) -> pd.DataFrame:
    """``df`` with lens's dtypes, or PeerImportError listing every problem in one message.

    ``source`` names the file in the message; ``header_lines`` is 1 for CSV so rows are
    also named by line. Empty text in a non-text column counts as an empty value.
    """
    df = _blank_as_null(df, fields)
    problems = find_problems(df, fields)
    if problems:
        raise PeerImportError(
            format_problems(source, df, problems, header_lines),
            hint=hint or "correct or add those columns in the file (leave a cell empty for "
            "no value), or re-export the run with `lens export`",
        )
    return conform(_as_bools(df, fields), fields)


def _bool(v: Any) -> bool | None:
    if is_null(v):
        return None
    if isinstance(v, bool):
        return v
    if isinstance(v, int | float):
        return bool(v)
    return str(v).strip().lower() in _TRUE


def _as_bools(df: pd.DataFrame, fields: Sequence[Column]) -> pd.DataFrame:
    """Bool columns as Python bools (conform reads only text and bools)."""
    cols = {c.name: df[c.name].map(_bool).astype(object) for c in fields
            if c.type == "bool" and c.name in df.columns and df[c.name].dtype == object}
    return df.assign(**cols) if cols else df


def _blank_as_null(df: pd.DataFrame, fields: Sequence[Column]) -> pd.DataFrame:
    kinds = {c.name: c.type for c in fields}
    fixed = {}
    for name in df.columns:
        # A blank cell is "no value" for numbers, flags and times; for text and categories
        # it is a value (lens writes "" for an unknown dialect or endpoint, e.g. embed rows).
        if kinds.get(name) in ("int", "float", "bool", "timestamp") and df[name].dtype == object:
            s = df[name]
            fixed[name] = s.where(~s.map(lambda v: isinstance(v, str) and not v.strip()), None)
    return df.assign(**fixed) if fixed else df
