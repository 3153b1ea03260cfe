"""The record every layer shares, at the bottom of the house.

Columns (:mod:`lens.record.columns`), the dataclasses (:mod:`lens.record.types`), runs
(:mod:`lens.record.run`) and, imported on its own because it needs pandas, the frame
conversion (:mod:`lens.record.frames`). Nothing here imports another lens layer.
"""

from lens.record.columns import (
    CHUNK_COLUMNS,
    CHUNK_FIELDS,
    CHUNK_KINDS,
    COST_FIELDS,
    REQUEST_COLUMNS,
    REQUEST_FIELDS,
    STATUSES,
    ChunkKind,
    Column,
    LogicalType,
    Status,
)
from lens.record.run import RunInfo, new_run_id, run_info_dict, run_info_from_dict
from lens.record.sink import RecordSink
from lens.record.types import BurstResult, ChunkTiming, Delta, DeltaKind, RequestRecord, Usage

__all__ = [
    "CHUNK_COLUMNS",
    "CHUNK_FIELDS",
    "CHUNK_KINDS",
    "COST_FIELDS",
    "REQUEST_COLUMNS",
    "REQUEST_FIELDS",
    "STATUSES",
    "BurstResult",
    "ChunkKind",
    "ChunkTiming",
    "Column",
    "Delta",
    "DeltaKind",
    "LogicalType",
    "RecordSink",
    "RequestRecord",
    "RunInfo",
    "Status",
    "Usage",
    "new_run_id",
    "run_info_dict",
    "run_info_from_dict",
]
