"""One reading of rate-limit headers for the record, retry_after_s and the client limiter."""

from __future__ import annotations

import email.utils
import time

import pytest

from lens.probe.outcome import ratelimit_json
from lens.probe.ratelimit_headers import header_pause, is_ratelimit_header, parse_reset, retry_after


def test_retry_after_as_an_http_date_pauses_the_limiter_as_long_as_the_record_says() -> None:
    when = email.utils.formatdate(time.time() + 30, usegmt=True)
    headers = {"retry-after": when}
    assert retry_after(headers) == pytest.approx(30, abs=2)
    # the limiter's pause after a 429 reads the same value (it once ignored HTTP dates)
    assert header_pause(headers, time.time()) == pytest.approx(30, abs=2)


def test_resets_in_every_documented_form() -> None:
    now = 1_800_000_000.0
    assert parse_reset("20", now) == 20
    assert parse_reset("6m0s", now) == 360 and parse_reset("20ms", now) == pytest.approx(0.02)
    assert parse_reset(str(now + 5), now) == 5
    assert parse_reset("2027-01-15T08:00:05Z", 1_800_000_000.0) is not None
    assert parse_reset("soon", now) is None


def test_the_record_keeps_exactly_the_headers_the_limiter_reads() -> None:
    headers = {"X-RateLimit-Remaining-Requests": "0", "anthropic-ratelimit-tokens-reset": "5",
               "RateLimit-Remaining": "3", "retry-after-ms": "1500", "x-request-id": "abc",
               "content-type": "text/event-stream"}
    kept = ratelimit_json(headers)
    assert kept is not None
    assert set(__import__("json").loads(kept)) == {k.lower() for k in headers if is_ratelimit_header(k.lower())}
    assert "x-request-id" not in kept and "content-type" not in kept
