"""OpenAI Chat Completions streaming (also what openai_compat servers speak).

Stream: a role-only chunk, content deltas (``delta.reasoning_content`` for reasoning, the
openai_compat convention of vLLM/DeepSeek), a chunk with ``finish_reason``, a usage chunk
with empty ``choices`` when ``stream_options.include_usage`` is true, then ``data: [DONE]``.
With ``timings`` set (a llama.cpp server), the last of those JSON chunks also carries a
``timings`` object, as llama.cpp's ``to_json_oaicompat_chat_stream`` does; so does the
non-streamed body.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from lens.sim.wire.base import (
    Ev,
    ParsedRequest,
    UsageOut,
    WireWriter,
    dumps,
    int_or_none,
    prompt_text,
    q,
    retry_headers,
)


def openai_usage(u: UsageOut) -> dict[str, Any]:
    return {
        "prompt_tokens": u.prompt,
        "completion_tokens": u.output,
        "total_tokens": u.prompt + u.output,
        "prompt_tokens_details": {"cached_tokens": u.cached, "audio_tokens": 0},
        "completion_tokens_details": {"reasoning_tokens": u.reasoning, "audio_tokens": 0},
    }


def openai_error_response(kind: str, retry_after_s: float, message: str | None) -> tuple[int, dict[str, str], bytes]:
    if kind == "rate_limited":
        headers = retry_headers(retry_after_s)
        headers.update({
            "x-ratelimit-limit-requests": "60",
            "x-ratelimit-remaining-requests": "0",
            "x-ratelimit-reset-requests": f"{retry_after_s:g}s",
            "x-ratelimit-limit-tokens": "150000",
            "x-ratelimit-remaining-tokens": "0",
            "x-ratelimit-reset-tokens": f"{retry_after_s:g}s",
        })
        err = {"message": message or "Rate limit reached for requests (simulated).", "type": "requests",
               "param": None, "code": "rate_limit_exceeded"}
        return 429, headers, dumps({"error": err})
    if kind == "overloaded":
        err = {"message": message or "The server is overloaded (simulated). Please retry.",
               "type": "server_error", "param": None, "code": None}
        return 503, retry_headers(retry_after_s), dumps({"error": err})
    if kind == "unauthorized":
        err = {"message": "Incorrect API key provided (simulated endpoint requires a key).",
               "type": "invalid_request_error", "param": None, "code": "invalid_api_key"}
        return 401, {}, dumps({"error": err})
    err = {"message": message or "Invalid request body.", "type": "invalid_request_error",
           "param": None, "code": None}
    return 400, {}, dumps({"error": err})


class OpenAIChatWriter(WireWriter):
    dialect = "openai_chat"
    supports_timings = True

    def __init__(self, request_id: str, req: ParsedRequest, created: int) -> None:
        super().__init__(request_id, req, created)
        head = dumps({"id": f"chatcmpl-{request_id}", "object": "chat.completion.chunk",
                      "created": created, "model": req.model, "system_fingerprint": None})[:-1]
        self._head = b"data: " + head + b',"choices":[{"index":0,"delta":{'
        self._content = self._head + b'"content":'
        self._reasoning = self._head + b'"reasoning_content":'
        self._tail = b'},"logprobs":null,"finish_reason":null}]}\n\n'
        self._usage_head = b"data: " + head

    @classmethod
    def parse(cls, body: Mapping[str, Any], path_model: str | None) -> ParsedRequest:
        max_tokens = int_or_none(body.get("max_completion_tokens")) or int_or_none(body.get("max_tokens"))
        opts = body.get("stream_options") or {}
        return ParsedRequest(
            model=str(body.get("model") or "sim-model"),
            prompt_text=prompt_text(body, ("messages",)),
            max_tokens=max_tokens,
            stream=bool(body.get("stream", False)),
            include_usage=bool(isinstance(opts, dict) and opts.get("include_usage")),
        )

    @classmethod
    def error_response(cls, kind: str, *, retry_after_s: float = 1.0, message: str | None = None) -> tuple[int, dict[str, str], bytes]:
        return openai_error_response(kind, retry_after_s, message)

    def start(self, usage: UsageOut) -> list[Ev]:
        return [("other", 0, self._head + b'"role":"assistant","content":""' + self._tail)]

    def delta(self, kind: str, text: str, n: int) -> list[Ev]:
        pre = self._content if kind == "text" else self._reasoning
        return [(kind, n, pre + q(text) + self._tail)]

    def finish(self, usage: UsageOut, finish_reason: str, latency_ms: float) -> list[Ev]:
        extra = b',"timings":' + dumps(self.timings) if self.timings is not None else b""
        stop = self._head + b'},"logprobs":null,"finish_reason":"' + finish_reason.encode() + b'"}]'
        if self.req.include_usage:
            out: list[Ev] = [("other", 0, stop + b"}\n\n"),
                             ("usage", 0, self._usage_head + b',"choices":[],"usage":'
                              + dumps(openai_usage(usage)) + extra + b"}\n\n")]
        else:
            out = [("other", 0, stop + extra + b"}\n\n")]
        out.append(("done", 0, b"data: [DONE]\n\n"))
        return out

    def midstream_error(self) -> list[Ev]:
        err = {"error": {"message": "The server had an error while processing your request (simulated).",
                         "type": "server_error", "param": None, "code": None}}
        return [("error", 0, b"data: " + dumps(err) + b"\n\n")]

    def nonstream_body(self, text: str, reasoning: str, usage: UsageOut, finish_reason: str) -> bytes:
        message: dict[str, Any] = {"role": "assistant", "content": text}
        if reasoning:
            message["reasoning_content"] = reasoning
        body: dict[str, Any] = {
            "id": f"chatcmpl-{self.request_id}", "object": "chat.completion", "created": self.created,
            "model": self.req.model,
            "choices": [{"index": 0, "message": message, "logprobs": None, "finish_reason": finish_reason}],
            "usage": openai_usage(usage),
        }
        if self.timings is not None:
            body["timings"] = self.timings
        return dumps(body)
