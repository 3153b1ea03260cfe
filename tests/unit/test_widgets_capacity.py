"""CapacityPanel state without a browser: controls to a search plan, a click that searches
the embedded sim (whose slots are the right answer), errors in the panel, Stop."""

from __future__ import annotations

import pytest

pytest.importorskip("ipywidgets")

from lens.spec import SearchSpec
from lens.widgets import CapacityPanel
from lens.widgets._display import VEGA5_MIME


@pytest.fixture
def panel():
    p = CapacityPanel(levels="1,2,4", requests=6, slots=2)
    yield p
    p.close()


def test_controls_make_the_plan_and_objectives(panel: CapacityPanel) -> None:
    panel.levels.value, panel.attainment.value, panel.requests.value = "1, 3, 9", 0.9, 5
    panel.slo.value = "ttft_ms<=80; tpot_ms<=40"
    assert panel.plan() == SearchSpec(levels=[1, 3, 9], attainment=0.9, requests=5)
    assert [str(o) for o in panel.objectives()] == ["ttft_ms<=80", "tpot_ms<=40"]
    spec = panel.spec()
    assert spec.targets[0].base_url.endswith("/p/slots-2/v1")
    panel.slots.value = 8
    assert panel.spec().targets[0].base_url.endswith("/p/slots-8/v1")
    assert repr(panel.widget) and "CapacityPanel(levels=" in panel._repr_mimebundle_()["text/plain"]


async def test_click_searches_and_finds_the_sims_slots(panel: CapacityPanel) -> None:
    panel.search_button.click()
    assert panel.running and panel.search_button.disabled and not panel.stop_button.disabled
    first = panel._thread
    panel.search_button.click()  # a second click while running starts nothing
    assert panel._thread is first
    result = await panel.wait(120)
    assert panel.error is None and result is panel.result
    assert result.answer is not None and abs(result.answer - 2) <= 1, result.frame()
    assert not panel.search_button.disabled and panel.stop_button.disabled
    assert [r.level for r in panel.levels_seen] == list(panel.frame["level"])
    assert "<table" in panel.table.value and "verdict" in panel.table.value
    assert VEGA5_MIME in panel.chart_output.outputs[0]["data"]
    assert "highest concurrency meeting 95%" in panel.status.value


async def test_bad_inputs_are_shown_not_raised(panel: CapacityPanel) -> None:
    panel.levels.value = "4,2"
    assert await panel.search_and_wait() is None
    assert "strictly increasing" in panel.status.value and "lens-error" in panel.status.value
    panel.levels.value, panel.slo.value = "1,2", "ttft<=5"
    assert await panel.search_and_wait() is None
    assert "did you mean" in panel.status.value and not panel.running


async def test_stop_ends_after_the_level_in_flight(panel: CapacityPanel) -> None:
    panel.levels.value = "1,2,4,8,16"
    panel.search()
    panel.stop()
    result = await panel.wait(120)
    assert result is not None and result.stop_reason == "stopped"
    assert [r.phase for r in result.results] == ["stopped"] and result.answer is None
