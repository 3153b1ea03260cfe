"""OpenAI Responses API streaming (``POST {base_url}/responses``).

Typed SSE events (``event:`` matches the JSON ``type``): ``response.output_text.delta``
is answer text; ``response.reasoning_summary_text.delta`` and
``response.reasoning_text.delta`` are reasoning; ``response.completed`` (terminal) carries
``response.usage`` with ``input_tokens_details.cached_tokens`` and
``output_tokens_details.reasoning_tokens``; ``response.incomplete`` is terminal too (e.g.
``max_output_tokens``); ``error`` and ``response.failed`` are mid-stream errors.
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

_TEXT = frozenset({"response.output_text.delta", "response.refusal.delta"})
_REASONING = frozenset({"response.reasoning_summary_text.delta", "response.reasoning_text.delta"})


def responses_usage(u: dict[str, Any]) -> Usage:
    """Usage from a Responses API ``usage`` object."""
    idt = u.get("input_tokens_details") or {}
    odt = u.get("output_tokens_details") or {}
    return Usage(
        input_tokens=u.get("input_tokens"),
        cached_input_tokens=idt.get("cached_tokens"),
        output_tokens=u.get("output_tokens"),
        reasoning_tokens=odt.get("reasoning_tokens"),
    )


class OpenAIResponsesDialect:
    """OpenAI Responses API."""

    name = "openai_responses"

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
        """POST /responses with ``input`` text and ``max_output_tokens``."""
        body: dict[str, Any] = {
            "model": target.model,
            "input": prompt if isinstance(prompt, str) else [
                {"role": r, "content": t} for r, t in role_messages(prompt)
            ],
            "max_output_tokens": max_tokens,
            "stream": stream,
        }
        if temperature is not None:
            body["temperature"] = temperature
        merge_body(body, target.extra_body)
        secret = {"Authorization": f"Bearer {api_key}"} if api_key else {}
        return HttpRequest(
            "POST",
            join_url(target.resolved_base_url, "/responses"),
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
        if not isinstance(obj, dict):
            return [not_object(obj)]
        kind = obj.get("type") or event.event
        out = self._deltas(obj, kind)
        resp = obj.get("response")  # response.created / completed / ... name the model
        if isinstance(resp, dict):
            model = resp.get("model")
            if model and isinstance(model, str):
                out[0].server_model = model
        return out

    @staticmethod
    def _deltas(obj: dict[str, Any], kind: Any) -> list[Delta]:
        if kind in _TEXT:
            delta = obj.get("delta")
            return (
                [Delta("text", text=delta)]
                if delta and isinstance(delta, str)
                else [Delta("other")]
            )
        if kind in _REASONING:
            delta = obj.get("delta")
            return (
                [Delta("reasoning", text=delta)]
                if delta and isinstance(delta, str)
                else [Delta("other")]
            )
        if kind == "response.completed" or kind == "response.incomplete":
            resp = obj.get("response") or {}
            out: list[Delta] = []
            usage = resp.get("usage")
            if usage:
                out.append(Delta("usage", usage=responses_usage(usage)))
            reason = None
            if kind == "response.incomplete":
                reason = (resp.get("incomplete_details") or {}).get("reason") or "incomplete"
            out.append(Delta("done", finish_reason=reason or resp.get("status")))
            return out
        if kind == "error":
            # Documented shape is flat {type, code, message, param}; some servers nest it.
            nested = obj.get("error")
            err: dict[str, Any] = nested if isinstance(nested, dict) else obj
            etype = err.get("type")
            return [
                error_delta(
                    {
                        "code": err.get("code"),
                        "type": None if etype == "error" else etype,
                        "message": err.get("message"),
                    }
                )
            ]
        if kind == "response.failed":
            resp = obj.get("response") or {}
            out = []
            usage = resp.get("usage")
            if usage:
                out.append(Delta("usage", usage=responses_usage(usage)))
            out.append(
                error_delta(resp.get("error") or obj.get("error"), fallback="response failed")
            )
            return out
        return [Delta("other")]
