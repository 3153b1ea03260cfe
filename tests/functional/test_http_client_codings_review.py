"""Hostile codings against lens.probe.http (a review of Transfer-Encoding support).

A raw asyncio server writes exactly the bytes under test. Ground truth: the body the
server encoded, the bytes the client's observer was handed, and the memory the client
held (tracemalloc) while refusing a gzip bomb.
"""

from __future__ import annotations

import asyncio
import gzip
import itertools
import tracemalloc
import zlib

import pytest
from helpers_http import LOOPS, RawServer, Recorder, Req, chunk, run

from lens.probe.http import HttpClient, ProtocolError, ResponseTooLarge

pytestmark = pytest.mark.parametrize("loop", LOOPS)

TEXT = b"data: hello\n\ndata: world\n\n" * 200
OK = b"HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\n"
_BOMB: list[bytes] = []


def _bomb() -> bytes:
    """64 MiB of zeros, gzipped: about 64 KiB on the wire."""
    if not _BOMB:
        _BOMB.append(gzip.compress(b"\0" * (64 << 20), compresslevel=9))
    return _BOMB[0]


def _chunked(data: bytes, size: int = 50) -> bytes:
    return b"".join(chunk(data[i:i + size]) for i in range(0, len(data), size)) + b"0\r\n\r\n"


def _corrupt(data: bytes) -> bytes:
    b = bytearray(data)
    mid = len(b) // 2
    b[mid:mid + 4] = bytes(x ^ 0xFF for x in b[mid:mid + 4])
    return bytes(b)


async def _serve(req: Req, w: asyncio.StreamWriter) -> bool:
    kind = req.target.rsplit("/", 1)[1]
    packed = gzip.compress(TEXT)
    if kind == "chunked-then-gzip":  # chunked applied first: not the final coding
        w.write(OK + b"Transfer-Encoding: chunked, gzip\r\n\r\n" + gzip.compress(_chunked(TEXT)))
        return False
    if kind == "chunked-twice":  # RFC 9112 7: chunked MUST NOT be applied twice
        w.write(OK + b"Transfer-Encoding: chunked, chunked\r\n\r\n" + _chunked(_chunked(TEXT)))
        return False
    if kind == "bomb-te":
        w.write(OK + b"Transfer-Encoding: gzip, chunked\r\n\r\n" + _chunked(_bomb(), 1 << 16))
        return True
    if kind == "bomb-ce":
        w.write(OK + b"Content-Encoding: gzip\r\nContent-Length: %d\r\n\r\n" % len(_bomb())
                + _bomb())
        return True
    if kind == "bomb-te-over-ce":  # the outer (transfer) stage is the bomb
        w.write(OK + b"Content-Encoding: deflate\r\nTransfer-Encoding: gzip, chunked\r\n\r\n"
                + _chunked(_bomb(), 1 << 16))
        return True
    if kind == "corrupt-te":
        w.write(OK + b"Transfer-Encoding: gzip, chunked\r\n\r\n" + _chunked(_corrupt(packed)))
        return True
    if kind == "corrupt-ce":
        w.write(OK + b"Content-Encoding: gzip\r\nContent-Length: %d\r\n\r\n" % len(packed)
                + _corrupt(packed))
        return True
    if kind == "truncated-te-close":  # close-delimited: the gzip trailer is the only end mark
        w.write(OK + b"Transfer-Encoding: gzip\r\n\r\n" + packed[: len(packed) // 2])
        return False
    if kind == "truncated-ce-chunked":
        w.write(OK + b"Content-Encoding: gzip\r\nTransfer-Encoding: chunked\r\n\r\n"
                + _chunked(packed[: len(packed) - 6]))
        return True
    if kind == "garbage-after":
        w.write(OK + b"Transfer-Encoding: gzip, chunked\r\n\r\n" + _chunked(packed + b"GARBAGE"))
        return True
    if kind == "two-members":  # RFC 1952: a gzip file may hold several members
        half = len(TEXT) // 2
        two = gzip.compress(TEXT[:half]) + gzip.compress(TEXT[half:])
        w.write(OK + b"Transfer-Encoding: gzip, chunked\r\n\r\n" + _chunked(two, 7))
        return True
    if kind == "no-body":  # 204, or HEAD's answer: codings named, no body to decode
        status = b"204 No Content" if req.method == "GET" else b"200 OK"
        w.write(b"HTTP/1.1 " + status + b"\r\nTransfer-Encoding: gzip, chunked\r\n"
                b"Content-Encoding: gzip\r\n\r\n")
        return True
    if kind == "empty-gzip":  # no body bytes at all under a coding: an empty body
        w.write(OK + b"Content-Encoding: gzip\r\nContent-Length: 0\r\n\r\n")
        return True
    raise AssertionError(kind)


async def _get(client: HttpClient, srv: RawServer, kind: str, **kw: object) -> Recorder:
    rec = Recorder()
    r = await asyncio.wait_for(
        client.request("GET", srv.url(f"/b/{kind}"), observer=rec, **kw), 20)  # type: ignore[arg-type]
    assert r.status == 200
    assert r.body_bytes == len(rec.body)
    return rec


def test_chunked_must_be_the_last_coding_and_only_once(loop: str) -> None:
    async def main() -> None:
        srv = await RawServer(_serve).start()
        try:
            async with HttpClient() as client:
                for kind in ("chunked-then-gzip", "chunked-twice"):
                    with pytest.raises(ProtocolError) as err:
                        await _get(client, srv, kind)
                    msg = str(err.value)
                    assert "Transfer-Encoding" in msg and "chunked" in msg, msg
        finally:
            await srv.stop()

    run(loop, main())


@pytest.mark.parametrize("kind", ["bomb-te", "bomb-ce", "bomb-te-over-ce"])
def test_a_gzip_bomb_is_refused_at_the_cap_without_inflating_it(loop: str, kind: str) -> None:
    cap = 1 << 20

    async def main() -> tuple[int, Recorder | BaseException]:
        srv = await RawServer(_serve).start()
        try:
            async with HttpClient() as client:
                rec = Recorder()
                tracemalloc.start()
                try:
                    await asyncio.wait_for(client.request(
                        "GET", srv.url(f"/b/{kind}"), observer=rec, max_body=cap), 20)
                    out: Recorder | BaseException = rec
                except (ResponseTooLarge, ProtocolError) as exc:
                    out = exc
                peak = tracemalloc.get_traced_memory()[1]
                tracemalloc.stop()
                assert sum(len(p) for p, _ in rec.pieces) <= cap
                return peak, out
        finally:
            await srv.stop()

    _bomb()  # built before memory is traced
    peak, out = run(loop, main())
    if kind == "bomb-te-over-ce":
        # the zeros under the gzip are no deflate stream: refused either way, early
        assert isinstance(out, (ResponseTooLarge, ProtocolError)), out
    else:
        assert isinstance(out, ResponseTooLarge), out
    assert peak < 16 << 20, f"held {peak / 2**20:.0f} MiB to refuse a body capped at 1 MiB"


def test_corrupt_truncated_or_trailing_gzip_is_an_error_not_a_short_body(loop: str) -> None:
    async def main() -> None:
        srv = await RawServer(_serve).start()
        try:
            async with HttpClient() as client:
                for kind in ("corrupt-te", "corrupt-ce", "truncated-te-close",
                             "truncated-ce-chunked", "garbage-after"):
                    with pytest.raises(ProtocolError) as err:
                        rec = await _get(client, srv, kind)
                        pytest.fail(f"{kind}: accepted {len(rec.body)} of {len(TEXT)} bytes")
                    assert "gzip" in str(err.value) and "does not decode" in str(err.value), (
                        kind, str(err.value))
        finally:
            await srv.stop()

    run(loop, main())


def test_several_gzip_members_and_empty_coded_bodies_decode_whole(loop: str) -> None:
    async def main() -> None:
        srv = await RawServer(_serve).start()
        try:
            async with HttpClient() as client:
                rec = await _get(client, srv, "two-members")
                assert rec.body == TEXT
                rec = await _get(client, srv, "empty-gzip")
                assert rec.body == b""
                for method, status in (("GET", 204), ("HEAD", 200)):
                    r = await client.request(method, srv.url("/b/no-body"))
                    assert (r.status, r.body_bytes) == (status, 0)
        finally:
            await srv.stop()

    run(loop, main())


def test_deflate_fallback_to_raw_still_works(loop: str) -> None:
    # (the decoder's own contract, no server: raw deflate as some servers send it)
    from lens.probe.http.message import body_decoder

    c = zlib.compressobj(wbits=-zlib.MAX_WBITS)
    raw = c.compress(TEXT) + c.flush()
    dec = body_decoder(None, "deflate")
    assert dec is not None
    assert dec.feed(raw[:100]) + dec.feed(raw[100:]) + dec.flush() == TEXT


async def _paced(req: Req, w: asyncio.StreamWriter) -> bool:
    c = zlib.compressobj(wbits=16 + zlib.MAX_WBITS)  # gzip, flushed per event as servers do
    w.write(OK + b"Transfer-Encoding: gzip, chunked\r\n\r\n")
    for i in range(4):
        w.write(chunk(c.compress(b"data: %d\n\n" % i) + c.flush(zlib.Z_SYNC_FLUSH)))
        await w.drain()
        await asyncio.sleep(0.08)
    w.write(chunk(c.flush()) + b"0\r\n\r\n")
    return True


def test_a_gzip_stream_is_timed_as_its_events_arrive(loop: str) -> None:
    """Each event's time is the socket read that brought it, not the end of the body."""
    async def main() -> Recorder:
        srv = await RawServer(_paced).start()
        try:
            async with HttpClient() as client:
                rec = Recorder()
                await client.request("GET", srv.url("/paced"), observer=rec)
                return rec
        finally:
            await srv.stop()

    rec = run(loop, main())
    assert rec.body == b"".join(b"data: %d\n\n" % i for i in range(4))
    events = [t for p, t in rec.pieces if p]
    assert len(events) == 4  # one decoded piece per flushed event, none held back
    gaps_ms = [(b - a) / 1e6 for a, b in itertools.pairwise(events)]
    assert all(g >= 60 for g in gaps_ms), gaps_ms  # the server's 80 ms pacing, seen per event
