"""Micro-benchmark: SSE framing (and framing + dialect parse) per event, on one core.

Run: ``python -m bench.sse_parse`` (prints a table; figures go to docs/benchmarks.md under
"## SSE parser"). Streams are realistic OpenAI Chat Completions chunks (~330 bytes each),
delivered (a) one event per read, as a paced stream arrives, (b) 64 KiB reads, as a
backlogged socket delivers, (c) CRLF one event per read, and (d) Anthropic named events.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable

from lens.probe.dialects import get_dialect
from lens.probe.sse import SSEParser

N_EVENTS = 50_000


def _chat_chunk(i: int) -> bytes:
    obj = {
        "id": "chatcmpl-BxQ3v9kLh2",
        "object": "chat.completion.chunk",
        "created": 1753800000,
        "model": "gpt-4o-mini-2024-07-18",
        "service_tier": "default",
        "system_fingerprint": "fp_34a54ae93c",
        "choices": [
            {"index": 0, "delta": {"content": f" tok{i}"}, "logprobs": None, "finish_reason": None}
        ],
        "usage": None,
    }
    return b"data: " + json.dumps(obj, separators=(",", ":")).encode() + b"\n\n"


def _anthropic_event(i: int) -> bytes:
    obj = {
        "type": "content_block_delta",
        "index": 0,
        "delta": {"type": "text_delta", "text": f" tok{i}"},
    }
    return b"event: content_block_delta\ndata: " + json.dumps(obj).encode() + b"\n\n"


def _reads(events: list[bytes], size: int | None) -> list[bytes]:
    if size is None:
        return events
    blob = b"".join(events)
    return [blob[i : i + size] for i in range(0, len(blob), size)]


def _time(fn: Callable[[], int], repeat: int = 5) -> tuple[float, int]:
    best = float("inf")
    n = 0
    for _ in range(repeat):
        t0 = time.perf_counter_ns()
        n = fn()
        best = min(best, time.perf_counter_ns() - t0)
    return best, n


def _frame_only(reads: list[bytes]) -> Callable[[], int]:
    def run() -> int:
        p = SSEParser()
        n = 0
        for r in reads:
            n += len(p.feed(r))
        return n + len(p.close())

    return run


def _frame_and_parse(reads: list[bytes], dialect_name: str) -> Callable[[], int]:
    dialect = get_dialect(dialect_name)

    def run() -> int:
        p = dialect.new_framer()
        parse = dialect.parse
        n = 0
        for r in reads:
            for ev in p.feed(r):
                n += len(parse(ev))
        return n

    return run


def main() -> None:
    chat = [_chat_chunk(i) for i in range(N_EVENTS)]
    crlf = [c.replace(b"\n", b"\r\n") for c in chat]
    anth = [_anthropic_event(i) for i in range(N_EVENTS)]
    cases = [
        ("openai chunks, 1 event/read, frame only", _frame_only(_reads(chat, None))),
        ("openai chunks, 64 KiB reads, frame only", _frame_only(_reads(chat, 65536))),
        ("openai chunks CRLF, 1 event/read, frame only", _frame_only(_reads(crlf, None))),
        (
            "openai chunks, 1 event/read, frame + parse",
            _frame_and_parse(_reads(chat, None), "openai_chat"),
        ),
        (
            "anthropic events, 1 event/read, frame + parse",
            _frame_and_parse(_reads(anth, None), "anthropic"),
        ),
    ]
    print(f"{'case':50s} {'us/event':>9s} {'events/s':>12s}")
    for name, fn in cases:
        ns, n = _time(fn)
        assert n >= N_EVENTS, (name, n)
        per = ns / N_EVENTS / 1000
        print(f"{name:50s} {per:9.2f} {1e6 / per:12,.0f}")


if __name__ == "__main__":
    main()
