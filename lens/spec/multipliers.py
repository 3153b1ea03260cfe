"""Request-body options that multiply a request's output, per dialect.

``extra_body`` is merged into every request body, so ``{"n": 1000}`` would make one
request produce 1000 completions of up to ``max_tokens`` each (and interleave them in one
stream, which no per-request timing describes). lens times one completion per request:
:class:`lens.spec.TargetSpec` refuses any of these set to anything but 1, wherever the
spec comes from (file, CLI, widget, Lambda event).

Sources, per wire format:

- OpenAI Chat Completions: ``n``; ``best_of`` (legacy completions, accepted by vLLM's
  OpenAI-compatible server for chat too: it generates that many and returns ``n``).
- Gemini: ``generationConfig.candidateCount`` (proto JSON also accepts ``candidate_count``).
- Bedrock Converse: model-specific fields under ``additionalModelRequestFields``: ``n``
  (AI21 Jamba), ``num_generations`` (Cohere Command), ``numResults`` (AI21 Jurassic).
- Anthropic Messages and OpenAI Responses have no such option.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

_OPENAI = (("n",), ("best_of",))

OUTPUT_MULTIPLIERS: dict[str, tuple[tuple[str, ...], ...]] = {
    "openai_chat": _OPENAI,
    "openai_compat": _OPENAI,
    "openai_responses": (),
    "anthropic": (),
    "gemini": (("generationConfig", "candidateCount"), ("generationConfig", "candidate_count")),
    "bedrock": (
        ("additionalModelRequestFields", "n"),
        ("additionalModelRequestFields", "num_generations"),
        ("additionalModelRequestFields", "numResults"),
    ),
}


def output_multipliers(dialect: str, extra_body: Mapping[str, Any]) -> list[tuple[str, Any]]:
    """(dotted path, value) of every output multiplier set in ``extra_body`` for ``dialect``.

    A value of None is left out: merge_body drops such a key from the request.
    """
    found: list[tuple[str, Any]] = []
    for path in OUTPUT_MULTIPLIERS.get(dialect, _OPENAI):
        node: Any = extra_body
        for key in path:
            node = node.get(key) if isinstance(node, Mapping) else None
        if node is not None:
            found.append((".".join(path), node))
    return found
