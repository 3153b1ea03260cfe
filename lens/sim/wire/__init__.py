"""One writer per provider wire format; WRITERS maps dialect -> writer class."""

from __future__ import annotations

from lens.sim.wire.anthropic import AnthropicWriter
from lens.sim.wire.base import Ev, ParsedRequest, UsageOut, WireWriter
from lens.sim.wire.bedrock import BedrockWriter
from lens.sim.wire.gemini import GeminiWriter
from lens.sim.wire.openai_chat import OpenAIChatWriter
from lens.sim.wire.openai_responses import OpenAIResponsesWriter

WRITERS: dict[str, type[WireWriter]] = {
    "openai_chat": OpenAIChatWriter,
    "openai_responses": OpenAIResponsesWriter,
    "anthropic": AnthropicWriter,
    "gemini": GeminiWriter,
    "bedrock": BedrockWriter,
}

__all__ = ["WRITERS", "Ev", "ParsedRequest", "UsageOut", "WireWriter"]
