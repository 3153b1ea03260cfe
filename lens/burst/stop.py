"""Stopping a running burst from anywhere: a signal handler, a widget button, another thread.

``stop()`` starts no new requests and lets in-flight ones finish (they are recorded);
``abandon()`` also cancels in-flight ones (not recorded: their timings would be cut short
by the client, not the server; they count in ``skipped``). Either can be called before the
burst starts, from any thread.
"""

from __future__ import annotations

import asyncio
import threading


class StopSignal:
    """A two-level stop request, safe to set from any thread."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._stop = False
        self._abandon = False
        self._loop: asyncio.AbstractEventLoop | None = None
        self._stop_ev: asyncio.Event | None = None
        self._abandon_ev: asyncio.Event | None = None

    @property
    def stopped(self) -> bool:
        """True once ``stop()`` or ``abandon()`` was called."""
        return self._stop

    @property
    def abandoned(self) -> bool:
        return self._abandon

    def stop(self) -> None:
        """Start no new requests; in-flight ones finish and are recorded."""
        with self._lock:
            self._stop = True
            self._set(self._stop_ev)

    def abandon(self) -> None:
        """Also cancel in-flight requests (they count as skipped)."""
        with self._lock:
            self._stop = self._abandon = True
            self._set(self._stop_ev)
            self._set(self._abandon_ev)

    def events(self) -> tuple[asyncio.Event, asyncio.Event]:
        """(stop, abandon) events for the engine, bound to the running loop."""
        with self._lock:
            self._loop = asyncio.get_running_loop()
            self._stop_ev, self._abandon_ev = asyncio.Event(), asyncio.Event()
            if self._stop:
                self._stop_ev.set()
            if self._abandon:
                self._abandon_ev.set()
            return self._stop_ev, self._abandon_ev

    def _set(self, ev: asyncio.Event | None) -> None:
        loop = self._loop
        if ev is None or loop is None or loop.is_closed():
            return
        try:
            running = asyncio.get_running_loop()
        except RuntimeError:
            running = None
        if running is loop:
            ev.set()
        else:
            loop.call_soon_threadsafe(ev.set)
