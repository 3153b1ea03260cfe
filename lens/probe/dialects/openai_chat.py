"""OpenAI Chat Completions streaming (``POST {base_url}/chat/completions``).

Each SSE ``data:`` line is a ``chat.completion.chunk``; the stream ends with
``data: [DONE]``. With ``stream_options.include_usage`` the last chunk before ``[DONE]``
has empty ``choices`` and the ``usage`` object (``prompt_tokens_details.cached_tokens``,
``completion_tokens_details.reasoning_tokens``). A failure after HTTP 200 arrives as a
``data:`` line holding ``{"error": {...}}``.

The chunk parser also reads ``delta.reasoning_content`` / ``delta.reasoning`` (vLLM,
DeepSeek, OpenRouter, Ollama, Groq) so the OpenAI-compatible dialect reuses it.
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

_AUTH = "Authorization"


def openai_usage(u: dict[str, Any]) -> Usage:
    """Usage from an OpenAI-style ``usage`` object (prompt/completion token names)."""
    pd = u.get("prompt_tokens_details") or {}
    cd = u.get("completion_tokens_details") or {}
    return Usage(
        input_tokens=u.get("prompt_tokens"),
        cached_input_tokens=pd.get("cached_tokens"),
        output_tokens=u.get("completion_tokens"),
        reasoning_tokens=cd.get("reasoning_tokens"),
    )


def _num(v: Any) -> float | None:
    return float(v) if isinstance(v, int | float) and not isinstance(v, bool) else None


def llamacpp_timings(t: dict[str, Any], *, has_usage: bool) -> Usage:
    """Server-reported time from llama.cpp's ``timings`` object (final chunk).

    ``prompt_ms`` is its prompt processing (prefill) and ``predicted_ms`` its generation
    time. Without a ``usage`` object its token counts stand in: ``prompt_n`` counts only
    the prompt tokens it processed, ``cache_n`` those it reused from its KV cache.
    """
    u = Usage(server_prefill_ms=_num(t.get("prompt_ms")), server_decode_ms=_num(t.get("predicted_ms")))
    if not has_usage:
        n, cached, out = (t.get(k) for k in ("prompt_n", "cache_n", "predicted_n"))
        if isinstance(n, int):
            u.input_tokens = n + (cached if isinstance(cached, int) else 0)
        if isinstance(cached, int):
            u.cached_input_tokens = cached
        if isinstance(out, int):
            u.output_tokens = out
    return u


def _plain_text(obj: dict[str, Any], choices: Any) -> list[Delta] | None:
    """The common chunk -- one choice whose delta is answer text, nothing else to read --
    parsed in a few lookups; None sends every other chunk through the full parser below
    (which gives the same deltas for this one: a test holds them equal)."""
    if (not isinstance(choices, list) or len(choices) != 1 or obj.get("usage") or "timings" in obj
            or "x_groq" in obj):
        return None
    choice = choices[0]
    if not isinstance(choice, dict) or choice.get("finish_reason"):
        return None
    delta = choice.get("delta")
    if not isinstance(delta, dict):
        return None
    content = delta.get("content")
    if type(content) is not str or not content or delta.get("reasoning_content") or delta.get("reasoning"):
        return None
    d = Delta("text", text=content)
    model, fp = obj.get("model"), obj.get("system_fingerprint")
    if model and isinstance(model, str):
        d.server_model = model
    if fp and isinstance(fp, str):
        d.system_fingerprint = fp
    return [d]


@guarded
def parse_chat_chunk(event: RawEvent) -> list[Delta]:
    """Parse one Chat Completions SSE event into deltas (shared with openai_compat)."""
    data = event.data
    if data == "[DONE]":
        return [Delta("done")]
    obj, bad = loads(data)
    if bad is not None:
        return [bad]
    if not isinstance(obj, dict):
        return [not_object(obj)]
    err = obj.get("error")
    if err:
        return [error_delta(err)]
    choices = obj.get("choices")
    fast = _plain_text(obj, choices)
    if fast is not None:
        return fast
    out: list[Delta] = []
    finish: str | None = None
    if choices:
        text = ""
        reasoning = ""
        for choice in choices:
            delta = choice.get("delta")
            if delta:
                content = delta.get("content")
                if content:
                    text += content  # TypeError on a non-str: guarded
                r = delta.get("reasoning_content") or delta.get("reasoning")
                if r and isinstance(r, str):
                    reasoning += r
            fr = choice.get("finish_reason")
            if fr:
                finish = fr
        if reasoning:
            out.append(Delta("reasoning", text=reasoning))
        if text:
            out.append(Delta("text", text=text, finish_reason=finish))
            finish = None
    usage = obj.get("usage")
    if not usage:
        x_groq = obj.get("x_groq")  # Groq puts usage here on the final chunk
        usage = x_groq.get("usage") if isinstance(x_groq, dict) else None
    timings = obj.get("timings")  # llama.cpp's server: its own prefill/decode times
    if isinstance(timings, dict):
        u = llamacpp_timings(timings, has_usage=bool(usage))
        if usage and isinstance(usage, dict):
            u = openai_usage(usage).merge(u)
        out.append(Delta("usage", usage=u, finish_reason=finish))
        finish = None
    elif usage and isinstance(usage, dict):
        out.append(Delta("usage", usage=openai_usage(usage), finish_reason=finish))
        finish = None
    if not out or finish:
        # Role-only, empty, filter (empty choices) chunks: timed, but never text.
        out.append(Delta("other", finish_reason=finish))
    model, fp = obj.get("model"), obj.get("system_fingerprint")
    if model and isinstance(model, str):  # Azure's prompt-filter chunk says model ""
        out[0].server_model = model
    if fp and isinstance(fp, str):
        out[0].system_fingerprint = fp
    return out


class OpenAIChatDialect:
    """OpenAI Chat Completions with ``stream_options.include_usage``."""

    name = "openai_chat"
    path = "/chat/completions"
    max_tokens_field = "max_completion_tokens"

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
        """POST /chat/completions with Bearer auth (only when a key is given)."""
        body: dict[str, Any] = {
            "model": target.model,
            "messages": [{"role": r, "content": t} for r, t in role_messages(prompt)],
            self.max_tokens_field: max_tokens,
            "stream": stream,
        }
        if stream:
            body["stream_options"] = {"include_usage": True}
        if temperature is not None:
            body["temperature"] = temperature
        merge_body(body, target.extra_body)
        secret = {_AUTH: f"Bearer {api_key}"} if api_key else {}
        return HttpRequest(
            "POST",
            join_url(target.resolved_base_url, self.path),
            build_headers(
                target.headers, secret, accept="text/event-stream" if stream else "application/json"
            ),
            encode_body(body),
            frozenset(secret),
        )

    def new_framer(self) -> SSEParser:
        return SSEParser()

    def parse(self, event: RawEvent) -> list[Delta]:
        return parse_chat_chunk(event)
