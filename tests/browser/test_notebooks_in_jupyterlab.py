"""Every notebook in a real JupyterLab + Chromium, used as a person would (issue #18): run
all, no error output, every chart drew marks, the main widget exercised; plus the Fire
panel's truth in the browser: an unreachable target's reason is visible in the panel, and
a long burst stopped reads "stopped". One JupyterLab and one Chromium serve every test
(tests/browser/conftest.py); a whole-notebook screenshot of each goes to
test-output/browser/ (and to $LENS_SCREENSHOTS_DIR, e.g. docs/img, when set)."""

from __future__ import annotations

import json
from typing import Any

import pytest
from lab_driver import Lab, chart_marks, errors_in, open_notebook, run_all, screenshot_notebook

pytestmark = [pytest.mark.browser, pytest.mark.slow]

PANEL_STATUS = "(sel) => [...document.querySelectorAll(sel + ' .lens-status')].map(e => e.textContent)"


def _status_has(page: Any, panel: str, text: str, timeout: float) -> None:
    page.wait_for_function(
        f"() => [...document.querySelectorAll('{panel} .lens-status')]"
        f".some(x => x.textContent.includes({json.dumps(text)}))", timeout=timeout * 1000)


def _ran_clean(page: Any) -> None:
    outputs = run_all(page)
    assert errors_in(outputs) == []
    marks = chart_marks(page)
    assert marks and all(m > 0 for m in marks), marks  # every chart drew data marks
    text = "\n".join(page.locator(".jp-NotebookPanel .jp-OutputArea-output").all_inner_texts())
    assert "Traceback" not in text and "FirePanel(" not in text and "Error displaying" not in text


@pytest.mark.timeout(240)
def test_01_quickstart_fire_panel(lab: Lab, page: Any) -> None:
    open_notebook(page, lab, "01_quickstart.ipynb")
    _ran_clean(page)
    panel = page.locator(".lens-fire-panel").first
    fire = panel.locator("button", has_text="Fire")
    assert fire.is_enabled()
    fire.click()
    _status_has(page, ".lens-fire-panel", "running", 15)
    _status_has(page, ".lens-fire-panel", "done", 90)
    assert all(m > 0 for m in chart_marks(page, ".lens-fire-panel"))
    assert panel.locator(".lens-summary tbody tr").count() == 3
    text = panel.inner_text()
    assert "p50 TTFT (ms)" in text and "ttft_ms" not in text
    assert "24 / 24" in text and "24 ok" in text  # counts on the bars
    assert "client kept up" in text or "client could not keep up" in text  # either way, said
    assert panel.locator(".lens-error").count() == 0
    screenshot_notebook(page, "01_quickstart")


@pytest.mark.timeout(300)
def test_02_multi_region_fires_from_regions_after_run_all(lab: Lab, page: Any) -> None:
    open_notebook(page, lab, "02_multi_region.ipynb")
    _ran_clean(page)
    panel = page.locator(".lens-fire-panel").first
    _status_has(page, ".lens-fire-panel", "closed", 5)  # the last cell closed it: it says so
    panel.locator("button", has_text="Fire").click()  # restarts the sim and the local fleet
    _status_has(page, ".lens-fire-panel", "running", 60)
    assert panel.locator("button", has_text="Stop").is_enabled()
    # each region shows its state and a live timer before its rows arrive
    page.wait_for_function("() => [...document.querySelectorAll('.lens-fire-panel "
                           ".lens-progress-label')].length === 3", timeout=10_000)
    _status_has(page, ".lens-fire-panel", "done", 180)
    labels = panel.locator(".lens-progress-label").all_inner_texts()
    assert all("8 / 8" in t and "8 ok" in t for t in labels), labels
    assert panel.locator(".lens-error").count() == 0
    assert all(m > 0 for m in chart_marks(page, ".lens-fire-panel"))
    screenshot_notebook(page, "02_multi_region")


@pytest.mark.timeout(200)
def test_03_regression_report_renders_the_gate(lab: Lab, page: Any) -> None:
    open_notebook(page, lab, "03_regression_report.ipynb")
    _ran_clean(page)
    gate = page.locator(".jp-RenderedMarkdown", has_text="lens gate: FAIL").first
    assert gate.locator("table").count() >= 1  # Markdown rendered, not printed
    assert "pooled" in page.locator(".jp-NotebookPanel").first.inner_text()
    screenshot_notebook(page, "03_regression_report")


@pytest.mark.timeout(200)
def test_04_cost_explorer_follows_its_sliders(lab: Lab, page: Any) -> None:
    open_notebook(page, lab, "04_cost_explorer.ipynb")
    _ran_clean(page)
    explorer = page.locator(".lens-cost-explorer").first
    before = explorer.locator(".lens-summary").inner_text()
    assert "e+" not in before and "$" in before
    handle = explorer.locator(".noUi-handle").first  # the requests/day slider
    handle.focus()
    for _ in range(10):
        page.keyboard.press("ArrowRight")
    page.wait_for_function(
        "(b) => document.querySelector('.lens-cost-explorer .lens-summary').innerText !== b",
        arg=before, timeout=10_000)
    assert all(m > 0 for m in chart_marks(page, ".lens-cost-explorer"))
    screenshot_notebook(page, "04_cost_explorer")


@pytest.mark.timeout(200)
def test_05_scheduled_runs_filter_panel(lab: Lab, page: Any) -> None:
    open_notebook(page, lab, "05_scheduled_runs.ipynb")
    _ran_clean(page)
    screenshot_notebook(page, "05_scheduled_runs")
    panel = page.locator(".lens-filter-panel").first
    assert "UTC" in panel.locator(".lens-time-readout").inner_text()
    chart = panel.locator("select").filter(has=page.locator("option", has_text="errors"))
    chart.select_option("errors")
    page.wait_for_function("() => [...document.querySelectorAll('.lens-filter-panel svg text')]"
                           ".some(t => t.textContent.includes('no errors in this selection'))",
                           timeout=10_000)


@pytest.mark.timeout(400)
def test_06_capacity_panel_searches_from_its_button(lab: Lab, page: Any) -> None:
    open_notebook(page, lab, "06_capacity.ipynb")
    _ran_clean(page)
    screenshot_notebook(page, "06_capacity")
    panel = page.locator(".lens-capacity-panel").first
    # The notebook's own search (through the panel's API) filled the table; the last cell
    # closed the panel and its sim. Search again from the button: it starts a new sim.
    assert panel.locator("table tbody tr").count() >= 3
    panel.locator("button", has_text="Search").click()
    # a new search says so at once, then its levels, then the answer
    _status_has(page, ".lens-capacity-panel", "searching", 30)
    _status_has(page, ".lens-capacity-panel", "level ", 120)
    _status_has(page, ".lens-capacity-panel", "highest concurrency meeting", 300)
    assert panel.locator("table tbody tr").count() >= 3
    text = panel.inner_text()
    assert "ttft_ms<=60" in text and "Traceback" not in text
    assert all(m > 0 for m in chart_marks(page, ".lens-capacity-panel"))


def _scratch(lab: Lab, name: str, source: str) -> None:
    import nbformat

    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_code_cell(source)]
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3",
                                 "language": "python"}
    nbformat.write(nb, lab.root / "notebooks" / name)


@pytest.mark.timeout(120)
def test_an_unreachable_target_shows_its_reason_in_the_panel(lab: Lab, page: Any) -> None:
    from lab_driver import free_port

    port = free_port()  # bound and released: nothing listens there
    _scratch(lab, "unreachable.ipynb", (
        "from lens.widgets import FirePanel\n"
        f"panel = FirePanel([{{'name': 'unreachable', 'provider': 'sim', 'model': 'm', "
        f"'base_url': 'http://127.0.0.1:{port}/v1'}}], requests=3, concurrency=1, "
        "max_tokens=4)\npanel"))
    open_notebook(page, lab, "unreachable.ipynb")
    run_all(page)
    panel = page.locator(".lens-fire-panel").first
    panel.locator("button", has_text="Fire").click()
    _status_has(page, ".lens-fire-panel", "every request failed", 60)
    reason = panel.locator(".lens-reason").inner_text()
    assert "could not connect" in reason and f"127.0.0.1:{port}" in reason
    assert "3 network" in panel.locator(".lens-progress-label").inner_text()
    assert panel.locator(".lens-error").count() == 1


@pytest.mark.timeout(120)
def test_stopping_a_long_burst_reads_stopped(lab: Lab, page: Any) -> None:
    _scratch(lab, "long_burst.ipynb", (
        "from lens.widgets import FirePanel\n"
        "panel = FirePanel(requests=800, concurrency=1, max_tokens=16)\n"
        "panel.target_list.value = ('sim-slow',)\npanel"))
    open_notebook(page, lab, "long_burst.ipynb")
    run_all(page)
    panel = page.locator(".lens-fire-panel").first
    panel.locator("button", has_text="Fire").click()
    page.wait_for_function("() => { const l = document.querySelector('.lens-fire-panel "
                           ".lens-progress-label'); return l && /\\b[2-9]\\d* \\/ 800/.test("
                           "l.textContent); }", timeout=60_000)
    panel.locator("button", has_text="Stop").click()
    _status_has(page, ".lens-fire-panel", "stopped after", 60)
    status = page.evaluate(PANEL_STATUS, ".lens-fire-panel")
    assert any("of 800 requests" in s for s in status), status
    assert not any(s.startswith("done") for s in status)
    assert "stopped" in panel.locator(".lens-progress-label").inner_text()
