"""A burst's workload: which requests to send (prompt, max_tokens, cancel rule) and when.

:class:`Workload` turns a BurstSpec into the engine's stages (lens.workload.loadshape, or a
trace's own arrival times) and into *units* of work: unit ``idx`` is one request, or with
``sessions`` one whole conversation (lens.workload.sessions). The engine schedules units and
hands each to :meth:`Workload.run_unit` with a ``send`` callback that fires one request and
returns its answer text (None unless it ended ``ok``). Nothing here does I/O on the wire.

Prompts per request:

- a trace row: its ``hash_ids`` blocks of 512 tokens (lens.workload.blocks; rows sharing an
  id share that block's text), then unique words up to ``input_length``; ``max_tokens`` is
  the row's ``output_length`` (at least 1);
- synthetic prompts with ``shared_prefix_ratio`` r and ``prefix_pool`` P: request ``idx``
  sends prefix ``idx mod P`` (round(r x N) tokens, the same text in every run) followed
  by N - round(r x N) words unique to this request and run;
- otherwise the prompt source round-robin, as before.

The cache mode (``cache``) applies to each request's text, or to a session's first turn.
"""

from __future__ import annotations

import random
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from lens.spec import BurstSpec
from lens.workload import blocks
from lens.workload.conversation import PromptInput
from lens.workload.loadshape import Stage, stages
from lens.workload.prompts import Prompt, apply_cache_mode, load_prompts
from lens.workload.traces import Trace, TraceRow, read_trace

__all__ = ["Cancel", "Item", "Send", "Workload"]


@dataclass(frozen=True, slots=True)
class Cancel:
    """The client abandons the request after this many tokens or milliseconds."""

    after_tokens: int | None = None
    after_ms: float | None = None

    def describe(self) -> str:
        parts = []
        if self.after_tokens is not None:
            parts.append(f"{self.after_tokens} tokens (cancel.after_tokens)")
        if self.after_ms is not None:
            parts.append(f"{self.after_ms:g} ms (cancel.after_ms)")
        return " or ".join(parts)


@dataclass(frozen=True, slots=True)
class Item:
    """One request to send."""

    prompt_id: str
    prompt: PromptInput
    max_tokens: int
    input_tokens: int | None = None  # known prompt size (trace, synthetic): rate limiters
    session_id: str | None = None
    turn: int | None = None
    cancel: Cancel | None = None


# Fires one request scheduled for ``scheduled_ns`` (perf_counter_ns); returns the answer
# text when the request ended ok, else None.
Send = Callable[[Item, int], Awaitable[str | None]]
Sleep = Callable[[float], Awaitable[None]]


class Workload:
    """What a burst sends, built once per burst (``salt`` makes unique texts per run)."""

    def __init__(self, spec: BurstSpec, *, salt: str = "") -> None:
        self.spec = spec
        load = spec.load
        # A burst split over firers (lens.workload.shard, where the spec has it): shard k of
        # n replays trace rows k, k+n, ... and salts its unique texts apart from the others.
        k, n = getattr(load, "shard_index", 0), getattr(load, "shard_count", 1)
        self.salt = salt if n == 1 else f"{salt}:{k}/{n}"
        self.trace: Trace | None = None
        self.rows: tuple[TraceRow, ...] = ()
        self.prompts: list[Prompt] = []
        if load.kind == "trace":
            assert load.trace is not None
            self.trace = read_trace(load.trace, limit=load.requests, duration_s=load.duration_s)
            self.rows = self.trace.rows[k::n]
            level = max(-(-load.max_in_flight // n), 1)
            self.stages = [Stage(level, False, len(self.rows), times=self.trace.offsets_s[k::n])]
        else:
            self.stages = stages(load)
            if spec.prompts.shared_prefix_ratio is None:
                self.prompts = load_prompts(spec.prompts)
        self.turns = spec.sessions.turns if spec.sessions is not None else 1

    # -- single requests -----------------------------------------------------------------
    def item(self, idx: int, *, warmup: bool = False) -> Item:
        """Request ``idx`` of a burst without sessions (warm-up requests count separately)."""
        spec = self.spec
        if self.trace is not None:
            rows = self.rows or self.trace.rows  # (a shard with no rows still warms up)
            row = rows[idx % len(rows)]
            text = apply_cache_mode(self.trace_text(row, idx, warmup), spec.cache)
            return Item(f"trace-{self.trace.format}-{row.line}", text,
                        max(1, row.output_tokens), row.input_tokens, cancel=self.cancel(idx, warmup))  # fmt: skip
        pid, text, n = self.user_text(idx, warmup)
        return Item(pid, apply_cache_mode(text, spec.cache), spec.max_tokens, n,
                    cancel=self.cancel(idx, warmup))  # fmt: skip

    def prepare(self, idx: int) -> None:
        """Build what request ``idx`` needs ahead of its send time (a trace row's blocks),
        so an open-loop send is not delayed by text generation."""
        if self.trace is not None and self.rows:
            row = self.rows[idx % len(self.rows)]
            left = row.input_tokens
            for h in row.hash_ids:
                if left <= 0:
                    break
                blocks.block_text(h, min(row.block_tokens, left), "trace")
                left -= row.block_tokens

    def user_text(self, idx: int, warmup: bool) -> tuple[str, str, int | None]:
        """(prompt id, text, known token count) of prompt ``idx`` of the prompt source."""
        ps = self.spec.prompts
        if ps.shared_prefix_ratio is not None:
            n = ps.synthetic_tokens or 0
            k = round(ps.shared_prefix_ratio * n)
            pool = idx % (ps.prefix_pool or 1)
            tag = f"{self.salt}-{'w' if warmup else 'm'}{idx}"
            text = blocks.join([blocks.block_text(pool, k, "prefix"), blocks.words(n - k, tag)])
            return f"synthetic-{n}-prefix{pool}", text, n
        p = self.prompts[idx % len(self.prompts)]
        return p.id, p.text, ps.synthetic_tokens

    def trace_text(self, row: TraceRow, idx: int, warmup: bool) -> str:
        """A trace row's prompt: its shared blocks, then unique words up to its length."""
        parts: list[str] = []
        left = row.input_tokens
        for h in row.hash_ids:
            if left <= 0:
                break
            k = min(row.block_tokens, left)
            parts.append(blocks.block_text(h, k, "trace"))
            left -= k
        if left > 0:
            parts.append(blocks.words(left, f"{self.salt}-{'w' if warmup else 'm'}{idx}-{row.line}"))
        return blocks.join(parts)

    def cancel(self, idx: int, warmup: bool, turn: int = 0) -> Cancel | None:
        """This request's cancel rule (warm-up requests are never cancelled)."""
        c = self.spec.cancel
        if c is None or warmup:
            return None
        if c.fraction < 1 and random.Random(f"lens-cancel-{c.seed}-{idx}-{turn}").random() >= c.fraction:
            return None
        return Cancel(c.after_tokens, c.after_ms)

    # -- units -------------------------------------------------------------------------
    def planned(self, units: int) -> int:
        """Requests ``units`` units send at most."""
        return units * self.turns

    async def run_unit(
        self,
        idx: int,
        scheduled_ns: int,
        send: Send,
        *,
        warmup: bool,
        may_start: Callable[[], bool],
        sleep: Sleep,
    ) -> None:
        """Run unit ``idx``: one request, or one session of ``turns`` requests."""
        if self.spec.sessions is None:
            await send(self.item(idx, warmup=warmup), scheduled_ns)
            return
        from lens.workload.sessions import Session

        await Session(self, idx, warmup=warmup).run(scheduled_ns, send, may_start=may_start, sleep=sleep)
