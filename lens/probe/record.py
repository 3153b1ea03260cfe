"""The record every layer shares: one RequestRecord per request, plus its chunk timings.

``REQUEST_FIELDS`` and ``CHUNK_FIELDS`` are the single source of truth for column names
and logical types. The SQLite tables, the Parquet/CSV/JSONL files, the pandas dtypes, the
Glue table (Terraform) and the Lambda handler's output are all derived from, or tested
against, these tuples. Add a column here (and a store migration), nowhere else.

Times are milliseconds from the request's own start on a monotonic clock
(``time.perf_counter_ns``), so rows from different machines compare without clock skew;
``started_at`` is wall-clock UTC, for time series only.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Literal

# Logical types: str, category (low-cardinality str), int, float, bool, timestamp.
LogicalType = Literal["str", "category", "int", "float", "bool", "timestamp"]

Status = Literal[
    "ok",
    "http_error",
    "rate_limited",
    "overloaded",
    "timeout",
    "network",
    "stream_error",
    "truncated",
]
STATUSES: tuple[str, ...] = (
    "ok",
    "http_error",
    "rate_limited",
    "overloaded",
    "timeout",
    "network",
    "stream_error",
    "truncated",
)

ChunkKind = Literal["text", "reasoning", "usage", "error", "other"]
CHUNK_KINDS: tuple[str, ...] = ("text", "reasoning", "usage", "error", "other")


@dataclass(frozen=True)
class Column:
    name: str
    type: LogicalType
    doc: str
    nullable: bool = True


REQUEST_FIELDS: tuple[Column, ...] = (
    # identity
    Column("run_id", "str", "Run this request belongs to.", nullable=False),
    Column("request_id", "str", "Unique id of this request (client-generated).", nullable=False),
    Column("started_at", "timestamp", "Wall-clock UTC start of the request.", nullable=False),
    Column("region", "category", "Where the caller sat (AWS region or 'local').", nullable=False),
    Column("runner", "category", "What fired it: local | lambda | fleet-local | embed.", nullable=False),
    Column("target", "category", "Target name from the spec (defaults to provider/model).", nullable=False),
    Column("provider", "category", "Provider name (openai, anthropic, gemini, bedrock, sim, ...).", nullable=False),
    Column("dialect", "category", "Wire format (openai_chat, openai_responses, anthropic, gemini, openai_compat, bedrock).", nullable=False),
    Column("model", "category", "Model id as sent to the API.", nullable=False),
    Column("endpoint_host", "category", "Host (and port) of the base URL; never the path or a key.", nullable=False),
    Column("scenario", "category", "Scenario label from the spec.", nullable=False),
    Column("prompt_id", "str", "Id of the prompt within its set.", nullable=False),
    Column("prompt_hash", "str", "sha256 (first 16 hex) of the prompt text as sent; text itself is not stored."),
    Column("warmup", "bool", "Warm-up request; excluded from summaries.", nullable=False),
    Column("shard", "int", "Shard index when a burst is split across invocations.", nullable=False),
    Column("server_request_id", "str", "Request id the server returned (x-request-id and friends)."),
    # load
    Column("concurrency", "int", "Concurrency level (or in-flight limit) in force.", nullable=False),
    Column("scheduled_ms", "float", "When the schedule wanted it sent, ms from the burst start.", nullable=False),
    Column("queue_ms", "float", "Client-side wait between schedule and send (pool, semaphore).", nullable=False),
    Column("conn_reused", "bool", "A pooled keep-alive connection was reused."),
    # phases
    Column("dns_ms", "float", "DNS resolution time (null when cached or reused)."),
    Column("connect_ms", "float", "TCP + TLS connect time (null when reused)."),
    Column("sent_ms", "float", "Request fully written, ms from start."),
    Column("headers_ms", "float", "Response headers received (TTFB), ms from start."),
    Column("first_reasoning_ms", "float", "First non-empty reasoning/thinking delta received."),
    Column("ttft_ms", "float", "First non-empty answer-text delta received (TTFT)."),
    Column("last_token_ms", "float", "Last token-bearing delta received."),
    Column("e2e_ms", "float", "Request end (stream closed or error), ms from start."),
    # streaming
    Column("n_chunks", "int", "Token-bearing events (text or reasoning) received.", nullable=False),
    Column("itl_mean_ms", "float", "Mean gap between successive token-bearing events."),
    Column("itl_p50_ms", "float", "Median inter-token (inter-event) gap."),
    Column("itl_p99_ms", "float", "p99 inter-token gap."),
    Column("itl_max_ms", "float", "Largest inter-token gap (stalls)."),
    Column("tpot_ms", "float", "Time per output token after the first: see docs/metrics.md."),
    Column("tokens_per_chunk", "float", "Output tokens / token-bearing events."),
    Column("output_tokens_per_s", "float", "Output tokens per second over the decode window."),
    # tokens
    Column("input_tokens", "int", "Prompt tokens (server usage, else estimated)."),
    Column("cached_input_tokens", "int", "Prompt tokens read from the provider cache."),
    Column("cache_write_tokens", "int", "Prompt tokens written to the provider cache."),
    Column("output_tokens", "int", "Output tokens incl. reasoning (server usage, else estimated)."),
    Column("reasoning_tokens", "int", "Reasoning/thinking tokens."),
    Column("tokens_estimated", "bool", "True when token counts were counted locally.", nullable=False),
    Column("output_chars", "int", "Characters of answer text received (text itself not stored)."),
    # outcome
    Column("status", "category", "ok | http_error | rate_limited | overloaded | timeout | network | stream_error | truncated.", nullable=False),
    Column("http_status", "int", "HTTP status code, when a response arrived."),
    Column("error", "str", "Error message (secrets scrubbed)."),
    Column("retry_after_s", "float", "Seconds from a retry-after header."),
    Column("ratelimit", "str", "Rate-limit response headers as compact JSON."),
    Column("server_latency_ms", "float", "Latency the server reported (Bedrock metrics.latencyMs)."),
)

CHUNK_FIELDS: tuple[Column, ...] = (
    Column("request_id", "str", "Request the chunk belongs to.", nullable=False),
    Column("index", "int", "Event index within the stream, from 0.", nullable=False),
    Column("t_ms", "float", "Arrival of the event's last byte, ms from request start.", nullable=False),
    Column("kind", "category", "text | reasoning | usage | error | other.", nullable=False),
    Column("n_tokens", "int", "Tokens the event carried (0 for non-token events).", nullable=False),
)

# Columns analysis adds; stored exports may carry them.
COST_FIELDS: tuple[Column, ...] = (
    Column("cost_usd", "float", "Cost of the request in USD (Decimal in code, float in frames)."),
    Column("cost_source", "category", "genai-prices | override | gpu-hour | unpriced:<reason>."),
)

REQUEST_COLUMNS: tuple[str, ...] = tuple(c.name for c in REQUEST_FIELDS)
CHUNK_COLUMNS: tuple[str, ...] = tuple(c.name for c in CHUNK_FIELDS)


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
