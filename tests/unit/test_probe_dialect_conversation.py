"""Every dialect builds a request from a conversation (multi-turn sessions), checked
against the official SDKs' own request types (openai, anthropic, google-genai, botocore's
Bedrock service model); a plain string prompt still makes the single-turn body."""

from __future__ import annotations

import json
from typing import Any

import pytest
from pydantic import TypeAdapter

from lens.probe.dialects import get_dialect
from lens.spec import TargetSpec
from lens.workload.conversation import Message

CONV = [Message("user", "What is 2+2?"), Message("assistant", " 4"), Message("user", "And 3+3?")]
ROLES = ["user", "assistant", "user"]
TEXTS = [m.text for m in CONV]


def _body(dialect: str, prompt: Any, **kw: Any) -> dict[str, Any]:
    provider = {"openai_chat": "openai", "openai_compat": "vllm", "openai_responses": "openai_responses",
                "anthropic": "anthropic", "gemini": "gemini", "bedrock": "bedrock"}[dialect]  # fmt: skip
    t = TargetSpec(provider=provider, dialect=dialect, model="m", base_url="http://127.0.0.1:9",
                   aws_region="us-east-1" if dialect == "bedrock" else None)  # fmt: skip
    kwargs = {"credentials": _Creds()} if dialect == "bedrock" else {}
    req = get_dialect(dialect, **kwargs).build_request(t, prompt, max_tokens=8, temperature=None,
                                                        api_key="k", **kw)  # fmt: skip
    return json.loads(req.body)


class _Creds:
    access_key = "AKIAIOSFODNN7EXAMPLE"
    secret_key = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"
    token = None


@pytest.mark.parametrize("dialect", ["openai_chat", "openai_compat"])
def test_chat_completions_messages(dialect: str) -> None:
    from openai.types.chat import ChatCompletionMessageParam

    msgs = _body(dialect, CONV)["messages"]
    assert msgs == [{"role": r, "content": t} for r, t in zip(ROLES, TEXTS, strict=True)]
    TypeAdapter(list[ChatCompletionMessageParam]).validate_python(msgs)
    assert _body(dialect, "hi")["messages"] == [{"role": "user", "content": "hi"}]


def test_responses_input_items() -> None:
    from openai.types.responses import ResponseInputParam

    body = _body("openai_responses", CONV)
    assert body["input"] == [{"role": r, "content": t} for r, t in zip(ROLES, TEXTS, strict=True)]
    TypeAdapter(ResponseInputParam).validate_python(body["input"])
    assert _body("openai_responses", "hi")["input"] == "hi"  # a single turn stays a string


def test_anthropic_messages() -> None:
    from anthropic.types import MessageParam

    msgs = _body("anthropic", CONV)["messages"]
    assert msgs == [{"role": r, "content": t} for r, t in zip(ROLES, TEXTS, strict=True)]
    TypeAdapter(list[MessageParam]).validate_python(msgs)


def test_gemini_contents_use_the_model_role() -> None:
    from google.genai import types

    contents = _body("gemini", CONV)["contents"]
    assert [c["role"] for c in contents] == ["user", "model", "user"]
    assert [c["parts"] for c in contents] == [[{"text": t}] for t in TEXTS]
    for c in contents:
        types.Content.model_validate(c)
    assert _body("gemini", "hi")["contents"] == [{"role": "user", "parts": [{"text": "hi"}]}]


def test_bedrock_converse_messages_validate_against_the_service_model() -> None:
    import botocore.session
    from botocore.validate import ParamValidator

    body = _body("bedrock", CONV)
    assert body["messages"] == [{"role": r, "content": [{"text": t}]} for r, t in
                                zip(ROLES, TEXTS, strict=True)]  # fmt: skip
    shape = botocore.session.get_session().get_service_model("bedrock-runtime") \
        .operation_model("ConverseStream").input_shape
    report = ParamValidator().validate({"modelId": "m", **body}, shape)
    assert not report.has_errors(), report.generate_report()
