"""Ground truth: what the simulated endpoint did for each request, and when.

All times are ``time.perf_counter_ns()`` (CLOCK_MONOTONIC on Linux), comparable with a
client's perf_counter_ns in any process on the same host.

For each written event the server takes ``write_start_ns`` immediately before the
``await resp.write(...)`` call and ``write_end_ns`` right after it returns (the bytes are
in the kernel socket buffer and the transport drained). A client's timing error for an
event is its arrival time minus ``write_start_ns``: the bytes can reach a local client
before the server task resumes after the write, so ``write_end_ns`` may be later than the
arrival. ``t_ns`` equals ``write_end_ns``.

An event is recorded just before its write (with write_end_ns = write_start_ns) and its
end time is filled in when the write returns, so a client that has received the bytes
always finds the event in the truth; ``finished_ns`` is set when the handler returns.
"""

from __future__ import annotations

from array import array
from collections import OrderedDict
from dataclasses import dataclass, field
from typing import Any

EVENT_KINDS: tuple[str, ...] = ("text", "reasoning", "usage", "done", "error", "other")
_KIND_CODE = {k: i for i, k in enumerate(EVENT_KINDS)}


@dataclass(slots=True)
class SimEvent:
    """One event the server wrote. ``kind``: text|reasoning|usage|done|error|other."""

    t_ns: int
    kind: str
    n_tokens: int
    write_start_ns: int
    write_end_ns: int

    def to_dict(self) -> dict[str, Any]:
        return {
            "t_ns": self.t_ns,
            "kind": self.kind,
            "n_tokens": self.n_tokens,
            "write_start_ns": self.write_start_ns,
            "write_end_ns": self.write_end_ns,
        }


@dataclass(slots=True)
class SimTruth:
    """Ground truth of one request.

    ``output_tokens`` counts every generated token, answer plus reasoning (how OpenAI,
    Anthropic and Bedrock report usage); ``text_tokens`` is the answer alone.
    ``queue_ns`` is the server-side wait for a capacity slot. ``fault`` names the
    injected fault (see lens.sim.profiles.FAULT_KINDS) or is None. ``status`` is the HTTP
    status sent (None if the connection was dropped before headers).
    ``client_disconnected`` is set when a write failed because the client went away.
    ``max_lag_ns`` is the largest delay of a token event behind its planned time (server
    scheduling lag: if it grows, the simulator itself is the bottleneck).

    ``slot_ns`` is when the request held a capacity slot: the origin of its plan (token
    event offsets, and llama.cpp's ``prompt_ms``). ``conn_id`` is the client end of the
    TCP connection ("host:port") and ``conn_seq`` the request's number on it (1 = a new
    connection). ``conn_closed`` says how the server ended the connection after this
    response: "announced" (``Connection: close``), "hangup" (closed unannounced) or None
    (kept open; an idle close comes later). ``server_timing`` is the timing the server
    reported about itself, exactly as sent: ``{"timings": {...}}`` (llama.cpp),
    ``{"openai-processing-ms": N}`` or ``{"latencyMs": N}`` (Bedrock); None if none.
    """

    request_id: str
    profile: str
    dialect: str
    received_ns: int
    headers_ns: int | None = None
    # Events packed 4 ints each (write_start, write_end, kind code, n_tokens): 32 bytes
    # per event instead of ~200 for objects, so 100k kept truths stay affordable.
    _packed: array = field(default_factory=lambda: array("q"), repr=False)
    prompt_tokens: int = 0
    output_tokens: int = 0
    reasoning_tokens: int = 0
    cached_tokens: int = 0
    fault: str | None = None
    status: int | None = None
    queue_ns: int = 0
    model: str = ""
    stream: bool = True
    finished_ns: int | None = None
    client_disconnected: bool = False
    max_lag_ns: int = 0
    slot_ns: int | None = None
    conn_id: str = ""
    conn_seq: int = 0
    conn_closed: str | None = None
    server_timing: dict[str, Any] | None = None

    def add_event(self, kind: str, n_tokens: int, write_start_ns: int, write_end_ns: int) -> None:
        self._packed.extend((write_start_ns, write_end_ns, _KIND_CODE[kind], n_tokens))

    def set_write_end(self, first: int, write_end_ns: int) -> None:
        """Set write_end_ns of events ``first``.. (recorded just before their write)."""
        p = self._packed
        for i in range(first * 4 + 1, len(p), 4):
            p[i] = write_end_ns

    def drop_events(self, first: int) -> None:
        """Forget events ``first``.. (recorded before a write that failed)."""
        del self._packed[first * 4 :]

    @property
    def events(self) -> list[SimEvent]:
        """The written events in order (materialized from the packed store)."""
        p = self._packed
        return [
            SimEvent(p[i + 1], EVENT_KINDS[p[i + 2]], p[i + 3], p[i], p[i + 1])
            for i in range(0, len(p), 4)
        ]

    @property
    def n_events(self) -> int:
        return len(self._packed) // 4

    @property
    def text_tokens(self) -> int:
        return self.output_tokens - self.reasoning_tokens

    def token_events(self, kind: str | None = None) -> list[SimEvent]:
        """Events that carried tokens (optionally of one kind)."""
        return [e for e in self.events if e.n_tokens and (kind is None or e.kind == kind)]

    @property
    def first_text_ns(self) -> int | None:
        """write_start_ns of the first answer-text event (the server side of TTFT)."""
        p = self._packed
        for i in range(0, len(p), 4):
            if p[i + 2] == 0 and p[i + 3]:
                return p[i]
        return None

    def to_dict(self) -> dict[str, Any]:
        return {
            "request_id": self.request_id,
            "profile": self.profile,
            "dialect": self.dialect,
            "model": self.model,
            "stream": self.stream,
            "received_ns": self.received_ns,
            "headers_ns": self.headers_ns,
            "queue_ns": self.queue_ns,
            "finished_ns": self.finished_ns,
            "status": self.status,
            "fault": self.fault,
            "prompt_tokens": self.prompt_tokens,
            "output_tokens": self.output_tokens,
            "reasoning_tokens": self.reasoning_tokens,
            "cached_tokens": self.cached_tokens,
            "client_disconnected": self.client_disconnected,
            "max_lag_ns": self.max_lag_ns,
            "slot_ns": self.slot_ns,
            "conn_id": self.conn_id,
            "conn_seq": self.conn_seq,
            "conn_closed": self.conn_closed,
            "server_timing": self.server_timing,
            "events": [e.to_dict() for e in self.events],
        }

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> SimTruth:
        """Inverse of to_dict (for truths fetched over HTTP from another process)."""
        d = dict(d)
        events = d.pop("events", [])
        truth = cls(**d)
        for e in events:
            truth.add_event(e["kind"], e["n_tokens"], e["write_start_ns"], e["write_end_ns"])
        return truth


class TruthStore:
    """The last ``max_items`` truths, by request id (oldest evicted first)."""

    def __init__(self, max_items: int = 100_000) -> None:
        self._items: OrderedDict[str, SimTruth] = OrderedDict()
        self.max_items = max_items

    def add(self, truth: SimTruth) -> None:
        self._items[truth.request_id] = truth
        if len(self._items) > self.max_items:
            self._items.popitem(last=False)

    def get(self, request_id: str) -> SimTruth:
        try:
            return self._items[request_id]
        except KeyError:
            raise KeyError(
                f"no ground truth for sim request {request_id!r} (unknown id, or evicted "
                f"after {self.max_items} newer requests)"
            ) from None

    def all(self) -> list[SimTruth]:
        return list(self._items.values())

    def clear(self) -> None:
        self._items.clear()

    def __len__(self) -> int:
        return len(self._items)
