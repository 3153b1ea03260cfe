"""Conversations: what a multi-turn request sends (the dialects render it per wire format).

A request's prompt is either one string (a single user turn) or a sequence of
:class:`Message` objects, oldest first, alternating ``user`` and ``assistant`` and ending
with a ``user`` turn. Every dialect's ``build_request`` accepts both.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

Role = Literal["user", "assistant"]


@dataclass(frozen=True, slots=True)
class Message:
    """One turn of a conversation."""

    role: Role
    text: str


Conversation = Sequence[Message]
PromptInput = str | Conversation  # what a dialect's build_request takes as its prompt


def as_messages(prompt: PromptInput) -> list[Message]:
    """The prompt as messages: a plain string is one user turn."""
    if isinstance(prompt, str):
        return [Message("user", prompt)]
    return list(prompt)


def prompt_text(prompt: PromptInput) -> str:
    """Every turn's text joined with blank lines: what ``prompt_hash`` and local token
    estimates of a conversation are taken over."""
    if isinstance(prompt, str):
        return prompt
    return "\n\n".join(m.text for m in prompt)
