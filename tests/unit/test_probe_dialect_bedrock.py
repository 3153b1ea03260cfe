"""Bedrock ConverseStream dialect: SigV4 request, event-stream framing, events, errors."""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
from urllib.parse import quote, urlsplit

import pytest
from helpers_probe_dialects import (
    SPLITS,
    bedrock_stream,
    encode_frame,
    frame_all,
    run_stream,
)

from lens.errors import AwsError
from lens.probe.dialects import get_dialect
from lens.probe.dialects.base import RawEvent
from lens.record import Usage
from lens.spec import TargetSpec

botocore_credentials = pytest.importorskip("botocore.credentials")

AK, SK, TOKEN = (
    "AKIDEXAMPLE",
    "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY",
    "FQoGZXIvYXdzE-session-token",
)
MODEL = "anthropic.claude-3-5-sonnet-20240620-v1:0"


def creds() -> object:
    return botocore_credentials.Credentials(AK, SK, TOKEN)


EXPECTED_KINDS = [
    "other",
    "reasoning",
    "other",
    "other",
    "text",
    "other",
    "text",
    "other",
    "other",
    "usage",
    "done",
]
EXPECTED_USAGE = Usage(
    input_tokens=21 + 2048,
    cached_input_tokens=2048,
    cache_write_tokens=0,
    output_tokens=48,
    server_latency_ms=812.0,
)


@pytest.mark.parametrize("split", SPLITS)
def test_reasoning_stream(split: str) -> None:
    d = get_dialect("bedrock", credentials=creds())
    events, s = run_stream(d, bedrock_stream("bedrock_reasoning.json"), split, seed=41)
    assert [e.event for e in events] == [
        "messageStart",
        "contentBlockDelta",
        "contentBlockDelta",
        "contentBlockStop",
        "contentBlockDelta",
        "contentBlockDelta",
        "contentBlockDelta",
        "contentBlockStop",
        "messageStop",
        "metadata",
    ]
    assert events[0].headers is not None and events[0].headers[":message-type"] == "event"
    assert s.kinds == EXPECTED_KINDS
    assert s.reasoning == "The user greets me."
    assert s.text == "Hello, world — ünïcode"
    assert s.usage == EXPECTED_USAGE
    assert s.finish_reasons == ["end_turn"]
    assert s.done and s.errors == []


def test_split_at_every_byte_position() -> None:
    data = bedrock_stream("bedrock_reasoning.json")
    d = get_dialect("bedrock", credentials=creds())
    want = [(e.event, e.data) for e in frame_all(d.new_framer(), [data])]
    assert len(want) == 10
    for k in range(1, len(data)):
        got = frame_all(d.new_framer(), [data[:k], data[k:]])
        assert [(e.event, e.data) for e in got] == want, k


def test_frame_is_returned_by_the_read_that_completes_it() -> None:
    data = bedrock_stream("bedrock_reasoning.json")
    framer = get_dialect("bedrock", credentials=creds()).new_framer()
    first_len = int.from_bytes(data[:4], "big")
    assert framer.feed(data[: first_len - 1]) == []
    (ev,) = framer.feed(data[first_len - 1 : first_len])
    assert ev.event == "messageStart"


@pytest.mark.parametrize("split", SPLITS)
def test_throttling_exception_frame(split: str) -> None:
    d = get_dialect("bedrock", credentials=creds())
    events, s = run_stream(d, bedrock_stream("bedrock_throttled.json"), split, seed=42)
    assert events[-1].event == "throttlingException"
    assert s.kinds == ["other", "text", "error"]
    assert s.text == "Par"
    assert s.errors == [
        ("rate_limited", "throttlingException: Too many tokens, please wait before trying again.")
    ]
    assert not s.done


@pytest.mark.parametrize(
    ("exc", "status"),
    [
        ("modelStreamErrorException", "stream_error"),
        ("internalServerException", "stream_error"),
        ("serviceUnavailableException", "overloaded"),
        ("validationException", "stream_error"),
    ],
)
def test_exception_statuses(exc: str, status: str) -> None:
    d = get_dialect("bedrock", credentials=creds())
    frame = encode_frame(
        {":exception-type": exc, ":content-type": "application/json", ":message-type": "exception"},
        b'{"message":"boom"}',
    )
    (ev,) = frame_all(d.new_framer(), [frame])
    (delta,) = d.parse(ev)
    assert (delta.kind, delta.error_status, delta.error) == ("error", status, f"{exc}: boom")


def test_error_message_type_with_headers() -> None:
    d = get_dialect("bedrock", credentials=creds())
    frame = encode_frame(
        {
            ":message-type": "error",
            ":error-code": "InternalFailure",
            ":error-message": "Something broke",
        },
        b"",
    )
    (ev,) = frame_all(d.new_framer(), [frame])
    (delta,) = d.parse(ev)
    assert (delta.kind, delta.error_status, delta.error) == (
        "error",
        "stream_error",
        "InternalFailure: Something broke",
    )


def test_corrupt_frame_is_one_stream_error_then_ignored() -> None:
    data = bytearray(bedrock_stream("bedrock_reasoning.json"))
    first_len = int.from_bytes(data[:4], "big")
    data[first_len + 20] ^= 0xFF  # flip a byte inside the second frame
    d = get_dialect("bedrock", credentials=creds())
    framer = d.new_framer()
    events = framer.feed(bytes(data[: first_len + 200])) + framer.feed(
        bytes(data[first_len + 200 :])
    )
    assert [e.event for e in events] == ["messageStart", "framingError"]
    (delta,) = d.parse(events[1])
    assert delta.kind == "error" and delta.error_status == "stream_error"
    assert "ChecksumMismatch" in (delta.error or "")


def test_malformed_payload_json_is_stream_error() -> None:
    d = get_dialect("bedrock", credentials=creds())
    (x,) = d.parse(RawEvent("{bad", "contentBlockDelta", None, {":message-type": "event"}))
    assert (x.kind, x.error_status) == ("error", "stream_error")


def _verify_sigv4(url: str, headers: dict[str, str], body: bytes, region: str) -> None:
    """Independent SigV4 check (AWS docs algorithm; non-S3 services double-encode the path)."""
    auth = headers["Authorization"]
    assert auth.startswith("AWS4-HMAC-SHA256 ")
    fields = dict(p.strip().split("=", 1) for p in auth[len("AWS4-HMAC-SHA256 ") :].split(","))
    amz_date = headers["X-Amz-Date"]
    scope = f"{amz_date[:8]}/{region}/bedrock/aws4_request"
    assert fields["Credential"] == f"{AK}/{scope}"
    signed = fields["SignedHeaders"].split(";")
    assert {"host", "x-amz-date", "x-amz-security-token", "content-type"} <= set(signed)
    lower = {k.lower(): v for k, v in headers.items()}
    parts = urlsplit(url)
    lower["host"] = parts.netloc
    canonical = "\n".join(
        [
            "POST",
            quote(parts.path, safe="/~"),
            parts.query,
            "".join(f"{h}:{lower[h].strip()}\n" for h in signed),
            ";".join(signed),
            hashlib.sha256(body).hexdigest(),
        ]
    )
    to_sign = "\n".join(
        ["AWS4-HMAC-SHA256", amz_date, scope, hashlib.sha256(canonical.encode()).hexdigest()]
    )
    key = ("AWS4" + SK).encode()
    for part in (amz_date[:8], region, "bedrock", "aws4_request"):
        key = hmac.new(key, part.encode(), hashlib.sha256).digest()
    assert fields["Signature"] == hmac.new(key, to_sign.encode(), hashlib.sha256).hexdigest()


def test_build_request_is_sigv4_signed() -> None:
    t = TargetSpec(
        provider="bedrock",
        model=MODEL,
        aws_region="eu-west-1",
        extra_body={
            "additionalModelRequestFields": {"thinking": {"type": "enabled", "budget_tokens": 1024}}
        },
    )
    d = get_dialect("bedrock", credentials=creds())
    req = d.build_request(t, "hello", max_tokens=512, temperature=0.5, api_key=None)
    assert req.url == (
        "https://bedrock-runtime.eu-west-1.amazonaws.com/model/"
        "anthropic.claude-3-5-sonnet-20240620-v1%3A0/converse-stream"
    )
    assert json.loads(req.body) == {
        "messages": [{"role": "user", "content": [{"text": "hello"}]}],
        "inferenceConfig": {"maxTokens": 512, "temperature": 0.5},
        "additionalModelRequestFields": {"thinking": {"type": "enabled", "budget_tokens": 1024}},
    }
    assert req.headers["X-Amz-Security-Token"] == TOKEN
    assert req.secret_headers == frozenset({"Authorization", "X-Amz-Security-Token"})
    _verify_sigv4(req.url, req.headers, req.body, "eu-west-1")
    blob = req.url + json.dumps(
        {k: v for k, v in req.headers.items() if k not in req.secret_headers}
    )
    assert SK not in blob and TOKEN not in blob and SK.encode() not in req.body


def test_url_matches_boto3_client_for_the_same_model() -> None:
    boto3 = pytest.importorskip("boto3")
    client = boto3.client(
        "bedrock-runtime",
        region_name="us-west-2",
        aws_access_key_id=AK,
        aws_secret_access_key=SK,
        aws_session_token=TOKEN,
    )
    seen: dict[str, str] = {}

    class Stop(Exception):
        pass

    def capture(request: object, **_: object) -> None:
        seen["url"] = request.url  # type: ignore[attr-defined]
        raise Stop

    client.meta.events.register("before-send.bedrock-runtime.ConverseStream", capture)
    with pytest.raises(Stop):
        client.converse_stream(
            modelId=MODEL, messages=[{"role": "user", "content": [{"text": "x"}]}]
        )
    t = TargetSpec(provider="bedrock", model=MODEL, aws_region="us-west-2")
    req = get_dialect("bedrock", credentials=creds()).build_request(
        t, "x", max_tokens=8, temperature=None, api_key=None
    )
    assert req.url == seen["url"]


def test_sim_base_url_region_and_session_resolution() -> None:
    class FakeSession:
        region_name = "ap-south-1"
        calls = 0

        def get_credentials(self) -> object:
            FakeSession.calls += 1
            return creds()

    t = TargetSpec(
        provider="bedrock", model="sim.model-v1:0", base_url="http://127.0.0.1:4567/p/eu"
    )
    d = get_dialect("bedrock", session=FakeSession())
    req = d.build_request(t, "x", max_tokens=8, temperature=None, api_key=None)
    assert req.url == "http://127.0.0.1:4567/p/eu/model/sim.model-v1%3A0/converse-stream"
    _verify_sigv4(req.url, req.headers, req.body, "ap-south-1")
    d.build_request(t, "y", max_tokens=8, temperature=None, api_key=None)
    assert FakeSession.calls == 1  # resolved once, then reused
    # explicit region wins over the session's
    req = get_dialect("bedrock", credentials=creds(), region="us-east-2").build_request(
        t, "x", max_tokens=8, temperature=None, api_key=None
    )
    _verify_sigv4(req.url, req.headers, req.body, "us-east-2")


def test_no_credentials_is_a_clear_error() -> None:
    class Empty:
        region_name = None

        def get_credentials(self) -> None:
            return None

    t = TargetSpec(provider="bedrock", model=MODEL)
    with pytest.raises(AwsError, match="no AWS credentials"):
        get_dialect("bedrock", session=Empty()).build_request(
            t, "x", max_tokens=8, temperature=None, api_key=None
        )


def test_signing_keeps_the_session_token_out_of_debug_logs(caplog: pytest.LogCaptureFixture) -> None:
    t = TargetSpec(provider="bedrock", model=MODEL, aws_region="us-east-1")
    d = get_dialect("bedrock", credentials=creds())
    with caplog.at_level(logging.DEBUG):
        logging.getLogger("botocore").setLevel(logging.DEBUG)
        d.build_request(t, "hello", max_tokens=8, temperature=None, api_key=None)
    assert TOKEN not in caplog.text and SK not in caplog.text
    assert logging.getLogger("botocore.auth").level != logging.WARNING  # restored afterwards
