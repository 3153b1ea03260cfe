"""Overhead of the embedded profiler's httpx transport vs a bare transport.

    python -m bench.embed_overhead [--store]

An in-memory ``httpx.MockTransport`` serves OpenAI chat-completion SSE (one event per
chunk, realistic JSON), so only client-side CPU is measured. The same httpx Client code
reads every response with ``iter_raw`` (as the SDKs do), once through the bare mock and
once through ``LensTransport(mock)``:

- per chunk: calls of 2,000 chunks; (instrumented - bare) / chunks.
- per call: calls of 3 chunks (role, one token, [DONE]) repeated; (instrumented - bare) /
  calls -- request inspection, record creation, finish (percentiles, chunk rows), submit.

Records go to an EmbedSink whose writer thread runs meanwhile (it competes for the GIL,
as it would in an app); ``--store`` also writes them to a SQLite store in a temp dir.
Targets (issue 9): < 50 us per chunk, < 1 ms per call. Each figure is the median of 7
repetitions.
"""

from __future__ import annotations

import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import httpx

from lens.embed import EmbedSink
from lens.embed.httpx_transport import LensTransport

URL = "http://bench.local/v1/chat/completions"
BODY = {"model": "gpt-bench", "stream": True, "messages": [{"role": "user", "content": "hi " * 50}]}
ROLE = b'data: {"id":"c","object":"chat.completion.chunk","created":1,"model":"gpt-bench","choices":[{"index":0,"delta":{"role":"assistant","content":""},"finish_reason":null}]}\n\n'
TOKEN = b'data: {"id":"c","object":"chat.completion.chunk","created":1,"model":"gpt-bench","choices":[{"index":0,"delta":{"content":" word"},"finish_reason":null}]}\n\n'
USAGE = b'data: {"id":"c","object":"chat.completion.chunk","created":1,"model":"gpt-bench","choices":[],"usage":{"prompt_tokens":50,"completion_tokens":%d}}\n\n'
DONE = b"data: [DONE]\n\n"


def _chunks(n_tokens: int) -> list[bytes]:
    return [ROLE, *([TOKEN] * n_tokens), USAGE % n_tokens, DONE]


def _mock(chunks: list[bytes]) -> httpx.MockTransport:
    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(
            200, headers={"content-type": "text/event-stream"}, content=iter(chunks)
        )

    return httpx.MockTransport(handler)


def _time_calls(client: httpx.Client, calls: int) -> float:
    t0 = time.perf_counter()
    for _ in range(calls):
        with client.stream("POST", URL, json=BODY) as resp:
            for _chunk in resp.iter_raw():
                pass
    return time.perf_counter() - t0


def _median(fn: Callable[[], float], reps: int = 7) -> float:
    return statistics.median(fn() for _ in range(reps))


def measure(n_tokens: int, calls: int, sink: EmbedSink) -> tuple[float, float]:
    """(bare seconds, instrumented seconds) for ``calls`` calls of ``n_tokens`` tokens."""
    chunks = _chunks(n_tokens)
    bare = httpx.Client(transport=_mock(chunks))
    inst = httpx.Client(transport=LensTransport(_mock(chunks), sink=sink))
    _time_calls(bare, 5)
    _time_calls(inst, 5)  # warm: imports, tokenizer caches
    sink.flush(60)
    t_bare = _median(lambda: _time_calls(bare, calls))
    t_inst = _median(lambda: _time_calls(inst, calls))
    sink.flush(60)
    return t_bare, t_inst


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    with tempfile.TemporaryDirectory() as tmp:
        store = str(Path(tmp) / "bench.db") if "--store" in argv else None
        sink = EmbedSink(store=store, maxsize=100_000)
        n_chunk_tokens, chunk_calls = 2000, 3
        b, i = measure(n_chunk_tokens, chunk_calls, sink)
        per_chunk_us = (i - b) / (chunk_calls * (n_chunk_tokens + 3)) * 1e6
        bare_chunk_us = b / (chunk_calls * (n_chunk_tokens + 3)) * 1e6
        small_calls = 300
        b2, i2 = measure(1, small_calls, sink)
        per_call_us = (i2 - b2) / small_calls * 1e6
        bare_call_us = b2 / small_calls * 1e6
        sink.close()
        print(f"sink: {'SQLite store' if store else 'no store (writer thread only)'}; "
              f"records delivered {sink.delivered}, dropped {sink.dropped}, errors {sink.errors}")  # fmt: skip
        print(f"per chunk: bare {bare_chunk_us:.1f} us, overhead {per_chunk_us:.1f} us "
              f"(target < 50 us) -> {'OK' if per_chunk_us < 50 else 'MISSED'}")  # fmt: skip
        print(f"per call:  bare {bare_call_us:.0f} us, overhead {per_call_us:.0f} us "
              f"(target < 1000 us) -> {'OK' if per_call_us < 1000 else 'MISSED'}")  # fmt: skip
    return 0


if __name__ == "__main__":
    sys.exit(main())
