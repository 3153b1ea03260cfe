"""Capacity search and SLO commands against the simulated endpoint, whose profile sets the
right answer: a ``slots-N`` server serves N streams at once and queues the rest, so a
request beyond N waits for a slot (a whole 250 ms stream or a good part of it) and misses
``ttft_ms<=60`` (it takes 20 ms unqueued). The highest concurrency meeting 95% is N."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from helpers_cli import lens

import lens as lens_api
from lens.burst.capacity import search_capacity
from lens.sim import start_sim_in_thread
from lens.store.sql import open_store
from lens.widgets.capacity import sim_profiles

pytestmark = pytest.mark.timeout(300)


@pytest.fixture(scope="module")
def sim():
    with start_sim_in_thread(sim_profiles(), seed=5) as s:
        yield s


def spec_for(sim, slots: int) -> dict:
    return {"name": "cap", "targets": [{"name": f"sim-{slots}", "provider": "sim",
                                        "dialect": "openai_chat", "model": "m",
                                        "base_url": sim.base_url("openai_chat", f"slots-{slots}")}],
            "prompts": {"synthetic_tokens": 32}, "max_tokens": 64}


@pytest.mark.slow
def test_search_finds_the_servers_slots(sim, tmp_path: Path) -> None:
    store = open_store(str(tmp_path / "lens.db"))
    seen = []
    try:
        res = search_capacity(spec_for(sim, 8), slo=["ttft_ms<=60"], store=store,
                              search={"levels": [1, 2, 4, 8, 16, 32], "requests": 12},
                              on_level=seen.append)
        runs = store.list_runs()
        stored = {r.run_id: r for r in runs}
        rows = {r.run_id: store.requests_frame(r.run_id) for r in runs}
    finally:
        store.close()
    assert res.answer is not None and abs(res.answer - 8) <= 1, res.frame()
    assert res.stop_reason == "bracketed" and not res.lower_bound
    assert [r.level for r in seen] == [r.level for r in res.results]
    # the sweep stopped at the first failing level, then bisected inside the bracket (a level
    # may come twice: a small miss is confirmed)
    sweep = [r.level for r in res.results if r.phase == "sweep"]
    assert sweep == [1, 2, 4, 8, 16][: len(sweep)] and 32 not in sweep
    # every level is a stored run, tagged, judged by the SLOs in its stored spec
    assert set(stored) == {r.run_id for r in res.results}
    for r in res.results:
        run = stored[r.run_id]
        assert run.tags["capacity_search"] == res.search_id
        assert float(run.tags["capacity_level"]) == r.level
        spec = json.loads(run.spec_json)
        assert spec["slo"] == {"ttft_ms": "<=60"} and spec["load"]["concurrency"] == r.level
        # one warm-up wave of `level` requests, then the measured ones
        warm = rows[r.run_id]["warmup"].astype(bool)
        assert int(warm.sum()) == r.level and (~warm).sum() == r.n == max(12, 4 * r.level)
    assert res.requests == sum(r.fired for r in res.results) >= 12 * len(res.results)
    assert res.knee is not None and 4 <= res.knee <= 16


@pytest.mark.slow
def test_rate_search_stays_below_the_servers_throughput(sim, tmp_path: Path) -> None:
    # slots-4 serves at most 4 / 0.25 s = 16 req/s: above it the queue grows without end
    res = lens_api.capacity(spec_for(sim, 4), slo=["ttft_ms<=60"], db=str(tmp_path / "r.db"),
                            search={"mode": "rate", "levels": [2, 4, 8, 16, 32],
                                    "min_duration_s": 1.5, "requests": 8, "max_levels": 8})
    assert res.mode == "rate" and all(r.run_id for r in res.results)
    assert res.answer is not None and 2 <= res.answer < 16, res.frame()
    failed = [r.level for r in res.results if not r.passed]
    assert failed and min(failed) <= 16


@pytest.mark.slow
def test_cli_capacity_json_chart_and_show(sim, tmp_path: Path) -> None:
    db, chart = str(tmp_path / "lens.db"), tmp_path / "evidence.svg"
    out = lens(["capacity", "--provider", "sim", "--model", "m", "--base-url",
                sim.base_url("openai_chat", "slots-4"), "--prompt-tokens", "32",
                "--max-tokens", "64", "--slo", "ttft_ms<=60", "--levels", "1,2,4,8,16",
                "--requests", "12", "--db", db, "--json", "--chart", str(chart)])
    assert out.code == 0, out.err
    result = json.loads(out.out)
    assert abs(result["answer"] - 4) <= 1 and result["objectives"] == ["ttft_ms<=60"]
    assert "sweep level 1: attainment" in out.err
    assert chart.read_text().startswith("<svg")
    top = max(result["levels"], key=lambda r: r["level"])
    shown = lens(["show", top["run_id"], "--db", db])  # SLOs from the run's stored spec
    assert shown.code == 0, shown.err
    assert "SLOs: ttft_ms<=60" in shown.out and "attainment" in shown.out


def test_cli_capacity_errors_name_the_flag(sim, tmp_path: Path) -> None:
    base = ["capacity", "--provider", "sim", "--model", "m", "--base-url",
            sim.base_url("openai_chat", "slots-4"), "--db", str(tmp_path / "x.db")]
    bad = lens([*base, "--slo", "ttft_ms<=60", "--levels", "4,2"])
    assert bad.code == 2 and "--levels: search.levels" in bad.err and "increasing" in bad.err
    none = lens(base)
    assert none.code == 2 and "needs SLOs" in none.err and "--slo ttft_ms<=500" in none.err
    two = tmp_path / "two.yaml"
    two.write_text("targets:\n  - {name: a, provider: sim, model: m, base_url: http://127.0.0.1:1}\n"
                   "  - {name: b, provider: sim, model: m, base_url: http://127.0.0.1:1}\n"
                   "slo: {ttft_ms: 60}\n")
    many = lens(["capacity", str(two), "--db", str(tmp_path / "x.db")])
    assert many.code == 2 and "measures one target" in many.err and "--target" in many.err


def test_cli_run_compare_and_gate_on_attainment(sim, tmp_path: Path) -> None:
    db = str(tmp_path / "lens.db")

    def fire(slots: int, run_id: str) -> dict:
        out = lens(["run", "--provider", "sim", "--model", "m", "--base-url",
                    sim.base_url("openai_chat", f"slots-{slots}"), "--prompt-tokens", "32",
                    "--max-tokens", "64", "--requests", "48", "--concurrency", "8",
                    "--slo", "ttft_ms<=60", "--db", db, "--run-id", run_id, "--json"])
        assert out.code == 0, out.err
        return json.loads(out.out)["targets"][0]["slo"]

    base, cand = fire(16, "base"), fire(2, "cand")  # 8 in flight: none queue / most queue
    assert base["attainment"] >= 0.95 and cand["attainment"] <= 0.5
    assert base["goodput_rps"] > cand["goodput_rps"] > 0 or cand["met"] == 0
    cmp = lens(["compare", "base", "cand", "--db", db, "--slo", "ttft_ms<=60"])
    assert cmp.code == 0 and "SLO attainment (ttft_ms<=60)" in cmp.out and "regressed" in cmp.out
    gate = lens(["gate", "--baseline", "base", "--candidate", "cand", "--db", db,
                 "--slo", "ttft_ms<=60", "--max-attainment-drop", "0.05",
                 "--max-p95-ttft-regression", "100"])
    assert gate.code == 1, gate.out + gate.err
    assert "| SLO attainment drop | **FAIL** |" in gate.out
    same = lens(["gate", "--baseline", "base", "--candidate", "base", "--db", db,
                 "--slo", "ttft_ms<=60", "--max-attainment-drop", "0.05"])
    assert same.code == 0, same.out
    # The report judges by the runs' stored SLOs unless --slo says otherwise.
    html_path = tmp_path / "r.html"
    rep = lens(["report", "base", "cand", "--db", db, "-o", str(html_path)])
    assert rep.code == 0, rep.err
    html = html_path.read_text()
    assert "SLOs and goodput" in html and "ttft_ms&lt;=60" in html
    assert f"{base['met']} / {base['n']}" in html and f"{cand['met']} / {cand['n']}" in html
    assert "Stalls and drift" in html
    bad = lens(["report", "base", "--db", db, "--slo", "ttft<=60", "-o", str(html_path)])
    assert bad.code == 2 and "--slo" in bad.err and "Traceback" not in bad.err
