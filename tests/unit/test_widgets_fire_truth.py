"""The Fire panel tells the truth (issue #18): why requests failed, that a burst was
stopped, counts on every bar, targets refused at "Add target" with the fix, controls that
do not apply disabled, a closed panel that says so and restarts what it needs, stable
colours, aligned tables, and the client's health in the summary."""

from __future__ import annotations

import asyncio
import socket
from collections.abc import Iterator
from typing import Any

import pandas as pd
import pytest

pytest.importorskip("ipywidgets")

from lens.sim import start_sim_in_thread
from lens.widgets import FirePanel
from lens.widgets.fire_results import SERIES, chart_group, closing_line

QUICK = {"header_ms": 1.0, "ttft_ms": 15.0, "itl_ms": 1.0, "output_tokens": 8}


@pytest.fixture
def sim() -> Iterator[Any]:
    with start_sim_in_thread({"default": QUICK, "slowish": {**QUICK, "ttft_ms": 120.0}}) as s:
        yield s


def _closed_port() -> int:
    with socket.socket() as s:  # bound, then closed: nothing listens there
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _panel(sim: Any, profile: str = "default", **kw: Any) -> FirePanel:
    targets = [{"name": "a", "provider": "sim", "base_url": sim.base_url("openai_chat", profile),
                "model": "m"},
               {"name": "b", "provider": "sim", "dialect": "anthropic",
                "base_url": sim.base_url("anthropic", profile), "model": "m2"}]
    return FirePanel(targets, redraw_interval=0.05, **kw)


async def test_an_unreachable_target_says_why_under_its_bar(sim: Any) -> None:
    dead = f"http://127.0.0.1:{_closed_port()}/v1"
    p = FirePanel([{"name": "dead", "provider": "sim", "base_url": dead, "model": "m"},
                   {"name": "live", "provider": "sim", "base_url": sim.url + "/v1",
                    "model": "m"}], requests=3, concurrency=1, max_tokens=4,
                  redraw_interval=0.05)
    await p.fire_and_wait(30)
    dead_t, live_t = p.progress.tallies["dead"], p.progress.tallies["live"]
    assert dict(dead_t.by_status) == {"network": 3} and dict(live_t.by_status) == {"ok": 3}
    assert "could not connect" in p.progress.errors["dead"].value
    assert "3 failed" in p.progress.errors["dead"].value and p.progress.errors["live"].value == ""
    assert p.bars["dead"].bar_style == "danger" and p.bars["live"].bar_style == "success"
    assert "3 / 3" in p.progress.labels["dead"].value and "3 network" in p.progress.labels["dead"].value
    assert "3 requests, 3 failed" not in p.status.value  # not a bare count: where to look
    assert "3 failed" in p.status.value and "reasons under the bars" in p.status.value
    # every request failing is an error box, not a normal finish
    p.target_list.value = ("dead",)
    await p.fire_and_wait(30)
    assert "lens-error" in p.status.value and "every request failed" in p.status.value


async def test_stop_reads_stopped_after_n_of_m_and_marks_the_bars(sim: Any) -> None:
    p = _panel(sim, "slowish", requests=40, concurrency=1, max_tokens=4)
    p.target_list.value = ("a",)
    p.fire()
    while p.progress.done < 2:
        await asyncio.sleep(0.02)
    p.stop_button.click()
    assert "stopping" in p.status.value and p.stop_button.disabled
    await p.wait(30)
    n = len(p.frame)
    assert 2 <= n < 40
    assert f"stopped after {n} of 40 requests" in p.status.value, p.status.value
    assert "lens-warn" in p.status.value and "done" not in p.status.value
    assert p.bars["a"].bar_style == "warning"
    assert "stopped" in p.progress.labels["a"].value
    assert p.outcome.status == "incomplete"


async def test_bars_carry_counts_and_a_timer(sim: Any) -> None:
    p = _panel(sim, requests=5, concurrency=2, max_tokens=4)
    p.fire()
    label = p.progress.labels["a"].value
    assert "0 / 5" in label and "running, no rows yet" in label and " s<" in label
    await p.wait(30)
    assert "5 / 5" in p.progress.labels["a"].value and "5 ok" in p.progress.labels["a"].value
    assert "done" in p.status.value and "none failed" in p.status.value


async def test_the_summary_says_whether_the_client_kept_up(sim: Any) -> None:
    p = _panel(sim, requests=4, concurrency=2, max_tokens=4)
    await p.fire_and_wait(30)
    assert "client kept up" in p.health.value


def test_targets_that_cannot_fire_are_refused_at_add_with_the_fix(
        sim: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    p = _panel(sim)
    p.provider.value, p.model.value = "openai", "gpt-4o-mini"
    p.base_url.value, p.target_name.value = "localhost:8000/v1", "local"
    assert p.add_target() is None
    assert "http://localhost:8000/v1" in p.status.value  # the corrected URL, not https://not a url
    p.base_url.value = "not a url"
    assert p.add_target() is None
    assert "https://not a url" not in p.status.value and "https://api.example.com/v1" in p.status.value
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    p.base_url.value = ""
    assert p.add_target() is None
    assert "OPENAI_API_KEY" in p.status.value and "fix: export OPENAI_API_KEY" in p.status.value
    assert list(p.target_list.options) == ["a", "b"]


def test_controls_that_do_not_apply_are_disabled(sim: Any) -> None:
    p = _panel(sim)
    assert not p.concurrency.disabled and p.rate.disabled and p.shards.disabled
    p.arrival.value = "poisson"
    assert p.concurrency.disabled and not p.rate.disabled
    p.prompt_set.value = "short"
    assert p.prompt_tokens.disabled
    p.prompt_set.value = "synthetic"
    assert not p.prompt_tokens.disabled
    p.regions.value = (p.regions.options[0],)
    assert not p.shards.disabled
    assert p.regions.rows >= min(10, len(p.regions.options))  # no region hides below a scroll


def test_workload_controls_reach_the_spec(sim: Any) -> None:
    p = _panel(sim)
    assert p.spec().sessions is None and p.spec().cancel is None
    p.turns.value, p.cancel_after.value = 3, 5
    spec = p.spec()
    assert spec.sessions is not None and spec.sessions.turns == 3
    assert spec.cancel is not None and spec.cancel.after_tokens == 5


async def test_a_closed_panel_says_so_and_fire_restarts_the_sim() -> None:
    p = FirePanel(requests=2, concurrency=1, max_tokens=4, redraw_interval=0.05)
    try:
        p.close()
        assert p.sim is None and "closed" in p.status.value
        p.target_list.value = ("sim-fast",)
        df = await p.fire_and_wait(30)
        assert p.sim is not None and set(df["status"]) == {"ok"} and len(df) == 2
        assert all(u.startswith(p.sim.url) for u in (t.base_url for t in p.spec().targets))
    finally:
        p.close()


async def test_colours_stay_put_and_tables_align(sim: Any) -> None:
    p = _panel(sim, requests=3, concurrency=1, max_tokens=4)
    p.target_list.value = ("b",)
    await p.fire_and_wait(30)
    color = p.chart.to_dict()["encoding"]["color"]
    assert color["scale"]["domain"] == ["a", "b"]  # every panel target, not just this run's
    html = p.table.value
    assert '<th style="text-align:left' in html and "p50 TTFT (ms)</th>" in html
    assert '<th style="text-align:right;padding:2px 10px">failed</th>' in html
    assert ">b</td>" in html and "<td style=\"text-align:right;padding:2px 10px\">3</td>" in html


def test_region_runs_with_several_targets_chart_each_pair() -> None:
    df = pd.DataFrame({"target": ["a", "a", "b", "b"], "region": ["r1", "r2", "r1", "r2"]})
    assert chart_group(df, ["r1", "r2"]) == SERIES
    assert chart_group(df[df["target"] == "a"], ["r1", "r2"]) == "region"
    assert chart_group(df, []) == "target"


def test_closing_lines() -> None:
    assert closing_line("r", 89, 800, 0, True)[1].startswith("stopped after 89 of 800 requests")
    assert closing_line("r", 3, 3, 3, False) == (
        "error", "every request failed (3 of 3, run r): see the reason under each bar")
    assert closing_line("r", 60, 60, 9, False)[0] == "warn"
