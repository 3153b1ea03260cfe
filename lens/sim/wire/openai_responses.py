"""OpenAI Responses API streaming: typed SSE events with ``sequence_number``.

response.created, response.in_progress, (reasoning item + response.reasoning_summary_text.delta
events), the message item, response.output_text.delta events, response.output_text.done,
then response.completed carrying ``usage``. Mid-stream errors are ``event: error``.
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
)
from lens.sim.wire.openai_chat import openai_error_response


def responses_usage(u: UsageOut) -> dict[str, Any]:
    return {
        "input_tokens": u.prompt,
        "input_tokens_details": {"cached_tokens": u.cached},
        "output_tokens": u.output,
        "output_tokens_details": {"reasoning_tokens": u.reasoning},
        "total_tokens": u.prompt + u.output,
    }


class OpenAIResponsesWriter(WireWriter):
    dialect = "openai_responses"

    def __init__(self, request_id: str, req: ParsedRequest, created: int) -> None:
        super().__init__(request_id, req, created)
        self._seq = 0
        self._rs_id = f"rs_{request_id}"
        self._msg_id = f"msg_{request_id}"
        self._in_text = False
        self._in_reasoning = False
        self._text_parts: list[str] = []
        self._reasoning_parts: list[str] = []
        self._text_pre = (b'event: response.output_text.delta\ndata: {"type":"response.output_text.delta","item_id":"'
                          + self._msg_id.encode() + b'","output_index":')
        self._rs_pre = (b'event: response.reasoning_summary_text.delta\ndata: {"type":"response.reasoning_summary_text.delta","item_id":"'
                        + self._rs_id.encode() + b'","output_index":0,"summary_index":0,"delta":')

    @classmethod
    def parse(cls, body: Mapping[str, Any], path_model: str | None) -> ParsedRequest:
        return ParsedRequest(
            model=str(body.get("model") or "sim-model"),
            prompt_text=prompt_text(body, ("instructions", "input")),
            max_tokens=int_or_none(body.get("max_output_tokens")),
            stream=bool(body.get("stream", False)),
            include_usage=True,
        )

    @classmethod
    def error_response(cls, kind: str, *, retry_after_s: float = 1.0, message: str | None = None) -> tuple[int, dict[str, str], bytes]:
        return openai_error_response(kind, retry_after_s, message)

    def _event(self, kind: str, n: int, etype: str, payload: dict[str, Any]) -> Ev:
        payload = {"type": etype, **payload, "sequence_number": self._seq}
        self._seq += 1
        return (kind, n, b"event: " + etype.encode() + b"\ndata: " + dumps(payload) + b"\n\n")

    def _response(self, status: str, usage: UsageOut | None = None) -> dict[str, Any]:
        output: list[dict[str, Any]] = []
        if status == "completed":
            if self._reasoning_parts:
                output.append({"id": self._rs_id, "type": "reasoning",
                               "summary": [{"type": "summary_text", "text": "".join(self._reasoning_parts)}]})
            output.append({"id": self._msg_id, "type": "message", "status": "completed", "role": "assistant",
                           "content": [{"type": "output_text", "text": "".join(self._text_parts), "annotations": []}]})
        return {"id": f"resp_{self.request_id}", "object": "response", "created_at": self.created,
                "status": status, "model": self.req.model, "output": output,
                "usage": responses_usage(usage) if usage else None}

    def start(self, usage: UsageOut) -> list[Ev]:
        return [self._event("other", 0, "response.created", {"response": self._response("in_progress")}),
                self._event("other", 0, "response.in_progress", {"response": self._response("in_progress")})]

    def _text_index(self) -> int:
        return 1 if self._reasoning_parts else 0

    def delta(self, kind: str, text: str, n: int) -> list[Ev]:
        out: list[Ev] = []
        seq = self._seq
        if kind == "reasoning":
            if not self._in_reasoning:
                self._in_reasoning = True
                out.append(self._event("other", 0, "response.output_item.added", {
                    "output_index": 0, "item": {"id": self._rs_id, "type": "reasoning", "summary": []}}))
                seq = self._seq
            self._reasoning_parts.append(text)
            out.append((kind, n, self._rs_pre + q(text) + b',"sequence_number":' + str(seq).encode() + b"}\n\n"))
        else:
            if not self._in_text:
                self._in_text = True
                idx = self._text_index()
                out.append(self._event("other", 0, "response.output_item.added", {"output_index": idx, "item": {
                    "id": self._msg_id, "type": "message", "status": "in_progress", "role": "assistant", "content": []}}))
                out.append(self._event("other", 0, "response.content_part.added", {
                    "item_id": self._msg_id, "output_index": idx, "content_index": 0,
                    "part": {"type": "output_text", "text": "", "annotations": []}}))
                self._text_pre += str(idx).encode() + b',"content_index":0,"delta":'
                seq = self._seq
            self._text_parts.append(text)
            out.append((kind, n, self._text_pre + q(text) + b',"logprobs":[],"sequence_number":' + str(seq).encode() + b"}\n\n"))
        self._seq = seq + 1
        return out

    def finish(self, usage: UsageOut, finish_reason: str, latency_ms: float) -> list[Ev]:
        status = "completed" if finish_reason == "stop" else "incomplete"
        out = [self._event("other", 0, "response.output_text.done", {
            "item_id": self._msg_id, "output_index": self._text_index(), "content_index": 0,
            "text": "".join(self._text_parts)})]
        resp = self._response("completed", usage)
        if status == "incomplete":
            resp["status"] = "incomplete"
            resp["incomplete_details"] = {"reason": "max_output_tokens"}
            out.append(self._event("usage", 0, "response.incomplete", {"response": resp}))
        else:
            out.append(self._event("usage", 0, "response.completed", {"response": resp}))
        return out

    def midstream_error(self) -> list[Ev]:
        return [self._event("error", 0, "error", {
            "code": "server_error", "message": "The server had an error while processing your request (simulated).",
            "param": None})]

    def nonstream_body(self, text: str, reasoning: str, usage: UsageOut, finish_reason: str) -> bytes:
        self._text_parts = [text]
        self._reasoning_parts = [reasoning] if reasoning else []
        return dumps(self._response("completed", usage))
