"""Runner limits an event cannot exceed: in-flight totals over targets, output/prompt token
caps, and API keys bound to the URLs they may be sent to."""

from __future__ import annotations

import json
import re
from typing import Any

import pytest

from lens.errors import SecurityError
from lens.fleet.runner import handle as H
from lens.fleet.runner.policy import check_spec
from lens.fleet.runner.settings import _FIELDS, ENV_VARS, Settings, SettingsError
from lens.spec import spec_from_dict

LOCAL = "http://127.0.0.1:8000/v1"
INTERNAL = "https://llm.internal/v1"
OPENAI = "https://api.openai.com/v1"


def _settings(**kw: str) -> Settings:
    base = {"LENS_ALLOWED_BASE_URLS": f"{LOCAL},{OPENAI},{INTERNAL}", "LENS_MAX_CONCURRENCY": "8",
            "LENS_MAX_REQUESTS": "200"}
    return Settings.from_env({**base, **kw})


def _target(i: int, **kw: Any) -> dict[str, Any]:
    return {"name": f"t{i}", "provider": "openai_compat", "base_url": LOCAL, "model": "m", **kw}


def _spec(n_targets: int = 1, targets: list[dict[str, Any]] | None = None, **kw: Any) -> Any:
    data: dict[str, Any] = {"targets": targets or [_target(i) for i in range(n_targets)],
                            "load": {"requests": 4, "concurrency": 2}}
    data.update(kw)
    return spec_from_dict(data)


def _refused(spec: Any, settings: Settings, needle: str) -> str:
    with pytest.raises(SecurityError, match=re.escape(needle)) as err:
        check_spec(spec, settings)
    return str(err.value)


# ---- 1. limits over all targets, token caps -------------------------------------------------


@pytest.mark.parametrize(
    ("n", "load", "needle"),
    [
        (3, {"requests": 4, "concurrency": 3}, "load.concurrency=3 x 3 targets = 9 requests in flight exceeds "
                                               "the runner limit LENS_MAX_CONCURRENCY=8"),
        (2, {"kind": "sweep", "levels": [1, 5], "requests": 2}, "max(load.levels)=5 x 2 targets = 10"),
        (2, {"kind": "rate", "rate": 5, "requests": 4, "max_in_flight": 5}, "load.max_in_flight=5 x 2 targets = 10"),
        (4, {"kind": "poisson", "rate": 5, "requests": 4, "max_in_flight": 3}, "load.max_in_flight=3 x 4 targets = 12"),
    ],
)
def test_in_flight_is_summed_over_targets(n: int, load: dict, needle: str) -> None:
    _refused(_spec(n, load=load), _settings(), needle)


def test_in_flight_at_the_limit_over_targets_passes() -> None:
    check_spec(_spec(4, load={"requests": 4, "concurrency": 2}), _settings())
    check_spec(_spec(2, load={"kind": "sweep", "levels": [4, 1], "requests": 2}), _settings())
    check_spec(_spec(2, load={"kind": "rate", "rate": 5, "requests": 4, "max_in_flight": 4}), _settings())


def test_token_caps_default_and_env() -> None:
    assert (Settings().max_output_tokens, Settings().max_prompt_tokens) == (8192, 32768)
    assert {"LENS_MAX_OUTPUT_TOKENS", "LENS_MAX_PROMPT_TOKENS", "LENS_API_KEY_URLS"} <= set(ENV_VARS)
    for var in ("LENS_MAX_OUTPUT_TOKENS", "LENS_MAX_PROMPT_TOKENS", "LENS_API_KEY_URLS"):
        assert _FIELDS[var] in Settings.model_fields
    s = _settings(LENS_MAX_OUTPUT_TOKENS="100", LENS_MAX_PROMPT_TOKENS="50")
    assert (s.max_output_tokens, s.max_prompt_tokens) == (100, 50)
    with pytest.raises(SettingsError, match="LENS_MAX_PROMPT_TOKENS"):
        _settings(LENS_MAX_PROMPT_TOKENS="0")


def test_output_tokens_over_the_cap_are_refused() -> None:
    _refused(_spec(max_tokens=8193), _settings(), "max_tokens=8193 exceeds the runner limit LENS_MAX_OUTPUT_TOKENS=8192")
    check_spec(_spec(max_tokens=8192), _settings())
    s = _settings(LENS_MAX_OUTPUT_TOKENS="64")
    _refused(_spec(max_tokens=65), s, "LENS_MAX_OUTPUT_TOKENS=64")
    # extra_body is merged into the request body: it may not raise the output length either
    for extra, path in [({"max_tokens": 100_000}, "extra_body.max_tokens=100000"),
                        ({"generationConfig": {"maxOutputTokens": 65}}, "extra_body.generationConfig.maxOutputTokens=65"),
                        ({"options": {"num_predict": -1}}, "extra_body.options.num_predict=-1")]:
        _refused(_spec(targets=[_target(0, extra_body=extra)], max_tokens=16), s,
                 f"spec.targets[0].{path} is not within the runner limit LENS_MAX_OUTPUT_TOKENS=64")
    check_spec(_spec(targets=[_target(0, extra_body={"max_tokens": 64, "top_p": 0.5})], max_tokens=16), s)


def test_prompt_tokens_over_the_cap_are_refused() -> None:
    s = _settings(LENS_MAX_PROMPT_TOKENS="100")
    _refused(_spec(prompts={"synthetic_tokens": 101}), s,
             "prompts.synthetic_tokens=101 exceeds the runner limit LENS_MAX_PROMPT_TOKENS=100")
    check_spec(_spec(prompts={"synthetic_tokens": 100}), s)
    _refused(_spec(prompts={"synthetic_tokens": 32769}), _settings(), "LENS_MAX_PROMPT_TOKENS=32768")
    # one inline prompt of ~101 tokens (4 characters each)
    _refused(_spec(prompts={"inline": ["x" * 404]}), s, "prompts.inline[0] is about 101 tokens (404 characters)")
    check_spec(_spec(prompts={"inline": ["x" * 400, "y" * 400]}), s)
    # many prompts each under the cap, together above LENS_MAX_PROMPT_TOKENS*8 characters
    _refused(_spec(prompts={"inline": ["x" * 400, "y" * 400, "z"]}), s,
             "prompts.inline totals 801 characters, above the runner limit LENS_MAX_PROMPT_TOKENS*8=800")
    _refused(_spec(targets=[_target(0, extra_body={"messages": [{"role": "user", "content": "x" * 900}]})],
                   prompts={"synthetic_tokens": 10}), s,
             "spec.targets[0].extra_body is")


def test_handler_names_the_field_and_the_limit_in_its_payload() -> None:
    class Ctx:
        aws_request_id = "req-1"

        def get_remaining_time_in_millis(self) -> int:
            return 60_000

    saved = H._STATE
    H._STATE = H.Container(session=None, settings=_settings())
    try:
        ev = {"spec": {"targets": [_target(0), _target(1)], "load": {"requests": 2, "concurrency": 5}}}
        resp = H.handler(ev, Ctx())
        assert resp["ok"] is False and "LENS_MAX_CONCURRENCY=8" in resp["error"] and "2 targets" in resp["error"]
        resp = H.handler({"spec": {"targets": [_target(0)], "max_tokens": 9000}}, Ctx())
        assert resp["ok"] is False and "max_tokens=9000" in resp["error"] and "LENS_MAX_OUTPUT_TOKENS" in resp["error"]
    finally:
        H._STATE = saved


# ---- 2. keys bound to URLs ------------------------------------------------------------------

KEYS = json.dumps({"OPENAI_API_KEY": "arn:openai", "ANTHROPIC_API_KEY": "arn:anthropic"})


@pytest.mark.parametrize(
    "target",
    [
        {"provider": "openai", "base_url": INTERNAL, "model": "m"},
        {"provider": "openai_compat", "api_key_env": "OPENAI_API_KEY", "base_url": INTERNAL, "model": "m"},
        # the provider's own URL, but a key that is not the provider's
        {"provider": "openai", "api_key_env": "ANTHROPIC_API_KEY", "model": "m"},
        # a fetched key smuggled out as a custom header
        {"provider": "openai_compat", "base_url": INTERNAL, "model": "m",
         "headers_env": {"X-Gateway-Auth": "OPENAI_API_KEY"}},
    ],
)
def test_a_key_is_not_sent_to_another_allowed_host(target: dict) -> None:
    name = target.get("api_key_env", "OPENAI_API_KEY")
    url = target.get("base_url", OPENAI)
    msg = _refused(_spec(targets=[target]), _settings(LENS_API_KEY_SECRETS=KEYS),
                   f"spec.targets[0]: key {name} may not be sent to {url}; allow it in LENS_API_KEY_URLS")
    assert "arn:" not in msg


def test_keys_go_to_their_provider_or_their_listed_urls() -> None:
    s = _settings(LENS_API_KEY_SECRETS=KEYS)
    check_spec(_spec(targets=[{"provider": "openai", "model": "m"}]), s)  # default URL, default key
    check_spec(_spec(targets=[{"provider": "openai", "base_url": OPENAI + "/", "model": "m"}]), s)
    # a target needing no key may call any allowed host; so may a key nobody fetched
    check_spec(_spec(targets=[_target(0, base_url=INTERNAL)]), s)
    check_spec(_spec(targets=[_target(0, base_url=INTERNAL, api_key_env="VLLM_KEY")]), s)
    bound = _settings(LENS_API_KEY_SECRETS=KEYS, LENS_API_KEY_URLS=json.dumps({"OPENAI_API_KEY": [INTERNAL]}))
    check_spec(_spec(targets=[{"provider": "openai", "base_url": INTERNAL + "/chat", "model": "m"}]), bound)
    # the binding is per key: ANTHROPIC_API_KEY is still not allowed there
    _refused(_spec(targets=[_target(0, base_url=INTERNAL, api_key_env="ANTHROPIC_API_KEY")]), bound,
             "key ANTHROPIC_API_KEY may not be sent")
    # segment-wise like the allow-list: /v10 is not under /v1
    allow_v10 = _settings(LENS_ALLOWED_BASE_URLS="https://llm.internal", LENS_API_KEY_SECRETS=KEYS,
                          LENS_API_KEY_URLS=json.dumps({"OPENAI_API_KEY": [INTERNAL]}))
    _refused(_spec(targets=[_target(0, base_url="https://llm.internal/v10", api_key_env="OPENAI_API_KEY")]),
             allow_v10, "key OPENAI_API_KEY may not be sent to https://llm.internal/v10")
    # SSM parameters are bound the same way
    ssm = _settings(LENS_API_KEY_PARAMS=json.dumps({"OPENAI_API_KEY": "/lens/openai"}))
    _refused(_spec(targets=[{"provider": "openai", "base_url": INTERNAL, "model": "m"}]), ssm,
             "key OPENAI_API_KEY may not be sent")


def test_api_key_urls_setting_is_validated() -> None:
    for bad, needle in [("{oops", "not valid JSON"), ('{"K": "https://x"}', "URL-prefix lists"),
                        ('{"K": ["ftp://x"]}', "is not an http(s) URL")]:
        with pytest.raises(SettingsError, match=re.escape("LENS_API_KEY_URLS")) as err:
            _settings(LENS_API_KEY_URLS=bad)
        assert needle in str(err.value)
