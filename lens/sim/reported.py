"""Timing a simulated server reports about itself, computed from its own plan.

Real servers measure their model; the simulator's "model" is its plan (lens.sim.latency),
so the reported numbers are the plan's: a token is "sampled" at its planned instant and
written to the socket at ``write_start_ns`` in the truth, just as a real server samples a
token and its HTTP layer writes it a little later. The difference between the two is
the simulator's scheduling lag (``SimTruth.max_lag_ns``).

- llama.cpp (``timings`` object; tools/server/server-task.cpp ``result_timings::to_json``
  and server-context.cpp ``get_timings``): ``prompt_ms`` runs from when the slot starts
  processing the prompt to when the first token is sampled; ``predicted_ms`` from the
  first sampled token to the last (at least 1 microsecond); ``predicted_n`` counts every
  decoded token including the first, so ``predicted_per_token_ms`` = ``predicted_ms`` /
  ``predicted_n``; ``prompt_n`` is the prompt tokens actually processed (not cached) and
  ``cache_n`` the cached ones. Times have microsecond resolution.
- OpenAI (``openai-processing-ms``): "time taken processing your API request" (OpenAI
  API reference, Debugging requests). A header goes out before the body, so for a stream
  it can only cover the time until the headers were sent; the simulator reports the time
  from receiving the request to its planned header instant, in whole milliseconds.
- Bedrock (``metrics.latencyMs`` in ConverseStream's metadata event, "the latency for the
  streaming request"): the simulator reports the time from receiving the request to
  writing that event (lens.sim.server computes it; it is measured, not planned).
"""

from __future__ import annotations

from typing import Any


def _us_ms(ns: int) -> float:
    """Nanoseconds as milliseconds with microsecond resolution (llama.cpp's ggml_time_us)."""
    return (ns // 1000) / 1e3


def _rates(n: int, ms: float) -> tuple[float, float]:
    # llama.cpp guards n == 0; a zero duration would give inf (null in its JSON): report 0.
    if n <= 0 or ms <= 0:
        return 0.0, 0.0
    return ms / n, 1e3 / ms * n


def llamacpp_timings(*, prompt_tokens: int, cached_tokens: int, prompt_ns: int,
                     predicted_n: int, predicted_ns: int) -> dict[str, Any]:
    """llama.cpp's ``timings`` object.

    ``prompt_ns``: slot start to first sampled token; ``predicted_ns``: first to last
    sampled token; ``predicted_n``: all generated tokens (answer and reasoning).
    """
    prompt_n = max(0, prompt_tokens - cached_tokens)
    prompt_ms = _us_ms(prompt_ns)
    predicted_ms = _us_ms(max(1000, predicted_ns))
    prompt_per_token_ms, prompt_per_second = _rates(prompt_n, prompt_ms)
    predicted_per_token_ms, predicted_per_second = _rates(predicted_n, predicted_ms)
    return {
        "cache_n": cached_tokens,
        "prompt_n": prompt_n,
        "prompt_ms": prompt_ms,
        "prompt_per_token_ms": prompt_per_token_ms,
        "prompt_per_second": prompt_per_second,
        "predicted_n": predicted_n,
        "predicted_ms": predicted_ms,
        "predicted_per_token_ms": predicted_per_token_ms,
        "predicted_per_second": predicted_per_second,
    }


def processing_ms(received_ns: int, at_ns: int) -> int:
    """``openai-processing-ms``: receipt to ``at_ns`` in whole milliseconds."""
    return max(0, round((at_ns - received_ns) / 1e6))
