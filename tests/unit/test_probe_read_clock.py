"""ArrivalClock: body bytes mapped back to the socket read that delivered them."""

from __future__ import annotations

import aiohttp

from lens.probe import read_clock
from lens.probe.read_clock import ArrivalClock, TimedResponseHandler


def test_pieces_follow_the_reads_that_delivered_them() -> None:
    marks = [(5, 100), (12, 200)]
    clock = ArrivalClock(marks)
    # one read returns bytes of both socket reads: cut at the boundary
    assert clock.split(b"abcdefg") == [(b"abcde", 100), (b"fg", 200)]
    marks.append((20, 300))  # more bytes arrive while we parse
    assert clock.split(b"hijkl") == [(b"hijkl", 200)]
    assert clock.split(b"mnopqrst") == [(b"mnopqrst", 300)]


def test_uncovered_bytes_are_timed_now_never_earlier() -> None:
    import time

    before = time.perf_counter_ns()
    pieces = ArrivalClock([(2, 50)]).split(b"abcd")
    assert pieces[0] == (b"ab", 50)
    assert pieces[1][0] == b"cd" and pieces[1][1] >= before


def test_installed_aiohttp_takes_the_timed_path() -> None:
    # the engine relies on two aiohttp internals; this fails loudly if an upgrade moves them
    import asyncio

    async def make() -> bool:
        conn = aiohttp.TCPConnector()
        try:
            ok = read_clock.install(conn)
            proto = conn._factory()  # type: ignore[attr-defined]
            return ok and isinstance(proto, TimedResponseHandler) and hasattr(proto, "_payload")
        finally:
            await conn.close()

    assert asyncio.run(make())
