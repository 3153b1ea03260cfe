"""What `lens run`/`lens show` print about SLOs and stalls, and where the SLOs come from."""

from __future__ import annotations

import io
import json
from datetime import UTC, datetime, timedelta

import pytest
from rich.console import Console

from lens.analysis.frames import records_to_frame
from lens.analysis.summary import summarize
from lens.cli.render import summary_table
from lens.cli.render_slo import run_objectives, slo_table
from lens.errors import ConfigError
from lens.record import RequestRecord

T0 = datetime(2026, 1, 1, tzinfo=UTC)


def rec(i: int, **kw: object) -> RequestRecord:
    base: dict[str, object] = dict(
        run_id="r", request_id=f"q-{i}", started_at=T0 + timedelta(seconds=i), target="a",
        provider="sim", model="m", dialect="openai_chat", ttft_ms=100.0 + 100 * i,
        e2e_ms=1000.0, n_chunks=5, output_tokens=10, stalls=0, itl_max_ms=20.0)
    base.update(kw)
    return RequestRecord(**base)  # type: ignore[arg-type]


def text(renderable: object) -> str:
    out = io.StringIO()
    Console(file=out, width=250, color_system=None).print(renderable)
    return out.getvalue()


def test_slo_table_and_stall_column() -> None:
    df = records_to_frame([rec(i) for i in range(4)] + [rec(9, status="cancelled")])
    summaries = summarize(df, objectives=["ttft_ms<=250", "e2e_ms<=2000"])
    t = text(slo_table(summaries))
    assert "SLOs: ttft_ms<=250 and e2e_ms<=2000" in t
    assert "2 / 4 (+1 cancelled)" in t and "50.0% [15.0%, 85.0%]" in t
    assert "stalled" not in text(summary_table(summaries))  # no stall, no column
    stalled = summarize(records_to_frame([rec(0), rec(1, stalls=2, itl_max_ms=700.0)]))
    shown = text(summary_table(stalled))
    assert "stalled |" in shown and "1 | 693" in shown  # p99 of the gaps 20 and 700 ms


def test_run_objectives_flags_win_over_the_stored_spec() -> None:
    spec = json.dumps({"targets": [], "slo": {"ttft_ms": "<=500"}})
    assert [str(o) for o in run_objectives(spec)] == ["ttft_ms<=500"]
    assert [str(o) for o in run_objectives(spec, ["e2e_ms<=9"])] == ["e2e_ms<=9"]
    assert run_objectives(json.dumps({"targets": []})) == []
    assert run_objectives("not json") == []
    # a spec stored by a lens that knew another metric: judged by nothing, no crash
    assert run_objectives(json.dumps({"slo": {"time_to_glory_ms": 3}})) == []
    with pytest.raises(ConfigError, match="--slo"):
        run_objectives(spec, ["nope<=1"])


def test_capacity_flags_overlay_the_spec_search_block() -> None:
    import argparse

    from lens.cli.capacity_cmd import _search_overrides
    from lens.spec import spec_from_dict

    spec = spec_from_dict({"targets": [{"provider": "sim", "model": "m"}],
                           "search": {"levels": [1, 2, 4], "attainment": 0.9, "rounds": 2}})
    none = dict(mode=None, attainment=None, requests=None, rounds=None, max_levels=None,
                arrival=None, levels=None, spec="s.yaml")
    plan = _search_overrides(argparse.Namespace(**none), spec)
    assert (plan.grid, plan.attainment, plan.rounds) == ([1, 2, 4], 0.9, 2)
    plan = _search_overrides(argparse.Namespace(**{**none, "levels": "2,8", "requests": 7}), spec)
    assert (plan.grid, plan.attainment, plan.requests) == ([2, 8], 0.9, 7)
    with pytest.raises(ConfigError) as err:
        _search_overrides(argparse.Namespace(**{**none, "attainment": 2.0}), spec)
    assert err.value.source == "--attainment" and err.value.field == "search.attainment"
    with pytest.raises(ConfigError, match="cannot read") as err:
        _search_overrides(argparse.Namespace(**{**none, "levels": "1,two"}), spec)
    assert err.value.source == "--levels"
