from __future__ import annotations

import json
from pathlib import Path

import pytest

from lens.redact.pii import find_pii, prompt_hash, redact

CORPUS = [
    json.loads(line)
    for line in (Path(__file__).parent.parent / "data" / "pii_corpus.jsonl").read_text().splitlines()
    if line.strip()
]


@pytest.mark.parametrize("case", CORPUS, ids=[c["text"][:40] for c in CORPUS])
def test_corpus_kinds(case: dict) -> None:
    assert [f.kind for f in find_pii(case["text"])] == case["kinds"]


@pytest.mark.parametrize("case", [c for c in CORPUS if c["kinds"]], ids=lambda c: c["text"][:40])
def test_redacted_text_keeps_no_finding(case: dict) -> None:
    out = redact(case["text"])
    assert "[REDACTED:" in out
    assert find_pii(out) == []
    for f in find_pii(case["text"]):
        assert case["text"][f.start : f.end] not in out


def test_negatives_are_untouched() -> None:
    for case in CORPUS:
        if not case["kinds"]:
            assert redact(case["text"]) == case["text"]


def test_prompt_hash_is_stable_and_short() -> None:
    assert prompt_hash("hello") == prompt_hash("hello")
    assert prompt_hash("hello") != prompt_hash("hello ")
    assert len(prompt_hash("x")) == 16


def test_hidden_and_lookalike_characters_are_redacted_whole() -> None:
    """#17 item 12: a zero-width space inside an address or key, or a fullwidth at sign,
    hid it from the patterns (half an address was left behind)."""
    assert redact("mail jane.doe\u200b@example.com now") == "mail [REDACTED:email] now"
    assert redact("key sk-proj-AbCdEfGh\u200bIjKlMnOpQrSt!") == "key [REDACTED:api_key]!"
    assert redact("to jane\uff20example\uff0ecom, thanks") == "to [REDACTED:email], thanks"
    # an IBAN's digit groups are not left to the phone pattern
    assert redact("IBAN GB82 WEST 1234 5698 7654 32.") == "IBAN [REDACTED:iban]."
    assert redact("Authorization: Bearer abc123") == "Authorization: Bearer [REDACTED:api_key]"
