"""The runner's wire format: the event it accepts and the response it returns.

Both sides use these models: the handler (lens.fleet.runner.handle) validates events with
:class:`RunnerEvent` and builds its answer as a :class:`RunnerResponse`; the fleet
(lens.fleet.invoker, lambda_, local, fanout) parses what came back with
:func:`RunnerResponse.of`. Unknown keys are refused both ways (``extra="forbid"``), so a
field renamed on one side fails loudly instead of reading as missing.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import UTC, date, datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from lens.errors import LensError
from lens.record import ChunkTiming, RequestRecord

__all__ = ["ResponseError", "Rows", "RunnerEvent", "RunnerResponse", "Summary", "utc_date"]


class _Wire(BaseModel):
    model_config = ConfigDict(extra="forbid")


class RunnerEvent(_Wire):
    """What an invocation may ask for. Anything else is refused (``extra="forbid"``)."""

    spec: dict[str, Any]
    # Without a run_id (scheduled runs) the Lambda request id is used: async retries of
    # one invocation keep it, so a retry still overwrites its own objects.
    run_id: str | None = Field(default=None, pattern=r"^[A-Za-z0-9_.-]{1,64}$")
    region: str | None = Field(default=None, pattern=r"^[A-Za-z0-9_.-]{1,64}$")
    shard: int = Field(default=0, ge=0, le=9999)
    shards: int | None = Field(default=None, ge=1, le=10000)
    # The dt partition: YYYY-MM-DD, or an ISO-8601 timestamp with an offset (Scheduler's
    # <aws.scheduler.scheduled-time>) whose UTC date is used. Unset: the invocation's start.
    dt: str | None = None
    inline: bool = True
    source: str | None = None  # e.g. "schedule:<name>", for the logs only

    @field_validator("dt", mode="before")
    @classmethod
    def _dt_is_a_utc_date(cls, v: Any) -> Any:
        return None if v is None else utc_date(v)


def utc_date(value: Any) -> str:
    """``YYYY-MM-DD`` for a date or an offset-aware ISO-8601 timestamp (its UTC date).

    Raises ValueError with the accepted forms: the result names an S3 partition, so
    anything else (a naive time, an unsubstituted ``<aws.scheduler...>``) is refused.
    """
    text = value.strip() if isinstance(value, str) else None
    if text and re.fullmatch(r"\d{4}-\d{2}-\d{2}", text):
        try:
            return date.fromisoformat(text).isoformat()
        except ValueError:
            raise ValueError(f"{text!r} is not a calendar date") from None
    if text and re.fullmatch(r"\d{4}-\d{2}-\d{2}[T ][0-9:.,]+(Z|[+-]\d{2}(:?\d{2})?)", text, re.IGNORECASE):
        try:
            ts = datetime.fromisoformat(text)
        except ValueError:
            ts = None
        if ts is not None and ts.tzinfo is not None:
            return ts.astimezone(UTC).date().isoformat()
    raise ValueError(
        f"{str(value)[:64]!r} is not a date: give YYYY-MM-DD or an ISO-8601 timestamp with a UTC offset "
        "(e.g. 2026-11-27T23:59:30Z, as <aws.scheduler.scheduled-time> delivers)"
    )


class Summary(_Wire):
    """Counts by status and TTFT/E2E percentiles over the measured (non-warm-up) requests."""

    requests: int = 0
    warmup: int = 0
    ok: int = 0
    by_status: dict[str, int] = Field(default_factory=dict)
    ttft_p50_ms: float | None = None
    ttft_p90_ms: float | None = None
    e2e_p50_ms: float | None = None
    e2e_p90_ms: float | None = None


class Rows(_Wire):
    """Rows returned inline: records (``started_at`` as ISO-8601) and chunk timings."""

    records: list[dict[str, Any]] = Field(default_factory=list)
    chunks: list[dict[str, Any]] = Field(default_factory=list)

    def to_records(self) -> tuple[list[RequestRecord], list[ChunkTiming]]:
        records = []
        for d in self.records:
            d = dict(d)
            if isinstance(d.get("started_at"), str):
                d["started_at"] = datetime.fromisoformat(d["started_at"])
            records.append(RequestRecord.from_dict(d))
        return records, [ChunkTiming(**c) for c in self.chunks]


class ResponseError(LensError):
    """What came back is not a runner response (a different function, a broken build)."""


class RunnerResponse(_Wire):
    """The handler's answer. A refused or failed invocation has ``ok`` False and ``error``
    (plain words: the field or variable and the fix, scrubbed of secrets); an invocation that
    measured something has the rest, even when writing to S3 failed."""

    ok: bool
    error: str | None = None
    run_id: str | None = None
    region: str | None = None
    shard: int | None = None
    shards: int | None = None
    dt: str | None = None
    summary: Summary | None = None
    n_records: int = 0
    n_chunks: int = 0
    skipped: int = 0  # requests never sent (stopped at the deadline, or by a limit)
    bucket: str | None = None
    s3_keys: dict[str, str] = Field(default_factory=dict)  # table -> object key
    duration_ms: float | None = None
    # Event values the runner lowered to its maxima, e.g. "timeouts.total_s 900 -> 300".
    adjusted: list[str] = Field(default_factory=list)
    deadline_margin_ms: int | None = None  # kept free before the Lambda deadline for the write
    cold_start: bool | None = None
    init_ms: float | None = None
    request_id: str | None = None
    rows: Rows | None = None
    rows_truncated: int = 0  # records measured but neither stored nor returned

    @classmethod
    def of(cls, data: RunnerResponse | Mapping[str, Any] | Any) -> RunnerResponse:
        """``data`` as a response; ResponseError naming the first bad field otherwise."""
        if isinstance(data, RunnerResponse):
            return data
        if not isinstance(data, Mapping):
            raise ResponseError(f"the runner answered {type(data).__name__}, not a JSON object")
        try:
            return cls.model_validate(dict(data))
        except ValidationError as exc:
            first = exc.errors()[0]
            where = ".".join(str(p) for p in first["loc"]) or "(response)"
            raise ResponseError(
                f"the runner's response is not in the expected format: {where}: {first['msg']}",
                hint="deploy the runner built from this version of lens (make package)",
            ) from None

    def to_wire(self) -> dict[str, Any]:
        """The JSON object Lambda returns: only the fields that were set."""
        return self.model_dump(mode="json", exclude_unset=True)

    def inline_rows(self) -> tuple[list[RequestRecord], list[ChunkTiming]] | None:
        """The rows returned inline, or None when the response carries only S3 keys."""
        return None if self.rows is None else self.rows.to_records()
