"""``lens sim``: serve the simulated LLM endpoint (lens.sim.serve) until Ctrl-C or SIGTERM."""

from __future__ import annotations

from typing import Any

from lens.sim.serve import add_arguments, run

__all__ = ["add_arguments", "register", "run"]


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "sim", help="serve the simulated LLM endpoint",
        description="Serve a simulated LLM API (OpenAI, Anthropic, Gemini, Bedrock wire formats) "
        "with latency profiles, fault injection and ground-truth timings at /_sim/truth.",
    )
    add_arguments(parser)
    parser.set_defaults(func=run)
