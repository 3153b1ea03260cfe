from __future__ import annotations

import pytest

from lens.errors import ConfigError
from lens.sim.profiles import (
    PRESETS,
    Faults,
    Profile,
    coerce_profile,
    get_preset,
    parse_profile_arg,
)


def test_presets_differ_and_cover_demo_names() -> None:
    for name in ("default", "fast", "steady", "slow", "reasoning", "flaky", "instant"):
        assert isinstance(PRESETS[name], Profile)
    assert PRESETS["slow"].ttft_ms > PRESETS["steady"].ttft_ms > PRESETS["fast"].ttft_ms
    assert PRESETS["reasoning"].reasoning_tokens > 0
    assert sum(r for _, r in PRESETS["flaky"].faults.rates()) > 0.05


def test_from_dict_overrides_preset_and_nested_faults() -> None:
    p = Profile.from_dict({"preset": "slow", "ttft_ms": 5, "tokens_per_chunk": [2, 4], "faults": {"reset": 0.5}})
    assert p.ttft_ms == 5
    assert p.itl_ms == PRESETS["slow"].itl_ms
    assert p.chunk_range == (2, 4)
    assert p.faults.reset == 0.5


def test_unknown_fields_are_named() -> None:
    with pytest.raises(ConfigError, match="ttft"):
        Profile.from_dict({"ttft": 3})
    with pytest.raises(ConfigError, match="resets"):
        Profile.from_dict({"faults": {"resets": 0.1}})
    with pytest.raises(ConfigError, match="unknown sim profile preset 'nope'"):
        get_preset("nope")


def test_validation() -> None:
    with pytest.raises(ConfigError, match="sum"):
        Faults(reset=0.6, stall=0.6)
    with pytest.raises(ConfigError, match=r"0\.\.1"):
        Faults(reset=-0.1)
    with pytest.raises(ConfigError, match="tokens_per_chunk"):
        Profile(tokens_per_chunk=(3, 2))
    with pytest.raises(ConfigError, match="output_tokens"):
        Profile(output_tokens=0)
    with pytest.raises(ConfigError, match="itl_ms"):
        Profile(itl_ms=-1)


def test_parse_profile_arg_preset_and_json() -> None:
    assert parse_profile_arg("a=fast") == ("a", PRESETS["fast"])
    name, p = parse_profile_arg('b={"preset": "steady", "output_tokens": 7}')
    assert name == "b" and p.output_tokens == 7 and p.itl_ms == PRESETS["steady"].itl_ms
    for bad in ("nameonly", "=fast", "a/b=fast"):
        with pytest.raises(ConfigError, match="--profile"):
            parse_profile_arg(bad)
    with pytest.raises(ConfigError, match="invalid JSON"):
        parse_profile_arg("c={bad")


def test_coerce_profile() -> None:
    assert coerce_profile("slow") is PRESETS["slow"]
    p = Profile(ttft_ms=1)
    assert coerce_profile(p) is p
    assert coerce_profile({"ttft_ms": 2}).ttft_ms == 2
