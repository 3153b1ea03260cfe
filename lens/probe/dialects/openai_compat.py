"""Generic OpenAI-compatible servers: vLLM, llama.cpp, Ollama, Groq, OpenRouter, Azure.

Same wire format as Chat Completions, with the variations these servers show:
``delta.reasoning_content`` (vLLM, DeepSeek) or ``delta.reasoning`` (OpenRouter, Ollama)
for thinking text; usage on the final choice chunk (together with its text and
``finish_reason``) or in ``x_groq.usage``; ``: keep-alive`` comment lines (dropped by the
SSE framer); Azure content-filter chunks with empty ``choices``. Auth is a Bearer token
only when a key is configured (local servers need none). ``max_tokens`` is sent rather
than ``max_completion_tokens``, which older servers reject.
"""

from __future__ import annotations

from lens.probe.dialects.openai_chat import OpenAIChatDialect


class OpenAICompatDialect(OpenAIChatDialect):
    """Chat Completions for OpenAI-compatible servers."""

    name = "openai_compat"
    max_tokens_field = "max_tokens"
