"""One request on the wire: send it with lens's HTTP client, time every event, end it.

The client (lens.probe.http) calls :class:`Wire` synchronously from the socket callbacks:
each body piece arrives with the ``perf_counter_ns`` of the socket read that delivered it,
is framed (SSE or AWS event-stream) and parsed right there, and goes to the request's
:class:`~lens.probe.measure.Measurement`. The awaiting task wakes once, at the end.

Deadlines cost nothing per event: one timer per request, armed for the earliest deadline
that can apply (first token, idle gap, linger after the terminal event, total, the burst's
own deadline, a client cancel after ``cancel.after_ms``). When it fires it works out the
real deadline from what has arrived since, and either re-arms or ends the request. A cancel
after ``cancel.after_tokens`` is checked per event by :class:`CancellingWire`, used only
for requests that have that rule. Metric definitions: docs/metrics.md.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from time import perf_counter_ns
from typing import TYPE_CHECKING, Any

from lens.probe.http import (
    ConnectTimeout,
    Headers,
    HttpClient,
    HttpClientError,
    ResponseTooLarge,
)
from lens.probe.measure import Measurement, count_text_tokens
from lens.probe.outcome import (
    endpoint_host,
    error_status,
    processing_ms,
    provider_message,
    ratelimit_json,
    request_id,
    retry_after,
)
from lens.probe.routing import routing_json, served_model
from lens.record import ChunkTiming, RequestRecord
from lens.redact.secrets import ERROR_TEXT_LIMIT, scrub, secret_values

if TYPE_CHECKING:
    from lens.probe.dialects.base import Dialect, HttpRequest
    from lens.spec import Caps, Timeouts
    from lens.workload.plan import Cancel

LINGER_S = 1.0  # after the terminal event, how long to wait for the response's end
_ERROR_BODY_LIMIT = 64 * 1024  # bytes of an error response kept for its message


class CapExceeded(Exception):
    """Raised from the observer to abort a stream past ``caps.max_events``."""


class Cancelled(Exception):
    """Raised from the observer when the client abandons the stream (``cancel``)."""


@dataclass(frozen=True, slots=True)
class Limits:
    """A request's time limits on the loop's clock (``loop.time()``)."""

    begun: float
    first: float  # no token by then: timeout
    total: float  # the request's total timeout, or the burst's deadline if sooner
    idle_s: float
    cut_by_burst: bool  # ``total`` is the burst's deadline
    cancel_at: float | None = None  # the client abandons the request then (cancel.after_ms)


class Wire:
    """The client Observer of one request: marks phases, frames and parses the stream."""

    __slots__ = (
        "_feed",
        "_parse",
        "_phase",
        "error_body",
        "headers",
        "last_read_ns",
        "m",
        "max_events",
        "rearm",
        "reason",
        "status",
    )

    def __init__(self, m: Measurement, dialect: Dialect, max_events: int) -> None:
        self.m = m
        self.max_events = max_events
        self.status: int | None = None
        self.reason = ""
        self.headers: Headers | None = None
        self.error_body: bytearray | None = None
        self.last_read_ns = 0
        # The deadline timer is armed for the phase it guards; when the stream moves on
        # (first token, terminal event) an earlier deadline may apply: ``rearm`` it once.
        self._phase = 0
        self.rearm: Any = None
        framer = dialect.new_framer()
        self._feed = framer.feed
        self._parse = dialect.parse

    def mark(self, phase: str, t_ns: int) -> None:
        m = self.m
        if phase == "reused":
            m.conn_reused = True
        elif phase == "tcp_start":
            m.mark("connect_start", t_ns)
            m.conn_reused = False
        elif phase in ("tcp_end", "tunnel_end", "tls_end"):
            if phase != "tunnel_end":
                m.mark(phase, t_ns)
            m.mark("connect_end", t_ns)  # the last of them ends the connection set-up
        elif phase == "resend":
            m.restart(t_ns)
        elif phase != "tunnel_start":
            m.mark(phase, t_ns)

    def on_head(self, status: int, reason: str, headers: Headers, t_ns: int) -> None:
        self.status = status
        self.reason = reason
        self.headers = headers
        self.last_read_ns = t_ns
        if status >= 300:
            self.error_body = bytearray()

    def on_body(self, data: bytes, t_ns: int) -> None:
        self.last_read_ns = t_ns
        if self.error_body is not None:
            room = _ERROR_BODY_LIMIT - len(self.error_body)
            if room > 0:
                self.error_body += data[:room]
            return
        m = self.m
        parse = self._parse
        events = self._feed(data)
        room = self.max_events - m.n_events
        if len(events) > room:  # one read can hold thousands of events: keep exactly the cap
            for ev in events[: max(room, 0)]:
                m.on_event(t_ns, parse(ev))
            raise CapExceeded
        for ev in events:
            m.on_event(t_ns, parse(ev))
        phase = 2 if m.done else (1 if m.first_token_ns is not None else 0)
        if phase != self._phase:
            self._phase = phase
            if self.rearm is not None:
                self.rearm()


class CancellingWire(Wire):
    """A Wire that abandons the stream once ``after_tokens`` tokens have arrived.

    Tokens are counted per event like chunk rows' ``n_tokens``: the bundled tokenizer's
    count of the event's answer and reasoning text.
    """

    __slots__ = ("after_tokens", "model", "tokens")

    def __init__(self, m: Measurement, dialect: Dialect, max_events: int, after_tokens: int) -> None:
        super().__init__(m, dialect, max_events)
        self.after_tokens = after_tokens
        self.model = m.record.model or None
        self.tokens = 0

    def on_body(self, data: bytes, t_ns: int) -> None:
        m = self.m
        before = m.n_events
        super().on_body(data, t_ns)
        if self.error_body is not None or m.done:
            return
        for text in m.event_texts(before):
            self.tokens += count_text_tokens(text, self.model)
        if self.tokens >= self.after_tokens:
            raise Cancelled


def limits(
    loop: asyncio.AbstractEventLoop, to: Timeouts, deadline_at: float | None,
    cancel_ms: float | None = None,
) -> Limits:
    begun = loop.time()
    total = begun + to.total_s
    cut = deadline_at is not None and deadline_at < total
    if cut:
        assert deadline_at is not None
        total = deadline_at
    cancel_at = begun + cancel_ms / 1000.0 if cancel_ms is not None else None
    return Limits(begun, min(begun + to.first_token_s, total), total, to.idle_s, cut, cancel_at)


def _due(w: Wire, lim: Limits, now: float) -> tuple[float, str]:
    """(deadline on the loop clock, what it guards) given what has arrived so far."""
    m = w.m
    if m.first_token_ns is None:
        due, what = lim.first, "total" if lim.first >= lim.total else "first"
    else:
        since = (perf_counter_ns() - w.last_read_ns) / 1e9
        if m.done:
            due, what = now - since + LINGER_S, "linger"
        else:
            due, what = now - since + lim.idle_s, "idle"
        if due >= lim.total:
            due, what = lim.total, "total"
    if lim.cancel_at is not None and lim.cancel_at < due and not m.done:
        return lim.cancel_at, "cancel"
    return due, what


async def exchange(
    client: HttpClient,
    req: HttpRequest,
    m: Measurement,
    dialect: Dialect,
    *,
    timeouts: Timeouts,
    caps: Caps,
    secrets: tuple[str, ...],
    deadline_at: float | None = None,
    cancel: Cancel | None = None,
) -> tuple[RequestRecord, list[ChunkTiming]]:
    """Send ``req`` and return its finished record and chunk timings (never raises for a
    failed request: every outcome becomes a status). With ``cancel`` the client abandons
    the stream after that many tokens or milliseconds: status ``cancelled``."""
    loop = asyncio.get_running_loop()
    proxy_secrets = client.secrets_for(req.url)
    if proxy_secrets:  # a proxy may echo its credentials into what is stored
        secrets = secret_values(extra=(*secrets, *proxy_secrets))
        m.secrets = secrets
    lim = limits(loop, timeouts, deadline_at, cancel.after_ms if cancel is not None else None)
    if cancel is not None and cancel.after_tokens is not None:
        w: Wire = CancellingWire(m, dialect, caps.max_events, cancel.after_tokens)
    else:
        w = Wire(m, dialect, caps.max_events)
    expired = ["first"]
    handle: list[asyncio.TimerHandle | None] = [None]
    try:
        async with asyncio.timeout(None) as cm:

            def check() -> None:
                now = loop.time()
                due, what = _due(w, lim, now)
                if now >= due:
                    expired[0] = what
                    cm.reschedule(now)
                else:
                    arm(due)

            def arm(when: float) -> None:
                if handle[0] is not None:
                    handle[0].cancel()
                handle[0] = loop.call_at(when, check)

            w.rearm = lambda: arm(_due(w, lim, loop.time())[0])
            arm(lim.first if lim.cancel_at is None else min(lim.first, lim.cancel_at))
            # Never follow redirects (the client does not): a redirect would carry key
            # headers to a host nobody allowed, and no LLM API streams through one.
            resp = await client.request(
                req.method, req.url, headers=req.headers, body=req.body, observer=w,
                max_body=caps.max_bytes,
            )  # fmt: skip
    except TimeoutError as exc:
        return _timed_out(w, lim, timeouts, expired[0], exc, loop.time())
    except CapExceeded:
        return _cut(w, f"more than {caps.max_events} events (caps.max_events)", secrets)
    except Cancelled:
        got = w.tokens if isinstance(w, CancellingWire) else 0
        return _cancelled(w, f"{got} tokens (cancel.after_tokens)", secrets)
    except ResponseTooLarge:
        return _cut(w, f"more than {caps.max_bytes} bytes (caps.max_bytes)", secrets)
    except HttpClientError as exc:
        if m.done:  # the stream had ended properly; a close error after that is noise
            return _finish(w, None, secrets)
        text = exc.message + (f"; {exc.hint}" if exc.hint else "")
        return m.finish("network", http_status=w.status,
                        error=scrub(text, secrets, limit=ERROR_TEXT_LIMIT))
    except Exception as exc:  # a dialect/parser bug: record it, keep the burst going
        msg = scrub(f"client error {type(exc).__name__}: {exc}", secrets, limit=ERROR_TEXT_LIMIT)
        return m.finish("stream_error", http_status=w.status, error=msg)
    finally:
        if handle[0] is not None:
            handle[0].cancel()
    m.resent = m.resent or resp.resent
    if w.error_body is not None:
        return _http_error(w, secrets)
    return _finish(w, None, secrets)


def _headers_into(w: Wire, secrets: tuple[str, ...]) -> dict[str, Any]:
    """Record fields from the response headers (values scrubbed, bounded)."""
    h = w.headers
    if h is None:
        return {}
    rec = w.m.record
    rec.server_request_id = request_id(h, secrets)
    rec.routing = routing_json(h, secrets)
    w.m.served_model_header(served_model(h, secrets))
    ms = processing_ms(h)
    if ms is not None:
        rec.server_processing_ms = ms
    return {"ratelimit": ratelimit_json(h, secrets)}


def _finish(w: Wire, status: str | None, secrets: tuple[str, ...],
            **kw: Any) -> tuple[RequestRecord, list[ChunkTiming]]:
    extra = _headers_into(w, secrets)
    return w.m.finish(status, http_status=w.status, **extra, **kw)


def _cut(w: Wire, what: str, secrets: tuple[str, ...]) -> tuple[RequestRecord, list[ChunkTiming]]:
    """A response past a cap (lens.spec.Caps): stop reading, keep what arrived."""
    return _finish(w, "truncated", secrets, error=f"cut by the client: the response sent {what}")


def _timed_out(w: Wire, lim: Limits, to: Timeouts, what: str, exc: BaseException,
               now: float) -> tuple[RequestRecord, list[ChunkTiming]]:
    m = w.m
    secrets: tuple[str, ...] = tuple(m.secrets)
    if m.done:  # the terminal event came; the server just kept the response open
        return _finish(w, None, secrets, t_ns=m.last_event_ns)
    if what == "cancel" and lim.cancel_at is not None:
        return _cancelled(w, f"{(lim.cancel_at - lim.begun) * 1000:g} ms (cancel.after_ms)", secrets)
    if isinstance(exc, ConnectTimeout):
        text = f"connect took longer than {to.connect_s:g}s ({exc.phase} phase)"
    elif lim.cut_by_burst and now >= lim.total - 0.001:
        text = "cut at the burst's deadline (a runner's time limit minus the time to write its rows)"
    elif what == "idle":
        text = f"no data for {to.idle_s:g}s after the last event (idle timeout)"
    elif what == "total":
        text = f"request exceeded the total timeout of {to.total_s:g}s"
    else:
        text = f"no token within the first-token timeout of {min(to.first_token_s, to.total_s):g}s"
    return _finish(w, "timeout", secrets, error=f"timeout: {text}")


def _cancelled(w: Wire, after: str, secrets: tuple[str, ...]) -> tuple[RequestRecord, list[ChunkTiming]]:
    """The client abandoned the stream: keep what arrived, with the rule that fired."""
    return _finish(w, "cancelled", secrets, error=f"cancelled by the client after {after}")


def _http_error(w: Wire, secrets: tuple[str, ...]) -> tuple[RequestRecord, list[ChunkTiming]]:
    code = w.status or 0
    h = w.headers or Headers()
    msg, typ = provider_message(bytes(w.error_body or b""))
    status = error_status(code, typ)
    reason = f"HTTP {code}" + (f" {w.reason}" if w.reason else "")
    if 300 <= code < 400:
        where = endpoint_host(h.get("location") or "") or "an unnamed location"
        msg = f"redirect to {where} not followed; point base_url at the final endpoint"
    text = f"{reason}: {msg}" if msg else reason
    return _finish(w, status, secrets, error=scrub(text, secrets, limit=ERROR_TEXT_LIMIT),
                   retry_after_s=retry_after(h))
