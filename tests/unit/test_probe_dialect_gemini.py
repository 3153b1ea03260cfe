"""Gemini streamGenerateContent?alt=sse dialect: thoughts, usageMetadata, finishReason."""

from __future__ import annotations

import json

import pytest
from helpers_probe_dialects import SPLITS, read_stream, run_stream

from lens.probe.dialects import get_dialect
from lens.probe.dialects.base import RawEvent
from lens.record import Usage
from lens.spec import TargetSpec

KEY = "AIzaSy-SECRET-123"


@pytest.mark.parametrize("lf", [False, True])
@pytest.mark.parametrize("split", SPLITS)
def test_thinking_stream_crlf(split: str, lf: bool) -> None:
    data = read_stream("gemini_thinking.sse")
    assert b"\r\n\r\n" in data  # Gemini separates events with CRLF
    if lf:
        data = data.replace(b"\r\n", b"\n")
    events, s = run_stream(get_dialect("gemini"), data, split, seed=21)
    assert len(events) == 4
    assert s.kinds == ["reasoning", "usage", "text", "usage", "usage", "text", "usage", "done"]
    assert s.reasoning == "**Planning the answer**\n\nI need a short reply."
    assert s.text == "Paris is the capital of France."
    # output = candidates (9) + thoughts (64)
    assert s.usage == Usage(
        input_tokens=1536, cached_input_tokens=1024, output_tokens=73, reasoning_tokens=64
    )
    assert s.finish_reasons == ["STOP"]
    assert s.done and s.errors == []


@pytest.mark.parametrize("split", SPLITS)
def test_overloaded_error_after_200(split: str) -> None:
    _, s = run_stream(get_dialect("gemini"), read_stream("gemini_overloaded.sse"), split, seed=22)
    assert s.kinds == ["text", "usage", "error"]
    assert s.text == "Once"
    assert s.errors == [("overloaded", "503: The model is overloaded. Please try again later.")]
    assert not s.done


def test_rate_limit_error_and_blocked_prompt() -> None:
    d = get_dialect("gemini")
    (e,) = d.parse(
        RawEvent('{"error":{"code":429,"message":"quota","status":"RESOURCE_EXHAUSTED"}}')
    )
    assert e.error_status == "rate_limited"
    out = d.parse(
        RawEvent(
            '{"promptFeedback":{"blockReason":"SAFETY"},"usageMetadata":{"promptTokenCount":7}}'
        )
    )
    assert [x.kind for x in out] == ["usage", "error"]
    assert out[1].error == "prompt blocked: SAFETY"


def test_finish_reason_max_tokens_is_terminal_and_malformed_json() -> None:
    d = get_dialect("gemini")
    out = d.parse(
        RawEvent(
            '{"candidates":[{"content":{"parts":[{"text":"x"}]},"finishReason":"MAX_TOKENS"}]}'
        )
    )
    assert [(x.kind, x.finish_reason) for x in out] == [("text", None), ("done", "MAX_TOKENS")]
    (bad,) = d.parse(RawEvent('{"candidates": [}'))
    assert (bad.kind, bad.error_status) == ("error", "stream_error")


def test_build_request() -> None:
    t = TargetSpec(
        provider="gemini",
        model="models/gemini-2.5-flash",
        extra_body={"generationConfig": {"thinkingConfig": {"includeThoughts": True}}},
    )
    req = get_dialect("gemini").build_request(
        t, "capital?", max_tokens=100, temperature=0.0, api_key=KEY
    )
    assert req.url == (
        "https://generativelanguage.googleapis.com/v1beta/models/gemini-2.5-flash:streamGenerateContent?alt=sse"
    )
    assert req.headers["x-goog-api-key"] == KEY
    assert req.secret_headers == frozenset({"x-goog-api-key"})
    assert json.loads(req.body) == {
        "contents": [{"role": "user", "parts": [{"text": "capital?"}]}],
        "generationConfig": {
            "maxOutputTokens": 100,
            "temperature": 0.0,
            "thinkingConfig": {"includeThoughts": True},
        },
    }
    assert KEY not in req.url and KEY.encode() not in req.body
    assert [k for k, v in req.headers.items() if KEY in v] == ["x-goog-api-key"]


def test_sim_base_url_with_profile_prefix() -> None:
    t = TargetSpec(provider="gemini", model="sim-gem", base_url="http://127.0.0.1:1234/p/slow")
    req = get_dialect("gemini").build_request(t, "x", max_tokens=1, temperature=None, api_key=None)
    assert (
        req.url
        == "http://127.0.0.1:1234/p/slow/v1beta/models/sim-gem:streamGenerateContent?alt=sse"
    )
    assert "x-goog-api-key" not in req.headers and req.secret_headers == frozenset()
