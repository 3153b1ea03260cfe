"""OpenAI Chat Completions dialect: fixture streams under every split, and the request."""

from __future__ import annotations

import json

import pytest
from helpers_probe_dialects import SPLITS, read_stream, run_stream

from lens.probe.dialects import get_dialect
from lens.probe.dialects.base import RawEvent
from lens.record import Usage
from lens.spec import TargetSpec

KEY = "sk-test-SECRET-0123456789"


def _endings(data: bytes, style: str) -> bytes:
    data = data.replace(b"\r\n", b"\n")
    return data.replace(b"\n", b"\r\n") if style == "crlf" else data


@pytest.mark.parametrize("style", ["lf", "crlf"])
@pytest.mark.parametrize("split", SPLITS)
def test_basic_stream_with_include_usage(split: str, style: str) -> None:
    d = get_dialect("openai_chat")
    _, s = run_stream(d, _endings(read_stream("openai_chat_basic.sse"), style), split, seed=1)
    assert s.kinds == ["other", "text", "text", "text", "other", "usage", "done"]
    assert s.text == "Hello wörld 👋 — done."
    assert s.reasoning == ""
    assert s.usage == Usage(
        input_tokens=1290, cached_input_tokens=1152, output_tokens=7, reasoning_tokens=0
    )
    assert s.finish_reasons == ["stop"]
    assert s.done and s.errors == []


@pytest.mark.parametrize("split", SPLITS)
def test_reasoning_tokens_from_usage_details(split: str) -> None:
    _, s = run_stream(
        get_dialect("openai_chat"), read_stream("openai_chat_reasoning_usage.sse"), split, seed=2
    )
    assert s.kinds == ["other", "text", "other", "usage", "done"]
    assert s.text == "42"
    assert s.usage == Usage(
        input_tokens=25, cached_input_tokens=0, output_tokens=338, reasoning_tokens=320
    )


@pytest.mark.parametrize("split", SPLITS)
def test_error_object_after_http_200(split: str) -> None:
    _, s = run_stream(
        get_dialect("openai_chat"), read_stream("openai_chat_error_after_200.sse"), split, seed=3
    )
    assert s.kinds == ["other", "text", "error"]
    assert s.text == "Partial"
    assert not s.done
    assert s.errors == [
        (
            "stream_error",
            "server_error: The server had an error while processing your request. Sorry about that!",
        )
    ]


@pytest.mark.parametrize(
    ("err", "status"),
    [
        ({"type": "rate_limit_exceeded", "message": "slow down"}, "rate_limited"),
        ({"code": "rate_limit_exceeded", "type": "requests", "message": "x"}, "rate_limited"),
        ({"type": "server_is_overloaded", "message": "x"}, "overloaded"),
        ({"type": "invalid_request_error", "message": "x"}, "stream_error"),
    ],
)
def test_error_statuses(err: dict[str, str], status: str) -> None:
    (delta,) = get_dialect("openai_chat").parse(RawEvent(json.dumps({"error": err})))
    assert delta.kind == "error" and delta.error_status == status


@pytest.mark.parametrize("data", ["{not json", '{"choices": [', "[1, 2]", "null", '"str"'])
def test_malformed_event_is_stream_error_not_exception(data: str) -> None:
    (delta,) = get_dialect("openai_chat").parse(RawEvent(data))
    assert delta.kind == "error" and delta.error_status == "stream_error"
    assert delta.error


def test_build_request() -> None:
    t = TargetSpec(
        provider="openai",
        model="gpt-4o-mini",
        extra_body={"seed": 7, "stream_options": {"continuous_usage_stats": False}},
        headers={"OpenAI-Organization": "org-1"},
    )
    req = get_dialect("openai_chat").build_request(
        t, "Say hi", max_tokens=32, temperature=0.2, api_key=KEY
    )
    assert req.method == "POST"
    assert req.url == "https://api.openai.com/v1/chat/completions"
    assert req.headers["Authorization"] == f"Bearer {KEY}"
    assert req.headers["Content-Type"] == "application/json"
    assert req.headers["Accept"] == "text/event-stream"
    assert req.headers["OpenAI-Organization"] == "org-1"
    assert req.secret_headers == frozenset({"Authorization"})
    assert json.loads(req.body) == {
        "model": "gpt-4o-mini",
        "messages": [{"role": "user", "content": "Say hi"}],
        "max_completion_tokens": 32,
        "stream": True,
        "stream_options": {"include_usage": True, "continuous_usage_stats": False},
        "temperature": 0.2,
        "seed": 7,
    }
    assert KEY not in req.url and KEY.encode() not in req.body
    assert [k for k, v in req.headers.items() if KEY in v] == ["Authorization"]


def test_build_request_sim_base_url_without_key_and_none_removes_default() -> None:
    t = TargetSpec(
        provider="sim",
        model="sim-1",
        base_url="http://127.0.0.1:9/p/fast/v1",
        extra_body={"stream_options": None},
    )
    req = get_dialect("openai_chat").build_request(
        t, "x", max_tokens=4, temperature=None, api_key=None
    )
    assert req.url == "http://127.0.0.1:9/p/fast/v1/chat/completions"
    assert "Authorization" not in req.headers and req.secret_headers == frozenset()
    body = json.loads(req.body)
    assert "stream_options" not in body and "temperature" not in body
