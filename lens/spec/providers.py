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
DIALECTS: tuple[str, ...] = (
    "openai_chat",
    "openai_responses",
    "anthropic",
    "gemini",
    "openai_compat",
    "bedrock",
)
