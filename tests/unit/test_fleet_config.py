"""Fleet config parsing, the default invoker rule, and the local Runtime API's error paths."""

from __future__ import annotations

import http.client
import json
import threading
from pathlib import Path

import pytest

from lens.errors import ConfigError
from lens.fleet import default_invoker
from lens.fleet.config import load_fleet_config, parse_fleet_config
from lens.fleet.invoker import InvokeError
from lens.fleet.runtime_api import RuntimeApi

CONFIG = {
    "bucket": "lens-results", "prefix": "lake", "glue_database": "lens", "workgroup": "lens",
    "regions": {"us-east-1": {"function": "arn:aws:lambda:us-east-1:1:function:lens-runner"},
                "eu-west-1": {"function": "lens-runner", "bucket": "lens-eu"}},
}


def test_parse_plain_and_terraform_output(tmp_path: Path) -> None:
    cfg = parse_fleet_config(CONFIG)
    assert cfg.bucket_for("eu-west-1") == "lens-eu" and cfg.bucket_for("us-east-1") == "lens-results"
    assert cfg.prefix_for("eu-west-1") == "lake" and cfg.lake() == "s3://lens-results/lake"
    wrapped = {"fleet_config": {"value": CONFIG, "type": "object", "sensitive": False}}
    assert parse_fleet_config(wrapped) == cfg
    assert parse_fleet_config({"value": CONFIG}) == cfg
    with pytest.raises(ConfigError, match="ap-south-1"):
        cfg.region("ap-south-1")
    with pytest.raises(ConfigError, match="regions"):
        parse_fleet_config({"regions": {}})
    p = tmp_path / "fleet.json"
    p.write_text(json.dumps(CONFIG))
    assert load_fleet_config(p) == cfg
    with pytest.raises(ConfigError, match="not found"):
        load_fleet_config(tmp_path / "missing.json")


def test_without_credentials_the_local_fleet_is_the_default(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    p = tmp_path / "fleet.json"
    p.write_text(json.dumps(CONFIG))
    monkeypatch.setenv("LENS_FLEET_CONFIG", str(p))
    for var in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "AWS_PROFILE",
                "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI", "AWS_WEB_IDENTITY_TOKEN_FILE"):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "none"))
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "none"))
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
    inv, close = default_invoker(None, ["us-east-1"])
    try:
        assert type(inv).__name__ == "LocalFleet"
    finally:
        close()
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "x")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "y")
    inv, close = default_invoker(None, ["us-east-1"])
    assert type(inv).__name__ == "LambdaInvoker" and inv.function("eu-west-1") == "lens-runner"


def _post(addr: str, path: str, body: dict) -> int:
    c = http.client.HTTPConnection(addr, timeout=5)
    c.request("POST", path, json.dumps(body))
    return c.getresponse().status


def _next(addr: str) -> tuple[dict, bytes]:
    c = http.client.HTTPConnection(addr, timeout=10)
    c.request("GET", "/2018-06-01/runtime/invocation/next")
    r = c.getresponse()
    return dict(r.getheaders()), r.read()


def test_runtime_api_response_error_and_init_error() -> None:
    api = RuntimeApi()
    try:
        out: dict = {}
        t = threading.Thread(target=lambda: out.setdefault("r", api.invoke({"a": 1}, timeout_ms=5000)))
        t.start()
        headers, body = _next(api.address)
        assert json.loads(body) == {"a": 1}
        rid = headers["Lambda-Runtime-Aws-Request-Id"]
        assert int(headers["Lambda-Runtime-Deadline-Ms"]) > 0 and "function" in headers["Lambda-Runtime-Invoked-Function-Arn"]
        assert _post(api.address, f"/2018-06-01/runtime/invocation/{rid}/response", {"ok": True}) == 202
        t.join(5)
        assert out["r"] == {"ok": True}

        errs: list[Exception] = []

        def call() -> None:
            try:
                api.invoke({"b": 2}, timeout_ms=5000)
            except InvokeError as e:
                errs.append(e)

        t = threading.Thread(target=call)
        t.start()
        headers, _ = _next(api.address)
        rid = headers["Lambda-Runtime-Aws-Request-Id"]
        _post(api.address, f"/2018-06-01/runtime/invocation/{rid}/error",
              {"errorType": "ValueError", "errorMessage": "bad"})
        t.join(5)
        assert errs and errs[0].reason == "function_error" and "ValueError: bad" in str(errs[0])
        assert _post(api.address, "/2018-06-01/runtime/invocation/nope/response", {}) == 400
        assert _post(api.address, "/2018-06-01/runtime/init/error",
                     {"errorType": "Runtime.ImportModuleError", "errorMessage": "no module"}) == 202
        with pytest.raises(InvokeError, match="init failed: no module"):
            api.invoke({}, timeout_ms=1000)
    finally:
        api.close()


def test_runtime_api_times_out_when_nobody_answers() -> None:
    api = RuntimeApi()
    try:
        with pytest.raises(InvokeError) as err:
            api.invoke({}, timeout_ms=100, grace_s=0.1)
        assert err.value.reason == "timeout"
    finally:
        api.close()
