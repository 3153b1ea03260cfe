"""Key shapes the scrubber knows: a Lambda role's temporary AWS credentials start with
ASIA, not AKIA (the runner signs Bedrock requests with them)."""

from __future__ import annotations

from lens.redact.secrets import REDACTED, scrub


def test_temporary_aws_access_key_ids_are_scrubbed() -> None:
    text = "Credential=ASIAQWERTYUIOPASDFGH/20261130/us-east-1/bedrock/aws4_request"
    assert scrub(text) == f"Credential={REDACTED}/20261130/us-east-1/bedrock/aws4_request"
    assert scrub("AKIAQWERTYUIOPASDFGH") == REDACTED
    assert scrub("ASIAN markets") == "ASIAN markets"
