"""Adversarial review of the saturation rule (issue #16, lens.probe.lag) on a synthetic clock.

docs/metrics.md: a run is client-saturated "when the probe's p99 lag is above 5 ms, i.e. the
loop was more than 5 ms late for over 1% of the burst". The probe ticks every 1 ms; a tick
that comes L ms late stands for L ms of the burst, so it also counts the ticks it kept from
running (coordinated omission).
"""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

import pytest

from lens.probe import lag
from lens.probe.lag import LagMonitor, saturated


class _Clock:
    def __init__(self) -> None:
        self.ns = 0


def _monitor(monkeypatch: pytest.MonkeyPatch) -> tuple[LagMonitor, _Clock]:
    clock = _Clock()
    monkeypatch.setattr(lag, "perf_counter_ns", lambda: clock.ns)
    mon = LagMonitor()
    mon._loop = SimpleNamespace(call_later=lambda delay, cb: SimpleNamespace(cancel=lambda: None))  # type: ignore[assignment]
    mon._t0 = 0
    mon._arm()
    return mon, clock


def _tick(mon: LagMonitor, clock: _Clock, late_ms: float) -> None:
    clock.ns = mon._due + int(late_ms * 1e6)
    mon._tick()


def _burst(mon: LagMonitor, clock: _Clock, periods: int, quiet_ticks: int, stall_ms: float) -> None:
    for _ in range(periods):
        for _ in range(quiet_ticks):
            _tick(mon, clock, 0.05)
        _tick(mon, clock, stall_ms)


def test_periodic_stalls_over_one_percent_of_the_burst_are_flagged(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    mon, clock = _monitor(monkeypatch)
    _burst(mon, clock, periods=40, quiet_ticks=270, stall_ms=30.0)
    summary: dict[str, Any] = mon.summary().as_dict()
    assert summary["lag_max_ms"] >= 30
    assert saturated(summary), summary


def test_a_lone_stall_is_not_flagged(monkeypatch: pytest.MonkeyPatch) -> None:
    # The other half of the documented rule: one 30 ms stall in 12 s is 0.25% of the burst.
    mon, clock = _monitor(monkeypatch)
    _burst(mon, clock, periods=1, quiet_ticks=12_000, stall_ms=30.0)
    summary: dict[str, Any] = mon.summary().as_dict()
    assert summary["lag_max_ms"] >= 30 and not saturated(summary), summary


def test_a_continuously_busy_loop_is_flagged(monkeypatch: pytest.MonkeyPatch) -> None:
    mon, clock = _monitor(monkeypatch)
    _burst(mon, clock, periods=500, quiet_ticks=3, stall_ms=8.0)  # every 4th tick 8 ms late
    assert saturated(mon.summary().as_dict())
