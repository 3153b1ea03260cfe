"""The one background writer thread: the caller's ``put`` never waits for the disk.

Both the results store (``SQLStore.add`` from the engine's event loop) and the embedded
profiler's sink (``EmbedSink.submit`` from an application's request path) hand rows to a
:class:`BackgroundWriter`: a queue and one thread that takes whatever is queued (at least
one item, at most ``max_batch``) and hands it to ``write``.

- The store writes a request row and its chunk rows in one transaction and commits before
  taking more. At low rates every request is its own commit, so a SIGKILL loses only what
  was still queued; under a flood, commits group the requests queued meanwhile, which is
  what lets SQLite take tens of thousands of rows a second. A write error is kept and
  raised once (as StoreError) by the next ``add``, ``flush`` or ``close``, so a failing
  disk stops a burst instead of silently dropping rows.
- The embed sink sets a ``bound``: :meth:`offer` drops (and counts) an item when the queue
  is full instead of ever blocking the application, ``linger`` lets items accumulate into
  batches (one wake-up per batch, not per record), and its ``write`` never raises.
"""

from __future__ import annotations

import queue
import threading
import time
from collections.abc import Callable, Sequence
from typing import Generic, TypeVar, cast

from lens.errors import StoreError
from lens.record import ChunkTiming, RequestRecord

Item = tuple[RequestRecord, Sequence[ChunkTiming]]
WriteBatch = Callable[[list[Item]], None]
T = TypeVar("T")

_STOP = object()


class BackgroundWriter(Generic[T]):
    """Queue + thread that hands what arrives to ``write`` in batches. Thread-safe."""

    def __init__(
        self,
        write: Callable[[list[T]], None],
        *,
        max_batch: int = 1000,
        name: str = "lens-writer",
        bound: int | None = None,
        linger: float = 0.0,
        on_stop: Callable[[], None] | None = None,
    ) -> None:
        self._write = write
        self._max_batch = max(1, max_batch)
        self._bound = bound
        self._linger = linger
        self._on_stop = on_stop
        # SimpleQueue (C, put never blocks); the bound is checked by size: exact for one
        # producer thread, overshot by a few under many at once.
        self._queue: queue.SimpleQueue[object] = queue.SimpleQueue()
        self._error: BaseException | None = None
        self._closed = False
        self.written = 0
        self.dropped = 0
        self._thread = threading.Thread(target=self._loop, name=name, daemon=True)
        self._thread.start()

    # public ------------------------------------------------------------------------------

    def add(self, record: RequestRecord, chunks: Sequence[ChunkTiming] = ()) -> None:
        """Queue one finished request (the store's side); returns at once, raises a kept
        write error."""
        self._check()
        if self._closed:
            raise StoreError("the store's writer is closed; open the store again to add rows")
        self._queue.put((record, tuple(chunks)))

    def offer(self, item: T) -> bool:
        """Queue ``item`` unless the queue is full or closed (then count it in ``dropped``);
        never blocks, never raises (the embed sink's side)."""
        try:
            if self._closed or (self._bound is not None and self._queue.qsize() >= self._bound):
                self.dropped += 1
                return False
            self._queue.put(item)
            return True
        except Exception:
            self.dropped += 1
            return False

    @property
    def queued(self) -> int:
        return self._queue.qsize()

    def wait(self, timeout: float | None = 60.0) -> bool:
        """Block until everything queued so far was written; False on timeout."""
        if self._closed or not self._thread.is_alive():
            return True
        done = threading.Event()
        self._queue.put(done)
        return done.wait(timeout)

    def flush(self, timeout: float | None = 60.0) -> None:
        """Block until everything queued so far is committed (raises a kept write error)."""
        self._check()
        if not self.wait(timeout):
            raise StoreError(f"the store's writer did not finish within {timeout} s")
        self._check()

    def close(self, timeout: float | None = 60.0) -> None:
        """Write what is queued, then stop the thread. Idempotent."""
        if not self._closed:
            self._closed = True
            self._queue.put(_STOP)
            self._thread.join(timeout)
        self._check()

    @property
    def alive(self) -> bool:
        return self._thread.is_alive()

    # thread ------------------------------------------------------------------------------

    def _check(self) -> None:
        # Reported once: the caller learns that rows were lost; later rows are written again.
        if self._error is not None:
            err, self._error = self._error, None
            detail = getattr(err, "orig", None) or err
            raise StoreError(
                f"writing results failed: {err.__class__.__name__}: {detail}",
                hint="rows of the failed batch were not stored; check disk space and "
                "permissions of the database, and that run/request ids are not reused",
            ) from err

    def _loop(self) -> None:
        stop = False
        while not stop:
            batch: list[T] = []
            waiters: list[threading.Event] = []
            item = self._queue.get()
            while True:
                if item is _STOP:
                    stop = True
                elif isinstance(item, threading.Event):
                    waiters.append(item)
                else:
                    batch.append(cast(T, item))
                if stop or len(batch) >= self._max_batch:
                    break
                try:
                    item = self._queue.get_nowait()
                except queue.Empty:
                    break
            if batch:
                try:
                    self._write(batch)
                    self.written += len(batch)
                except BaseException as exc:  # kept and re-raised on the caller's thread
                    self._error = exc
            for w in waiters:
                w.set()
            if not stop and not waiters and self._linger > 0:
                time.sleep(self._linger)
        if self._on_stop is not None:
            self._on_stop()
