"""Runner settings, the SSRF allow-list, limits, event validation and API-key caching
(lens.fleet.runner: settings, urls, policy, keys, handle)."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest
from helpers_runner import burst_executor

from lens.errors import LensError, SecurityError
from lens.fleet.runner import handle as H
from lens.fleet.runner.policy import check_spec
from lens.fleet.runner.settings import (
    _FIELDS,
    ENV_VARS,
    Settings,
    SettingsError,
    parse_prefix,
    url_allowed,
)
from lens.spec import spec_from_dict

EVENTS = Path(__file__).resolve().parents[2] / "lambdas" / "runner" / "events"
ALLOW = ("https://api.openai.com/v1", "http://127.0.0.1:8000/v1", "https://bedrock-runtime.us-east-1.amazonaws.com")


@pytest.mark.parametrize(
    ("url", "ok"),
    [
        ("https://api.openai.com/v1", True),
        ("https://api.openai.com/v1/", True),
        ("https://API.OpenAI.com/v1/chat", True),
        ("https://api.openai.com:443/v1", True),
        ("https://api.openai.com/v10", False),
        ("https://api.openai.com", False),
        ("https://api.openai.com.evil.com/v1", False),
        ("https://api.openai.com@evil.com/v1", False),
        ("https://evil.com/api.openai.com/v1", False),
        ("https://evil.com?u=https://api.openai.com/v1", False),
        ("http://api.openai.com/v1", False),
        ("https://api.openai.com:8443/v1", False),
        ("https://api.openai.com/v1/../../admin", False),
        ("https://api.openai.com/v1/%2e%2e/admin", False),
        ("https://api.openai.com/v1%2f..%2fadmin", False),
        ("http://127.0.0.1:8000/v1", True),
        ("http://127.0.0.1:8001/v1", False),
        ("http://127.0.0.1/v1", False),
        ("http://169.254.169.254/latest/meta-data", False),
        ("file:///etc/passwd", False),
        ("https://bedrock-runtime.us-east-1.amazonaws.com", True),
        ("https://bedrock-runtime.us-east-1.amazonaws.com.attacker.io", False),
    ],
)
def test_allow_list_compares_parsed_urls(url: str, ok: bool) -> None:
    assert url_allowed(url, ALLOW) is ok


def test_settings_from_env_and_env_contract() -> None:
    shared = {"LENS_RESULTS_BUCKET", "LENS_RESULTS_PREFIX", "LENS_GLUE_DATABASE", "LENS_GLUE_TABLE_REQUESTS",
              "LENS_GLUE_TABLE_CHUNKS", "LENS_ALLOWED_BASE_URLS", "LENS_MAX_CONCURRENCY", "LENS_MAX_REQUESTS",
              "LENS_API_KEY_SECRETS", "LENS_API_KEY_PARAMS", "LENS_REGION_LABEL", "LENS_DEADLINE_MARGIN_MS"}
    assert shared <= set(ENV_VARS) and len(ENV_VARS) == len(set(ENV_VARS))
    for var in ENV_VARS:  # every variable Terraform may set is read into a field
        assert var in _FIELDS and _FIELDS[var] in Settings.model_fields
    s = Settings.from_env({
        "LENS_RESULTS_BUCKET": "b", "LENS_ALLOWED_BASE_URLS": " https://a.example/v1 ,http://h:1 ",
        "LENS_API_KEY_SECRETS": '{"OPENAI_API_KEY": "arn:aws:secretsmanager:x"}', "LENS_MAX_REQUESTS": "50",
        "AWS_REGION": "eu-west-1", "LENS_GLUE_DATABASE": "",
    })
    assert s.allowed_base_urls == ("https://a.example/v1", "http://h:1")
    assert s.region_label == "eu-west-1" and s.results_prefix == "lens" and s.glue_database is None
    assert s.max_requests == 50 and s.deadline_margin_ms == 5000
    assert s.glue_create_tables is False  # Terraform owns the schema on AWS
    env = {"LENS_RESULTS_BUCKET": "b", "LENS_ALLOWED_BASE_URLS": "https://a.example/v1"}
    assert Settings.from_env({**env, "LENS_GLUE_CREATE_TABLES": "true"}).glue_create_tables is True
    for env, needle in [({"LENS_MAX_CONCURRENCY": "0"}, "LENS_MAX_CONCURRENCY"),
                        ({"LENS_API_KEY_PARAMS": "{oops"}, "LENS_API_KEY_PARAMS"),
                        ({"LENS_ALLOWED_BASE_URLS": "ftp://x"}, "LENS_ALLOWED_BASE_URLS"),
                        ({"LENS_ALLOWED_BASE_URLS": "https://u:p@x"}, "user-info")]:
        with pytest.raises(SettingsError, match=needle):
            Settings.from_env(env)
    with pytest.raises(ValueError):
        parse_prefix("https://x/a/../b")


def _settings(**kw: Any) -> Settings:
    base = {"LENS_ALLOWED_BASE_URLS": "http://127.0.0.1:8000/v1", "LENS_MAX_CONCURRENCY": "8", "LENS_MAX_REQUESTS": "20"}
    return Settings.from_env({**base, **kw})


def _spec(**kw: Any) -> Any:
    data = {"targets": [{"provider": "openai_compat", "base_url": "http://127.0.0.1:8000/v1", "model": "m"}],
            "load": {"requests": 10, "concurrency": 2}}
    data.update(kw)
    return spec_from_dict(data)


@pytest.mark.parametrize(
    ("changes", "needle"),
    [
        ({"load": {"requests": 10, "concurrency": 9}}, "LENS_MAX_CONCURRENCY=8"),
        ({"load": {"requests": 21, "concurrency": 1}}, "LENS_MAX_REQUESTS=20"),
        ({"load": {"requests": 15, "concurrency": 1}, "warmup": 6}, "up to 21 requests"),
        ({"load": {"kind": "sweep", "levels": [1, 2], "requests": 11}}, "up to 22 requests"),
        ({"load": {"kind": "sweep", "levels": [1, 16], "requests": 1}}, "max(load.levels)=16"),
        ({"load": {"kind": "rate", "rate": 5, "requests": 5}}, "load.max_in_flight=256"),
        ({"load": {"duration_s": 10, "requests": None}}, "load.requests must be set"),
        ({"prompts": {"file": "/proc/self/environ"}}, "prompts.file is not allowed"),
    ],
)
def test_limits_are_refused_not_clamped(changes: dict, needle: str) -> None:
    with pytest.raises(SecurityError, match=re.escape(needle)):
        check_spec(_spec(**changes), _settings())


def test_within_limits_passes_and_host_override_is_refused() -> None:
    check_spec(_spec(load={"kind": "rate", "rate": 5, "requests": 5, "max_in_flight": 8}), _settings())
    check_spec(_spec(warmup=2, load={"requests": 18, "concurrency": 8}), _settings())
    bad = _spec(targets=[{"provider": "openai_compat", "base_url": "http://127.0.0.1:8000/v1", "model": "m",
                          "headers": {"Host": "internal"}}])
    with pytest.raises(SecurityError, match="Host"):
        check_spec(bad, _settings())
    with pytest.raises(SecurityError, match="LENS_ALLOWED_BASE_URLS"):
        check_spec(_spec(), Settings.from_env({}))


class Ctx:
    aws_request_id = "11111111-2222-3333-4444-555555555555"

    def get_remaining_time_in_millis(self) -> int:
        return 60_000


@pytest.mark.parametrize(
    ("name", "needle"),
    [("bad_field", "event field concurency: Extra inputs are not permitted"),
     ("ssrf", "'http://169.254.169.254/latest/meta-data' is not on the runner's allow-list"),
     ("over_limit", "load.concurrency=500 exceeds the runner limit LENS_MAX_CONCURRENCY=8")],
)
def test_sample_events_are_refused_with_clear_payloads(name: str, needle: str) -> None:
    state = H.Container(session=None, settings=_settings())
    H._STATE, saved = state, H._STATE
    try:
        resp = H.handler(json.loads((EVENTS / f"{name}.json").read_text()), Ctx())
    finally:
        H._STATE = saved
    assert resp["ok"] is False and needle in resp["error"]
    assert "Traceback" not in resp["error"] and resp["cold_start"] is True


def test_non_object_event_and_misconfigured_runner() -> None:
    saved = H._STATE
    try:
        H._STATE = H.Container(session=None, settings=_settings())
        assert "must be a JSON object" in H.handler(["x"], Ctx())["error"]
        H._STATE = H.Container(session=None, settings=None, settings_error="environment variable LENS_MAX_REQUESTS: bad")
        resp = H.handler(json.loads((EVENTS / "valid.json").read_text()), Ctx())
        assert resp == {**resp, "ok": False} and "LENS_MAX_REQUESTS" in resp["error"]
    finally:
        H._STATE = saved


class FakeClient:
    def __init__(self, values: dict[str, str], fail: bool = False) -> None:
        self.values = values
        self.calls = 0
        self.fail = fail

    def get_secret_value(self, SecretId: str) -> dict:
        self.calls += 1
        if self.fail:
            raise RuntimeError("AccessDenied")
        return {"SecretString": self.values[SecretId]}

    def get_parameter(self, Name: str, WithDecryption: bool) -> dict:
        self.calls += 1
        assert WithDecryption
        return {"Parameter": {"Value": self.values[Name]}}


def test_api_keys_fetched_once_per_container_in_both_formats() -> None:
    sm = FakeClient({"arn:a": "sk-raw-value-1", "arn:b": json.dumps({"ANTHROPIC_API_KEY": "sk-ant-2"})})
    ssm = FakeClient({"/lens/groq": "gsk-3"})
    st = H.Container(session=None, settings=_settings(
        LENS_API_KEY_SECRETS=json.dumps({"OPENAI_API_KEY": "arn:a", "ANTHROPIC_API_KEY": "arn:b"}),
        LENS_API_KEY_PARAMS=json.dumps({"GROQ_API_KEY": "/lens/groq"})),
        clients={"secretsmanager": sm, "ssm": ssm})
    want = {"OPENAI_API_KEY": "sk-raw-value-1", "ANTHROPIC_API_KEY": "sk-ant-2", "GROQ_API_KEY": "gsk-3"}
    assert H.fetch_api_keys(st) == want
    assert H.fetch_api_keys(st) == want
    assert (sm.calls, ssm.calls) == (2, 1)


def test_key_fetch_failure_names_the_secret_not_a_value() -> None:
    st = H.Container(session=None, settings=_settings(LENS_API_KEY_SECRETS=json.dumps({"OPENAI_API_KEY": "arn:a"})),
                     clients={"secretsmanager": FakeClient({}, fail=True)})
    with pytest.raises(LensError, match=r"cannot read secret 'arn:a' for OPENAI_API_KEY \(RuntimeError\)"):
        H.fetch_api_keys(st)


def test_burst_failure_keeps_measured_rows_and_scrubs_the_key() -> None:
    from datetime import UTC, datetime

    from lens.record import ChunkTiming, RequestRecord

    secret = "sk-proj-abcdefghijklmnopqrstuvwxyz012345"
    st = H.Container(session=None, settings=_settings(LENS_API_KEY_SECRETS=json.dumps({"OPENAI_API_KEY": "arn:a"})),
                     clients={"secretsmanager": FakeClient({"arn:a": secret})})
    seen: dict[str, Any] = {}

    def fake_burst(spec: Any, *, run_id: str, sink: Any, should_start: Any, api_keys: Any, shard: int) -> Any:
        seen.update(api_keys=dict(api_keys), shard=shard, start=should_start(), region=spec.region, runner=spec.runner)
        for i in range(2):
            sink.add(RequestRecord(run_id=run_id, request_id=f"r{i}", started_at=datetime.now(UTC), status="ok",
                                   region=spec.region, ttft_ms=5.0 + i), [ChunkTiming(f"r{i}", 0, 5.0, "text", 1)])
        raise RuntimeError(f"socket closed while sending Authorization: Bearer {secret}")

    ev = json.loads((EVENTS / "valid.json").read_text())
    ev["spec"]["targets"][0]["base_url"] = "http://127.0.0.1:8000/v1"
    ev["shard"] = 3
    resp = H.handle(ev, Ctx(), st=st, executor=burst_executor(fake_burst))
    assert seen == {"api_keys": {"OPENAI_API_KEY": secret}, "shard": 3, "start": True,
                    "region": "us-east-1", "runner": "lambda"}
    assert resp["ok"] is False and resp["n_records"] == 2 and resp["n_chunks"] == 2
    assert "RuntimeError" in resp["error"] and secret not in json.dumps(resp)
    assert [r["shard"] for r in resp["rows"]["records"]] == [3, 3]
    assert resp["summary"]["ttft_p50_ms"] == 5.5 and resp["s3_keys"] == {}
