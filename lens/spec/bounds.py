"""Upper bounds on what one burst spec may ask of the machine that fires it.

A spec file may come from anyone (docs/spec.md). Without bounds, valid-looking numbers
ended in raw errors: ``concurrency: 100000000`` (one coroutine per stream) and
``synthetic_tokens: 100000000000`` in a MemoryError, ``requests: 10**20`` in an
OverflowError when the run row reached SQLite's 64-bit INTEGER, ``think_s: 1e308`` in an
OverflowError; ``workers`` starts a process per shard. Real bursts stay far below these.
The Lambda runner has its own, lower limits (lens.fleet.runner.limits).
"""

from __future__ import annotations

__all__ = ["MAX_PROMPT_TOKENS", "MAX_REQUESTS", "MAX_STREAMS", "MAX_WORKERS"]

MAX_REQUESTS = 10**9  # per target (per level of a sweep), and warm-up requests
MAX_STREAMS = 100_000  # concurrency, each sweep level, max_in_flight
MAX_PROMPT_TOKENS = 2_000_000  # synthetic prompt length: the longest context windows
MAX_WORKERS = 256  # client processes
