"""The embedded profiler's never-blocking sink: a bounded queue and one writer thread.

The application's request path calls :meth:`EmbedSink.submit` (``put_nowait``): when the
queue is full the record is dropped and counted in ``dropped``, so a slow database or
exporter can never make the application wait. The writer thread fans each batch out to

- the results store (a lens Store object, or a path/SQLAlchemy URL opened lazily on the
  writer thread, so a database that is down at start-up costs records, not the app),
- any RecordSinks (PrometheusSink, OtelSink, ...),
- a user ``callback(record)``.

A failing destination is counted in ``errors[name]`` and logged once per destination;
its exception never propagates. Text: by default none is kept (records carry
``prompt_hash`` and ``output_chars`` only). With ``keep_text=True`` the prompt and
response text of each request pass through :func:`lens.redact.pii.redact` and go to the
store's separate ``text_samples`` table.
"""

from __future__ import annotations

import logging
import os
import socket
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from lens.record import ChunkTiming, RequestRecord
from lens.store.base import RecordSink, RunInfo
from lens.store.writer import BackgroundWriter

log = logging.getLogger(__name__)

__all__ = ["EmbedSink", "TextSample", "default_run_id"]

DEFAULT_MAXSIZE = 10_000


@dataclass(slots=True)
class TextSample:
    """Raw prompt/response text of one request; redacted by the sink before storing."""

    prompt: str | None
    response: str | None


Item = tuple[RequestRecord, Sequence[ChunkTiming], TextSample | None]
# What the request path may hand over instead of chunk rows: a callable that finishes the
# record's token fields and returns its rows (Measurement.settle). The writer thread calls
# it, so token counting never runs on the application's thread (#17 item 4).
Chunks = Sequence[ChunkTiming] | Callable[[], Sequence[ChunkTiming]]


def default_run_id() -> str:
    """``embed-<host>-<UTC time>-<random>``: one run per sink, i.e. per process start."""
    host = socket.gethostname().split(".")[0][:24] or "host"
    return f"embed-{host}-{datetime.now(UTC):%Y%m%dT%H%M%S}-{uuid.uuid4().hex[:6]}"


class EmbedSink:
    """Bounded queue + background writer thread; see the module docstring.

    ``store``: a Store (anything with ``add_many``), or a path / SQLAlchemy URL
    (``postgresql://...`` works); None keeps no rows. ``sinks``: RecordSinks called per
    record. ``callback``: called with each record. ``maxsize``: queue bound.
    ``keep_text``: store redacted text samples (off by default).
    """

    def __init__(
        self,
        *,
        store: Any = None,
        sinks: Sequence[RecordSink] = (),
        callback: Callable[[RequestRecord], object] | None = None,
        maxsize: int = DEFAULT_MAXSIZE,
        keep_text: bool = False,
        run_id: str | None = None,
        run_name: str = "embedded",
        region: str = "local",
        tags: dict[str, str] | None = None,
        batch: int = 500,
        linger: float = 0.02,
    ) -> None:
        self.run_id = run_id or default_run_id()
        self.keep_text = keep_text
        self.submitted = 0
        self.delivered = 0
        self.errors: dict[str, int] = {}
        self._store_arg = store
        self._store: Any = None
        self._owns_store = isinstance(store, (str, os.PathLike))
        self._run_started = False
        self._run_name = run_name
        self._region = region
        self._tags = dict(tags or {})
        self._sinks = tuple(sinks)
        self._callback = callback
        self._logged: set[str] = set()
        self._closed = False
        # The store's writer thread, bounded: a full queue drops (and counts), never blocks;
        # linger batches records (one wake-up per batch keeps GIL hand-offs off the app).
        self._writer: BackgroundWriter[tuple[RequestRecord, Chunks, TextSample | None]] = \
            BackgroundWriter(self._deliver_raw, max_batch=batch, name="lens-embed-sink",
                             bound=max(1, maxsize), linger=linger, on_stop=self._shutdown)

    # -- the application's side: never blocks, never raises --------------------------------

    def submit(
        self,
        record: RequestRecord,
        chunks: Chunks = (),
        text: TextSample | None = None,
    ) -> bool:
        """Queue one record; False (and ``dropped`` += 1) when the queue is full or closed.

        ``chunks`` may be a callable (``Measurement.settle``) that fills the record's token
        fields and returns its chunk rows: it runs on the writer thread, before delivery.
        """
        if self._writer.offer((record, chunks, text if self.keep_text else None)):
            self.submitted += 1
            return True
        return False

    def add(self, record: RequestRecord, chunks: Sequence[ChunkTiming] = ()) -> None:
        """RecordSink protocol: same as :meth:`submit`. With a store, records must carry
        this sink's ``run_id`` (the run row it creates)."""
        self.submit(record, chunks)

    @property
    def queued(self) -> int:
        return self._writer.queued

    @property
    def dropped(self) -> int:
        """Records dropped because the queue was full (or the sink closed)."""
        return self._writer.dropped

    # -- control (not on the request path) -------------------------------------------------

    def flush(self, timeout: float = 30.0) -> bool:
        """Wait until everything queued so far was delivered; False on timeout."""
        return self._writer.wait(timeout)

    def close(self, timeout: float = 30.0) -> None:
        """Deliver what is queued, finish the run row, close an owned store. Idempotent."""
        if self._closed:
            return
        self._closed = True
        self._writer.close(timeout)

    def __enter__(self) -> EmbedSink:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- writer thread ---------------------------------------------------------------------

    def _fail(self, name: str, exc: BaseException) -> None:
        self.errors[name] = self.errors.get(name, 0) + 1
        if name not in self._logged:
            self._logged.add(name)
            log.warning(
                "lens embed sink: %s failed (%s: %s); further failures of it are only counted",
                name, type(exc).__name__, exc,
            )  # fmt: skip

    def _open_store(self) -> Any:
        if self._store is None and self._store_arg is not None:
            if self._owns_store:
                from lens.store.sql import open_store

                self._store = open_store(self._store_arg)
                self._apply_retention(self._store)
            else:
                self._store = self._store_arg
        if self._store is not None and not self._run_started and hasattr(self._store, "start_run"):
            from lens._version import __version__

            self._store.start_run(
                RunInfo(
                    run_id=self.run_id, name=self._run_name, started_at=datetime.now(UTC),
                    runner="embed", region=self._region, lens_version=__version__,
                    tags=self._tags, host=socket.gethostname(),
                )
            )  # fmt: skip
            self._run_started = True
        return self._store

    def _apply_retention(self, store: Any) -> None:
        # A long-running service is where old rows pile up: honour the store's setting.
        try:
            from lens.store.retention import apply_retention

            apply_retention(store)
        except Exception as exc:
            self._fail("retention", exc)

    def _settled(self, item: tuple[RequestRecord, Chunks, TextSample | None]) -> Item:
        record, chunks, text = item
        if callable(chunks):
            try:
                chunks = chunks()
            except Exception as exc:  # the record still goes out, without token counts
                self._fail("token counting", exc)
                chunks = ()
        return record, chunks, text

    def _deliver_raw(self, batch: list[tuple[RequestRecord, Chunks, TextSample | None]]) -> None:
        self._deliver([self._settled(item) for item in batch])

    def _deliver(self, batch: list[Item]) -> None:
        if self._store_arg is not None:
            try:
                store = self._open_store()
                records = [r for r, _c, _t in batch]
                chunks = [c for _r, cs, _t in batch for c in cs]
                store.add_many(records, chunks)
                if self.keep_text:
                    self._write_text(store, batch)
            except Exception as exc:
                self._fail("store", exc)
        for sink in self._sinks:
            name = type(sink).__name__
            for record, cs, _t in batch:
                try:
                    sink.add(record, cs)
                except Exception as exc:
                    self._fail(name, exc)
        if self._callback is not None:
            for record, _c, _t in batch:
                try:
                    self._callback(record)
                except Exception as exc:
                    self._fail("callback", exc)
        self.delivered += len(batch)

    def _write_text(self, store: Any, batch: list[Item]) -> None:
        from lens.redact.pii import redact
        from lens.store.extra_tables import TEXT_SAMPLES

        rows = [
            {
                "run_id": r.run_id, "request_id": r.request_id, "created_at": datetime.now(UTC),
                "prompt_text": redact(t.prompt) if t.prompt else None,
                "response_text": redact(t.response) if t.response else None,
            }
            for r, _c, t in batch
            if t is not None
        ]  # fmt: skip
        if rows:
            with store.engine.begin() as conn:
                conn.execute(TEXT_SAMPLES.insert(), rows)

    def _shutdown(self) -> None:
        store = self._store
        if store is None:
            return
        if self._run_started and hasattr(store, "finish_run"):
            try:
                store.finish_run(self.run_id, status="complete")
            except Exception as exc:
                self._fail("store", exc)
        if self._owns_store:
            try:
                store.close()
            except Exception as exc:
                self._fail("store", exc)
