"""Google Gemini ``streamGenerateContent?alt=sse``
(``POST {base_url}/v1beta/models/{model}:streamGenerateContent?alt=sse``).

Every SSE ``data:`` line is a ``GenerateContentResponse``: ``candidates[0].content.parts``
hold text (``thought: true`` parts are reasoning summaries), ``usageMetadata`` is sent
on (almost) every chunk with ``promptTokenCount``, ``candidatesTokenCount``,
``thoughtsTokenCount`` and ``cachedContentTokenCount``. There is no ``[DONE]``: the chunk
carrying ``finishReason`` is terminal. A blocked prompt comes back as
``promptFeedback.blockReason`` with no candidates; an error after HTTP 200 as
``{"error": {"code", "message", "status"}}``.

``candidatesTokenCount`` excludes thinking tokens; ``output_tokens`` adds them back so it
includes reasoning like every other dialect. ``cachedContentTokenCount`` is omitted when it
is zero (proto3 JSON): with a ``promptTokenCount`` and no cached count, the cached count is 0.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any
from urllib.parse import quote

from lens.probe.dialects._common import (
    build_headers,
    encode_body,
    error_delta,
    guarded,
    join_url,
    loads,
    merge_body,
    not_object,
    role_messages,
)
from lens.probe.dialects.base import HttpRequest, RawEvent
from lens.probe.sse import SSEParser
from lens.record import Delta, Usage

if TYPE_CHECKING:
    from lens.spec import TargetSpec
    from lens.workload.conversation import PromptInput


def gemini_usage(u: dict[str, Any]) -> Usage:
    """Usage from ``usageMetadata``."""
    cand = u.get("candidatesTokenCount")
    thoughts = u.get("thoughtsTokenCount")
    prompt = u.get("promptTokenCount")
    cached = u.get("cachedContentTokenCount")
    if cached is None and prompt is not None:
        cached = 0  # proto3 JSON omits a zero count: nothing was read from the cache
    return Usage(
        input_tokens=prompt,
        cached_input_tokens=cached,
        output_tokens=None if cand is None else cand + (thoughts or 0),
        reasoning_tokens=thoughts,
    )


class GeminiDialect:
    """Gemini API (Google AI Studio keys)."""

    name = "gemini"

    def build_request(
        self,
        target: TargetSpec,
        prompt: PromptInput,
        *,
        max_tokens: int,
        temperature: float | None,
        api_key: str | None,
        stream: bool = True,
    ) -> HttpRequest:
        """POST ...:streamGenerateContent?alt=sse with the key in ``x-goog-api-key``
        (a header, never the URL, so the key cannot leak into logged URLs)."""
        gen: dict[str, Any] = {"maxOutputTokens": max_tokens}
        if temperature is not None:
            gen["temperature"] = temperature
        body: dict[str, Any] = {
            "contents": [
                {"role": r, "parts": [{"text": t}]}
                for r, t in role_messages(prompt, assistant="model")
            ],
            "generationConfig": gen,
        }
        merge_body(body, target.extra_body)
        model = quote(target.model.removeprefix("models/"), safe="-._~@")
        method = "streamGenerateContent?alt=sse" if stream else "generateContent"
        secret = {"x-goog-api-key": api_key} if api_key else {}
        return HttpRequest(
            "POST",
            join_url(target.resolved_base_url, f"/v1beta/models/{model}:{method}"),
            build_headers(
                target.headers, secret, accept="text/event-stream" if stream else "application/json"
            ),
            encode_body(body),
            frozenset(secret),
        )

    def new_framer(self) -> SSEParser:
        return SSEParser()

    @guarded
    def parse(self, event: RawEvent) -> list[Delta]:
        obj, bad = loads(event.data)
        if bad is not None:
            return [bad]
        if isinstance(obj, list) and len(obj) == 1:  # some proxies wrap chunks in an array
            obj = obj[0]
        if not isinstance(obj, dict):
            return [not_object(obj)]
        err = obj.get("error")
        if err:
            return [error_delta(err)]
        out: list[Delta] = []
        finish: str | None = None
        candidates = obj.get("candidates")
        if candidates:
            cand = candidates[0]
            text = ""
            reasoning = ""
            for part in (cand.get("content") or {}).get("parts") or ():
                t = part.get("text")
                if t:
                    if part.get("thought"):
                        reasoning += t
                    else:
                        text += t
            if reasoning:
                out.append(Delta("reasoning", text=reasoning))
            if text:
                out.append(Delta("text", text=text))
            finish = cand.get("finishReason")
        usage = obj.get("usageMetadata")
        if usage:
            out.append(Delta("usage", usage=gemini_usage(usage)))
        block = (obj.get("promptFeedback") or {}).get("blockReason")
        if block and not candidates:
            out.append(
                Delta("error", error=f"prompt blocked: {block}", error_status="stream_error")
            )
            return out
        if finish and finish != "FINISH_REASON_UNSPECIFIED":
            out.append(Delta("done", finish_reason=finish))
        if not out:
            out.append(Delta("other"))
        version = obj.get("modelVersion")
        if version and isinstance(version, str):
            out[0].server_model = version
        return out
