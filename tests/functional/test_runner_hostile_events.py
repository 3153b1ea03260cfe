"""Hostile runner events from the adversarial review (#17), through the handler, against real
servers: a Bedrock target aimed at a non-AWS host (item 6), a path as prompts.set (item 3),
output multipliers and unlisted extra_body keys (item 7), caps raised by the event (item 8).
Each failed on the old handler (the request went out, or the file was read, or the flood
was kept)."""

from __future__ import annotations

import http.server
import json
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from helpers_runner import Ctx

from lens.sim import start_sim_in_thread

AKID = "AKIARUNNERROLE000001"


class _Recorder(http.server.BaseHTTPRequestHandler):
    seen: list[dict[str, str]] = []

    def do_POST(self) -> None:
        type(self).seen.append(dict(self.headers))
        self.send_response(500)
        self.end_headers()

    def log_message(self, *a: Any) -> None:
        return


@pytest.fixture
def recorder() -> Iterator[str]:
    _Recorder.seen = []
    srv = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Recorder)
    threading.Thread(target=srv.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{srv.server_address[1]}"
    srv.shutdown()
    srv.server_close()


@pytest.fixture(scope="module")
def sim() -> Iterator[Any]:
    with start_sim_in_thread({"flood": {"ttft_ms": 1.0, "itl_ms": 0.0, "output_tokens": 400}}) as s:
        yield s


@pytest.fixture
def H() -> Iterator[Any]:
    import lens.fleet.runner.handle as handle

    yield handle
    handle.configure()


def _event(url: str, **target: Any) -> dict[str, Any]:
    spec = {"targets": [{"provider": "openai_compat", "base_url": url, "model": "m", **target}],
            "prompts": {"synthetic_tokens": 8}, "max_tokens": 400, "load": {"requests": 2, "concurrency": 1}}
    return {"run_id": "hostile", "spec": spec}


def test_bedrock_target_to_an_allowed_non_aws_host_is_refused_before_signing(
    H: Any, recorder: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    import botocore.auth

    signed: list[Any] = []
    real = botocore.auth.SigV4Auth.add_auth
    monkeypatch.setattr(botocore.auth.SigV4Auth, "add_auth", lambda self, req: (signed.append(req), real(self, req)))
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", AKID)
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "runner-role-secret-0000000000000000000000")
    monkeypatch.setenv("AWS_SESSION_TOKEN", "runner-role-session-token")
    H.configure(env={"LENS_ALLOWED_BASE_URLS": recorder})
    ev = _event(recorder, provider="bedrock", aws_region="us-east-1", model="anthropic.claude-3-haiku")
    resp = H.handler(ev, Ctx())
    assert resp["ok"] is False
    assert "is a Bedrock target, signed with the runner's AWS credentials" in resp["error"]
    assert signed == [] and _Recorder.seen == []  # nothing signed, nothing sent
    assert AKID not in json.dumps(resp)


def test_a_path_as_prompt_set_is_refused_and_the_file_never_read(H: Any, sim: Any, tmp_path: Path) -> None:
    creds = tmp_path / "creds.jsonl"
    creds.write_text(json.dumps({"id": "c", "text": "AKIAEXAMPLESECRETTEXT"}) + "\n")
    H.configure(env={"LENS_ALLOWED_BASE_URLS": sim.url})
    for given in (str(creds.with_suffix("")), "../../../../" + str(creds.with_suffix("")).lstrip("/")):
        ev = _event(sim.base_url("openai_chat", "flood"))
        ev["spec"]["prompts"] = {"set": given}
        resp = H.handler(ev, Ctx())
        assert resp["ok"] is False and "prompts.set" in resp["error"] and "not a prompt set name" in resp["error"]
        assert "AKIAEXAMPLESECRETTEXT" not in json.dumps(resp)


@pytest.mark.parametrize(
    ("extra", "needle"),
    [({"n": 1000}, "extra_body: n=1000 asks for more than one completion per request"),
     ({"best_of": 50}, "extra_body: best_of=50 asks for more than one completion per request"),
     ({"logprobs": True}, "extra_body.logprobs is not an option a runner event may set")],
)
def test_output_multipliers_and_unlisted_options_are_refused(H: Any, sim: Any, extra: dict, needle: str) -> None:
    H.configure(env={"LENS_ALLOWED_BASE_URLS": sim.url})
    sim.clear_truths()
    resp = H.handler(_event(sim.base_url("openai_chat", "flood"), extra_body=extra), Ctx())
    assert resp["ok"] is False and needle in resp["error"] and "n_records" not in resp
    assert sim.truths() == []  # nothing reached the endpoint


def test_an_event_cannot_raise_the_runner_caps(H: Any, sim: Any) -> None:
    """400 events per response; the runner allows 50: the event's caps of 10^9 are lowered."""
    H.configure(env={"LENS_ALLOWED_BASE_URLS": sim.url, "LENS_MAX_EVENTS": "50", "LENS_MAX_CHUNK_ROWS": "20"})
    ev = _event(sim.base_url("openai_chat", "flood"))
    ev["spec"]["caps"] = {"max_events": 10**9, "max_bytes": 10**12, "max_chunk_rows": 10**9}
    resp = H.handler(ev, Ctx())
    assert resp["ok"] is True and resp["n_records"] == 2
    assert "caps.max_events 1000000000 -> 50 (LENS_MAX_EVENTS)" in resp["adjusted"]
    assert "caps.max_chunk_rows 1000000000 -> 20 (LENS_MAX_CHUNK_ROWS)" in resp["adjusted"]
    for rec in resp["rows"]["records"]:
        assert rec["status"] == "truncated" and "more than 50 events (caps.max_events)" in rec["error"], rec["error"]
    per_request: dict[str, int] = {}
    for c in resp["rows"]["chunks"]:
        per_request[c["request_id"]] = per_request.get(c["request_id"], 0) + 1
    assert set(per_request.values()) == {20}
