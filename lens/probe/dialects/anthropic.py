"""Anthropic Messages streaming (``POST {base_url}/v1/messages``).

Named SSE events: ``message_start`` (usage: ``input_tokens``,
``cache_read_input_tokens``, ``cache_creation_input_tokens``, a first ``output_tokens``),
``content_block_start/delta/stop`` (``text_delta`` is answer text, ``thinking_delta`` is
reasoning; ``signature_delta``/``input_json_delta`` are neither), ``message_delta``
(cumulative usage and ``stop_reason``), ``message_stop`` (terminal), ``ping``, and
``error`` (``overloaded_error`` -> overloaded, ``rate_limit_error`` -> rate_limited).

Anthropic's ``input_tokens`` excludes cached tokens; we report the whole prompt
(input + cache reads + cache writes) as ``input_tokens``, like every other dialect.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

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

API_VERSION = "2023-06-01"


def anthropic_usage(u: dict[str, Any]) -> Usage:
    """Usage from an Anthropic ``usage`` object (message_start or cumulative message_delta)."""
    inp = u.get("input_tokens")
    read = u.get("cache_read_input_tokens")
    write = u.get("cache_creation_input_tokens")
    if inp is not None:
        inp += (read or 0) + (write or 0)
    return Usage(
        input_tokens=inp,
        cached_input_tokens=read,
        cache_write_tokens=write,
        output_tokens=u.get("output_tokens"),
    )


class AnthropicDialect:
    """Anthropic Messages API."""

    name = "anthropic"

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
        """POST /v1/messages with ``x-api-key`` and ``anthropic-version: 2023-06-01``."""
        body: dict[str, Any] = {
            "model": target.model,
            "max_tokens": max_tokens,
            "messages": [{"role": r, "content": t} for r, t in role_messages(prompt)],
            "stream": stream,
        }
        if temperature is not None:
            body["temperature"] = temperature
        merge_body(body, target.extra_body)
        secret = {"x-api-key": api_key} if api_key else {}
        headers = build_headers(
            {"anthropic-version": API_VERSION, **target.headers},
            secret,
            accept="text/event-stream" if stream else "application/json",
        )
        return HttpRequest(
            "POST",
            join_url(target.resolved_base_url, "/v1/messages"),
            headers,
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
        if not isinstance(obj, dict):
            return [not_object(obj)]
        kind = obj.get("type") or event.event
        if kind == "content_block_delta":
            delta = obj.get("delta") or {}
            dtype = delta.get("type")
            if dtype == "text_delta":
                text = delta.get("text")
                return (
                    [Delta("text", text=text)]
                    if text and isinstance(text, str)
                    else [Delta("other")]
                )
            if dtype == "thinking_delta":
                text = delta.get("thinking")
                return (
                    [Delta("reasoning", text=text)]
                    if text and isinstance(text, str)
                    else [Delta("other")]
                )
            return [Delta("other")]  # signature_delta, input_json_delta, citations_delta
        if kind == "message_start":
            message = obj.get("message") or {}
            usage = message.get("usage")
            d = Delta("usage", usage=anthropic_usage(usage)) if usage else Delta("other")
            model = message.get("model")
            if model and isinstance(model, str):
                d.server_model = model
            return [d]
        if kind == "message_delta":
            reason = (obj.get("delta") or {}).get("stop_reason")
            usage = obj.get("usage")
            if usage:
                return [Delta("usage", usage=anthropic_usage(usage), finish_reason=reason)]
            return [Delta("other", finish_reason=reason)]
        if kind == "message_stop":
            return [Delta("done")]
        if kind == "error":
            return [error_delta(obj.get("error"), fallback="error event")]
        return [Delta("other")]  # ping, content_block_start/stop, unknown future events
