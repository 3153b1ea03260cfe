"""The provider registry: every provider lens knows, its wire format (dialect), default
base URL and key variables. Dialect implementations (lens.probe.dialects), the simulated
endpoint's writers (lens.sim.wire) and the price lookup all key into these names; a test
keeps them in step.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class ProviderInfo:
    dialect: str
    base_url: str | None
    key_envs: tuple[str, ...]


# base_url follows each official SDK's convention: the dialect appends its own path.
PROVIDERS: dict[str, ProviderInfo] = {
    "openai": ProviderInfo("openai_chat", "https://api.openai.com/v1", ("OPENAI_API_KEY",)),
    "openai_responses": ProviderInfo("openai_responses", "https://api.openai.com/v1", ("OPENAI_API_KEY",)),
    "anthropic": ProviderInfo("anthropic", "https://api.anthropic.com", ("ANTHROPIC_API_KEY",)),
    "gemini": ProviderInfo(
        "gemini", "https://generativelanguage.googleapis.com", ("GEMINI_API_KEY", "GOOGLE_API_KEY")
    ),
    "bedrock": ProviderInfo("bedrock", None, ()),
    "openai_compat": ProviderInfo("openai_compat", None, ()),
    "vllm": ProviderInfo("openai_compat", None, ()),
    "llamacpp": ProviderInfo("openai_compat", None, ()),
    "ollama": ProviderInfo("openai_compat", "http://localhost:11434/v1", ()),
    "groq": ProviderInfo("openai_compat", "https://api.groq.com/openai/v1", ("GROQ_API_KEY",)),
    "openrouter": ProviderInfo("openai_compat", "https://openrouter.ai/api/v1", ("OPENROUTER_API_KEY",)),
    "azure": ProviderInfo("openai_compat", None, ("AZURE_OPENAI_API_KEY",)),
    "sim": ProviderInfo("openai_chat", None, ()),
}
# lens provider name -> genai-prices provider id (others are matched by endpoint URL, if at
# all). Used by the cost model and by budget estimates.
PRICE_PROVIDER_IDS: dict[str, str] = {
    "openai": "openai",
    "openai_responses": "openai",
    "anthropic": "anthropic",
    "gemini": "google",
    "bedrock": "aws",
    "groq": "groq",
    "openrouter": "openrouter",
    "azure": "azure",
}
@dataclass(frozen=True)
class DialectInfo:
    """One wire format: where its client side and its simulated server side live.

    ``probe`` is the ``module:Class`` of the client dialect (lens.probe.dialects),
    ``sim`` the ``module:Class`` of the simulator's writer (lens.sim.wire); the names are
    strings so that this registry, at the bottom of the house, imports neither.
    """

    probe: str
    sim: str


# THE dialect registry: the spec validates against it, lens.probe.dialects.get_dialect and
# the simulator's writers key into it. A new wire format is a client module, a simulator
# module and one line here (docs/architecture.md shows it).
DIALECT_REGISTRY: dict[str, DialectInfo] = {
    "openai_chat": DialectInfo("lens.probe.dialects.openai_chat:OpenAIChatDialect",
                               "lens.sim.wire.openai_chat:OpenAIChatWriter"),
    "openai_responses": DialectInfo("lens.probe.dialects.openai_responses:OpenAIResponsesDialect",
                                    "lens.sim.wire.openai_responses:OpenAIResponsesWriter"),
    "anthropic": DialectInfo("lens.probe.dialects.anthropic:AnthropicDialect",
                             "lens.sim.wire.anthropic:AnthropicWriter"),
    "gemini": DialectInfo("lens.probe.dialects.gemini:GeminiDialect",
                          "lens.sim.wire.gemini:GeminiWriter"),
    # OpenAI-compatible servers speak Chat Completions; the simulator serves it as such.
    "openai_compat": DialectInfo("lens.probe.dialects.openai_compat:OpenAICompatDialect",
                                 "lens.sim.wire.openai_chat:OpenAIChatWriter"),
    "bedrock": DialectInfo("lens.probe.dialects.bedrock:BedrockDialect",
                           "lens.sim.wire.bedrock:BedrockWriter"),
}
DIALECTS: tuple[str, ...] = tuple(DIALECT_REGISTRY)
