"""TLS over memory BIOs, with the handshake's crypto on a worker thread.

Why not ``loop.start_tls``: it runs ``SSL_do_handshake`` on the event loop. A handshake
costs a few hundred microseconds of CPU, so a burst opening 64 HTTPS connections at once
holds the loop for 10-20 ms, and every socket read that arrives meanwhile (other streams'
response bytes) is stamped that much late. Here each handshake step runs in a small
thread pool (CPython's ``ssl`` releases the GIL inside ``SSL_do_handshake``, memory BIOs
included), while the loop keeps reading sockets and stamping arrivals.

Thread safety: an ``SSLObject`` and its BIOs are touched by one thread at a time. While a
step runs on the worker, bytes the server sends are kept in a list; the loop feeds them
to the incoming BIO after the step returns. Once established, everything (decrypting,
encrypting) happens on the loop: application data costs microseconds per record.

Reads: :meth:`TlsProtocol.data_received` takes ``perf_counter_ns()`` FIRST, before
decrypting, and hands the plaintext to the HTTP connection with that time, so the arrival
clock is the raw socket read's, as over plain HTTP.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import ssl
import sys
import threading
from concurrent.futures import ThreadPoolExecutor
from time import perf_counter_ns
from typing import Any
from weakref import WeakKeyDictionary

from lens.probe.http.protocol import HttpConnection

__all__ = ["TlsProtocol", "TlsTransport", "handshake", "tls_workers"]

_READ = 1 << 17  # plaintext per SSLObject.read call (a record is at most 16 KiB)

# A handshake step is under 2 ms of CPU. When the pool finished none for this long while
# ours waited, its threads are starved (nice 19 against busy nice-0 processes: measured
# 20-70 ms per step, 0.2-2.4 s for a 64-connection burst on 2 cores with 2 busy loops;
# 20 ms here also fired in a 128-handshake storm on an idle box, 50 ms did not),
# so a step still queued runs on the loop instead (as ``loop.start_tls`` did).
STALL_S = 0.05
_progress: WeakKeyDictionary[ThreadPoolExecutor, int] = WeakKeyDictionary()


def _lowest_priority() -> None:
    """Run this worker thread at nice 19 (Linux: nice is per thread).

    Measured (bench.timing, 64-stream HTTPS burst, client pinned to one core): at the
    default priority, events written during the burst's handshakes were still stamped up
    to 4 ms late in 5 of 8 runs (p99 of the first 150 ms: 0.1-4.3 ms): the scheduler let
    the busy worker run on for a while after the loop's socket woke it. At nice 19 the
    waking loop preempts it (0.06-0.2 ms, 8 of 8). Handshakes then get the CPU the loop
    does not need, which ``tls_ms`` includes (before, it included waiting for the loop).
    """
    if sys.platform == "linux":
        with contextlib.suppress(OSError, AttributeError):
            os.setpriority(os.PRIO_PROCESS, threading.get_native_id(), 19)


def tls_workers() -> ThreadPoolExecutor:
    """The handshake pool: one thread per core the process may use, less the loop's,
    at least one, at most four (handshakes are short; more threads only add switching)."""
    try:
        cores = len(os.sched_getaffinity(0))
    except (AttributeError, OSError):
        cores = os.cpu_count() or 1
    return ThreadPoolExecutor(
        max(1, min(4, cores - 1)), thread_name_prefix="lens-tls", initializer=_lowest_priority
    )


class TlsProtocol(asyncio.Protocol):
    """The raw (TCP) transport's protocol: TLS records in, plaintext to ``app``."""

    def __init__(
        self, app: HttpConnection, raw: asyncio.Transport, ctx: ssl.SSLContext, host: str
    ) -> None:
        self.app = app
        self.raw = raw
        self.incoming = ssl.MemoryBIO()
        self.outgoing = ssl.MemoryBIO()
        self.obj = ctx.wrap_bio(self.incoming, self.outgoing, server_hostname=host)
        self.handshaking = True
        self.pending: list[bytes] = []  # bytes that arrived during a handshake step
        self.eof = False
        self.lost: BaseException | None = None  # the connection ended during the handshake
        self.wake: asyncio.Future[None] | None = None
        self.error: Exception | None = None  # a TLS error on application data
        self.closed = False

    # -- raw transport callbacks -----------------------------------------------------------
    def data_received(self, data: bytes) -> None:
        t = perf_counter_ns()  # the socket read's clock: first thing, before decrypting
        if self.handshaking:
            self.pending.append(data)
            self._wake()
            return
        if self.eof:
            return  # after the server's close_notify: nothing more is read
        incoming = self.incoming
        incoming.write(data)
        obj = self.obj
        parts: list[bytes] = []
        try:
            while True:
                chunk = obj.read(_READ)
                if not chunk:  # close_notify: the server's end of the stream
                    if parts:
                        self.app.data_received(b"".join(parts), t)
                    self._end_of_stream()
                    return
                parts.append(chunk)
                if not incoming.pending and not obj.pending():
                    break  # all read: saves raising SSLWantReadError (half the cost)
        except ssl.SSLWantReadError:
            pass  # every complete record decrypted; the rest of one is buffered
        except ssl.SSLError as exc:  # a corrupt or forged record: the stream is unusable
            self.fatal(exc)
            return
        if self.outgoing.pending:  # TLS 1.3 KeyUpdate: OpenSSL answers while reading
            self.flush()
        if parts:  # (a post-handshake message such as a session ticket yields none)
            self.app.data_received(parts[0] if len(parts) == 1 else b"".join(parts), t)

    def eof_received(self) -> bool | None:
        if self.handshaking:
            self.eof = True
            self._wake()
            return False
        self.app.eof_received()
        return False  # the raw transport closes; connection_lost tells the app

    def connection_lost(self, exc: Exception | None) -> None:
        self.closed = True
        if self.handshaking:
            self.lost = exc or ConnectionResetError()
            self._wake()
            return
        self.app.connection_lost(exc or self.error)

    def pause_writing(self) -> None:
        self.app.pause_writing()

    def resume_writing(self) -> None:
        self.app.resume_writing()

    def fatal(self, exc: ssl.SSLError) -> None:
        """A TLS error on application data: drop the connection; the app hears of it in
        connection_lost, in words (not OpenSSL's reason code alone)."""
        why = exc.reason or exc.strerror or "invalid record"
        self.error = ConnectionResetError(f"TLS error from the server: {why}")
        self.raw.abort()

    def _end_of_stream(self) -> None:
        self.eof = True
        self.app.eof_received()
        self.raw.close()

    def _wake(self) -> None:
        w = self.wake
        if w is not None and not w.done():
            w.set_result(None)

    # -- handshake steps (on the loop, between worker steps) -------------------------------
    def flush(self) -> None:
        out = self.outgoing.read()
        if out and not self.raw.is_closing():
            self.raw.write(out)

    async def more(self) -> None:
        """Wait for the server's next bytes and feed them to the incoming BIO."""
        if not self.pending and not self.eof and self.lost is None:
            self.wake = asyncio.get_running_loop().create_future()
            await self.wake
            self.wake = None
        if self.pending:
            for d in self.pending:
                self.incoming.write(d)
            self.pending.clear()
        elif self.lost is not None:
            raise self.lost
        elif self.eof:
            raise ConnectionResetError()

    def established(self) -> None:
        """Switch to direct decryption; bytes that came with the last flight go through it."""
        self.handshaking = False
        eof, self.eof = self.eof, False
        if self.pending:
            data = b"".join(self.pending)
            self.pending.clear()
            self.data_received(data)
        if self.closed:  # it ended right after the handshake: the app finds it lost
            self.app.connection_lost(self.error)
        elif eof:
            self.eof_received()


class TlsTransport(asyncio.Transport):
    """What the HTTP connection writes to: encrypts onto the raw transport."""

    def __init__(self, proto: TlsProtocol, ctx: ssl.SSLContext) -> None:
        super().__init__({"sslcontext": ctx})
        self._p = proto
        self._closing = False

    def write(self, data: bytes | bytearray | memoryview) -> None:
        p = self._p
        if self._closing or p.closed:
            return  # as asyncio's transports: writes after close are dropped
        try:
            p.obj.write(data)
        except ssl.SSLError as exc:
            p.fatal(exc)
            return
        p.raw.write(p.outgoing.read())

    def writelines(self, list_of_data: Any) -> None:
        self.write(b"".join(list_of_data))

    def can_write_eof(self) -> bool:
        return False  # TLS has close_notify, not a half close

    def write_eof(self) -> None:
        raise NotImplementedError("TLS connections cannot be half-closed")

    def close(self) -> None:
        """Send close_notify, then close the socket once its buffer is written."""
        if self._closing:
            return
        self._closing = True
        p = self._p
        if not p.closed:
            try:
                p.obj.unwrap()
            except ssl.SSLError:
                pass  # SSLWantReadError: ours is sent; we do not wait for the server's
            p.flush()
        p.raw.close()

    def abort(self) -> None:
        self._closing = True
        self._p.raw.abort()

    def is_closing(self) -> bool:
        return self._closing or self._p.raw.is_closing()

    def get_extra_info(self, name: str, default: Any = None) -> Any:
        obj = self._p.obj
        if name == "ssl_object":
            return obj
        if name == "peercert":
            return obj.getpeercert()
        if name == "cipher":
            return obj.cipher()
        if name == "compression":
            return obj.compression()
        if name == "sslcontext":
            return super().get_extra_info(name, default)
        return self._p.raw.get_extra_info(name, default)

    def pause_reading(self) -> None:
        self._p.raw.pause_reading()

    def resume_reading(self) -> None:
        self._p.raw.resume_reading()

    def is_reading(self) -> bool:
        return self._p.raw.is_reading()

    def set_write_buffer_limits(self, high: int | None = None, low: int | None = None) -> None:
        self._p.raw.set_write_buffer_limits(high, low)

    def get_write_buffer_size(self) -> int:
        return self._p.raw.get_write_buffer_size()

    def get_write_buffer_limits(self) -> tuple[int, int]:
        return self._p.raw.get_write_buffer_limits()

    def set_protocol(self, protocol: asyncio.BaseProtocol) -> None:
        assert isinstance(protocol, HttpConnection)
        self._p.app = protocol

    def get_protocol(self) -> asyncio.BaseProtocol:
        return self._p.app


async def handshake(
    raw: asyncio.Transport,
    app: HttpConnection,
    ctx: ssl.SSLContext,
    host: str,
    workers: ThreadPoolExecutor | None,
) -> TlsTransport:
    """Run a client handshake on ``raw`` (a connected socket or proxy tunnel) and return
    the transport ``app`` writes to; ``raw``'s protocol becomes the TLS layer.

    Raises what the handshake raised (``ssl.SSLError`` incl. certificate errors,
    ``ConnectionResetError`` when the server closed mid-way). Each step runs on
    ``workers``; on the loop itself when None (e.g. after the client was closed) or when
    the pool's threads are starved of CPU (see ``STALL_S``)."""
    proto = TlsProtocol(app, raw, ctx, host)
    raw.set_protocol(proto)
    step = proto.obj.do_handshake
    while True:
        try:
            if workers is None or not await _on_worker(workers, step):
                step()
            break
        except ssl.SSLWantReadError:
            proto.flush()
            await proto.more()
        except ssl.SSLError:
            proto.flush()  # the alert telling the server why (unknown CA, ...)
            raise
    proto.flush()  # the client Finished
    proto.established()
    return TlsTransport(proto, ctx)


def _timed(pool: ThreadPoolExecutor, step: Any) -> None:
    try:
        step()
    finally:
        _progress[pool] = perf_counter_ns()  # the pool's threads are getting CPU


async def _on_worker(pool: ThreadPoolExecutor, step: Any) -> bool:
    """Run ``step`` on ``pool``; False when it did not run there and must run on the loop:
    the pool was shut down (client closed), or the step was still queued while the pool
    finished no step for ``STALL_S`` (its threads starved of CPU)."""
    try:
        cf = pool.submit(_timed, pool, step)
    except RuntimeError:  # shut down
        return False
    queued = perf_counter_ns()
    fut = asyncio.wrap_future(cf)
    try:
        while True:
            await asyncio.wait((fut,), timeout=STALL_S)
            if fut.done():
                if fut.cancelled():
                    return False  # the pool dropped the queued step as it shut down
                fut.result()  # the step's outcome (SSLWantReadError, ...)
                return True
            last = max(_progress.get(pool, 0), queued)
            if perf_counter_ns() - last > STALL_S * 1e9 and cf.cancel():
                return False  # not started, and the pool is stuck: on the loop instead
    except asyncio.CancelledError:
        fut.cancel()  # a queued step is dropped; a running one finishes unheard
        raise
