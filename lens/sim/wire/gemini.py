"""Google Gemini ``streamGenerateContent?alt=sse``.

Each event is ``data: {GenerateContentResponse}`` terminated by CRLF CRLF (as Google's
servers do): ``candidates[0].content.parts`` with text, ``thought: true`` parts for
reasoning, ``usageMetadata`` on every chunk (prompt counts; full counts on the last), and a last
chunk with an empty text part, ``finishReason: "STOP"`` (or ``MAX_TOKENS``) and full usage.
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

_FINISH = {"stop": "STOP", "length": "MAX_TOKENS"}


def _err(code: int, status: str, message: str) -> bytes:
    return dumps({"error": {"code": code, "message": message, "status": status}})


class GeminiWriter(WireWriter):
    dialect = "gemini"

    def __init__(self, request_id: str, req: ParsedRequest, created: int) -> None:
        super().__init__(request_id, req, created)
        self._text_pre = b'data: {"candidates":[{"content":{"parts":[{"text":'
        self._thought_mid = b',"thought":true'
        self._mid = b'}],"role":"model"},"index":0}],"usageMetadata":'
        self._tail = b',"modelVersion":' + dumps(req.model) + b',"responseId":' + dumps(request_id) + b"}\r\n\r\n"
        self._partial_usage = b""

    @classmethod
    def parse(cls, body: Mapping[str, Any], path_model: str | None) -> ParsedRequest:
        cfg = body.get("generationConfig") or {}
        return ParsedRequest(
            model=path_model or "sim-model",
            prompt_text=prompt_text(body, ("systemInstruction", "contents")),
            max_tokens=int_or_none(cfg.get("maxOutputTokens")) if isinstance(cfg, dict) else None,
            stream=True,
            include_usage=True,
        )

    @classmethod
    def has_key(cls, headers: Mapping[str, str], query: Mapping[str, str]) -> bool:
        return bool(headers.get("x-goog-api-key", "").strip() or query.get("key", "").strip())

    @classmethod
    def error_response(cls, kind: str, *, retry_after_s: float = 1.0, message: str | None = None) -> tuple[int, dict[str, str], bytes]:
        if kind == "rate_limited":
            return 429, retry_headers(retry_after_s), dumps({"error": {
                "code": 429, "message": message or "Resource has been exhausted (simulated).",
                "status": "RESOURCE_EXHAUSTED",
                "details": [{"@type": "type.googleapis.com/google.rpc.RetryInfo", "retryDelay": f"{retry_after_s:g}s"}]}})
        if kind == "overloaded":
            return 503, retry_headers(retry_after_s), _err(503, "UNAVAILABLE", message or "The model is overloaded (simulated).")
        if kind == "unauthorized":
            return 401, {}, _err(401, "UNAUTHENTICATED", "API key not valid (simulated endpoint requires a key).")
        return 400, {}, _err(400, "INVALID_ARGUMENT", message or "Invalid request body.")

    def _usage(self, u: UsageOut, final: bool) -> dict[str, Any]:
        d: dict[str, Any] = {"promptTokenCount": u.prompt}
        if final:
            d["candidatesTokenCount"] = u.text
            if u.reasoning:
                d["thoughtsTokenCount"] = u.reasoning
        if u.cached:
            d["cachedContentTokenCount"] = u.cached
        d["totalTokenCount"] = u.prompt + (u.output if final else 0)
        return d

    def start(self, usage: UsageOut) -> list[Ev]:
        # Intermediate chunks carry prompt-side usage only; no event is written here.
        self._partial_usage = dumps(self._usage(usage, False))
        return []

    def delta(self, kind: str, text: str, n: int) -> list[Ev]:
        return [(kind, n, self._text_pre + q(text) + (self._thought_mid if kind == "reasoning" else b"")
                 + self._mid + self._partial_usage + self._tail)]

    def finish(self, usage: UsageOut, finish_reason: str, latency_ms: float) -> list[Ev]:
        # A final chunk with an empty text part, finishReason and full usage, written at
        # its own time so the last token chunk is not delayed to carry it.
        mid = b'}],"role":"model"},"finishReason":"' + _FINISH[finish_reason].encode() + b'","index":0}],"usageMetadata":'
        return [("usage", 0, self._text_pre + b'""' + mid + dumps(self._usage(usage, True)) + self._tail)]

    def midstream_error(self) -> list[Ev]:
        return [("error", 0, b"data: " + _err(503, "UNAVAILABLE", "The model is overloaded (simulated).") + b"\r\n\r\n")]

    def nonstream_body(self, text: str, reasoning: str, usage: UsageOut, finish_reason: str) -> bytes:
        parts: list[dict[str, Any]] = []
        if reasoning:
            parts.append({"text": reasoning, "thought": True})
        parts.append({"text": text})
        return dumps({"candidates": [{"content": {"parts": parts, "role": "model"},
                                      "finishReason": _FINISH[finish_reason], "index": 0}],
                      "usageMetadata": self._usage(usage, True), "modelVersion": self.req.model,
                      "responseId": self.request_id})
