"""Per-request measurement: phase marks, event arrival times, and every derived field.

Both the burst engine (aiohttp) and the embedded profiler (httpx) time requests with a
:class:`Measurement`: create it with a RequestRecord holding the identity fields, call
:meth:`Measurement.start` right before the HTTP attempt, :meth:`mark` phases as they
happen, :meth:`on_event` once per framed stream event (with the arrival time taken right
after the framer returned it, before parsing), and :meth:`finish` once. ``finish`` fills
the record's timing, streaming, token and outcome fields and returns the chunk timings.

The hot path (:meth:`on_event`) only appends to lists; percentiles are computed in
:meth:`finish`, local token counts and ChunkTiming objects in :meth:`settle` (which
``finish`` calls unless told not to; its work per request is bounded). Definitions are in
docs/metrics.md.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterable, Sequence
from time import perf_counter_ns
from typing import TYPE_CHECKING

from lens.probe.derive import (
    clean_count,
    clean_duration,
    count_text_tokens,
    fill_phases,
    fill_stream,
    percentile,
)
from lens.record import ChunkTiming, Delta, RequestRecord, Usage
from lens.redact.secrets import ERROR_TEXT_LIMIT, scrub

if TYPE_CHECKING:
    from lens.workload.tokens import TokenCounter

__all__ = ["PHASES", "STALL_MS", "Measurement", "count_text_tokens", "percentile"]

# Phase names accepted by Measurement.mark. *_start keeps the first mark, everything
# else the last (a retried connect or a body sent in several chunks ends at the last one).
PHASES: tuple[str, ...] = (
    "pool_wait_start",
    "pool_wait_end",
    "dns_start",
    "dns_end",
    "connect_start",
    "tcp_end",
    "tls_start",
    "tls_end",
    "connect_end",
    "sent",
    "headers",
)
_NS_PER_MS = 1_000_000.0
STALL_MS = 250.0  # an inter-token gap longer than this is a stall (record column ``stalls``)
PROVENANCE_LIMIT = 200  # characters kept of a server-reported model name or fingerprint


class Measurement:
    """Accumulates one request's timings; :meth:`finish` turns them into a record."""

    __slots__ = (
        "_ev_kind",
        "_ev_t",
        "_ev_text",
        "_marks",
        "_model_header",
        "_pool_wait_ns",
        "_reason_chars",
        "_text_chars",
        "_tok_t",
        "conn_reused",
        "done",
        "error",
        "error_status",
        "finish_reason",
        "finished",
        "first_reasoning_ns",
        "first_token_ns",
        "last_token_ns",
        "max_chunk_rows",
        "origin_ns",
        "prompt",
        "record",
        "resent",
        "secrets",
        "server_model",
        "stall_ms",
        "system_fingerprint",
        "ttft_ns",
        "usage",
    )

    def __init__(
        self,
        record: RequestRecord,
        *,
        prompt: str | None = None,
        secrets: Sequence[str] = (),
        max_chunk_rows: int | None = None,
        stall_ms: float = STALL_MS,
    ) -> None:
        self.record = record
        self.stall_ms = stall_ms
        self.max_chunk_rows = max_chunk_rows  # chunk rows kept (the first ones); None: all
        self.prompt = prompt  # only for estimating input tokens; never stored
        # Secret values (API keys) to scrub from error text the stream itself carries:
        # gateways echo keys in mid-stream error events after HTTP 200.
        self.secrets: Sequence[str] = secrets
        self.origin_ns = 0
        self._marks: dict[str, int] = {}
        self._pool_wait_ns = 0
        self.conn_reused: bool | None = None
        self.resent = False
        self._ev_t: list[int] = []
        self._ev_kind: list[str] = []
        self._ev_text: list[str] = []
        self._text_chars = 0
        self._tok_t: list[int] = []
        self._reason_chars = 0
        self.first_token_ns: int | None = None
        self.first_reasoning_ns: int | None = None
        self.ttft_ns: int | None = None
        self.last_token_ns: int | None = None
        self.usage: Usage | None = None
        self.done = False
        self.error: str | None = None
        self.error_status: str | None = None
        self.finish_reason: str | None = None
        self.finished = False
        # What the server said about itself (last non-empty value wins); a header that
        # names the served snapshot (Azure's x-ms-served-model) wins over the body.
        self.server_model: str | None = None
        self.system_fingerprint: str | None = None
        self._model_header: str | None = None

    # -- phases ------------------------------------------------------------------------
    def start(self, t_ns: int | None = None) -> int:
        """Mark the request's start (all ``*_ms`` fields are measured from here)."""
        self.origin_ns = perf_counter_ns() if t_ns is None else t_ns
        return self.origin_ns

    def mark(self, phase: str, t_ns: int | None = None) -> None:
        """Record a phase time (see PHASES); pool waits accumulate into queue_ms."""
        t = perf_counter_ns() if t_ns is None else t_ns
        if phase == "pool_wait_end":
            begun = self._marks.pop("pool_wait_start", None)
            if begun is not None:
                self._pool_wait_ns += t - begun
            return
        if phase.endswith("_start") and phase in self._marks:
            return
        self._marks[phase] = t

    def restart(self, t_ns: int) -> None:
        """The attempt so far was lost to a dead pooled connection; a new one starts now.

        The time since the request's start was the client's (it never reached a live
        server): it moves to ``queue_ms`` and every phase is measured from ``t_ns``.
        """
        self.record.queue_ms += (t_ns - self.origin_ns) / _NS_PER_MS
        self.origin_ns = t_ns
        self._pool_wait_ns = 0
        self._marks.clear()
        self.conn_reused = None
        self.resent = True

    # -- the hot path ------------------------------------------------------------------
    def on_event(self, t_ns: int, deltas: Sequence[Delta]) -> None:
        """One framed event arrived at ``t_ns`` and parsed into ``deltas``."""
        kind = "other"
        text = ""
        for d in deltas:
            k = d.kind
            if k == "text":
                if d.text:
                    if kind == "reasoning":
                        text = ""
                    kind = "text"
                    text += d.text
                    self._text_chars += len(d.text)
            elif k == "reasoning":
                if d.text:
                    self._reason_chars += len(d.text)
                    if kind != "text":
                        kind = "reasoning"
                        text += d.text
            elif k == "done":
                self.done = True
                if d.finish_reason:
                    self.finish_reason = d.finish_reason
            elif k == "error":
                if kind == "other" or kind == "usage":
                    kind = "error"
                if self.error is None:
                    self.error = d.error or "error event in stream"
                    self.error_status = d.error_status
            elif k == "usage" and kind == "other":
                kind = "usage"
            if d.usage is not None:
                self.usage = d.usage if self.usage is None else self.usage.merge(d.usage)
            if d.server_model is not None:
                self.server_model = d.server_model
            if d.system_fingerprint is not None:
                self.system_fingerprint = d.system_fingerprint
        self._ev_t.append(t_ns)
        self._ev_kind.append(kind)
        self._ev_text.append(text)
        if kind == "text" or kind == "reasoning":
            if self.first_token_ns is None:
                self.first_token_ns = t_ns
            if kind == "text":
                if self.ttft_ns is None:
                    self.ttft_ns = t_ns
            elif self.first_reasoning_ns is None:
                self.first_reasoning_ns = t_ns
            self.last_token_ns = t_ns

    def served_model_header(self, model: str | None) -> None:
        """A response header named the model snapshot that answered (it wins over the body)."""
        if model:
            self._model_header = model

    @property
    def n_events(self) -> int:
        return len(self._ev_t)

    @property
    def last_event_ns(self) -> int | None:
        return self._ev_t[-1] if self._ev_t else None

    def event_texts(self, start: int) -> list[str]:
        """Token-bearing text of events ``start``.. (empty for other events)."""
        return self._ev_text[start:]

    def answer_text(self) -> str:
        """The answer text received so far (reasoning excluded): what a multi-turn session
        sends back as the assistant's turn. Only kept in memory, never stored."""
        return "".join(t for t, k in zip(self._ev_text, self._ev_kind, strict=True) if k == "text")

    # -- the end -----------------------------------------------------------------------
    def finish(
        self,
        status: str | None = None,
        *,
        http_status: int | None = None,
        error: str | None = None,
        t_ns: int | None = None,
        retry_after_s: float | None = None,
        ratelimit: str | None = None,
        settle: bool = True,
    ) -> tuple[RequestRecord, list[ChunkTiming]]:
        """Close the measurement and fill the record.

        ``status=None`` derives it from the stream: an error event -> its
        ``error_status`` or ``stream_error``; no terminal event -> ``truncated``; else
        ``ok``. An explicit status (timeout, network, http_error, ...) wins.

        ``settle=False`` leaves the token fields and the chunk rows to a later
        :meth:`settle` (another thread may call it: the embedded profiler counts tokens
        on its writer thread, never on the application's) and returns no chunks.
        """
        end = perf_counter_ns() if t_ns is None else t_ns
        self.finished = True
        r = self.record
        # Waiting for a pooled connection is client-side queueing: it goes to queue_ms and
        # the request's own clock starts when a connection slot was free.
        if "pool_wait_start" in self._marks:  # never ended (cancelled/failed while queued)
            self._pool_wait_ns += end - self._marks.pop("pool_wait_start")
        if self._pool_wait_ns:
            r.queue_ms += self._pool_wait_ns / _NS_PER_MS
            self.origin_ns += self._pool_wait_ns
        o = self.origin_ns
        fill_phases(r, self._marks, o)
        r.conn_reused = self.conn_reused
        r.resent = self.resent
        r.first_reasoning_ms = None if self.first_reasoning_ns is None else (self.first_reasoning_ns - o) / _NS_PER_MS
        r.ttft_ms = None if self.ttft_ns is None else (self.ttft_ns - o) / _NS_PER_MS
        r.last_token_ms = None if self.last_token_ns is None else (self.last_token_ns - o) / _NS_PER_MS
        r.e2e_ms = (end - o) / _NS_PER_MS
        times = self._ev_t
        self._tok_t = fill_stream(r, times, self._ev_kind, self.stall_ms)

        r.output_chars = self._text_chars

        derived_error = self.error
        if status is None:
            if self.error is not None:
                status = self.error_status or "stream_error"
            elif not self.done:
                status = "truncated"
                derived_error = (
                    f"stream ended without its terminal event after {len(times)} events"
                )
            else:
                status = "ok"
        r.status = status
        r.http_status = http_status if http_status is not None else r.http_status
        if error is None and status != "ok":
            error = scrub(derived_error, self.secrets, limit=ERROR_TEXT_LIMIT)
        r.error = error
        if retry_after_s is not None:
            r.retry_after_s = retry_after_s
        if ratelimit is not None:
            r.ratelimit = ratelimit
        self._provenance(r)
        return r, (self.settle() if settle else [])

    def settle(self) -> list[ChunkTiming]:
        """Fill the record's token fields and build its chunk rows (after :meth:`finish`).

        Local counts (no usage from the server, chunk ``n_tokens``) share one
        :class:`~lens.workload.tokens.TokenCounter` budget, so the work per request is
        bounded whatever the server sent.
        """
        from lens.workload.tokens import TokenCounter

        r = self.record
        tok_t = self._tok_t
        counter = TokenCounter(r.model or None)
        self._fill_tokens(r, counter)
        out = r.output_tokens
        if out is not None and r.reasoning_tokens:
            # Reasoning counted but not streamed (hidden, or streamed only as a summary)
            # happened before the first token: not in the decode window, not in the divisor.
            streamed = 0
            if self.first_reasoning_ns is not None:
                streamed = counter.count(self._joined("reasoning"))
            out = max(out - max(r.reasoning_tokens - streamed, 0), 0)
        if out is not None and r.n_chunks:
            r.tokens_per_chunk = out / r.n_chunks
            if out > 1 and len(tok_t) >= 2 and tok_t[-1] > tok_t[0]:
                window_ms = (tok_t[-1] - tok_t[0]) / _NS_PER_MS
                r.tpot_ms = window_ms / (out - 1)
                r.output_tokens_per_s = (out - 1) / (window_ms / 1000.0)
        return self._chunks(r.request_id, counter)

    def _provenance(self, r: RequestRecord) -> None:
        """What the server said about itself, scrubbed and bounded like header values.

        ``server_model`` is kept only when it differs from the model asked for (a dated
        snapshot behind an alias, a router's choice): an equal name says nothing new.
        """
        if self.system_fingerprint:
            r.system_fingerprint = scrub(self.system_fingerprint, self.secrets,
                                         limit=PROVENANCE_LIMIT)
        model = self._model_header or self.server_model
        if model and model != r.model:
            r.server_model = scrub(model, self.secrets, limit=PROVENANCE_LIMIT)

    def _joined(self, kind: str) -> str:
        return "".join(t for t, k in zip(self._ev_text, self._ev_kind, strict=True) if k == kind)

    def _fill_tokens(self, r: RequestRecord, counter: TokenCounter) -> None:
        u = self.usage
        if u is not None:
            # What a server reports is kept only when it can be a count or a duration: a
            # negative, NaN or infinite value (or a string) is dropped, never stored.
            r.input_tokens = clean_count(u.input_tokens)
            r.cached_input_tokens = clean_count(u.cached_input_tokens)
            r.cache_write_tokens = clean_count(u.cache_write_tokens)
            r.output_tokens = clean_count(u.output_tokens)
            r.reasoning_tokens = clean_count(u.reasoning_tokens)
            r.server_latency_ms = clean_duration(u.server_latency_ms)
            r.server_prefill_ms = clean_duration(u.server_prefill_ms)
            r.server_decode_ms = clean_duration(u.server_decode_ms)
        estimated = False
        model = r.model or None
        # Count locally when the server sent no output count, or when the stream never
        # reached its terminal event: counts seen so far are provisional then (Anthropic's
        # message_start says output_tokens: 1) and may trail the text actually received.
        provisional = r.output_tokens is None or not self.done
        if provisional and (self._text_chars or self._reason_chars):
            answer = self._joined("text")
            reasoning = self._joined("reasoning")
            n_reasoning = counter.count(reasoning)
            local = counter.count(answer) + n_reasoning
            if r.output_tokens is None or local > r.output_tokens:
                r.output_tokens = local
                if reasoning and r.reasoning_tokens is None:
                    r.reasoning_tokens = n_reasoning
                estimated = True
        if r.input_tokens is None and self.prompt:
            # The same prompt is sent many times: counted once (bounded), then memoised.
            r.input_tokens = count_text_tokens(self.prompt, model)
            estimated = True
        r.tokens_estimated = estimated

    def _chunks(self, request_id: str, counter: TokenCounter) -> list[ChunkTiming]:
        o = self.origin_ns
        out: list[ChunkTiming] = []
        rows: Iterable[tuple[int, str, str]] = zip(
            self._ev_t, self._ev_kind, self._ev_text, strict=True
        )
        if self.max_chunk_rows is not None:
            rows = itertools.islice(rows, self.max_chunk_rows)
        for i, (t, k, text) in enumerate(rows):
            # Several tokens in one chunk count as several: a local count of its text.
            n = max(1, counter.count(text)) if text else 0
            out.append(ChunkTiming(request_id, i, (t - o) / _NS_PER_MS, k, n))
        return out
