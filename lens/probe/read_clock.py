"""When did the bytes arrive? Timestamps taken in the connection's ``data_received``.

The engine's read loop runs when its task is next scheduled, which is after the event
loop has handed the socket's bytes to aiohttp (``ResponseHandler.data_received``) and
then worked through every other ready callback. Under load (hundreds of streams on one
core) that scheduling delay, not the network, dominates a read-loop timestamp.

``TimedResponseHandler`` notes, for each socket read, the monotonic time and how many
body bytes the watched response had then (``total_bytes`` of its StreamReader). The read
loop then maps each body byte back to the read that delivered it (``ArrivalClock``), so
an event is timed at the socket read that completed it, however late the task wakes.

This leans on two aiohttp internals (``BaseConnector._factory``, ``ResponseHandler.
_payload``). ``install`` checks for them and returns False when they are missing; the
engine then falls back to read-loop timestamps, which are correct, just later under load.
``ENABLED = False`` forces that fallback (tests and benchmarks compare the two).
"""

from __future__ import annotations

import functools
from time import perf_counter_ns
from typing import Any

import aiohttp
from aiohttp.client_proto import ResponseHandler

ENABLED = True


class TimedResponseHandler(ResponseHandler):
    """ResponseHandler that records (body bytes so far, arrival ns) for a watched response."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.lens_watched: Any = None  # the StreamReader being timed
        self.lens_marks: list[tuple[int, int]] = []
        self.lens_headers: tuple[Any, int] | None = None  # (payload, ns) of the last headers
        self.lens_last_ns = 0  # the latest socket read on this connection

    def data_received(self, data: bytes) -> None:
        t = self.lens_last_ns = perf_counter_ns()
        before = self._payload
        super().data_received(data)
        after = self._payload
        if after is not None and after is not before:
            self.lens_headers = (after, t)  # this read completed a response's headers
        watched = self.lens_watched
        if watched is not None:
            n = watched.total_bytes
            marks = self.lens_marks
            if not marks or marks[-1][0] != n:
                marks.append((n, t))


def install(connector: aiohttp.BaseConnector) -> bool:
    """Make ``connector`` create TimedResponseHandlers; False when not possible/enabled."""
    if not ENABLED or not hasattr(connector, "_factory") or not hasattr(ResponseHandler, "data_received"):
        return False
    loop = getattr(connector, "_loop", None)
    if loop is None:
        return False
    connector._factory = functools.partial(TimedResponseHandler, loop=loop)  # type: ignore[attr-defined]
    return True


class ArrivalClock:
    """Maps a response's body bytes, in read order, to the socket read that delivered them."""

    __slots__ = ("_i", "_marks", "_pos", "_proto")

    def __init__(self, marks: list[tuple[int, int]], proto: TimedResponseHandler | None = None) -> None:
        self._marks = marks
        self._proto = proto
        self._i = 0
        self._pos = 0

    def close(self) -> None:
        """Stop timing on the connection (it may be reused for another response)."""
        proto = self._proto
        if proto is not None and proto.lens_marks is self._marks:
            proto.lens_watched = None
            proto.lens_marks = []
        self._proto = None

    def split(self, data: bytes) -> list[tuple[bytes, int]]:
        """Cut ``data`` (the next bytes read) into pieces, each with its arrival time.

        Bytes no mark covers (none should be) get the current time: never earlier than true.
        """
        pos = self._pos
        end = pos + len(data)
        marks = self._marks
        i = self._i
        out: list[tuple[bytes, int]] = []
        off = 0
        while pos < end:
            if i < len(marks):
                mark_end, t = marks[i]
                if mark_end <= pos:
                    i += 1
                    continue
                stop = mark_end if mark_end < end else end
            else:
                stop, t = end, perf_counter_ns()
            n = stop - pos
            out.append((data if n == len(data) else data[off : off + n], t))
            off += n
            pos = stop
        self._i = i
        self._pos = end
        return out


def watch(resp: aiohttp.ClientResponse) -> tuple[ArrivalClock | None, int | None]:
    """Start timing ``resp``'s body on its connection.

    Returns the clock (None when the connection is not timed) and the ns at which the
    socket read completing the response headers ran (None when unknown).
    """
    conn = resp.connection
    proto = conn.protocol if conn is not None else None
    if not isinstance(proto, TimedResponseHandler):
        return None, None
    content = resp.content
    headers = proto.lens_headers
    headers_ns = headers[1] if headers is not None and headers[0] is content else None
    # Body bytes that came with (or soon after) the headers: time them at the latest read
    # so far, by which they had all arrived (exact when they came with the headers).
    marks: list[tuple[int, int]] = []
    if content.total_bytes:
        marks.append((content.total_bytes, proto.lens_last_ns or perf_counter_ns()))
    proto.lens_marks = marks
    proto.lens_watched = content
    return ArrivalClock(marks, proto), headers_ns
