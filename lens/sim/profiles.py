"""Latency profiles and fault rates for the simulated endpoint, plus named presets.

A Profile describes one simulated "provider": how long until headers, how long until the
first token (a fixed base plus a prefill cost per uncached prompt token), how tokens then
flow (per-token gap with lognormal jitter, several tokens per event), how many reasoning
tokens precede the answer, how many streams it serves at once before queueing, and how
often it fails. Presets (``PRESETS``) give the demo several visibly different providers.
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from lens.errors import ConfigError
from lens.sim.habits import HEADER_MODES, SERVER_TIMINGS, Conn, check_choice

FAULT_KINDS: tuple[str, ...] = (
    "rate_limited",
    "overloaded",
    "midstream_error",
    "reset",
    "stall",
    "truncate",
)


@dataclass(frozen=True)
class Faults:
    """Per-request fault probabilities (each 0..1, summed must be <= 1).

    - rate_limited: HTTP 429 with retry-after and provider rate-limit headers.
    - overloaded: 503 (OpenAI, Gemini, Bedrock) or 529 overloaded_error (Anthropic).
    - midstream_error: an error event after some chunks (HTTP status stays 200).
    - reset: the TCP connection is aborted mid-stream.
    - stall: no bytes for ``stall_ms`` mid-stream, then the stream continues; with
      ``stall_ms=None`` it never resumes (held until the client disconnects, at most
      ``stall_max_s``).
    - truncate: the stream closes cleanly mid-way without its terminal event.

    ``at_fraction`` places mid-stream faults after that fraction of the token events
    (None: uniform in 0.2..0.8 from the request's seeded rng).
    """

    rate_limited: float = 0.0
    overloaded: float = 0.0
    midstream_error: float = 0.0
    reset: float = 0.0
    stall: float = 0.0
    truncate: float = 0.0
    stall_ms: float | None = 2000.0
    stall_max_s: float = 600.0
    retry_after_s: float = 1.0
    at_fraction: float | None = None

    def __post_init__(self) -> None:
        total = 0.0
        for kind in FAULT_KINDS:
            rate = getattr(self, kind)
            if not 0.0 <= rate <= 1.0:
                raise ConfigError(f"fault rate must be in 0..1, got {rate}", field=f"faults.{kind}")
            total += rate
        if total > 1.0 + 1e-9:
            raise ConfigError(
                f"fault rates sum to {total:.3f} > 1", field="faults", hint="lower some rates"
            )
        if self.at_fraction is not None and not 0.0 <= self.at_fraction <= 1.0:
            raise ConfigError("at_fraction must be in 0..1", field="faults.at_fraction")

    def rates(self) -> tuple[tuple[str, float], ...]:
        return tuple((k, getattr(self, k)) for k in FAULT_KINDS)


TokenCount = int | tuple[int, int]


@dataclass(frozen=True)
class Profile:
    """The latency model of one simulated provider. All times in milliseconds.

    TTFT (from the moment a capacity slot is held) = ``ttft_ms`` + ``prefill_ms_per_token``
    x uncached prompt tokens + |normal(0, ttft_jitter_ms)|-style jitter (clipped at 0).
    Each token event then follows after ``itl_ms`` x tokens-in-the-event x a lognormal
    factor with mean 1 and sigma ``itl_jitter`` (0 = exact). Reasoning tokens are streamed
    first, at ``reasoning_itl_ms`` (default ``itl_ms``). The answer carries
    min(max_tokens, ``output_tokens``) tokens. ``max_concurrency`` streams run at once
    (0 = unlimited); further requests wait server-side after the response headers, so the
    wait shows up in TTFT. ``cache_prefix`` reports a prompt prefix seen before as cached
    tokens that skip prefill (in each dialect's usage: OpenAI ``cached_tokens``,
    Anthropic ``cache_read_input_tokens``, Gemini ``cachedContentTokenCount``, Bedrock
    ``cacheReadInputTokens``); ``cache_capacity_tokens`` bounds what the cache holds (0:
    200,000 blocks of 64 tokens), least recently used prefixes evicted first. ``require_key`` answers a request without an API key with
    the provider's 401 error.

    Server habits (lens.sim.habits, docs/sim.md): ``conn`` is what happens to the
    connection after a response (a Conn, or a string such as "hangup" or "keepalive:5");
    ``headers`` is when a stream's headers go out ("early", "slot", "first_token");
    ``server_timing`` is what the server reports about its own time ("none", "llamacpp",
    "openai").
    """

    header_ms: float = 2.0
    ttft_ms: float = 40.0
    prefill_ms_per_token: float = 0.0
    ttft_jitter_ms: float = 0.0
    itl_ms: float = 8.0
    itl_jitter: float = 0.0
    tokens_per_chunk: TokenCount = 1
    output_tokens: int = 64
    reasoning_tokens: int = 0
    reasoning_itl_ms: float | None = None
    max_concurrency: int = 0
    cache_prefix: bool = False
    cache_capacity_tokens: int = 0
    require_key: bool = False
    faults: Faults = field(default_factory=Faults)
    conn: Conn = field(default_factory=Conn)
    headers: str = "early"
    server_timing: str = "none"

    def __post_init__(self) -> None:
        check_choice(self.headers, HEADER_MODES, "headers")
        check_choice(self.server_timing, SERVER_TIMINGS, "server_timing")
        if not isinstance(self.conn, Conn):
            object.__setattr__(self, "conn", Conn.parse(self.conn))
        for name in ("header_ms", "ttft_ms", "prefill_ms_per_token", "ttft_jitter_ms", "itl_ms", "itl_jitter"):
            if getattr(self, name) < 0:
                raise ConfigError(f"must be >= 0, got {getattr(self, name)}", field=name)
        if self.output_tokens < 1:
            raise ConfigError("must be >= 1", field="output_tokens")
        if self.reasoning_tokens < 0 or self.max_concurrency < 0 or self.cache_capacity_tokens < 0:
            raise ConfigError(
                "reasoning_tokens, max_concurrency and cache_capacity_tokens must be >= 0",
                field="profile",
            )
        lo, hi = self.chunk_range
        if lo < 1 or hi < lo:
            raise ConfigError(
                f"tokens_per_chunk must be >= 1 or a range [lo, hi] with 1 <= lo <= hi, got {self.tokens_per_chunk}",
                field="tokens_per_chunk",
            )

    @property
    def chunk_range(self) -> tuple[int, int]:
        tpc = self.tokens_per_chunk
        return (tpc, tpc) if isinstance(tpc, int) else (int(tpc[0]), int(tpc[1]))

    @classmethod
    def from_dict(cls, data: Mapping[str, Any], *, source: str = "profile") -> Profile:
        """Build from a JSON-like mapping; ``preset`` names a base preset to override."""
        try:
            return cls._from_dict(data, source)
        except ConfigError as exc:
            if exc.source is not None:
                raise
            # A field's own check does not know where the profile came from: say it.
            raw = exc.message.removeprefix(f"{exc.field}: ") if exc.field else exc.message
            raise ConfigError(raw, source=source, field=exc.field, hint=exc.hint) from None

    @classmethod
    def _from_dict(cls, data: Mapping[str, Any], source: str) -> Profile:
        data = dict(data)
        base = get_preset(str(data.pop("preset"))) if "preset" in data else Profile()
        known = {f.name for f in dataclasses.fields(cls)}
        unknown = sorted(set(data) - known)
        if unknown:
            raise ConfigError(
                f"unknown profile field(s) {', '.join(unknown)}",
                source=source,
                hint=f"known fields: preset, {', '.join(sorted(known))}",
            )
        if "faults" in data:
            faults = data["faults"]
            if not isinstance(faults, Mapping):
                raise ConfigError("faults must be an object", source=source, field="faults")
            fknown = {f.name for f in dataclasses.fields(Faults)}
            bad = sorted(set(faults) - fknown)
            if bad:
                raise ConfigError(
                    f"unknown fault field(s) {', '.join(bad)}",
                    source=source,
                    field="faults",
                    hint=f"known: {', '.join(sorted(fknown))}",
                )
            data["faults"] = dataclasses.replace(base.faults, **faults)
        if "conn" in data:
            conn = data["conn"]
            if isinstance(conn, Mapping):
                conn = {**dataclasses.asdict(base.conn), **conn}
            data["conn"] = Conn.parse(conn, source=source)
        if isinstance(data.get("tokens_per_chunk"), list):
            data["tokens_per_chunk"] = tuple(data["tokens_per_chunk"])
        try:
            return dataclasses.replace(base, **data)
        except TypeError as exc:
            raise ConfigError(str(exc), source=source) from exc

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)


_FLAKY_FAULTS = Faults(
    rate_limited=0.05, overloaded=0.03, midstream_error=0.02, reset=0.02, stall=0.02, truncate=0.02,
    stall_ms=1500.0,
)

PRESETS: dict[str, Profile] = {
    "default": Profile(),
    # Small model on a quiet endpoint.
    "fast": Profile(header_ms=1.0, ttft_ms=25.0, prefill_ms_per_token=0.005, itl_ms=4.0, itl_jitter=0.1),
    # Dedicated capacity: little jitter.
    "steady": Profile(header_ms=3.0, ttft_ms=60.0, prefill_ms_per_token=0.01, itl_ms=10.0, itl_jitter=0.05),
    # Large model, busy endpoint, bursty chunks, limited capacity.
    "slow": Profile(
        header_ms=20.0, ttft_ms=400.0, prefill_ms_per_token=0.1, ttft_jitter_ms=60.0, itl_ms=30.0,
        itl_jitter=0.4, tokens_per_chunk=(1, 3), max_concurrency=32,
    ),
    # Thinks before it answers.
    "reasoning": Profile(
        header_ms=5.0, ttft_ms=150.0, prefill_ms_per_token=0.02, itl_ms=8.0, itl_jitter=0.2,
        reasoning_tokens=96, reasoning_itl_ms=6.0,
    ),
    # Jittery and failing about 16% of the time.
    "flaky": Profile(
        header_ms=5.0, ttft_ms=80.0, ttft_jitter_ms=40.0, itl_ms=12.0, itl_jitter=0.6,
        faults=_FLAKY_FAULTS,
    ),
    # No delays at all: for measuring client throughput.
    "instant": Profile(header_ms=0.0, ttft_ms=0.0, itl_ms=0.0, output_tokens=256),
    # Prompt caching: repeated prefixes skip prefill.
    "cached": Profile(ttft_ms=30.0, prefill_ms_per_token=0.05, cache_prefix=True),
    # llama.cpp's llama-server on a local GPU: 4 slots, headers once a slot starts, its
    # `timings` object, and it hangs up after each stream although it said
    # "Keep-Alive: timeout=5, max=100".
    "llamacpp": Profile(
        header_ms=0.0, ttft_ms=20.0, prefill_ms_per_token=0.2, itl_ms=12.0, itl_jitter=0.05,
        max_concurrency=4, conn=Conn(mode="hangup", idle_s=5.0, max_requests=100, announce=True),
        headers="slot", server_timing="llamacpp",
    ),
    # An OpenAI-compatible server on uvicorn (vLLM, SGLang): idle keep-alive connections
    # are closed after 5 s, without a Keep-Alive header.
    "uvicorn": Profile(
        header_ms=1.0, ttft_ms=35.0, prefill_ms_per_token=0.02, itl_ms=9.0, itl_jitter=0.1,
        conn=Conn(mode="keepalive", idle_s=5.0),
    ),
}


def get_preset(name: str) -> Profile:
    try:
        return PRESETS[name]
    except KeyError:
        raise ConfigError(
            f"unknown sim profile preset {name!r}", hint=f"presets: {', '.join(sorted(PRESETS))}"
        ) from None


def coerce_profile(value: Profile | str | Mapping[str, Any], *, source: str = "profile") -> Profile:
    """A Profile, a preset name, or a mapping (see Profile.from_dict) -> Profile."""
    if isinstance(value, Profile):
        return value
    if isinstance(value, str):
        return get_preset(value)
    return Profile.from_dict(value, source=source)


def parse_profile_arg(arg: str) -> tuple[str, Profile]:
    """Parse a CLI ``NAME=PRESET`` or ``NAME={json}`` (json may contain ``"preset"``)."""
    name, sep, spec = arg.partition("=")
    name = name.strip()
    if not sep or not name or "/" in name:
        raise ConfigError(
            f"bad --profile {arg!r}", source="--profile",
            hint='use NAME=PRESET or NAME={"preset": "slow", "ttft_ms": 200}',
        )
    spec = spec.strip()
    if spec.startswith("{"):
        try:
            data = json.loads(spec)
        except json.JSONDecodeError as exc:
            raise ConfigError(f"invalid JSON for profile {name!r}: {exc}", source="--profile") from exc
        return name, Profile.from_dict(data, source=f"--profile {name}")
    return name, get_preset(spec)
