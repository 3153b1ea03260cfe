"""SLO bounds and the search block: parsing, the spec's slo:/search: blocks, clear errors."""

from __future__ import annotations

import math

import pytest

from lens.errors import ConfigError
from lens.spec import SearchSpec, SLOSpec, as_objectives, parse_objective, spec_from_dict
from lens.spec.slo import Objective, objectives_mapping, parse_bound

TARGET = [{"provider": "sim", "model": "m"}]


@pytest.mark.parametrize("text, expected", [
    ("ttft_ms<=500", Objective("ttft_ms", "<=", 500.0)),
    (" tpot_ms <= 40.5 ", Objective("tpot_ms", "<=", 40.5)),
    ("stalls<1", Objective("stalls", "<", 1.0)),
    ("output_tokens_per_s>=20", Objective("output_tokens_per_s", ">=", 20.0)),
    ("e2e_ms<1e4", Objective("e2e_ms", "<", 10000.0)),
])
def test_parse_objective(text: str, expected: Objective) -> None:
    assert parse_objective(text) == expected
    assert parse_objective(str(expected)) == expected  # str() round-trips


@pytest.mark.parametrize("text, message, hint", [
    ("ttft<=500", "unknown SLO metric 'ttft'", "did you mean 'ttft_ms'?"),
    ("ttft_ms=500", "use <=, <, >= or >", "ttft_ms<=500"),
    ("ttft_ms<=fast", "cannot read the bound", "worst acceptable value"),
    ("ttft_ms<=-5", "cannot read the bound", "<=500"),
    ("500", "cannot read '500'", "--slo ttft_ms<=500"),
])
def test_flag_errors_name_the_flag_and_the_fix(text: str, message: str, hint: str) -> None:
    with pytest.raises(ConfigError) as info:
        parse_objective(text)
    err = info.value
    assert err.source == "--slo" and str(err).startswith("--slo: ")
    assert message in err.message and hint in (err.hint or "")


def test_objective_holds_and_nan_never_does() -> None:
    o = Objective("ttft_ms", "<=", 100.0)
    assert o.holds(100.0) and not o.holds(100.0001) and not o.holds(math.nan)
    assert Objective("stalls", "<", 1).holds(0) and not Objective("stalls", "<", 1).holds(1)
    assert Objective("output_tokens_per_s", ">", 5).holds(6)


def test_spec_block_bare_numbers_are_the_worst_acceptable_value() -> None:
    spec = spec_from_dict({"targets": TARGET, "slo": {
        "ttft_ms": 500, "tpot_ms": "< 40", "output_tokens_per_s": 20, "stalls": 0}})
    assert spec.slo is not None
    assert [str(o) for o in spec.slo.objectives()] == [
        "ttft_ms<=500", "tpot_ms<40", "stalls<=0", "output_tokens_per_s>=20"]
    # the block survives the stored spec JSON (lens show reads it back)
    again = spec_from_dict(spec.model_dump(exclude_none=True))
    assert again.slo == spec.slo


def test_spec_block_errors_name_file_field_and_fix() -> None:
    with pytest.raises(ConfigError) as info:
        spec_from_dict({"targets": TARGET, "slo": {"ttft": 500}}, source="burst.yaml")
    assert info.value.source == "burst.yaml" and info.value.field == "slo.ttft"
    assert "did you mean 'ttft_ms'?" in (info.value.hint or "")
    with pytest.raises(ConfigError) as info:
        spec_from_dict({"targets": TARGET, "slo": {"e2e_ms": "~5"}}, source="burst.yaml")
    assert info.value.field == "slo.e2e_ms" and "cannot read the bound '~5'" in info.value.message
    assert "'<=500'" in (info.value.hint or "")
    with pytest.raises(ConfigError, match="finite number >= 0"):
        spec_from_dict({"targets": TARGET, "slo": {"e2e_ms": float("inf")}})


def test_as_objectives_accepts_every_form() -> None:
    want = [Objective("ttft_ms", "<=", 500.0), Objective("tpot_ms", "<=", 40.0)]
    assert as_objectives(["ttft_ms<=500", "tpot_ms<=40"]) == want
    assert as_objectives({"ttft_ms": 500, "tpot_ms": "<=40"}) == want
    assert as_objectives(SLOSpec(ttft_ms=500, tpot_ms=40)) == want
    assert as_objectives(want) == want
    assert as_objectives("ttft_ms<=500") == want[:1]
    assert as_objectives(None) == []
    assert objectives_mapping(want) == {"ttft_ms": "<=500", "tpot_ms": "<=40"}
    with pytest.raises(ConfigError, match="unknown SLO metric 'latency'"):
        parse_bound("latency", 3)


def test_search_block_validation() -> None:
    s = SearchSpec()
    assert s.grid == [1, 2, 4, 8, 16, 32, 64, 128] and s.step == 1 and s.attainment == 0.95
    r = SearchSpec(mode="rate")
    assert r.grid[0] == 0.5 and r.step == 0.10
    for bad, msg in (([4, 2], "strictly increasing"), ([1, 2.5], "whole numbers"),
                     ([0, 1], "positive"), ([], "at least one")):
        with pytest.raises(ConfigError, match=msg) as info:
            spec_from_dict({"targets": TARGET, "search": {"levels": bad}}, source="s.yaml")
        assert info.value.source == "s.yaml" and info.value.field.startswith("search")
    assert SearchSpec(mode="rate", levels=[0.5, 1.5]).grid == [0.5, 1.5]
    with pytest.raises(ConfigError) as info:
        spec_from_dict({"targets": TARGET, "search": {"attainment": 1.5}}, source="s.yaml")
    assert info.value.field == "search.attainment"
    with pytest.raises(ConfigError) as info:
        spec_from_dict({"targets": TARGET, "search": {"satruation": {}}}, source="s.yaml")
    assert "did you mean 'saturation'" in (info.value.hint or "")
