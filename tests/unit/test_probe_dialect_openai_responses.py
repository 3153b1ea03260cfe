"""OpenAI Responses API dialect: typed events, reasoning deltas, usage, errors, request."""

from __future__ import annotations

import json

import pytest
from helpers_probe_dialects import SPLITS, read_stream, run_stream

from lens.probe.dialects import get_dialect
from lens.probe.dialects.base import RawEvent
from lens.record import Usage
from lens.spec import TargetSpec

KEY = "sk-proj-SECRET-abcdef"


@pytest.mark.parametrize("split", SPLITS)
def test_reasoning_then_text_then_completed(split: str) -> None:
    events, s = run_stream(
        get_dialect("openai_responses"),
        read_stream("openai_responses_reasoning.sse"),
        split,
        seed=5,
    )
    assert len(events) == 18
    assert events[0].event == "response.created"
    assert s.kinds == (
        ["other"] * 4
        + ["reasoning"] * 2
        + ["other"] * 5
        + ["text", "other", "text"]
        + ["other"] * 3
        + ["usage", "done"]
    )
    assert s.reasoning == "**Adding numbers** 2+2 is 4."
    assert s.text == "2 + 2 = 4"
    assert s.usage == Usage(
        input_tokens=1421, cached_input_tokens=1280, output_tokens=203, reasoning_tokens=192
    )
    assert s.done and s.errors == []


@pytest.mark.parametrize("split", SPLITS)
def test_response_failed(split: str) -> None:
    _, s = run_stream(
        get_dialect("openai_responses"), read_stream("openai_responses_failed.sse"), split, seed=6
    )
    assert s.kinds == ["other", "text", "error"]
    assert s.text == "Once upon"
    assert s.errors == [("stream_error", "server_error: The model failed to generate a response.")]
    assert not s.done


@pytest.mark.parametrize("split", SPLITS)
def test_error_event_rate_limited(split: str) -> None:
    _, s = run_stream(
        get_dialect("openai_responses"), read_stream("openai_responses_error.sse"), split, seed=7
    )
    assert s.kinds == ["other", "error"]
    ((status, msg),) = s.errors
    assert status == "rate_limited"
    assert msg.startswith("rate_limit_exceeded: Rate limit reached")


def test_reasoning_text_delta_and_incomplete_is_terminal() -> None:
    d = get_dialect("openai_responses")
    (r,) = d.parse(
        RawEvent(
            '{"type":"response.reasoning_text.delta","delta":"hmm"}',
            "response.reasoning_text.delta",
        )
    )
    assert (r.kind, r.text) == ("reasoning", "hmm")
    out = d.parse(
        RawEvent(
            json.dumps(
                {
                    "type": "response.incomplete",
                    "response": {
                        "status": "incomplete",
                        "incomplete_details": {"reason": "max_output_tokens"},
                        "usage": {
                            "input_tokens": 5,
                            "output_tokens": 16,
                            "output_tokens_details": {"reasoning_tokens": 16},
                        },
                    },
                }
            )
        )
    )
    assert [x.kind for x in out] == ["usage", "done"]
    assert out[1].finish_reason == "max_output_tokens"
    assert out[0].usage == Usage(input_tokens=5, output_tokens=16, reasoning_tokens=16)


def test_malformed_json_is_stream_error() -> None:
    (d,) = get_dialect("openai_responses").parse(
        RawEvent('{"type": "response.output_text.delta", "delta": ')
    )
    assert (d.kind, d.error_status) == ("error", "stream_error")


def test_build_request() -> None:
    t = TargetSpec(
        provider="openai_responses",
        model="o4-mini",
        extra_body={"reasoning": {"effort": "low", "summary": "auto"}},
    )
    req = get_dialect("openai_responses").build_request(
        t, "2+2?", max_tokens=256, temperature=None, api_key=KEY
    )
    assert req.url == "https://api.openai.com/v1/responses"
    assert req.headers["Authorization"] == f"Bearer {KEY}"
    assert req.secret_headers == frozenset({"Authorization"})
    assert json.loads(req.body) == {
        "model": "o4-mini",
        "input": "2+2?",
        "max_output_tokens": 256,
        "stream": True,
        "reasoning": {"effort": "low", "summary": "auto"},
    }
    assert KEY not in req.url and KEY.encode() not in req.body
