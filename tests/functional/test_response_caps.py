"""#17 item 8 (engine and embed side): a response may cost the client only so much.

The review's flood (about a million tiny events in four seconds) gave 1,048,003 chunk rows
and 444 MiB of RSS. ``spec.caps`` bounds events, body bytes and kept chunk rows per
response: a stream past a cap is cut, recorded ``truncated`` with the cap named in its
error, and what arrived before the cut is kept. The embedded profiler has the same caps,
but never cuts the application's stream: past a cap lens stops timing that response.
The server is aiohttp.web (tests/helpers_echo.py), flooding ``data: {}`` events.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import pytest
from helpers_echo import EchoServer, echo_server

from lens.burst.run import run
from lens.record import ChunkTiming, RequestRecord
from lens.spec import Caps

ROOT = Path(__file__).resolve().parents[2]
FLOOD = 2_000_000  # events (20 MB on the wire)
RSS_BOUND_MIB = 24  # growth allowed for a capped flood (~2 MiB measured; uncapped ~350 MiB)

# Runs in a fresh interpreter: ru_maxrss is the process's peak, so the baseline is taken
# after a small request (imports, loop, pools warm) and the flood's peak is compared to it.
_CLIENT = """
import json, resource, sys
from lens.burst.run import run
base, caps = sys.argv[1], json.loads(sys.argv[2])
def fire(path):
    return run({"targets": [{"provider": "openai_compat", "base_url": f"{base}/{path}/v1", "model": "m"}],
                "prompts": {"synthetic_tokens": 8}, "max_tokens": 4, "load": {"requests": 1}, "caps": caps})
fire("ok")
before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
out = fire(f"flood/{sys.argv[3]}")
after = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
r = out.records[0]
print(json.dumps({"status": r.status, "error": r.error, "chunks": len(out.chunks), "grew_kib": after - before}))
"""


@pytest.fixture(scope="module")
def srv() -> Iterator[EchoServer]:
    with echo_server() as s:
        yield s


def _fire(srv: EchoServer, path: str, **caps: int) -> tuple[RequestRecord, list[ChunkTiming]]:
    out = run({"targets": [{"provider": "openai_compat", "base_url": f"{srv.url}/{path}/v1", "model": "m"}],
               "prompts": {"synthetic_tokens": 8}, "max_tokens": 4, "load": {"requests": 1}, "caps": caps})
    (rec,) = out.records
    return rec, out.chunks


def test_a_flood_is_cut_and_memory_stays_bounded(srv: EchoServer) -> None:
    caps = {"max_events": 50_000, "max_chunk_rows": 1000}
    p = subprocess.run([sys.executable, "-c", _CLIENT, srv.url, json.dumps(caps), str(FLOOD)],
                       capture_output=True, text=True, timeout=120,
                       env={**os.environ, "PYTHONPATH": str(ROOT)})
    assert p.returncode == 0, p.stderr[-2000:]
    got = json.loads(p.stdout.strip().splitlines()[-1])
    assert got["status"] == "truncated"
    assert got["error"] == "cut by the client: the response sent more than 50000 events (caps.max_events)"
    assert got["chunks"] == 1000  # chunk rows kept = caps.max_chunk_rows
    assert got["grew_kib"] < RSS_BOUND_MIB * 1024, got


def test_the_event_cap_keeps_exactly_that_many_events(srv: EchoServer) -> None:
    # 5000 events arrive in a few reads of thousands each; the cut falls inside one of them
    rec, chunks = _fire(srv, "flood/5000", max_events=1234)
    assert rec.status == "truncated" and "more than 1234 events (caps.max_events)" in (rec.error or "")
    assert len(chunks) == 1234 and [c.index for c in chunks] == list(range(1234))


def test_chunk_rows_kept_equal_the_cap_and_the_stream_completes(srv: EchoServer) -> None:
    rec, chunks = _fire(srv, "flood/5000", max_chunk_rows=100)
    assert rec.status == "ok" and rec.error is None  # nothing was cut: only rows are capped
    assert len(chunks) == 100 and chunks[-1].index == 99


def test_the_bytes_cap_cuts_a_huge_response_and_keeps_what_arrived(srv: EchoServer) -> None:
    rec, chunks = _fire(srv, "big/5000000", max_bytes=1_000_000)
    assert rec.status == "truncated"
    assert rec.error == "cut by the client: the response sent more than 1000000 bytes (caps.max_bytes)"
    assert rec.ttft_ms is not None and [c.kind for c in chunks] == ["text"]  # the token before the padding
    assert rec.e2e_ms < 5000


class _Collect:
    def __init__(self) -> None:
        self.rows: list[tuple[RequestRecord, Sequence[ChunkTiming]]] = []

    def add(self, record: RequestRecord, chunks: Sequence[ChunkTiming] = ()) -> None:
        self.rows.append((record, list(chunks)))


def _embed(srv: EchoServer, path: str, caps: Caps) -> tuple[int, RequestRecord, list[ChunkTiming]]:
    import httpx

    from lens.embed import EmbedSink, LensTransport

    col = _Collect()
    sink = EmbedSink(sinks=[col])
    body: dict[str, Any] = {"model": "m", "stream": True, "messages": [{"role": "user", "content": "hi"}]}
    with httpx.Client(transport=LensTransport(sink=sink, caps=caps)) as client:
        with client.stream("POST", f"{srv.url}/{path}/v1/chat/completions", json=body) as resp:
            n = sum(len(b) for b in resp.iter_bytes())
    sink.close()
    ((rec, chunks),) = col.rows
    return n, rec, list(chunks)


def test_embed_stops_timing_past_the_event_cap_and_the_app_reads_everything(srv: EchoServer) -> None:
    n, rec, chunks = _embed(srv, "flood/300000", Caps(max_events=1000))
    assert n == 300_000 * len(b"data: {}\n\n") + len(b"data: [DONE]\n\n")  # the app got it all
    assert rec.status == "truncated"
    assert rec.error == ("lens stopped timing: the response sent more than 1000 events (caps.max_events); "
                         "the application read it unchanged")
    assert len(chunks) == 1000


def test_embed_bytes_cap_and_chunk_rows_cap(srv: EchoServer) -> None:
    n, rec, _ = _embed(srv, "big/3000000", Caps(max_bytes=500_000))
    assert n > 3_000_000 and rec.status == "truncated" and "more than 500000 bytes (caps.max_bytes)" in (rec.error or "")
    n, rec, chunks = _embed(srv, "flood/5000", Caps(max_chunk_rows=100))
    assert rec.status == "ok" and len(chunks) == 100
