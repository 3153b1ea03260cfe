"""The Fire panel's progress: one bar per target (or region) with its counts, and the
truth about how the burst ended.

Each bar carries "done / planned", counts by status and the elapsed time; a target whose
requests fail shows the first error in plain words under its bar. Region runs (whose rows
arrive a shard at a time) show their state and a live timer until rows come. A stopped
burst reads "stopped after N of M" and its bars are marked stopped, never like a normal
finish.
"""

from __future__ import annotations

import html
import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

NOT_ERRORS = frozenset({"ok", "cancelled"})  # a client cancel is not a server error


@dataclass
class Tally:
    """What one target (or region) has done so far."""

    planned: int | None
    done: int = 0
    by_status: Counter[str] = field(default_factory=Counter)
    first_error: str | None = None
    state: str = "waiting"  # waiting | running | done | stopped | failed
    started: float = field(default_factory=time.monotonic)
    ended: float | None = None

    @property
    def failed(self) -> int:
        return sum(n for s, n in self.by_status.items() if s not in NOT_ERRORS)

    def counts(self) -> str:
        """'20 ok, 3 network, 1 rate_limited' (ok first, then by count)."""
        items = sorted(self.by_status.items(), key=lambda kv: (kv[0] != "ok", -kv[1], kv[0]))
        return ", ".join(f"{n:,} {s}" for s, n in items)

    def elapsed(self, now: float | None = None) -> float:
        return (self.ended or now or time.monotonic()) - self.started


class ProgressView:
    """Bars and counts for the keys of one burst (targets, or regions for fleet runs)."""

    def __init__(self, w: Any) -> None:
        self._w = w
        self.box = w.VBox()
        self.tallies: dict[str, Tally] = {}
        self.bars: dict[str, Any] = {}
        self.labels: dict[str, Any] = {}
        self.errors: dict[str, Any] = {}
        self._lock = threading.Lock()

    def begin(self, planned: dict[str, int | None]) -> None:
        w = self._w
        self.tallies = {k: Tally(n, state="running") for k, n in planned.items()}
        self.bars, self.labels, self.errors, rows = {}, {}, {}, []
        for k, n in planned.items():
            bar = w.IntProgress(value=0, min=0, max=max(1, n or 1), description=k,
                                bar_style="info", style={"description_width": "110px"})
            label = w.HTML(_label_html(self.tallies[k], time.monotonic()))
            err = w.HTML("")
            bar.add_class("lens-progress")
            self.bars[k], self.labels[k], self.errors[k] = bar, label, err
            rows.append(w.VBox([w.HBox([bar, label]), err]))
        self.box.children = tuple(rows)

    def add(self, key: str, status: str, error: str | None) -> None:
        """One finished request of ``key`` (any thread)."""
        with self._lock:
            t = self.tallies.get(key)
            if t is None:
                t = self.tallies[key] = Tally(None, state="running")
            t.done += 1
            t.by_status[status] += 1
            if status not in NOT_ERRORS and t.first_error is None:
                t.first_error = error or status

    def region_state(self, region: str, state: str, info: dict[str, Any]) -> None:
        """A fleet region event (running | shard_done | failed | ok | partial)."""
        with self._lock:
            t = self.tallies.get(region)
            if t is None:
                return
            if state == "failed":
                t.state = "failed"
                t.ended = time.monotonic()
                t.first_error = t.first_error or str(info.get("error") or info.get("reason")
                                                     or "the region failed")
            elif state in ("ok", "partial"):
                t.ended = time.monotonic()

    def finish(self, stopped: bool) -> None:
        """The burst ended: mark each bar done, stopped or failed."""
        now = time.monotonic()
        with self._lock:
            for t in self.tallies.values():
                t.ended = t.ended or now
                if t.state != "failed":
                    t.state = "stopped" if stopped else "done"
        self.render()

    def render(self) -> None:
        """Redraw bars, count labels and first errors from the tallies (the loop's thread)."""
        now = time.monotonic()
        with self._lock:
            for k, t in self.tallies.items():
                bar = self.bars.get(k)
                if bar is None:
                    continue
                if t.planned:
                    bar.max = max(1, t.planned)
                bar.value = min(t.done, bar.max)
                bar.bar_style = _style(t)
                bar.description = k
                self.labels[k].value = _label_html(t, now)
                self.errors[k].value = _first_error_html(t)

    @property
    def done(self) -> int:
        return sum(t.done for t in self.tallies.values())

    @property
    def planned(self) -> int | None:
        ns = [t.planned for t in self.tallies.values()]
        return None if any(n is None for n in ns) else sum(n or 0 for n in ns)

    @property
    def failed(self) -> int:
        return sum(t.failed for t in self.tallies.values())

    def first_error(self) -> tuple[str, str] | None:
        return next(((k, t.first_error) for k, t in self.tallies.items() if t.first_error),
                    None)


def _style(t: Tally) -> str:
    if t.state == "failed" or (t.done and t.failed == t.done):
        return "danger"
    if t.state == "stopped" or t.failed:
        return "warning"
    if t.state == "done":
        return "success"
    return "info"


def _label_html(t: Tally, now: float) -> str:
    planned = f"{t.planned:,}" if t.planned else "?"
    parts = [f"{t.done:,} / {planned}"]
    if t.by_status:
        parts.append(t.counts())
    parts.append(f"{t.elapsed(now):.1f} s")
    state = {"stopped": "stopped", "failed": "failed", "waiting": "waiting"}.get(t.state)
    if t.state == "running" and not t.done:
        state = "running, no rows yet"
    head = f"<b>{state}</b> · " if state else ""
    return (f'<span class="lens-progress-label lens-state-{t.state}" '
            f'style="margin-left:8px;color:#333">{head}{html.escape(" · ".join(parts))}</span>')


def _first_error_html(t: Tally) -> str:
    if not t.first_error:
        return ""
    n = t.failed
    what = f"{n:,} failed" if n else "failed"
    return ('<div class="lens-reason" style="margin:0 0 4px 118px;color:#7a1b0c;'
            f'font-size:90%">{what}, first reason: {html.escape(t.first_error)}</div>')
