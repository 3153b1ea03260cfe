"""One timed call of an instrumented client (lens.embed.core.Profiler.begin makes it).

The HTTP wrappers report what happened: ``phase`` (connection phases), ``on_headers``,
``on_bytes`` for every chunk the application consumes, and one of ``on_end`` /
``on_error`` / ``on_close``. The Call feeds the dialect's framer and a
:class:`lens.probe.measure.Measurement` -- exactly what the burst engine does -- and hands
the finished record to the sink. Every method is exception-safe: a failure inside lens
disables timing for that call and never reaches the application.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime
from time import perf_counter_ns
from typing import TYPE_CHECKING, Any

from lens.embed.sink import TextSample
from lens.embed.wire import DEFAULT_PROVIDER, nonstream_deltas
from lens.probe.measure import Measurement
from lens.probe.outcome import (
    error_status,
    provider_message,
    ratelimit_json,
    request_id,
    retry_after,
)
from lens.probe.routing import routing_json, served_model
from lens.record import RequestRecord
from lens.redact.secrets import ERROR_TEXT_LIMIT, scrub

if TYPE_CHECKING:
    from lens.embed.core import Profiler

__all__ = ["Call"]

_STREAM_TYPES = ("text/event-stream", "application/vnd.amazon.eventstream")
_MAX_BODY = 8 * 1024 * 1024  # non-streamed bodies kept for parsing; larger ones are skipped


def _host(parts: Any) -> str:
    host = parts.hostname or ""
    if ":" in host:
        host = f"[{host}]"
    return f"{host}:{parts.port}" if parts.port else host


class Call:
    """One timed request; see the module docstring for the protocol."""

    __slots__ = (
        "_answer",
        "_body",
        "_body_len",
        "_decoder",
        "_done",
        "_framer",
        "_parse",
        "_reasoning",
        "_seen_bytes",
        "active",
        "dialect",
        "headers_seen",
        "keep_text",
        "m",
        "prof",
        "prompt",
        "secrets",
        "status",
        "streaming",
    )  # fmt: skip

    def __init__(
        self, prof: Profiler, dialect: str, parts: Any, request_id: str, model: str,
        prompt: str | None, t_ns: int | None,
    ) -> None:  # fmt: skip
        from lens.probe.dialects import get_dialect
        from lens.redact.pii import prompt_hash

        self.prof = prof
        self.dialect = dialect
        provider = prof.provider or DEFAULT_PROVIDER.get(dialect, dialect)
        phash = prompt_hash(prompt) if prompt is not None else None
        prof.inflight += 1
        rec = RequestRecord(
            run_id=prof.sink.run_id,
            request_id=request_id,
            started_at=datetime.now(UTC),
            region=prof.region,
            runner="embed",
            target=prof.target or f"{provider}/{model}",
            provider=provider,
            dialect=dialect,
            model=model,
            endpoint_host=_host(parts),
            scenario=prof.scenario,
            prompt_id=phash or "",
            prompt_hash=phash,
            concurrency=prof.inflight,
        )
        self.m = Measurement(rec, prompt=prompt, max_chunk_rows=prof.caps.max_chunk_rows)
        self.m.start(t_ns)
        d = get_dialect(dialect)
        self._framer = d.new_framer()
        self._parse = d.parse
        self.keep_text = prof.sink.keep_text
        self.prompt = prompt if self.keep_text else None
        self._answer: list[str] = []
        self._reasoning: list[str] = []
        self._body: list[bytes] = []
        self._body_len = 0
        self._seen_bytes = 0
        self._decoder: Any = None
        self._done = False
        self.active = True
        self.streaming = True
        self.status: int | None = None
        self.headers_seen = False
        self.secrets: tuple[str, ...] = ()

    # -- phases ----------------------------------------------------------------------------
    def phase(self, name: str, t_ns: int | None = None) -> None:
        """Mark a Measurement phase (connect_start/end, sent, headers); conn reuse too."""
        if not self.active:
            return
        try:
            m = self.m
            if name == "connect_start":
                m.conn_reused = False
            elif name == "sent" and m.conn_reused is None:
                m.conn_reused = True
            elif name == "headers":
                self.headers_seen = True
            m.mark(name, t_ns)
        except Exception as exc:
            self._broken("phase", exc)

    def on_headers(
        self, status: int, headers: Mapping[str, str], t_ns: int | None = None,
        decoders: Mapping[str, Any] | None = None,
    ) -> None:  # fmt: skip
        """Response headers are in (status, a case-insensitive header mapping, and the
        HTTP library's content decoders by encoding name, for compressed bodies)."""
        if not self.active:
            return
        try:
            t = perf_counter_ns() if t_ns is None else t_ns
            if not self.headers_seen:  # no trace event from the HTTP library: mark it now
                self.headers_seen = True
                self.m.mark("headers", t)
            self.status = status
            if self.m.conn_reused is None:
                self.m.conn_reused = True
            rec = self.m.record
            rec.server_request_id = request_id(headers, self.secrets)
            ctype = (headers.get("content-type") or "").lower()
            self.streaming = status < 400 and ctype.startswith(_STREAM_TYPES)
            enc = (headers.get("content-encoding") or "").strip().lower()
            if enc and enc != "identity":
                cls = (decoders or {}).get(enc)
                if cls is None:
                    raise ValueError(f"unsupported content-encoding {enc!r}")
                self._decoder = cls()
            rec.ratelimit = ratelimit_json(headers, self.secrets)
            rec.routing = routing_json(headers, self.secrets)
            self.m.served_model_header(served_model(headers, self.secrets))
            if status >= 400:
                rec.retry_after_s = retry_after(headers)
        except Exception as exc:
            self._broken("reading response headers", exc)

    def skip_decoding(self) -> None:
        """The bytes that follow are already content-decoded."""
        self._decoder = None

    # -- the hot path ------------------------------------------------------------------------
    def on_bytes(self, data: bytes) -> None:
        """A chunk the application just consumed (timestamped here, on its thread)."""
        if not self.active:
            return
        t = perf_counter_ns()
        try:
            if self._decoder is not None:
                data = self._decoder.decode(data)
            caps = self.prof.caps
            self._seen_bytes += len(data)
            if self._seen_bytes > caps.max_bytes:
                self._cut(f"more than {caps.max_bytes} bytes (caps.max_bytes)", t)
                return
            if not self.streaming:
                if self._body_len < _MAX_BODY:
                    self._body.append(data)
                    self._body_len += len(data)
                return
            events = self._framer.feed(data)
            if events:
                room = caps.max_events - self.m.n_events
                over = len(events) > room
                if over:
                    events = events[: max(room, 0)]
                parse = self._parse
                on_event = self.m.on_event
                for ev in events:
                    deltas = parse(ev)
                    on_event(t, deltas)
                    if self.keep_text:
                        self._collect(deltas)
                if over:
                    self._cut(f"more than {caps.max_events} events (caps.max_events)", t)
        except Exception as exc:
            self._broken("parsing the stream", exc)

    def _cut(self, what: str, t: int) -> None:
        """Past a cap: stop timing (and holding) this response; the app reads on untouched."""
        self._finish("truncated", t_ns=t,
                     error=f"lens stopped timing: the response sent {what}; the application read "
                     "it unchanged")  # fmt: skip

    def _collect(self, deltas: Any) -> None:
        for d in deltas:
            if d.kind == "text" and d.text:
                self._answer.append(d.text)
            elif d.kind == "reasoning" and d.text:
                self._reasoning.append(d.text)

    # -- the end ---------------------------------------------------------------------------
    def on_end(self) -> None:
        """The application read the body to its end."""
        if not self.active or self._done:
            return
        try:
            t = perf_counter_ns()
            if self._decoder is not None and hasattr(self._decoder, "flush"):
                tail = self._decoder.flush()
                if tail:
                    self._decoder = None
                    self.on_bytes(tail)
            if self.streaming:
                events = self._framer.close()
                for ev in events:
                    deltas = self._parse(ev)
                    self.m.on_event(t, deltas)
                    if self.keep_text:
                        self._collect(deltas)
                self._finish(None, t_ns=t)
                return
            body = b"".join(self._body)
            code = self.status or 0
            if code >= 400:
                self._finish_http_error(code, body, t)
                return
            deltas = nonstream_deltas(self.dialect, body)
            self.m.on_event(t, deltas)
            if self.keep_text:
                self._collect(deltas)
            self._finish(None, t_ns=t)
        except Exception as exc:
            self._broken("finishing the record", exc)

    def on_error(self, exc: BaseException) -> None:
        """The HTTP library raised (before or during the body): record it, never raise."""
        if not self.active or self._done:
            return
        if not isinstance(exc, Exception):
            # Cancelled (or interrupted) by the application: no record, like a cancelled
            # burst request; only the in-flight count is released.
            self._done = True
            self.active = False
            self.prof.inflight -= 1
            return
        try:
            if self.m.done and self.streaming:  # stream complete; a close error is noise
                self._finish(None)
                return
            status, text = _classify(exc, self.secrets)
            self._finish(status, error=text)
        except Exception as inner:
            self._broken("recording an error", inner)

    def on_close(self) -> None:
        """The application closed the response (maybe before its end)."""
        if not self.active or self._done:
            return
        try:
            if not self.streaming and self.status is not None and self.status >= 400 and self._body:
                self._finish_http_error(self.status, b"".join(self._body), perf_counter_ns())
            else:
                # No terminal event -> 'truncated' ("stream ended without its terminal event").
                self._finish(None)
        except Exception as exc:
            self._broken("closing the record", exc)

    def _finish_http_error(self, code: int, body: bytes, t: int) -> None:
        msg, typ = provider_message(body)
        text = f"HTTP {code}: {msg}" if msg else f"HTTP {code}"
        self._finish(error_status(code, typ), error=scrub(text, self.secrets, limit=ERROR_TEXT_LIMIT),
                     t_ns=t)

    def _finish(
        self, status: str | None, *, error: str | None = None, t_ns: int | None = None
    ) -> None:
        self._done = True
        self.active = False
        self.prof.inflight -= 1
        # Timing only here (the app's thread); token counts and chunk rows are made by
        # Measurement.settle on the sink's writer thread.
        m = self.m
        record, _ = m.finish(status, http_status=self.status, error=error, t_ns=t_ns, settle=False)
        text = None
        if self.keep_text:
            response = "".join(self._answer) or None
            text = TextSample(self.prompt, response)
        self.prof.sink.submit(record, m.settle, text)

    def _broken(self, where: str, exc: BaseException) -> None:
        if self.active:
            self.active = False
            if not self._done:
                self._done = True
                self.prof.inflight -= 1
        self.prof.internal_error(where, exc)


def _classify(exc: BaseException, secrets: tuple[str, ...] = ()) -> tuple[str, str]:
    """(status, scrubbed message) for an exception raised by httpx or aiohttp."""
    name = type(exc).__name__
    text = scrub(f"{name}: {exc}", secrets, limit=ERROR_TEXT_LIMIT) or name
    if "Timeout" in name or isinstance(exc, TimeoutError):
        return "timeout", text
    return "network", text
