"""Anthropic Messages dialect: thinking, cumulative usage, ping, overloaded error, request."""

from __future__ import annotations

import json

import pytest
from helpers_probe_dialects import SPLITS, read_stream, run_stream

from lens.probe.dialects import get_dialect
from lens.probe.dialects.base import RawEvent
from lens.record import Usage
from lens.spec import TargetSpec

KEY = "sk-ant-api03-SECRET"


@pytest.mark.parametrize("crlf", [False, True])
@pytest.mark.parametrize("split", SPLITS)
def test_thinking_stream(split: str, crlf: bool) -> None:
    data = read_stream("anthropic_thinking.sse")
    if crlf:
        data = data.replace(b"\n", b"\r\n")
    events, s = run_stream(get_dialect("anthropic"), data, split, seed=11)
    assert [e.event for e in events][:3] == ["message_start", "content_block_start", "ping"]
    assert s.kinds == [
        "usage",
        "other",
        "other",
        "reasoning",
        "reasoning",
        "other",
        "other",
        "other",
        "text",
        "other",
        "text",
        "other",
        "usage",
        "done",
    ]
    assert s.reasoning == "The user wants a haiku. Five, seven, five."
    assert s.text == "Autumn moonlight—\na worm digs silently\ninto the chestnut."
    # input = 472 uncached + 2048 cache reads; output from the cumulative message_delta.
    assert s.usage == Usage(
        input_tokens=2520, cached_input_tokens=2048, cache_write_tokens=0, output_tokens=87
    )
    assert s.finish_reasons == ["end_turn"]
    assert s.done and s.errors == []


@pytest.mark.parametrize("split", SPLITS)
def test_overloaded_error_event(split: str) -> None:
    _, s = run_stream(
        get_dialect("anthropic"), read_stream("anthropic_overloaded.sse"), split, seed=12
    )
    assert s.kinds == ["usage", "other", "text", "error"]
    assert s.text == "Hi"
    assert s.usage == Usage(
        input_tokens=524, cached_input_tokens=0, cache_write_tokens=512, output_tokens=1
    )
    assert s.errors == [("overloaded", "overloaded_error: Overloaded")]
    assert not s.done


@pytest.mark.parametrize(
    ("etype", "status"),
    [
        ("rate_limit_error", "rate_limited"),
        ("api_error", "stream_error"),
        ("overloaded_error", "overloaded"),
    ],
)
def test_error_types(etype: str, status: str) -> None:
    ev = RawEvent(json.dumps({"type": "error", "error": {"type": etype, "message": "m"}}), "error")
    (d,) = get_dialect("anthropic").parse(ev)
    assert (d.kind, d.error_status) == ("error", status)


def test_message_delta_usage_is_cumulative_and_later_wins() -> None:
    d = get_dialect("anthropic")
    u = Usage()
    for data in (
        '{"type":"message_start","message":{"usage":{"input_tokens":10,"output_tokens":1}}}',
        '{"type":"message_delta","delta":{"stop_reason":null},"usage":{"output_tokens":40}}',
        '{"type":"message_delta","delta":{"stop_reason":"max_tokens"},"usage":{"output_tokens":64}}',
    ):
        (x,) = d.parse(RawEvent(data))
        assert x.kind == "usage"
        u = u.merge(x.usage)
    assert (u.input_tokens, u.output_tokens) == (10, 64)


def test_malformed_json_is_stream_error() -> None:
    (d,) = get_dialect("anthropic").parse(RawEvent("{oops", "content_block_delta"))
    assert (d.kind, d.error_status) == ("error", "stream_error")


def test_build_request() -> None:
    t = TargetSpec(
        provider="anthropic",
        model="claude-sonnet-4-20250514",
        extra_body={"thinking": {"type": "enabled", "budget_tokens": 1024}},
        headers={"anthropic-beta": "interleaved-thinking-2025-05-14"},
    )
    req = get_dialect("anthropic").build_request(
        t, "haiku", max_tokens=2048, temperature=1.0, api_key=KEY
    )
    assert req.url == "https://api.anthropic.com/v1/messages"
    assert req.headers["x-api-key"] == KEY
    assert req.headers["anthropic-version"] == "2023-06-01"
    assert req.headers["anthropic-beta"] == "interleaved-thinking-2025-05-14"
    assert "Authorization" not in req.headers
    assert req.secret_headers == frozenset({"x-api-key"})
    assert json.loads(req.body) == {
        "model": "claude-sonnet-4-20250514",
        "max_tokens": 2048,
        "messages": [{"role": "user", "content": "haiku"}],
        "stream": True,
        "temperature": 1.0,
        "thinking": {"type": "enabled", "budget_tokens": 1024},
    }
    assert KEY not in req.url and KEY.encode() not in req.body
    assert [k for k, v in req.headers.items() if KEY in v] == ["x-api-key"]
