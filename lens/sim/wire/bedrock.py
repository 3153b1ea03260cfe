"""AWS Bedrock ConverseStream: binary event-stream messages.

Events (``:message-type event``, ``:content-type application/json``): messageStart,
contentBlockDelta (``delta.text`` or ``delta.reasoningContent.text``), contentBlockStop
(per block), messageStop (stopReason), metadata (usage, ``metrics.latencyMs``). Errors
mid-stream are ``:message-type exception`` messages (``:exception-type``
modelStreamErrorException). HTTP errors carry ``x-amzn-errortype``; a request without an
``Authorization`` header gets 403 (what AWS answers), not 401.
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
from lens.sim.wire.eventstream import encode_message, event_headers, exception_headers

_STOP = {"stop": "end_turn", "length": "max_tokens"}
_H_START = event_headers("messageStart")
_H_DELTA = event_headers("contentBlockDelta")
_H_BLOCK_STOP = event_headers("contentBlockStop")
_H_STOP = event_headers("messageStop")
_H_META = event_headers("metadata")


def _err(status: int, etype: str, message: str) -> tuple[int, dict[str, str], bytes]:
    return status, {"x-amzn-errortype": f"{etype}:http://internal.amazon.com/coral/com.amazon.bedrock/"}, dumps({"message": message})


class BedrockWriter(WireWriter):
    dialect = "bedrock"
    content_type = "application/vnd.amazon.eventstream"

    def __init__(self, request_id: str, req: ParsedRequest, created: int) -> None:
        super().__init__(request_id, req, created)
        self._block = -1
        self._block_kind: str | None = None
        self._pre = b""
        self.latency_ms = 0.0

    @classmethod
    def parse(cls, body: Mapping[str, Any], path_model: str | None) -> ParsedRequest:
        cfg = body.get("inferenceConfig") or {}
        return ParsedRequest(
            model=path_model or "sim-model",
            prompt_text=prompt_text(body, ("system", "messages")),
            max_tokens=int_or_none(cfg.get("maxTokens")) if isinstance(cfg, dict) else None,
            stream=True,
            include_usage=True,
        )

    @classmethod
    def has_key(cls, headers: Mapping[str, str], query: Mapping[str, str]) -> bool:
        return bool(headers.get("authorization", "").strip())

    @classmethod
    def error_response(cls, kind: str, *, retry_after_s: float = 1.0, message: str | None = None) -> tuple[int, dict[str, str], bytes]:
        if kind == "rate_limited":
            status, headers, body = _err(429, "ThrottlingException", message or "Too many requests, please wait before trying again. (simulated)")
            headers.update(retry_headers(retry_after_s))
            return status, headers, body
        if kind == "overloaded":
            return _err(503, "ServiceUnavailableException", message or "Service is unavailable (simulated).")
        if kind == "unauthorized":
            return _err(403, "MissingAuthenticationTokenException", "Missing Authentication Token (simulated endpoint requires a key)")
        return _err(400, "ValidationException", message or "Invalid request body.")

    def start(self, usage: UsageOut) -> list[Ev]:
        return [("other", 0, encode_message(_H_START, b'{"role":"assistant"}'))]

    def _close_block(self) -> list[Ev]:
        if self._block < 0:
            return []
        return [("other", 0, encode_message(_H_BLOCK_STOP, b'{"contentBlockIndex":' + str(self._block).encode() + b"}"))]

    def delta(self, kind: str, text: str, n: int) -> list[Ev]:
        out: list[Ev] = []
        if kind != self._block_kind:
            out.extend(self._close_block())
            self._block += 1
            self._block_kind = kind
            self._pre = (b'{"contentBlockIndex":' + str(self._block).encode()
                         + (b',"delta":{"reasoningContent":{"text":' if kind == "reasoning" else b',"delta":{"text":'))
        close = b"}}}" if kind == "reasoning" else b"}}"
        out.append((kind, n, encode_message(_H_DELTA, self._pre + q(text) + close)))
        return out

    def _usage(self, u: UsageOut) -> dict[str, Any]:
        return {"inputTokens": u.prompt - u.cached, "outputTokens": u.output,
                "totalTokens": u.prompt + u.output, "cacheReadInputTokens": u.cached, "cacheWriteInputTokens": 0}

    def finish(self, usage: UsageOut, finish_reason: str, latency_ms: float) -> list[Ev]:
        out = self._close_block()
        out.append(("other", 0, encode_message(_H_STOP, dumps({"stopReason": _STOP.get(finish_reason, "end_turn")}))))
        meta = {"usage": self._usage(usage), "metrics": {"latencyMs": round(latency_ms)}}
        out.append(("usage", 0, encode_message(_H_META, dumps(meta))))
        return out

    def midstream_error(self) -> list[Ev]:
        payload = dumps({"message": "The model stream failed (simulated).", "originalStatusCode": 500})
        return [("error", 0, encode_message(exception_headers("modelStreamErrorException"), payload))]

    def nonstream_body(self, text: str, reasoning: str, usage: UsageOut, finish_reason: str) -> bytes:
        content: list[dict[str, Any]] = []
        if reasoning:
            content.append({"reasoningContent": {"reasoningText": {"text": reasoning}}})
        content.append({"text": text})
        return dumps({"output": {"message": {"role": "assistant", "content": content}},
                      "stopReason": _STOP.get(finish_reason, "end_turn"), "usage": self._usage(usage),
                      "metrics": {"latencyMs": round(self.latency_ms)}})
