"""What the embedded profiler reads from a provider request/response it did not build.

- :func:`detect_dialect` maps a request URL path to a lens dialect (None: not an LLM call
  lens times, e.g. ``/v1/models`` or embeddings -- passed through untouched).
- :func:`request_info` pulls the model and the prompt text out of a JSON request body
  (the text only feeds ``prompt_hash``, input-token estimates and opt-in redacted samples).
- :func:`nonstream_deltas` turns a non-streamed JSON response into the same Deltas a
  stream would have produced, so ``ttft_ms == e2e_ms`` and usage is still recorded.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

from lens.record import Delta, Usage

__all__ = ["DEFAULT_PROVIDER", "detect_dialect", "nonstream_deltas", "request_info"]

DEFAULT_PROVIDER: dict[str, str] = {
    "openai_chat": "openai",
    "openai_responses": "openai",
    "anthropic": "anthropic",
    "gemini": "gemini",
    "bedrock": "bedrock",
}
_PROMPT_KEYS = (
    "messages",
    "input",
    "instructions",
    "system",
    "contents",
    "systemInstruction",
    "prompt",
)


def detect_dialect(path: str) -> str | None:
    """Dialect for a request path, or None when lens does not time that endpoint."""
    p = path.rstrip("/")
    if p.endswith("/chat/completions"):
        return "openai_chat"
    if p.endswith("/responses"):
        return "openai_responses"
    if p.endswith("/messages"):
        return "anthropic"
    if p.endswith((":streamGenerateContent", ":generateContent")):
        return "gemini"
    if p.endswith(("/converse-stream", "/converse")):
        return "bedrock"
    return None


def _model_from_path(path: str) -> str:
    if "/models/" in path and ":" in path.rsplit("/", 1)[-1]:
        return path.rsplit("/models/", 1)[1].split(":", 1)[0]
    if "/model/" in path:
        return path.split("/model/", 1)[1].split("/", 1)[0]
    return ""


_SKIP_KEYS = frozenset({
    "role", "type", "model", "id", "name", "cache_control", "tool_call_id", "signature",
    "mime_type", "mimeType", "data", "image_url", "url", "file_id", "detail",
})  # fmt: skip


def _strings(obj: Any) -> Iterator[str]:
    # Every string under the prompt keys except metadata (roles, ids) and binary payloads.
    if isinstance(obj, str):
        yield obj
    elif isinstance(obj, dict):
        for k, v in obj.items():
            if k not in _SKIP_KEYS:
                yield from _strings(v)
    elif isinstance(obj, list):
        for v in obj:
            yield from _strings(v)


def request_info(path: str, body: bytes) -> tuple[str, str | None]:
    """(model, prompt text) of a JSON request body; ("", None) when it is not JSON."""
    from urllib.parse import unquote

    model = unquote(_model_from_path(path))
    try:
        obj = json.loads(body) if body else None
    except ValueError:
        return model, None
    if not isinstance(obj, dict):
        return model, None
    if not model and isinstance(obj.get("model"), str):
        model = obj["model"]
    parts: list[str] = []
    for key in _PROMPT_KEYS:
        if key in obj:
            parts.extend(_strings(obj[key]))
    return model, "\n".join(parts) if parts else None


def _texts(blocks: Any, *, skip_types: tuple[str, ...] = ()) -> tuple[str, str]:
    """(answer, reasoning) text of a list of content blocks in any provider's shape."""
    answer: list[str] = []
    reasoning: list[str] = []
    for b in blocks if isinstance(blocks, list) else []:
        if not isinstance(b, dict) or b.get("type") in skip_types:
            continue
        if b.get("type") in ("thinking", "reasoning") or b.get("thought") is True:
            reasoning.append(str(b.get("thinking") or b.get("text") or ""))
        elif isinstance(b.get("text"), str):
            answer.append(b["text"])
        elif "reasoningContent" in b:
            rc = b["reasoningContent"].get("reasoningText") or {}
            reasoning.append(str(rc.get("text") or ""))
    return "".join(answer), "".join(reasoning)


def nonstream_deltas(dialect: str, body: bytes) -> list[Delta]:
    """Deltas equivalent to a whole non-streamed response (text, reasoning, usage, done)."""
    try:
        obj = json.loads(body)
    except ValueError:
        return [Delta("error", error="response body is not JSON", error_status="stream_error")]
    if not isinstance(obj, dict):
        return [
            Delta("error", error="response body is not a JSON object", error_status="stream_error")
        ]
    usage: Usage | None = None
    answer = reasoning = ""
    u = obj.get("usage") or obj.get("usageMetadata")
    if dialect == "openai_chat":
        from lens.probe.dialects.openai_chat import openai_usage

        choices = obj.get("choices") or [{}]
        msg = choices[0].get("message") or {}
        answer = msg.get("content") or ""
        reasoning = msg.get("reasoning_content") or msg.get("reasoning") or ""
        usage = openai_usage(u) if isinstance(u, dict) else None
    elif dialect == "openai_responses":
        from lens.probe.dialects.openai_responses import responses_usage

        for item in obj.get("output") or []:
            if not isinstance(item, dict):
                continue
            if item.get("type") == "reasoning":
                reasoning += "".join(
                    str(s.get("text", "")) for s in item.get("summary") or [] if isinstance(s, dict)
                )
            else:
                a, _r = _texts(item.get("content"))
                answer += a
        usage = responses_usage(u) if isinstance(u, dict) else None
    elif dialect == "anthropic":
        from lens.probe.dialects.anthropic import anthropic_usage

        answer, reasoning = _texts(obj.get("content"))
        usage = anthropic_usage(u) if isinstance(u, dict) else None
    elif dialect == "gemini":
        from lens.probe.dialects.gemini import gemini_usage

        cands = obj.get("candidates") or [{}]
        answer, reasoning = _texts(((cands[0] or {}).get("content") or {}).get("parts"))
        usage = gemini_usage(u) if isinstance(u, dict) else None
    elif dialect == "bedrock":
        msg = ((obj.get("output") or {}).get("message")) or {}
        answer, reasoning = _texts(msg.get("content"))
        if isinstance(u, dict):
            usage = Usage(input_tokens=u.get("inputTokens"), output_tokens=u.get("outputTokens"),
                          cached_input_tokens=u.get("cacheReadInputTokens"),
                          server_latency_ms=(obj.get("metrics") or {}).get("latencyMs"))  # fmt: skip
    out: list[Delta] = []
    if reasoning:
        out.append(Delta("reasoning", text=reasoning))
    if answer:
        out.append(Delta("text", text=answer))
    if usage is not None:
        out.append(Delta("usage", usage=usage))
    done = Delta("done")
    # The whole body names the model that answered (and OpenAI its fingerprint) once.
    model = obj.get("model") or obj.get("modelVersion")
    if isinstance(model, str) and model:
        done.server_model = model
    fp = obj.get("system_fingerprint")
    if isinstance(fp, str) and fp:
        done.system_fingerprint = fp
    out.append(done)
    return out
