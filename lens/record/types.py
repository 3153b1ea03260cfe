"""The record's dataclasses: one RequestRecord per request, its chunk timings, parsed deltas.

Field names and order follow :mod:`lens.record.columns` (a test keeps them equal).
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Literal


@dataclass(slots=True)
class RequestRecord:
    """One request, successful or not. Field order and names follow REQUEST_FIELDS."""

    run_id: str
    request_id: str
    started_at: datetime
    region: str = "local"
    runner: str = "local"
    target: str = ""
    provider: str = ""
    dialect: str = ""
    model: str = ""
    endpoint_host: str = ""
    scenario: str = "default"
    prompt_id: str = ""
    prompt_hash: str | None = None
    warmup: bool = False
    shard: int = 0
    server_request_id: str | None = None
    concurrency: int = 1
    scheduled_ms: float = 0.0
    queue_ms: float = 0.0
    conn_reused: bool | None = None
    dns_ms: float | None = None
    connect_ms: float | None = None
    sent_ms: float | None = None
    headers_ms: float | None = None
    first_reasoning_ms: float | None = None
    ttft_ms: float | None = None
    last_token_ms: float | None = None
    e2e_ms: float | None = None
    n_chunks: int = 0
    itl_mean_ms: float | None = None
    itl_p50_ms: float | None = None
    itl_p99_ms: float | None = None
    itl_max_ms: float | None = None
    tpot_ms: float | None = None
    tokens_per_chunk: float | None = None
    output_tokens_per_s: float | None = None
    input_tokens: int | None = None
    cached_input_tokens: int | None = None
    cache_write_tokens: int | None = None
    output_tokens: int | None = None
    reasoning_tokens: int | None = None
    tokens_estimated: bool = False
    output_chars: int | None = None
    status: str = "ok"
    http_status: int | None = None
    error: str | None = None
    retry_after_s: float | None = None
    ratelimit: str | None = None
    server_latency_ms: float | None = None
    server_prefill_ms: float | None = None
    server_decode_ms: float | None = None
    server_processing_ms: float | None = None
    tcp_ms: float | None = None
    tls_ms: float | None = None
    resent: bool = False
    attempt: int | None = None
    session_id: str | None = None
    turn: int | None = None
    stalls: int | None = None
    system_fingerprint: str | None = None
    server_model: str | None = None
    routing: str | None = None
    client_lag_ms: float | None = None

    def to_dict(self) -> dict[str, Any]:
        return {f.name: getattr(self, f.name) for f in dataclasses.fields(self)}

    @classmethod
    def from_dict(cls, row: dict[str, Any]) -> RequestRecord:
        names = {f.name for f in dataclasses.fields(cls)}
        return cls(**{k: v for k, v in row.items() if k in names})


@dataclass(slots=True)
class ChunkTiming:
    """Arrival of one stream event. Follows CHUNK_FIELDS."""

    request_id: str
    index: int
    t_ms: float
    kind: str
    n_tokens: int = 0

    def to_dict(self) -> dict[str, Any]:
        return {
            "request_id": self.request_id,
            "index": self.index,
            "t_ms": self.t_ms,
            "kind": self.kind,
            "n_tokens": self.n_tokens,
        }


@dataclass(slots=True)
class Usage:
    """Token usage as a server reported it; None where the server did not say."""

    input_tokens: int | None = None
    cached_input_tokens: int | None = None
    cache_write_tokens: int | None = None
    output_tokens: int | None = None
    reasoning_tokens: int | None = None
    server_latency_ms: float | None = None
    server_prefill_ms: float | None = None
    server_decode_ms: float | None = None

    def merge(self, other: Usage) -> Usage:
        """Later reports win field by field (Anthropic sends cumulative message_delta usage)."""
        return Usage(
            *(
                b if b is not None else a
                for a, b in zip(dataclasses.astuple(self), dataclasses.astuple(other), strict=True)
            )
        )


DeltaKind = Literal["text", "reasoning", "usage", "error", "done", "other"]


@dataclass(slots=True)
class Delta:
    """What one parsed stream event means.

    ``server_model``/``system_fingerprint`` ride on the first delta of an event that
    names them (OpenAI ``model``/``system_fingerprint``, Anthropic ``message.model``,
    Gemini ``modelVersion``, Responses ``response.model``).

    kind ``done`` marks the dialect's terminal event (``[DONE]``, ``message_stop``,
    ``response.completed``, Gemini's finishReason, Bedrock ``messageStop``+``metadata``);
    a stream that closes without it is ``truncated``. One event may yield several deltas
    (e.g. text and usage on the final OpenAI-compatible choice chunk).
    """

    kind: DeltaKind
    text: str = ""
    usage: Usage | None = None
    error: str | None = None
    error_status: str | None = None  # overloaded | rate_limited | stream_error
    finish_reason: str | None = None
    # What the server says about itself, on any delta of the event that carried it:
    # the model (version) that answered and its backend configuration fingerprint.
    server_model: str | None = None
    system_fingerprint: str | None = None


@dataclass(slots=True)
class BurstResult:
    """What a burst returns: every record (incl. warm-up and failures) and chunk timings."""

    run_id: str
    records: list[RequestRecord] = field(default_factory=list)
    chunks: list[ChunkTiming] = field(default_factory=list)
    skipped: int = 0
    complete: bool = True
    started_at: datetime | None = None
    finished_at: datetime | None = None
    # perf_counter_ns() at each request's start, by request_id: lets tests and benchmarks
    # compare client times with the simulated endpoint's ground truth (same host clock).
    origins_ns: dict[str, int] = field(default_factory=dict)
    # The client's own health while it fired (lens.probe.lag.LagSummary.as_dict): event-loop
    # lag percentiles and CPU use; None where nothing was measured (fleet merges, imports).
    client: dict[str, float] | None = None
