"""Burst specs: what to fire, at what, how hard. pydantic at the edge, ``extra="forbid"``.

A BurstSpec comes from YAML/TOML files, CLI flags, Python, a widget or a Lambda event;
all of them end up here and are validated the same way. ``load_spec`` turns validation
failures into a ConfigError naming the file, the field path and the fix.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Annotated, Any, Literal

from pydantic import (
    Field,
    field_validator,
    model_validator,
)

from lens.spec.bounds import MAX_PROMPT_TOKENS, MAX_REQUESTS, MAX_STREAMS, MAX_WORKERS
from lens.spec.search import SearchSpec
from lens.spec.slo import SLOSpec
from lens.spec.strict import Strict as _Strict
from lens.spec.target import TargetSpec

# A prompt set name (lens.workload.prompt_sets): no separators, no dots, so never a path.
PROMPT_SET_NAME = r"[A-Za-z0-9][A-Za-z0-9_-]{0,63}"


class PromptSpec(_Strict):
    """Where prompts come from: exactly one of a named set, a file, inline texts, or synthetic."""

    set: str | None = None  # a NAME from lens.workload.prompt_sets, never a path
    file: str | None = None
    inline: list[str] | None = None
    synthetic_tokens: int | None = Field(default=None, gt=0, le=MAX_PROMPT_TOKENS)
    # Prefix-cache workloads (synthetic prompts only): this share of each prompt's tokens is
    # a prefix drawn from a pool of ``prefix_pool`` distinct prefixes; the rest is unique.
    shared_prefix_ratio: float | None = Field(default=None, ge=0, le=1)
    prefix_pool: int | None = Field(default=None, gt=0)  # None: one shared prefix

    @field_validator("set")
    @classmethod
    def _set_is_a_name(cls, v: str | None) -> str | None:
        if v is not None and not re.fullmatch(PROMPT_SET_NAME, v):
            raise ValueError(
                f"{v[:80]!r} is not a prompt set name (sets are named, never given as a path); "
                "name a bundled set (letters, digits, '-' or '_', e.g. short), or read a file "
                "of your own with prompts.file (lens run --prompt-file PATH)"
            )
        return v

    @model_validator(mode="after")
    def _exactly_one(self) -> PromptSpec:
        given = [k for k in ("set", "file", "inline", "synthetic_tokens") if getattr(self, k)]
        if len(given) != 1:
            raise ValueError(
                "give exactly one of set, file, inline, synthetic_tokens "
                f"(got {', '.join(given) or 'none'})"
            )
        if self.shared_prefix_ratio is not None and not self.synthetic_tokens:
            raise ValueError(
                "shared_prefix_ratio applies to synthetic prompts: give synthetic_tokens too"
            )
        if (self.prefix_pool or 1) > 1 and self.shared_prefix_ratio is None:
            raise ValueError("prefix_pool needs shared_prefix_ratio (the share that is a prefix)")
        return self


class TraceSource(_Strict):
    """A recorded workload to replay on its own timestamps (load kind ``trace``)."""

    file: str
    # A name from lens.workload.traces (mooncake, burstgpt); None: from the file's extension.
    format: str | None = None
    speedup: float = Field(default=1.0, gt=0, allow_inf_nan=False)


class LoadShape(_Strict):
    """How requests are scheduled.

    - concurrency: ``concurrency`` workers until ``requests`` are sent or ``duration_s`` ends.
    - rate: constant arrivals at ``rate`` req/s; poisson: exponential gaps (seeded).
    - sweep: the concurrency shape once per level in ``levels`` (``requests`` per level).
    - trace: arrivals on a recorded trace's timestamps (``trace``); ``requests`` caps the
      rows replayed (default: all of them).
    """

    kind: Literal["concurrency", "rate", "poisson", "sweep", "trace"] = "concurrency"
    requests: int | None = Field(default=10, gt=0, le=MAX_REQUESTS)
    duration_s: float | None = Field(default=None, gt=0, allow_inf_nan=False)
    concurrency: int = Field(default=1, gt=0, le=MAX_STREAMS)
    rate: float | None = Field(default=None, gt=0, allow_inf_nan=False)
    levels: list[Annotated[int, Field(gt=0, le=MAX_STREAMS)]] | None = None
    max_in_flight: int = Field(default=256, gt=0, le=MAX_STREAMS)
    seed: int = 0
    # Set by lens when it splits a burst over processes (--workers) or runners (--shards):
    # this spec fires part shard_index of shard_count (lens.workload.shard).
    shard_index: int = Field(default=0, ge=0)
    shard_count: int = Field(default=1, gt=0)
    trace: TraceSource | None = None

    @model_validator(mode="before")
    @classmethod
    def _trace_defaults(cls, data: Any) -> Any:
        # A trace names its own length: ``requests`` is only a cap when given, and a trace
        # given without a kind is a trace replay.
        if isinstance(data, Mapping) and data.get("trace") is not None:
            data = dict(data)
            data.setdefault("kind", "trace")
            if data["kind"] == "trace":
                data.setdefault("requests", None)
        return data

    @model_validator(mode="after")
    def _coherent(self) -> LoadShape:
        if self.kind == "trace" or self.trace is not None:
            if self.kind != "trace":
                raise ValueError(f"trace is only read by load kind 'trace', not {self.kind!r}")
            if self.trace is None:
                raise ValueError("load kind 'trace' needs trace: {file: PATH}")
            return self
        if self.kind in ("rate", "poisson") and self.rate is None:
            raise ValueError(f"load kind {self.kind!r} needs rate (requests per second)")
        if self.kind == "sweep":
            if not self.levels or any(lv <= 0 for lv in self.levels):
                raise ValueError("load kind 'sweep' needs levels: a list of positive concurrencies")
        if self.requests is None and self.duration_s is None:
            raise ValueError("give requests, duration_s, or both")
        if self.shard_index >= self.shard_count:
            raise ValueError(f"shard_index {self.shard_index} is not below shard_count {self.shard_count}")
        return self


class Timeouts(_Strict):
    """Per-request limits in seconds (finite: a request must end)."""

    connect_s: float = Field(default=10.0, gt=0, allow_inf_nan=False)
    first_token_s: float = Field(default=60.0, gt=0, allow_inf_nan=False)
    idle_s: float = Field(default=30.0, gt=0, allow_inf_nan=False)
    total_s: float = Field(default=300.0, gt=0, allow_inf_nan=False)


class Caps(_Strict):
    """What one response may cost the client: a stream past a cap is cut (status
    ``truncated``, the error says which cap) and what it sent so far is kept."""

    max_events: int = Field(default=200_000, gt=0)  # stream events per response
    max_bytes: int = Field(default=64 * 1024 * 1024, gt=0)  # response body bytes
    max_chunk_rows: int = Field(default=20_000, gt=0)  # chunk timing rows kept per request


class SessionSpec(_Strict):
    """Multi-turn conversations: the load shape schedules sessions, not single requests.

    Each session sends ``turns`` requests one after another; every turn resends the whole
    conversation so far (earlier prompts and the answers received) plus the next prompt,
    after a think time of ``think_s`` (``fixed``, or ``exponential`` with that mean).
    """

    turns: int = Field(default=2, gt=0, le=1000)
    think_s: float = Field(default=0.0, ge=0, le=86_400, allow_inf_nan=False)
    think: Literal["fixed", "exponential"] = "fixed"
    seed: int = 0


class CancelSpec(_Strict):
    """Requests the client abandons: after ``after_tokens`` tokens or ``after_ms`` ms
    (whichever comes first), for a ``fraction`` of requests (seeded)."""

    after_tokens: int | None = Field(default=None, gt=0)
    after_ms: float | None = Field(default=None, gt=0, allow_inf_nan=False)
    fraction: float = Field(default=1.0, gt=0, le=1)
    seed: int = 0

    @model_validator(mode="after")
    def _some_limit(self) -> CancelSpec:
        if self.after_tokens is None and self.after_ms is None:
            raise ValueError("cancel needs after_tokens, after_ms, or both")
        return self


class BurstSpec(_Strict):
    """A profiling burst: targets x prompts under a load shape."""

    name: str = "burst"
    scenario: str = "default"
    targets: list[TargetSpec] = Field(min_length=1)
    prompts: PromptSpec = Field(default_factory=lambda: PromptSpec(synthetic_tokens=128))
    max_tokens: int = Field(default=128, gt=0)
    temperature: float | None = Field(default=None, ge=0)
    load: LoadShape = Field(default_factory=LoadShape)
    warmup: int = Field(default=0, ge=0, le=MAX_REQUESTS)
    timeouts: Timeouts = Field(default_factory=Timeouts)
    caps: Caps = Field(default_factory=Caps)
    connection: Literal["warm", "cold"] = "warm"
    # Client processes to fire from (one shared clock, one store writer): None picks one per
    # 256 streams, up to one core fewer than the machine has (lens.burst.workers).
    workers: int | None = Field(default=None, ge=1, le=MAX_WORKERS)
    # PEM file of extra CAs to trust (beside the system store and SSL_CERT_FILE), e.g. a
    # private gateway's or a proxy's that re-signs TLS.
    ca_bundle: str | None = None
    cache: Literal["default", "bust", "shared"] = "default"
    tags: dict[str, str] = Field(default_factory=dict)
    region: str = "local"
    runner: str = "local"
    sessions: SessionSpec | None = None
    cancel: CancelSpec | None = None
    # Per-request SLOs (lens.spec.slo): attainment and goodput in every summary.
    slo: SLOSpec | None = None
    # How `lens capacity` searches for the highest level meeting the SLOs (lens.spec.search).
    search: SearchSpec | None = None

    @model_validator(mode="after")
    def _unique_target_names(self) -> BurstSpec:
        labels = [t.label for t in self.targets]
        dup = {x for x in labels if labels.count(x) > 1}
        if dup:
            raise ValueError(f"targets share the label {sorted(dup)[0]!r}; give each a distinct name")
        if self.sessions is not None and self.load.kind == "trace":
            raise ValueError(
                "sessions cannot replay a trace: a trace's rows are single requests "
                "(drop sessions, or use another load kind)"
            )
        return self
