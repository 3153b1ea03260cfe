"""Anthropic Messages streaming.

message_start (usage with input and cache tokens), ping, a thinking block
(content_block_start, thinking_delta..., signature_delta, content_block_stop) when the
profile reasons, the text block (content_block_start, text_delta..., content_block_stop),
message_delta with cumulative usage, message_stop. Errors are ``event: error`` with
``{"type":"error","error":{"type":"overloaded_error",...}}``; overload is HTTP 529.
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

_STOP = {"stop": "end_turn", "length": "max_tokens"}


def _sse(name: str, payload: dict[str, Any]) -> bytes:
    return b"event: " + name.encode() + b"\ndata: " + dumps(payload) + b"\n\n"


def _err(etype: str, message: str) -> bytes:
    return dumps({"type": "error", "error": {"type": etype, "message": message}})


class AnthropicWriter(WireWriter):
    dialect = "anthropic"

    def __init__(self, request_id: str, req: ParsedRequest, created: int) -> None:
        super().__init__(request_id, req, created)
        self._block = -1
        self._block_kind: str | None = None
        self._pre = b""

    @classmethod
    def parse(cls, body: Mapping[str, Any], path_model: str | None) -> ParsedRequest:
        return ParsedRequest(
            model=str(body.get("model") or "sim-model"),
            prompt_text=prompt_text(body, ("system", "messages")),
            max_tokens=int_or_none(body.get("max_tokens")),
            stream=bool(body.get("stream", False)),
            include_usage=True,
        )

    @classmethod
    def has_key(cls, headers: Mapping[str, str], query: Mapping[str, str]) -> bool:
        return bool(headers.get("x-api-key", "").strip()) or super().has_key(headers, query)

    @classmethod
    def error_response(cls, kind: str, *, retry_after_s: float = 1.0, message: str | None = None) -> tuple[int, dict[str, str], bytes]:
        if kind == "rate_limited":
            headers = retry_headers(retry_after_s)
            headers.update({
                "anthropic-ratelimit-requests-limit": "50",
                "anthropic-ratelimit-requests-remaining": "0",
                "anthropic-ratelimit-requests-reset": "1970-01-01T00:00:00Z",
                "anthropic-ratelimit-tokens-limit": "40000",
                "anthropic-ratelimit-tokens-remaining": "0",
                "anthropic-ratelimit-tokens-reset": "1970-01-01T00:00:00Z",
            })
            return 429, headers, _err("rate_limit_error", message or "Number of requests has exceeded your rate limit (simulated).")
        if kind == "overloaded":
            return 529, {}, _err("overloaded_error", message or "Overloaded (simulated)")
        if kind == "unauthorized":
            return 401, {}, _err("authentication_error", "invalid x-api-key (simulated endpoint requires a key)")
        return 400, {}, _err("invalid_request_error", message or "Invalid request body.")

    def _usage(self, u: UsageOut, output: int) -> dict[str, Any]:
        return {"input_tokens": u.prompt - u.cached, "cache_creation_input_tokens": 0,
                "cache_read_input_tokens": u.cached, "output_tokens": output}

    def start(self, u: UsageOut) -> list[Ev]:
        msg: dict[str, Any] = {"id": f"msg_{self.request_id}", "type": "message", "role": "assistant", "model": self.req.model,
               "content": [], "stop_reason": None, "stop_sequence": None, "usage": self._usage(u, 1)}
        return [("other", 0, _sse("message_start", {"type": "message_start", "message": msg})),
                ("other", 0, b'event: ping\ndata: {"type": "ping"}\n\n')]

    def _close_block(self) -> list[Ev]:
        if self._block < 0:
            return []
        out: list[Ev] = []
        if self._block_kind == "reasoning":
            out.append(("other", 0, _sse("content_block_delta", {"type": "content_block_delta", "index": self._block,
                        "delta": {"type": "signature_delta", "signature": "c2ltdWxhdGVk"}})))
        out.append(("other", 0, _sse("content_block_stop", {"type": "content_block_stop", "index": self._block})))
        return out

    def delta(self, kind: str, text: str, n: int) -> list[Ev]:
        out: list[Ev] = []
        if kind != self._block_kind:
            out.extend(self._close_block())
            self._block += 1
            self._block_kind = kind
            idx = str(self._block).encode()
            block = {"type": "thinking", "thinking": ""} if kind == "reasoning" else {"type": "text", "text": ""}
            out.append(("other", 0, _sse("content_block_start", {"type": "content_block_start",
                                                                  "index": self._block, "content_block": block})))
            if kind == "reasoning":
                self._pre = (b'event: content_block_delta\ndata: {"type":"content_block_delta","index":' + idx
                             + b',"delta":{"type":"thinking_delta","thinking":')
            else:
                self._pre = (b'event: content_block_delta\ndata: {"type":"content_block_delta","index":' + idx
                             + b',"delta":{"type":"text_delta","text":')
        out.append((kind, n, self._pre + q(text) + b"}}\n\n"))
        return out

    def finish(self, usage: UsageOut, finish_reason: str, latency_ms: float) -> list[Ev]:
        out = self._close_block()
        out.append(("usage", 0, _sse("message_delta", {
            "type": "message_delta",
            "delta": {"stop_reason": _STOP.get(finish_reason, "end_turn"), "stop_sequence": None},
            "usage": self._usage(usage, usage.output)})))
        out.append(("done", 0, b'event: message_stop\ndata: {"type":"message_stop"}\n\n'))
        return out

    def midstream_error(self) -> list[Ev]:
        return [("error", 0, b"event: error\ndata: " + _err("overloaded_error", "Overloaded (simulated)") + b"\n\n")]

    def nonstream_body(self, text: str, reasoning: str, usage: UsageOut, finish_reason: str) -> bytes:
        content: list[dict[str, Any]] = []
        if reasoning:
            content.append({"type": "thinking", "thinking": reasoning, "signature": "c2ltdWxhdGVk"})
        content.append({"type": "text", "text": text})
        return dumps({"id": f"msg_{self.request_id}", "type": "message", "role": "assistant",
                      "model": self.req.model, "content": content,
                      "stop_reason": _STOP.get(finish_reason, "end_turn"), "stop_sequence": None,
                      "usage": self._usage(usage, usage.output)})
