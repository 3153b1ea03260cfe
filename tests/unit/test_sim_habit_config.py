from __future__ import annotations

import pytest

from lens.errors import ConfigError
from lens.sim.habits import AIOHTTP_IDLE_S, Conn
from lens.sim.profiles import PRESETS, Profile, parse_profile_arg
from lens.sim.reported import llamacpp_timings, processing_ms


def test_conn_strings() -> None:
    assert Conn.parse("hangup") == Conn(mode="hangup")
    assert Conn.parse("close") == Conn(mode="close")
    assert Conn.parse("keepalive") == Conn(mode="keepalive", idle_s=5.0, announce=True)
    assert Conn.parse("keepalive:0.3") == Conn(mode="keepalive", idle_s=0.3, announce=True)
    with pytest.raises(ConfigError, match="keepalive:SECONDS"):
        Conn.parse("keepalive:soon")
    with pytest.raises(ConfigError, match="takes no argument"):
        Conn.parse("hangup:3")
    with pytest.raises(ConfigError, match="default, keepalive, close, hangup"):
        Conn.parse("sometimes")


def test_conn_mapping_and_validation() -> None:
    assert Conn.parse({"mode": "keepalive", "idle_s": 2, "max_requests": 3}).max_requests == 3
    with pytest.raises(ConfigError, match="idle"):
        Conn.parse({"idle": 2})
    with pytest.raises(ConfigError, match=r"conn\.idle_s"):
        Conn(idle_s=0)
    with pytest.raises(ConfigError, match=r"conn\.max_requests"):
        Conn(max_requests=-1)


def test_keep_alive_header_and_idle_timeouts() -> None:
    assert Conn().keep_alive_header() is None and Conn().idle_timeout_s == AIOHTTP_IDLE_S
    assert Conn.parse("keepalive:0.3").keep_alive_header() == "timeout=0.3"
    assert Conn(mode="keepalive", idle_s=5, max_requests=2, announce=True).keep_alive_header() == "timeout=5, max=2"
    assert Conn(mode="keepalive", idle_s=5).keep_alive_header() is None  # uvicorn says nothing
    assert Conn(mode="close", announce=True).keep_alive_header() is None
    assert Conn(mode="hangup", idle_s=5, max_requests=100, announce=True).keep_alive_header() == "timeout=5, max=100"
    assert Conn(mode="hangup", idle_s=5).idle_timeout_s == 5


def test_profile_fields_parse_from_the_cli_argument() -> None:
    name, p = parse_profile_arg('h={"preset": "fast", "conn": "hangup", "headers": "first_token", '
                                '"server_timing": "openai"}')
    assert name == "h" and p.conn.mode == "hangup" and p.headers == "first_token" and p.server_timing == "openai"
    assert p.itl_ms == PRESETS["fast"].itl_ms
    # A conn object overrides the preset's conn field by field.
    _, q = parse_profile_arg('u={"preset": "uvicorn", "conn": {"idle_s": 0.5}}')
    assert q.conn == Conn(mode="keepalive", idle_s=0.5)
    with pytest.raises(ConfigError, match="headers"):
        Profile.from_dict({"headers": "late"})
    with pytest.raises(ConfigError, match="server_timing"):
        Profile.from_dict({"server_timing": "vllm"})
    with pytest.raises(ConfigError, match="conn"):
        Profile.from_dict({"conn": 5})
    assert Profile.from_dict({"conn": "close"}).to_dict()["conn"]["mode"] == "close"
    # Errors name the flag and the field.
    with pytest.raises(ConfigError, match=r"--profile u: conn\.idle_s: must be a positive"):
        parse_profile_arg('u={"conn": {"idle_s": -1}}')
    with pytest.raises(ConfigError, match="--profile u: headers: unknown value 'late'"):
        parse_profile_arg('u={"headers": "late"}')


def test_presets_model_real_servers() -> None:
    ll, uv = PRESETS["llamacpp"], PRESETS["uvicorn"]
    assert ll.conn.mode == "hangup" and ll.conn.keep_alive_header() == "timeout=5, max=100"
    assert ll.headers == "slot" and ll.server_timing == "llamacpp"
    assert uv.conn == Conn(mode="keepalive", idle_s=5.0) and uv.headers == "early"
    assert PRESETS["default"].conn == Conn() and PRESETS["default"].headers == "early"


def test_llamacpp_timings_arithmetic() -> None:
    t = llamacpp_timings(prompt_tokens=120, cached_tokens=20, prompt_ns=50_000_000, predicted_n=4,
                         predicted_ns=30_000_000)
    assert t == {"cache_n": 20, "prompt_n": 100, "prompt_ms": 50.0, "prompt_per_token_ms": 0.5,
                 "prompt_per_second": 2000.0, "predicted_n": 4, "predicted_ms": 30.0,
                 "predicted_per_token_ms": 7.5, "predicted_per_second": pytest.approx(1000 / 30 * 4)}
    # Microsecond resolution, at least 1 us of decoding, no division by zero.
    one = llamacpp_timings(prompt_tokens=3, cached_tokens=3, prompt_ns=1_234_567, predicted_n=1, predicted_ns=0)
    assert one["prompt_ms"] == 1.234 and one["predicted_ms"] == 0.001
    assert one["prompt_n"] == 0 and one["prompt_per_token_ms"] == 0.0 and one["prompt_per_second"] == 0.0


def test_processing_ms_rounds_to_whole_milliseconds() -> None:
    assert processing_ms(1_000_000, 8_600_000) == 8
    assert processing_ms(0, 7_500_001) == 8
    assert processing_ms(5, 0) == 0


def test_profiles_round_trip_through_their_dict() -> None:
    # /_sim/profiles serves to_dict(); from_dict must read it back, habits included.
    for name in ("llamacpp", "uvicorn", "default"):
        assert Profile.from_dict(PRESETS[name].to_dict()) == PRESETS[name]
