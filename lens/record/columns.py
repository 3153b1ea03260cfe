"""The record's columns: names, logical types and meanings, the single source of truth.

``REQUEST_FIELDS`` and ``CHUNK_FIELDS`` are the single source of truth for column names
and logical types. The SQLite tables, the Parquet/CSV/JSONL files, the pandas dtypes, the
Glue table (Terraform) and the Lambda handler's output are all derived from, or tested
against, these tuples. Add a column here (and a store migration), nowhere else.

Times are milliseconds from the request's own start on a monotonic clock
(``time.perf_counter_ns``), so rows from different machines compare without clock skew;
``started_at`` is wall-clock UTC, for time series only.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

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
    "cancelled",
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
    "cancelled",
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
    Column("connect_ms", "float", "New connection: TCP + proxy tunnel + TLS (null when reused)."),
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
    Column("status", "category", "ok | http_error | rate_limited | overloaded | timeout | network | stream_error | truncated | cancelled.", nullable=False),
    Column("http_status", "int", "HTTP status code, when a response arrived."),
    Column("error", "str", "Error message (secrets scrubbed)."),
    Column("retry_after_s", "float", "Seconds from a retry-after header."),
    Column("ratelimit", "str", "Rate-limit response headers as compact JSON."),
    Column("server_latency_ms", "float", "Latency the server reported (Bedrock metrics.latencyMs)."),
    Column("server_prefill_ms", "float", "Prompt processing time the server reported (llama.cpp timings.prompt_ms)."),
    Column("server_decode_ms", "float", "Generation time the server reported (llama.cpp timings.predicted_ms)."),
    Column("server_processing_ms", "float", "Processing time the server reported in a header (openai-processing-ms)."),
    Column("tcp_ms", "float", "TCP handshake of a new connection (to the proxy when one is used)."),
    Column("tls_ms", "float", "TLS handshake of a new connection (null for plain HTTP or reused)."),
    Column("resent", "bool", "Sent again on a new connection: its pooled one was dead before any response byte."),
    Column("attempt", "int", "Which attempt this was: 1, or 2+ for an SDK's retry (lens.embed; x-stainless-retry-count)."),
    Column("session_id", "str", "Conversation this request is a turn of (multi-turn workloads)."),
    Column("turn", "int", "Turn number within the session, from 1."),
    Column("stalls", "int", "Inter-token gaps longer than 250 ms (recount at other thresholds from chunk rows: lens.analysis.stalls)."),
    Column("system_fingerprint", "str", "Backend configuration the server reported (OpenAI system_fingerprint)."),
    Column("server_model", "str", "Model (version) the server said answered, when it differs from what was asked."),
    Column("routing", "str", "Allow-listed routing headers (e.g. cf-ray POP, x-served-by) as compact JSON."),
    Column("client_lag_ms", "float", "Worst lag of the client's own event loop while this stream was open."),
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
