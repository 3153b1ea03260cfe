"""lens.fleet.runner.policy and limits as plain functions: Bedrock endpoints (#17 item 6),
the extra_body allow-list (item 7), prompt sources (item 3) and the maxima an event cannot
raise (items 1 and 8)."""

from __future__ import annotations

import re
from typing import Any

import pytest

from lens.errors import ConfigError, SecurityError
from lens.fleet.runner.limits import apply_maxima
from lens.fleet.runner.policy import EXTRA_BODY_KEYS, check_spec
from lens.fleet.runner.settings import ENV_VARS, Settings, SettingsError
from lens.fleet.runner.urls import is_bedrock_runtime
from lens.spec import Caps, Timeouts, spec_from_dict

GATEWAY = "https://llm.internal/v1"
BEDROCK = "https://bedrock-runtime.eu-west-1.amazonaws.com"
VPCE = "https://vpce-0abc-xyz.bedrock-runtime.eu-west-1.vpce.amazonaws.com"


def _settings(**kw: str) -> Settings:
    return Settings.from_env({"LENS_ALLOWED_BASE_URLS": f"{GATEWAY},{BEDROCK},{VPCE}", **kw})


def _spec(target: dict[str, Any] | None = None, **kw: Any) -> Any:
    t = target or {"provider": "openai_compat", "base_url": GATEWAY, "model": "m"}
    return spec_from_dict({"targets": [t], "load": {"requests": 2, "concurrency": 1}, **kw})


def _refused(spec: Any, settings: Settings, needle: str) -> str:
    with pytest.raises(SecurityError, match=re.escape(needle)) as err:
        check_spec(spec, settings)
    return str(err.value)


# ---- Bedrock targets go to AWS's Bedrock runtime only (item 6) ------------------------------


@pytest.mark.parametrize(
    "target",
    [
        {"provider": "bedrock", "base_url": GATEWAY, "model": "anthropic.claude-3-haiku"},
        # another dialect's provider with the bedrock wire format: still signed, still refused
        {"provider": "openai_compat", "dialect": "bedrock", "base_url": GATEWAY, "model": "m"},
    ],
)
def test_bedrock_target_to_a_non_aws_host_is_refused(target: dict) -> None:
    msg = _refused(_spec(target), _settings(),
                   f"spec.targets[0] is a Bedrock target, signed with the runner's AWS credentials, "
                   f"but '{GATEWAY}' is not a Bedrock runtime endpoint")
    assert "LENS_BEDROCK_ENDPOINT_URLS" in msg


def test_bedrock_target_to_aws_or_a_listed_vpc_endpoint_passes() -> None:
    check_spec(_spec({"provider": "bedrock", "aws_region": "eu-west-1", "model": "m"}), _settings())
    check_spec(_spec({"provider": "bedrock", "base_url": BEDROCK, "model": "m"}), _settings())
    vpce = {"provider": "bedrock", "base_url": VPCE, "model": "m"}
    _refused(_spec(vpce), _settings(), "is not a Bedrock runtime endpoint")
    check_spec(_spec(vpce), _settings(LENS_BEDROCK_ENDPOINT_URLS=VPCE))
    # a gateway target with another wire format is not a Bedrock target
    check_spec(_spec({"provider": "openai_compat", "base_url": GATEWAY, "model": "m"}), _settings())


@pytest.mark.parametrize(
    ("url", "ok"),
    [
        (BEDROCK, True),
        ("https://bedrock-runtime.us-east-1.amazonaws.com/", True),
        ("https://bedrock-runtime-fips.us-gov-west-1.amazonaws.com", True),
        ("https://bedrock-runtime.cn-north-1.amazonaws.com.cn", True),
        ("http://bedrock-runtime.us-east-1.amazonaws.com", False),
        ("https://bedrock-runtime.us-east-1.amazonaws.com:8443", False),
        ("https://bedrock-runtime.us-east-1.amazonaws.com.evil.io", False),
        ("https://bedrock-runtime.x.evil.com#.amazonaws.com", False),
        ("https://evil.com/bedrock-runtime.us-east-1.amazonaws.com", False),
        ("https://bedrock.us-east-1.amazonaws.com", False),
        ("https://bedrock-runtime.us-east-1.amazonaws.com@evil.com", False),
    ],
)
def test_bedrock_runtime_hosts_are_recognised_after_parsing(url: str, ok: bool) -> None:
    assert is_bedrock_runtime(url) is ok


# ---- extra_body is an allow-list (item 7) ------------------------------------------------------


def test_extra_body_keys_outside_the_allow_list_are_refused() -> None:
    for key in ("messages", "logprobs", "tools", "system"):
        t = {"provider": "openai_compat", "base_url": GATEWAY, "model": "m", "extra_body": {key: "x"}}
        msg = _refused(_spec(t), _settings(), f"spec.targets[0].extra_body.{key} is not an option a runner event may set")
        assert "LENS_EXTRA_BODY_KEYS" in msg
    ok = {"provider": "openai_compat", "base_url": GATEWAY, "model": "m",
          "extra_body": {"temperature": 0.2, "top_p": 0.9, "stream_options": {"include_usage": True}}}
    check_spec(_spec(ok), _settings())
    extended = _settings(LENS_EXTRA_BODY_KEYS="logprobs, tools")
    check_spec(_spec({**ok, "extra_body": {"logprobs": True}}), extended)
    assert "n" not in EXTRA_BODY_KEYS and "best_of" not in EXTRA_BODY_KEYS and "messages" not in EXTRA_BODY_KEYS


def test_output_multipliers_never_reach_the_runner_whatever_the_allow_list() -> None:
    with pytest.raises(ConfigError, match=r"extra_body: n=1000 asks for more than one completion"):
        _spec({"provider": "openai_compat", "base_url": GATEWAY, "model": "m", "extra_body": {"n": 1000}})


# ---- prompt sources (item 3) ----------------------------------------------------------------


def test_prompts_are_a_set_name_inline_or_synthetic_never_a_file() -> None:
    _refused(_spec(prompts={"file": "/proc/self/environ"}), _settings(), "prompts.file is not allowed")
    check_spec(_spec(prompts={"set": "short"}), _settings())
    with pytest.raises(ConfigError, match=r"prompts\.set: '\.\./\.\./\.\./\.\./tmp/x/creds' is not a prompt set name"):
        _spec(prompts={"set": "../../../../tmp/x/creds"})


# ---- maxima an event cannot raise (items 1, 8) -------------------------------------------------


def test_timeouts_and_caps_are_lowered_to_the_runner_maxima() -> None:
    s = _settings(LENS_MAX_TIMEOUT_S="20", LENS_MAX_EVENTS="500", LENS_MAX_RESPONSE_BYTES="4096",
                  LENS_MAX_CHUNK_ROWS="50")
    spec = _spec(timeouts={"total_s": 900, "idle_s": 5}, caps={"max_events": 10**9, "max_chunk_rows": 10})
    got, adjusted = apply_maxima(spec, s)
    assert got.timeouts == Timeouts(connect_s=10, first_token_s=20, idle_s=5, total_s=20)
    assert got.caps == Caps(max_events=500, max_bytes=4096, max_chunk_rows=10)
    # only what the event asked for is reported; defaults above a maximum are lowered quietly
    assert adjusted == ["timeouts.total_s 900 -> 20 (LENS_MAX_TIMEOUT_S)",
                        "caps.max_events 1000000000 -> 500 (LENS_MAX_EVENTS)"]
    assert isinstance(got.caps.max_events, int) and spec.caps.max_events == 10**9  # input untouched


def test_defaults_fit_under_the_default_maxima() -> None:
    got, adjusted = apply_maxima(_spec(), Settings())
    assert adjusted == [] and got.timeouts == Timeouts()
    assert got.caps == Caps(max_events=100_000, max_bytes=16 * 1024 * 1024, max_chunk_rows=10_000)
    assert {"LENS_MAX_TIMEOUT_S", "LENS_MAX_EVENTS", "LENS_MAX_RESPONSE_BYTES", "LENS_MAX_CHUNK_ROWS",
            "LENS_EXTRA_BODY_KEYS", "LENS_BEDROCK_ENDPOINT_URLS"} <= set(ENV_VARS)
    for bad in ({"LENS_MAX_TIMEOUT_S": "inf"}, {"LENS_MAX_TIMEOUT_S": "0"}, {"LENS_MAX_EVENTS": "-1"},
                {"LENS_BEDROCK_ENDPOINT_URLS": "ftp://x"}):
        with pytest.raises(SettingsError, match=next(iter(bad))):
            Settings.from_env(bad)
