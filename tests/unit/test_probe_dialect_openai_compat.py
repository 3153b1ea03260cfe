"""OpenAI-compatible dialect: reasoning fields, keep-alives, Azure filter chunks, auth."""

from __future__ import annotations

import json

import pytest
from helpers_probe_dialects import SPLITS, chunks_of, read_stream, run_stream

from lens.probe.dialects import get_dialect
from lens.probe.dialects.base import RawEvent
from lens.record import Usage
from lens.spec import TargetSpec


@pytest.mark.parametrize("split", SPLITS)
def test_vllm_reasoning_content_usage_on_final_choice_chunk(split: str) -> None:
    d = get_dialect("openai_compat")
    _, s = run_stream(d, read_stream("compat_vllm_reasoning.sse"), split, seed=31)
    assert s.kinds == ["other", "reasoning", "reasoning", "text", "text", "usage", "done"]
    assert s.reasoning == "Okay, the user says hi."
    assert s.text == "Hello!"
    assert s.usage == Usage(input_tokens=9, output_tokens=12)
    assert s.finish_reasons == ["stop"]
    assert s.done


@pytest.mark.parametrize("split", SPLITS)
def test_openrouter_reasoning_and_comment_lines(split: str) -> None:
    d = get_dialect("openai_compat")
    framer = d.new_framer()
    events = []
    for piece in chunks_of(read_stream("compat_openrouter_reasoning.sse"), split, seed=32):
        events.extend(framer.feed(piece))
    events.extend(framer.close())
    assert framer.comments == 2  # ": OPENROUTER PROCESSING" never becomes an event
    assert len(events) == 6
    _, s = run_stream(d, read_stream("compat_openrouter_reasoning.sse"), split, seed=32)
    assert s.kinds == ["reasoning", "reasoning", "text", "other", "usage", "done"]
    assert (s.reasoning, s.text) == ("Thinking...", "Yes.")
    assert s.usage == Usage(
        input_tokens=14, cached_input_tokens=0, output_tokens=40, reasoning_tokens=36
    )


@pytest.mark.parametrize("split", SPLITS)
def test_azure_prompt_filter_chunk_is_not_text(split: str) -> None:
    _, s = run_stream(
        get_dialect("openai_compat"), read_stream("compat_azure_filter.sse"), split, seed=33
    )
    assert s.kinds == ["other", "other", "text", "other", "usage", "done"]
    assert s.text == "Sure"
    assert s.usage == Usage(
        input_tokens=18, cached_input_tokens=0, output_tokens=1, reasoning_tokens=0
    )


def test_groq_x_groq_usage() -> None:
    ev = RawEvent(
        json.dumps(
            {
                "choices": [{"index": 0, "delta": {}, "finish_reason": "stop"}],
                "x_groq": {"id": "req_1", "usage": {"prompt_tokens": 3, "completion_tokens": 5}},
            }
        )
    )
    out = get_dialect("openai_compat").parse(ev)
    assert [(x.kind, x.finish_reason) for x in out] == [("usage", "stop")]
    assert out[0].usage == Usage(input_tokens=3, output_tokens=5)


def test_build_request_without_and_with_key() -> None:
    t = TargetSpec(
        provider="vllm",
        model="Qwen/Qwen3-8B",
        base_url="http://127.0.0.1:8000/v1",
        extra_body={"chat_template_kwargs": {"enable_thinking": False}, "top_k": 20},
    )
    d = get_dialect("openai_compat")
    req = d.build_request(t, "hi", max_tokens=64, temperature=0.6, api_key=None)
    assert req.url == "http://127.0.0.1:8000/v1/chat/completions"
    assert "Authorization" not in req.headers and req.secret_headers == frozenset()
    assert json.loads(req.body) == {
        "model": "Qwen/Qwen3-8B",
        "messages": [{"role": "user", "content": "hi"}],
        "max_tokens": 64,
        "stream": True,
        "stream_options": {"include_usage": True},
        "temperature": 0.6,
        "chat_template_kwargs": {"enable_thinking": False},
        "top_k": 20,
    }
    req = d.build_request(t, "hi", max_tokens=64, temperature=None, api_key="gsk_SECRET")
    assert req.headers["Authorization"] == "Bearer gsk_SECRET"
    assert req.secret_headers == frozenset({"Authorization"})
    assert b"gsk_SECRET" not in req.body
