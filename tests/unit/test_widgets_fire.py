"""FirePanel state without a browser: clicks, disabled state while running, spec values,
live rows, errors rendered in the panel."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator

import pytest

pytest.importorskip("ipywidgets")

from lens.sim import start_sim_in_thread
from lens.widgets import FirePanel
from lens.widgets._display import VEGA5_MIME

QUICK = {"header_ms": 1.0, "ttft_ms": 15.0, "itl_ms": 1.0, "output_tokens": 8}


@pytest.fixture
def sim() -> Iterator[object]:
    with start_sim_in_thread({"default": QUICK, "slowish": {**QUICK, "ttft_ms": 120.0}}) as s:
        yield s


def _panel(sim: object, profile: str = "default", **kw: object) -> FirePanel:
    targets = [{"name": "a", "provider": "sim", "base_url": sim.base_url("openai_chat", profile),  # type: ignore[attr-defined]
                "model": "m"},
               {"name": "b", "provider": "sim", "dialect": "anthropic",
                "base_url": sim.base_url("anthropic", profile), "model": "m2"}]  # type: ignore[attr-defined]
    return FirePanel(targets, redraw_interval=0.05, **kw)  # type: ignore[arg-type]


def test_controls_propagate_to_the_spec(sim: object) -> None:
    p = _panel(sim)
    p.requests.value, p.concurrency.value, p.max_tokens.value = 7, 3, 11
    p.prompt_set.value = "synthetic"
    p.prompt_tokens.value = 42
    p.target_list.value = ("b",)
    p.run_name.value = "my-run"
    spec = p.spec()
    assert [t.label for t in spec.targets] == ["b"]
    assert spec.targets[0].resolved_dialect == "anthropic"
    assert (spec.load.kind, spec.load.requests, spec.load.concurrency) == ("concurrency", 7, 3)
    assert spec.max_tokens == 11 and spec.prompts.synthetic_tokens == 42 and spec.name == "my-run"
    p.arrival.value, p.rate.value = "poisson", 25.0
    p.prompt_set.value = "short"
    spec = p.spec()
    assert (spec.load.kind, spec.load.rate, spec.prompts.set) == ("poisson", 25.0, "short")


async def test_click_fire_disables_until_done_and_draws_results(sim: object) -> None:
    p = _panel(sim, "slowish", requests=6, concurrency=2, max_tokens=8)
    p.fire_button.click()
    assert p.running and p.fire_button.disabled and not p.stop_button.disabled
    assert set(p.bars) == {"a", "b"}
    p.fire_button.click()  # a second click while running does not start another burst
    first = p._task
    await p.wait(30)
    assert p._task is first
    assert not p.running and not p.fire_button.disabled and p.stop_button.disabled
    assert p.error is None, p.status.value
    df = p.frame
    assert len(df) == 12 and set(df["status"]) == {"ok"}
    assert p.redraws >= 1 and p.chart is not None
    assert [b.value for b in p.bars.values()] == [6, 6]
    assert p.summary.set_index("target")["requests"].to_dict() == {"a": 6, "b": 6}
    assert "<table" in p.table.value and ">a<" in p.table.value
    (out,) = p.chart_output.outputs
    assert VEGA5_MIME in out["data"]
    assert "done" in p.status.value and "12 requests" in p.status.value


async def test_results_arrive_while_running(sim: object) -> None:
    p = _panel(sim, "slowish", requests=8, concurrency=1, max_tokens=8)
    p.target_list.value = ("a",)
    p.fire()
    seen = []
    while p.running:
        await asyncio.sleep(0.05)
        seen.append(len(p.table.value) if p.summary is not None else 0)
    # the table was drawn before the burst ended (8 sequential requests of >= 120 ms each)
    assert any(seen[:-3]), seen
    assert len(p.frame) == 8


async def test_stop_ends_early(sim: object) -> None:
    p = _panel(sim, "slowish", requests=50, concurrency=1, max_tokens=4)
    p.target_list.value = ("a",)
    p.fire()
    await asyncio.sleep(0.3)
    p.stop_button.click()
    await p.wait(30)
    assert 0 < len(p.frame) < 50 and not p.fire_button.disabled


async def test_errors_are_shown_in_the_panel_not_raised(
        sim: object, monkeypatch: pytest.MonkeyPatch) -> None:
    p = _panel(sim)
    p.target_list.value = ()
    assert p.fire() is None
    assert "lens-error" in p.status.value and "no target selected" in p.status.value
    assert "Traceback" not in p.status.value and not p.fire_button.disabled
    # a target whose API key is not set is refused at "Add target", with the fix (#18)
    monkeypatch.delenv("GROQ_API_KEY", raising=False)
    p.provider.value, p.model.value, p.target_name.value = "groq", "llama", "g"
    p.base_url.value = sim.url + "/v1"  # type: ignore[attr-defined]
    assert p.add_target() is None
    assert "GROQ_API_KEY" in p.status.value and "fix: export GROQ_API_KEY" in p.status.value
    assert "g" not in p.target_list.options
    # added while the key was set, fired after it was unset: the engine's error, in the box
    monkeypatch.setenv("GROQ_API_KEY", "k")
    assert p.add_target() == "g"
    monkeypatch.delenv("GROQ_API_KEY")
    p.target_list.value = ("g",)
    p.fire_button.click()
    await p.wait(30)
    assert "GROQ_API_KEY" in p.status.value and "lens-error" in p.status.value
    assert not p.fire_button.disabled and not p.running
    # a bad base URL in the add-target row
    p.base_url.value = "not a url"
    p.target_name.value = "bad"
    assert p.add_target() is None
    assert "base_url" in p.status.value and "fix:" in p.status.value


def test_default_panel_targets_the_embedded_sim() -> None:
    p = FirePanel()
    try:
        assert p.sim is not None
        assert set(p.target_list.value) == {"sim-fast", "sim-steady", "sim-slow"}
        urls = {t.base_url for t in p.spec().targets}
        assert all(u.startswith(p.sim.url) for u in urls)
        bundle = p._repr_mimebundle_()
        assert bundle["text/plain"].startswith("Fire panel (3 targets") and "run this cell" in bundle["text/plain"]
        assert "application/vnd.jupyter.widget-view+json" in bundle
    finally:
        p.close()


def test_fire_without_a_running_loop_uses_a_thread(sim: object) -> None:
    p = _panel(sim, requests=3, concurrency=1, max_tokens=4)
    fut = p.fire()
    assert fut is not None and p.fire_button.disabled
    fut.result(30)
    assert len(p.frame) == 6 and not p.fire_button.disabled


async def test_fired_runs_are_kept_in_the_store(sim: object, tmp_path: object) -> None:
    import lens
    from lens.store.sql import open_store

    db = tmp_path / "nb.db"  # type: ignore[operator]
    store = open_store(db)
    p = _panel(sim, requests=3, concurrency=1, max_tokens=4, store=store)
    await p.fire_and_wait(30)
    await p.fire_and_wait(30)
    store.close()
    stored = lens.load(db)
    assert len(stored) == 12 and stored["run_id"].nunique() == 2
    assert set(stored["run_id"]) == set(p.history["run_id"])
    runs = open_store(db).list_runs()
    assert {r.status for r in runs} == {"complete"}
