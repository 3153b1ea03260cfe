"""#17 items 2 and 5: the embedded profiler scrubs the request's actual credentials.

The old ``lens.embed`` scrubbed error text by pattern only (``sk-...``, ``Bearer ...``), so
a gateway key with no known shape, echoed in an error body or a mid-stream error event,
was stored verbatim; header values (``x-request-id``, ``x-ratelimit-*``) were stored
without any scrubbing. Here the leaky gateway (tests/helpers_echo.py, aiohttp.web) echoes
every credential it receives, and the application calls it through the httpx transport
and through an instrumented aiohttp session: with a Bearer key and an ``x-api-key``
gateway key (OpenAI Chat), and with a Gemini key in the ``?key=`` query parameter.
Nothing of any key may reach the embed store's file.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from helpers_echo import EchoServer, echo_server

from lens.embed import EmbedSink
from lens.probe.outcome import HEADER_VALUE_LIMIT
from lens.record import RequestRecord
from lens.store.sql import open_store

KEY = "sk-embed-Z3pQ8wLk2Vn7Rt5Yx9Ab"
GW = "gw-embed-tenant-4Kd9-secret"  # no known key shape: only scrubbing by value catches it
QKEY = "gq-query-key-Lm3Nb8Vc-secret"  # Gemini's ?key=, no known shape either
MARKS = (KEY, KEY[9:], GW, GW[9:], QKEY, QKEY[13:])
MODES = ("ok", "err", "mid")
CHAT_BODY = {"model": "gpt-x", "stream": True, "messages": [{"role": "user", "content": "hi"}]}
GEMINI_BODY = {"contents": [{"role": "user", "parts": [{"text": "hi"}]}]}


@pytest.fixture(scope="module")
def srv() -> Iterator[EchoServer]:
    with echo_server() as s:
        yield s


def _calls(srv: EchoServer) -> list[tuple[str, dict[str, str], dict]]:
    out = []
    for mode in MODES:
        out.append((f"{srv.url}/{mode}/v1/chat/completions", {"Authorization": f"Bearer {KEY}", "x-api-key": GW},
                    CHAT_BODY))
        out.append((f"{srv.url}/{mode}/v1beta/models/gemini-2.0-flash:streamGenerateContent?alt=sse&key={QKEY}",
                    {}, GEMINI_BODY))
    return out


def _stored(db: Path, sink: EmbedSink) -> list[RequestRecord]:
    sink.close()
    assert sink.dropped == 0 and not sink.errors
    store = open_store(db)
    try:
        return store.records(sink.run_id)
    finally:
        store.close()


def _check(db: Path, records: list[RequestRecord]) -> None:
    assert len(records) == 6
    text = "\n".join(p.read_bytes().decode("latin-1") for p in db.parent.iterdir() if p.is_file())
    assert [m for m in MARKS if m in text] == []  # the database file, WAL included
    by = {(r.dialect, r.endpoint_host, r.status) for r in records}
    assert {s for _d, _h, s in by} == {"ok", "http_error", "stream_error"}
    for r in records:
        assert [m for m in MARKS if m in json.dumps(r.to_dict(), default=str)] == []
        assert r.server_request_id is not None and r.server_request_id.startswith("req_0001 ")
        assert "[REDACTED]" in r.server_request_id and len(r.server_request_id) <= HEADER_VALUE_LIMIT
        assert all("[REDACTED]" in v and len(v) <= HEADER_VALUE_LIMIT for v in json.loads(r.ratelimit or "{}").values())
        if r.status == "http_error":
            assert (r.error or "").startswith("HTTP 401: Incorrect API key provided: ") and "[REDACTED]" in (r.error or "")
            assert r.retry_after_s is None  # retry-after held a key, not a duration
        if r.status == "stream_error":
            assert "upstream rejected the key " in (r.error or "") and "[REDACTED]" in (r.error or "")
    assert {r.dialect for r in records} == {"openai_chat", "gemini"}


def test_httpx_transport_never_stores_a_key(srv: EchoServer, tmp_path: Path) -> None:
    import httpx

    from lens.embed import LensTransport

    db = tmp_path / "embed" / "lens.db"
    sink = EmbedSink(store=str(db))
    with httpx.Client(transport=LensTransport(sink=sink)) as client:
        for url, headers, body in _calls(srv):
            with client.stream("POST", url, headers=headers, json=body) as resp:
                got = b"".join(resp.iter_bytes())
            assert got  # the application still reads what the server sent
    _check(db, _stored(db, sink))


def test_aiohttp_session_never_stores_a_key(srv: EchoServer, tmp_path: Path) -> None:
    import aiohttp

    from lens.embed import instrument_aiohttp

    db = tmp_path / "embed" / "lens.db"
    sink = EmbedSink(store=str(db))

    async def main() -> None:
        async with aiohttp.ClientSession() as session:
            instrument_aiohttp(session, sink=sink)
            for url, headers, body in _calls(srv):
                async with session.post(url, headers=headers, json=body) as resp:
                    assert [c async for c in resp.content.iter_any()]

    asyncio.run(main())
    _check(db, _stored(db, sink))
