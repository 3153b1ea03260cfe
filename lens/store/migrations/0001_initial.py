"""0001: the runs, requests and chunks tables with the columns of the first record."""

from __future__ import annotations

import sqlalchemy as sa

from lens.store.migrations import create_index, create_table
from lens.store.schema import CHUNKS, REQUESTS, RUNS

RUN_COLUMNS = (
    "run_id", "name", "started_at", "finished_at", "status", "host", "user", "region",
    "runner", "lens_version", "spec_json", "tags_json", "extra_json", "skipped", "pid",
)  # fmt: skip
REQUEST_COLUMNS = (
    "run_id", "request_id", "started_at", "region", "runner", "target", "provider",
    "dialect", "model", "endpoint_host", "scenario", "prompt_id", "prompt_hash", "warmup",
    "shard", "server_request_id", "concurrency", "scheduled_ms", "queue_ms", "conn_reused",
    "dns_ms", "connect_ms", "sent_ms", "headers_ms", "first_reasoning_ms", "ttft_ms",
    "last_token_ms", "e2e_ms", "n_chunks", "itl_mean_ms", "itl_p50_ms", "itl_p99_ms",
    "itl_max_ms", "tpot_ms", "tokens_per_chunk", "output_tokens_per_s", "input_tokens",
    "cached_input_tokens", "cache_write_tokens", "output_tokens", "reasoning_tokens",
    "tokens_estimated", "output_chars", "status", "http_status", "error", "retry_after_s",
    "ratelimit", "server_latency_ms",
)  # fmt: skip
CHUNK_COLUMNS = ("run_id", "request_id", "index", "t_ms", "kind", "n_tokens")


def up(conn: sa.Connection) -> None:
    create_table(conn, RUNS, RUN_COLUMNS)
    create_table(conn, REQUESTS, REQUEST_COLUMNS)
    create_table(conn, CHUNKS, CHUNK_COLUMNS)
    create_index(conn, "ix_runs_started_at", "runs", ["started_at"])
    create_index(conn, "ix_requests_target", "requests", ["run_id", "target"])
