"""Connection habits and header timing of the simulated endpoint, read off the raw wire.

Each test talks HTTP/1.1 over its own socket (tests/helpers_wire.py, no lens code), so it
sees the exact header bytes and the moment the server's FIN arrives.
"""

from __future__ import annotations

import asyncio
import time

import aiohttp
import pytest
from helpers_sim import fetch
from helpers_wire import RawConn, chat_body

from lens.sim import SimServer

FAST = {"header_ms": 0, "ttft_ms": 5, "itl_ms": 1, "output_tokens": 5}
PATH = "/p/{}/v1/chat/completions"
_now = time.perf_counter_ns


def _ms(ns: int) -> float:
    return ns / 1e6


async def test_default_reuses_connection_without_keepalive_header() -> None:
    async with SimServer({"default": FAST}) as sim:
        conn = await RawConn.open(sim.url)
        first = await conn.request("/v1/chat/completions", chat_body())
        second = await conn.request("/v1/chat/completions", chat_body())
        assert await conn.wait_closed(0.5) is None  # still open: aiohttp idles out after 75 s
        await conn.close()
    for resp in (first, second):
        assert resp.status == 200 and resp.data_lines()[-1] == "[DONE]"
        assert resp.header("keep-alive") is None and resp.header("connection") is None
    a, b = sim.truth(first.request_id), sim.truth(second.request_id)
    assert a.conn_id == b.conn_id == f"127.0.0.1:{conn.local_port}"
    assert (a.conn_seq, b.conn_seq) == (1, 2) and a.conn_closed is None and b.conn_closed is None


async def test_hangup_closes_right_after_each_stream_without_saying_so() -> None:
    async with SimServer({"hang": {**FAST, "conn": "hangup"}}) as sim:
        conn = await RawConn.open(sim.url)
        resp = await conn.request(PATH.format("hang"), chat_body())
        fin = await conn.wait_closed(2.0)
        await conn.close()
        truth = sim.truth(resp.request_id)
        assert sim.conns.hung_up == 1
    # A complete, well-formed stream: terminating chunk and [DONE], no announcement.
    assert resp.status == 200 and resp.data_lines()[-1] == "[DONE]"
    assert resp.header("connection") is None and resp.header("keep-alive") is None
    assert b"connection: close" not in resp.head.lower()
    assert fin is not None and _ms(fin - resp.end_at) < 50  # FIN right after the last chunk
    assert truth.conn_closed == "hangup" and truth.conn_seq == 1


async def test_hangup_as_llamacpp_advertises_keepalive_then_hangs_up() -> None:
    # llama-server sends "Keep-Alive: timeout=5, max=100" and still closes after a stream.
    async with SimServer({"ll": {**FAST, "preset": "llamacpp"}}) as sim:
        conn = await RawConn.open(sim.url)
        resp = await conn.request(PATH.format("ll"), chat_body(max_tokens=3))
        fin = await conn.wait_closed(2.0)
        await conn.close()
    assert resp.header("keep-alive") == "timeout=5, max=100" and resp.header("connection") is None
    assert fin is not None and _ms(fin - resp.end_at) < 50
    # A client that believed the header and reuses the connection gets nothing back.
    assert sim.truth(resp.request_id).conn_closed == "hangup"


async def test_hangup_reused_socket_gets_no_response() -> None:
    async with SimServer({"hang": {**FAST, "conn": "hangup"}}) as sim:
        conn = await RawConn.open(sim.url)
        await conn.request(PATH.format("hang"), chat_body())
        assert await conn.wait_closed(2.0) is not None
        try:
            await conn.send(PATH.format("hang"), chat_body())
            leftover = await asyncio.wait_for(conn.reader.read(65536), 2.0)
        except ConnectionError:
            leftover = b""
        await conn.close()
        assert leftover == b""
        assert len(sim.truths()) == 1  # the second request never reached the server


async def test_hangup_keeps_nonstreamed_connections() -> None:
    # llama.cpp only hangs up after streamed responses; plain JSON answers keep the connection.
    async with SimServer({"hang": {**FAST, "conn": "hangup"}}) as sim:
        conn = await RawConn.open(sim.url)
        plain = await conn.request(PATH.format("hang"), chat_body(stream=False))
        streamed = await conn.request(PATH.format("hang"), chat_body())
        fin = await conn.wait_closed(2.0)
        await conn.close()
    assert plain.status == 200 and b'"chat.completion"' in plain.body
    a, b = sim.truth(plain.request_id), sim.truth(streamed.request_id)
    assert a.conn_id == b.conn_id and (a.conn_seq, b.conn_seq) == (1, 2)
    assert a.conn_closed is None and b.conn_closed == "hangup" and fin is not None


async def test_close_announces_connection_close_and_closes() -> None:
    async with SimServer({"c": {**FAST, "conn": "close"}}) as sim:
        conn = await RawConn.open(sim.url)
        resp = await conn.request(PATH.format("c"), chat_body())
        fin = await conn.wait_closed(2.0)
        await conn.close()
    assert resp.header("connection") == "close" and resp.header("keep-alive") is None
    assert resp.data_lines()[-1] == "[DONE]"
    assert fin is not None and _ms(fin - resp.end_at) < 50
    assert sim.truth(resp.request_id).conn_closed == "announced"


async def test_keepalive_idle_close_after_timeout_and_announced() -> None:
    async with SimServer({"ka": {**FAST, "conn": "keepalive:0.3"}}) as sim:
        conn = await RawConn.open(sim.url)
        resp = await conn.request(PATH.format("ka"), chat_body())
        fin = await conn.wait_closed(3.0)
        await conn.close()
        assert sim.conns.idle_closed == 1
    assert resp.header("keep-alive") == "timeout=0.3" and resp.header("connection") is None
    assert fin is not None
    idle = _ms(fin - resp.end_at)
    assert 280 <= idle < 600, idle
    assert sim.truth(resp.request_id).conn_closed is None


async def test_keepalive_reuse_within_timeout_restarts_the_idle_timer() -> None:
    async with SimServer({"ka": {**FAST, "conn": "keepalive:0.3"}}) as sim:
        conn = await RawConn.open(sim.url)
        first = await conn.request(PATH.format("ka"), chat_body())
        await asyncio.sleep(0.2)
        second = await conn.request(PATH.format("ka"), chat_body())  # 0.2 s idle < 0.3 s
        fin = await conn.wait_closed(3.0)
        await conn.close()
    a, b = sim.truth(first.request_id), sim.truth(second.request_id)
    assert a.conn_id == b.conn_id and b.conn_seq == 2
    assert fin is not None and 280 <= _ms(fin - second.end_at) < 600
    assert _ms(fin - first.end_at) >= 480  # the first response's timer did not close it


async def test_keepalive_unannounced_like_uvicorn() -> None:
    async with SimServer({"uv": {"preset": "uvicorn", **FAST, "conn": {"idle_s": 0.3}}}) as sim:
        conn = await RawConn.open(sim.url)
        resp = await conn.request(PATH.format("uv"), chat_body())
        fin = await conn.wait_closed(3.0)
        await conn.close()
    assert resp.header("keep-alive") is None and resp.header("connection") is None
    assert fin is not None and 280 <= _ms(fin - resp.end_at) < 600


async def test_max_requests_per_connection() -> None:
    prof = {**FAST, "conn": {"mode": "keepalive", "idle_s": 5, "max_requests": 2, "announce": True}}
    async with SimServer({"m": prof}) as sim:
        conn = await RawConn.open(sim.url)
        first = await conn.request(PATH.format("m"), chat_body())
        second = await conn.request(PATH.format("m"), chat_body())
        fin = await conn.wait_closed(2.0)
        await conn.close()
        conn2 = await RawConn.open(sim.url)
        third = await conn2.request(PATH.format("m"), chat_body())
        await conn2.close()
    assert first.header("keep-alive") == "timeout=5, max=2" and first.header("connection") is None
    assert second.header("connection") == "close" and second.header("keep-alive") is None
    assert fin is not None and _ms(fin - second.end_at) < 50
    t1, t2, t3 = (sim.truth(r.request_id) for r in (first, second, third))
    assert (t1.conn_seq, t2.conn_seq, t3.conn_seq) == (1, 2, 1)
    assert t1.conn_id == t2.conn_id != t3.conn_id
    assert (t1.conn_closed, t2.conn_closed) == (None, "announced")


async def test_idle_timeout_follows_the_last_requests_profile() -> None:
    # One connection, two profiles: the idle close follows the profile last served.
    async with SimServer({"ka": {**FAST, "conn": "keepalive:0.3"}, "plain": FAST}) as sim:
        conn = await RawConn.open(sim.url)
        await conn.request(PATH.format("ka"), chat_body())
        await conn.request(PATH.format("plain"), chat_body())
        assert await conn.wait_closed(0.8) is None
        await conn.close()


@pytest.mark.parametrize("mode", ["early", "first_token"])
async def test_header_timing_early_or_with_first_token(mode: str) -> None:
    prof = {"header_ms": 0, "ttft_ms": 150, "itl_ms": 2, "output_tokens": 3, "headers": mode}
    async with SimServer({"h": prof}) as sim:
        conn = await RawConn.open(sim.url)
        sent = _now()
        resp = await conn.request(PATH.format("h"), chat_body())
        await conn.close()
    truth = sim.truth(resp.request_id)
    headers_ns, first_text_ns, slot_ns = truth.headers_ns, truth.first_text_ns, truth.slot_ns
    assert headers_ns is not None and first_text_ns is not None and slot_ns is not None
    first_token = next(t for t, data in resp.chunks if b'"content":" ' in data)
    assert _ms(first_token - sent) >= 150
    if mode == "early":
        assert _ms(resp.headers_at - sent) < 60
        assert _ms(headers_ns - truth.received_ns) < 60
    else:
        # Headers leave right before the first token (and the role chunk rides with it).
        assert _ms(resp.headers_at - sent) >= 150
        assert _ms(first_token - resp.headers_at) < 20
        assert headers_ns <= first_text_ns and _ms(first_text_ns - headers_ns) < 5
        assert _ms(headers_ns - slot_ns) >= 150
    assert resp.json_events()[0]["choices"][0]["delta"]["role"] == "assistant"


async def test_header_timing_slot_waits_for_capacity() -> None:
    # One slot: the second request queues; "slot" headers wait for it, "early" ones do not.
    base = {"header_ms": 0, "ttft_ms": 20, "itl_ms": 20, "output_tokens": 10, "max_concurrency": 1}
    async with SimServer({"slot": {**base, "headers": "slot"}, "early": base}) as sim:
        for name in ("slot", "early"):
            a, b = await RawConn.open(sim.url), await RawConn.open(sim.url)
            sent = _now()
            await a.send(PATH.format(name), chat_body())
            await asyncio.sleep(0.02)
            await b.send(PATH.format(name), chat_body())
            ra, rb = await asyncio.gather(a.read_response(), b.read_response())
            await a.close()
            await b.close()
            tb = sim.truth(rb.request_id)
            assert tb.headers_ns is not None and tb.slot_ns is not None
            assert tb.queue_ns > 150e6  # waited for the first stream (~200 ms)
            if name == "slot":
                assert _ms(rb.headers_at - sent) >= 180 and tb.headers_ns >= tb.slot_ns
            else:
                assert _ms(rb.headers_at - sent) < 120 and tb.headers_ns < tb.slot_ns
            assert ra.status == rb.status == 200


async def test_separate_connections_have_separate_ids() -> None:
    async with SimServer({"default": FAST}) as sim:
        conns = [await RawConn.open(sim.url) for _ in range(3)]
        resps = await asyncio.gather(*(c.request("/v1/chat/completions", chat_body()) for c in conns))
        for c in conns:
            await c.close()
    truths = [sim.truth(r.request_id) for r in resps]
    assert len({t.conn_id for t in truths}) == 3 and all(t.conn_seq == 1 for t in truths)
    assert {t.conn_id for t in truths} == {f"127.0.0.1:{c.local_port}" for c in conns}


async def _burst(session: aiohttp.ClientSession, url: str, n: int) -> list[str]:
    recs = await asyncio.gather(*(fetch(session, url, chat_body()) for _ in range(n)))
    assert all(r.status == 200 and r.error is None and r.sse()[-1][1] == "[DONE]" for r in recs)
    return [r.request_id for r in recs]


async def test_keepalive_bursts_of_64_with_idle_gaps_and_reuse() -> None:
    # A pooling client (aiohttp): 64 streams, an idle gap longer than the keep-alive, 64
    # more, then 64 back to back. The server closes the idle ones; the pool notices.
    async with SimServer({"ka": {**FAST, "conn": "keepalive:0.3"}}) as sim, \
            aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=64)) as session:
        url = sim.url + PATH.format("ka")
        first = await _burst(session, url, 64)
        await asyncio.sleep(0.7)
        assert sim.conns.idle_closed == 64
        second = await _burst(session, url, 64)
        third = await _burst(session, url, 64)
    seqs = [[sim.truth(r).conn_seq for r in ids] for ids in (first, second, third)]
    assert seqs[0] == [1] * 64 and seqs[1] == [1] * 64  # all new connections after the gap
    assert seqs[2] == [2] * 64  # back to back: every connection reused once
    assert {sim.truth(r).conn_id for r in second} == {sim.truth(r).conn_id for r in third}


async def test_hangup_under_64_concurrent_streams() -> None:
    # 64 streams at once on 64 pooled connections: every stream completes and only its
    # own connection is closed (no request here is sent on a connection after a hang-up).
    async with SimServer({"hang": {**FAST, "itl_ms": 3, "conn": "hangup"}}) as sim, \
            aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=64)) as session:
        ids = await _burst(session, sim.url + PATH.format("hang"), 64)
        assert sim.conns.hung_up == 64
    truths = [sim.truth(r) for r in ids]
    assert all(t.conn_closed == "hangup" and t.output_tokens == 5 for t in truths)
    assert len({t.conn_id for t in truths}) == 64
