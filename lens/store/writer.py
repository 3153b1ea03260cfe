"""A background writer thread: ``add`` from the event loop never waits for the disk.

The engine calls ``sink.add(record, chunks)`` on the event loop thread. ``BackgroundWriter``
puts the pair on a queue and returns; its thread takes whatever is queued (at least one
request, at most ``max_batch``) and hands it to ``write`` -- the store writes a request
row and all its chunk rows in the same transaction and commits before taking more. At low
rates every request is its own commit, so a SIGKILL loses only what was still queued
(microseconds of work); under a flood, commits group the requests queued meanwhile, which
is what lets SQLite take tens of thousands of rows a second.

A write error is kept and raised once (as StoreError) by the next ``add``, ``flush`` or
``close``, so a failing disk stops the burst instead of silently dropping rows; batches
queued after the failed one are still attempted.
"""

from __future__ import annotations

import queue
import threading
from collections.abc import Callable, Sequence
from typing import cast

from lens.errors import StoreError
from lens.record import ChunkTiming, RequestRecord

Item = tuple[RequestRecord, Sequence[ChunkTiming]]
WriteBatch = Callable[[list[Item]], None]

_STOP = object()


class BackgroundWriter:
    """Queue + thread that commits requests as they arrive. Thread-safe ``add``."""

    def __init__(
        self, write: WriteBatch, *, max_batch: int = 1000, name: str = "lens-writer"
    ) -> None:
        self._write = write
        self._max_batch = max_batch
        self._queue: queue.SimpleQueue[object] = queue.SimpleQueue()
        self._error: BaseException | None = None
        self._closed = False
        self.written = 0
        self._thread = threading.Thread(target=self._loop, name=name, daemon=True)
        self._thread.start()

    # public ------------------------------------------------------------------------------

    def add(self, record: RequestRecord, chunks: Sequence[ChunkTiming] = ()) -> None:
        """Queue one finished request; returns at once."""
        self._check()
        if self._closed:
            raise StoreError("the store's writer is closed; open the store again to add rows")
        self._queue.put((record, tuple(chunks)))

    def flush(self, timeout: float | None = 60.0) -> None:
        """Block until everything queued so far is committed."""
        self._check()
        if self._closed:
            return
        done = threading.Event()
        self._queue.put(done)
        if not done.wait(timeout):
            raise StoreError(f"the store's writer did not finish within {timeout} s")
        self._check()

    def close(self, timeout: float | None = 60.0) -> None:
        """Commit what is queued, then stop the thread. Idempotent."""
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
            batch: list[Item] = []
            waiters: list[threading.Event] = []
            item = self._queue.get()
            while True:
                if item is _STOP:
                    stop = True
                elif isinstance(item, threading.Event):
                    waiters.append(item)
                else:
                    batch.append(cast(Item, item))
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
