"""Secrets never reach error text: known values, secret headers, key-shaped tokens."""

from __future__ import annotations

from lens.redact.secrets import REDACTED, scrub, secret_values


def test_known_values_and_header_values_removed() -> None:
    secrets = secret_values(
        {
            "Authorization": "Bearer my-private-token-123",
            "x-api-key": "anthropic-value-9",
            "Accept": "x",
        },
        {"authorization"},
        extra=("envkey-abcdef",),
    )
    assert "my-private-token-123" in secrets and "Bearer my-private-token-123" in secrets
    assert "x" not in secrets  # non-secret headers are kept out
    text = "auth Bearer my-private-token-123 failed; key anthropic-value-9; env envkey-abcdef"
    out = scrub(text, secrets)
    assert out is not None
    for s in ("my-private-token-123", "anthropic-value-9", "envkey-abcdef"):
        assert s not in out
    assert out.count(REDACTED) == 3


def test_key_shapes_and_query_keys_scrubbed_without_knowing_them() -> None:
    text = (
        "Incorrect API key provided: sk-proj-AbCdEfGhIjKlMnOpQrSt1234. "
        "url https://x.googleapis.com/v1?key=AIzaSyA1234567890abcdefghijklmnopqrstu&alt=sse "
        "aws AKIAIOSFODNN7EXAMPLE"
    )
    out = scrub(text) or ""
    assert "sk-proj-AbCd" not in out and "AIzaSy" not in out and "AKIAIOSFODNN7EXAMPLE" not in out
    assert "&alt=sse" in out  # the rest of the text survives


def test_limit_applies_after_scrubbing_and_none_passes() -> None:
    key = "sk-" + "z" * 40
    out = scrub("x" * 10 + key + " " + "y" * 600, limit=50) or ""
    assert len(out) == 50 and "zzzz" not in out
    assert scrub(None) is None
