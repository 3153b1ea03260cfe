"""pandas frames of request rows: the analysis-side names for lens.record.frames and
lens.store.read (kept so ``lens.analysis.frames.load`` and ``conform`` stay where users
found them)."""

from __future__ import annotations

from lens.record.frames import (
    CHUNK_DTYPES,
    COST_DTYPES,
    REQUEST_DTYPES,
    chunks_to_frame,
    conform,
    records_to_frame,
)
from lens.store.read import chunk_path_for, load

__all__ = [
    "CHUNK_DTYPES",
    "COST_DTYPES",
    "REQUEST_DTYPES",
    "chunk_path_for",
    "chunks_to_frame",
    "conform",
    "load",
    "records_to_frame",
]
