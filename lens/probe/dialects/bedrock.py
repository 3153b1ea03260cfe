"""AWS Bedrock ConverseStream (``POST {base_url}/model/{modelId}/converse-stream``).

The request is signed with SigV4 (service ``bedrock``) by botocore; the response is the
binary AWS event stream (``application/vnd.amazon.eventstream``), decoded incrementally
with botocore's ``EventStreamBuffer`` and framed per message, so each frame is timed like
an SSE event. Events (``:event-type`` header, JSON payload of the event's members):
``messageStart``, ``contentBlockStart``, ``contentBlockDelta`` (``delta.text`` is answer
text, ``delta.reasoningContent.text`` reasoning), ``contentBlockStop``, ``messageStop``
(``stopReason``) and ``metadata`` (``usage``, ``metrics.latencyMs``), which always follows
``messageStop`` and is therefore the terminal event. Errors arrive as frames with
``:message-type: exception`` and ``:exception-type`` (``throttlingException``,
``modelStreamErrorException``, ...), or ``:message-type: error`` with ``:error-code``.

This module imports botocore, so it is only loaded for the bedrock dialect (aws extra).
Credentials are passed in (``credentials=``) or resolved from a session passed in
(``session=``, botocore or boto3); only when neither is given is a default botocore
session created, lazily, at the first request.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any
from urllib.parse import quote, urlsplit

from lens.errors import AwsError, require
from lens.probe.dialects._common import (
    JSON,
    encode_body,
    error_delta,
    guarded,
    join_url,
    loads,
    merge_body,
    not_object,
    role_messages,
)
from lens.probe.dialects.base import HttpRequest, RawEvent
from lens.record import Delta, Usage

if TYPE_CHECKING:
    from lens.spec import TargetSpec
    from lens.workload.conversation import PromptInput

EVENTSTREAM = "application/vnd.amazon.eventstream"
SERVICE = "bedrock"
_SECRET_HEADERS = frozenset({"Authorization", "X-Amz-Security-Token"})
_FRAMING_ERROR = "framingError"


def region_from_url(url: str) -> str | None:
    """``https://bedrock-runtime.eu-west-1.amazonaws.com`` -> ``eu-west-1``."""
    host = urlsplit(url).hostname or ""
    parts = host.split(".")
    if len(parts) >= 4 and parts[0].startswith("bedrock-runtime") and parts[2] == "amazonaws":
        return parts[1]
    return None


class EventStreamFramer:
    """Framer for AWS event-stream bodies: one RawEvent per complete message.

    ``event`` is the ``:event-type`` (or ``:exception-type`` / ``:error-code``), ``data``
    the payload text and ``headers`` the message headers as strings. A corrupt frame (CRC
    mismatch, absurd lengths) yields one ``framingError`` event, after which the rest of
    the stream is ignored: frame boundaries can no longer be trusted.
    """

    __slots__ = ("_broken", "_buf", "frames")

    def __init__(self) -> None:
        eventstream = require("botocore.eventstream", "aws")
        self._buf = eventstream.EventStreamBuffer()
        self._broken = False
        self.frames = 0

    def feed(self, data: bytes) -> list[RawEvent]:
        """Consume bytes (any split) and return the messages completed by them."""
        if self._broken or not data:
            return []
        self._buf.add_data(data)
        out: list[RawEvent] = []
        try:
            for msg in self._buf:
                out.append(_to_raw(msg.headers, msg.payload))
        except Exception as exc:  # botocore ParserError subclasses: the stream is unusable
            self._broken = True
            out.append(
                RawEvent(
                    f"corrupt event-stream frame: {type(exc).__name__}: {exc}",
                    _FRAMING_ERROR,
                    None,
                    {":message-type": "error", ":error-code": _FRAMING_ERROR},
                )
            )
        self.frames += len(out)
        return out

    def close(self) -> list[RawEvent]:
        """A partial binary frame is not an event; the missing terminal event tells the
        engine the stream was truncated."""
        return []


def _to_raw(headers: dict[str, Any], payload: bytes) -> RawEvent:
    hs = {k: v if isinstance(v, str) else str(v) for k, v in headers.items()}
    mtype = hs.get(":message-type", "event")
    if mtype == "event":
        name = hs.get(":event-type")
    elif mtype == "exception":
        name = hs.get(":exception-type")
    else:
        name = hs.get(":error-code") or "error"
        if not payload and ":error-message" in hs:
            payload = hs[":error-message"].encode()
    return RawEvent(payload.decode("utf-8", "replace"), name, None, hs)


class BedrockDialect:
    """Bedrock ConverseStream, SigV4-signed with botocore."""

    name = "bedrock"

    def __init__(
        self,
        *,
        credentials: Any = None,
        region: str | None = None,
        session: Any = None,
    ) -> None:
        """``credentials``: botocore Credentials (or anything with ``access_key``,
        ``secret_key``, ``token``); ``session``: a botocore or boto3 session to resolve
        credentials (and region) from; ``region`` overrides the target's region."""
        self._credentials = credentials
        self._session = session
        self._region = region

    def _resolve_credentials(self) -> Any:
        creds = self._credentials
        if creds is None:
            session = self._session
            if session is None:
                session = require("botocore.session", "aws").get_session()
                self._session = session
            creds = session.get_credentials()
            if creds is None:
                raise AwsError(
                    "no AWS credentials found for the bedrock target",
                    hint="configure credentials (AWS_PROFILE, AWS_ACCESS_KEY_ID/"
                    "AWS_SECRET_ACCESS_KEY, or an instance role), or pass credentials=/session=",
                )
            self._credentials = creds
        frozen = getattr(creds, "get_frozen_credentials", None)
        return frozen() if frozen is not None else creds

    def region_for(self, target: TargetSpec) -> str:
        """Signing region: explicit, target.aws_region, the endpoint host, the session,
        else us-east-1."""
        if self._region:
            return self._region
        if target.aws_region:
            return target.aws_region
        found = region_from_url(target.resolved_base_url)
        if found:
            return found
        session = self._session
        if session is not None:
            name = getattr(session, "region_name", None)
            if name is None and hasattr(session, "get_config_variable"):
                name = session.get_config_variable("region")
            if name:
                return str(name)
        return "us-east-1"

    def build_request(
        self,
        target: TargetSpec,
        prompt: PromptInput,
        *,
        max_tokens: int,
        temperature: float | None,
        api_key: str | None,
        stream: bool = True,
    ) -> HttpRequest:
        """Signed POST /model/{modelId}/converse-stream (``api_key`` is unused: SigV4)."""
        inference: dict[str, Any] = {"maxTokens": max_tokens}
        if temperature is not None:
            inference["temperature"] = temperature
        body: dict[str, Any] = {
            "messages": [{"role": r, "content": [{"text": t}]} for r, t in role_messages(prompt)],
            "inferenceConfig": inference,
        }
        merge_body(body, target.extra_body)
        payload = encode_body(body)
        op = "converse-stream" if stream else "converse"
        url = join_url(target.resolved_base_url, f"/model/{quote(target.model, safe='')}/{op}")
        headers = {"Content-Type": JSON, "Accept": EVENTSTREAM if stream else JSON}
        headers.update(target.headers)
        auth = require("botocore.auth", "aws")
        awsrequest = require("botocore.awsrequest", "aws")
        req = awsrequest.AWSRequest(method="POST", url=url, data=payload, headers=headers)
        signer = auth.SigV4Auth(self._resolve_credentials(), SERVICE, self.region_for(target))
        # botocore.auth logs the canonical request (with the session token) at DEBUG:
        # keep secrets out of logs even when a user turns botocore debug logging on.
        with _quiet(logging.getLogger("botocore.auth")):
            signer.add_auth(req)
        signed = {k: v for k, v in req.headers.items()}
        secret = frozenset(k for k in signed if k in _SECRET_HEADERS)
        return HttpRequest("POST", url, signed, payload, secret)

    def new_framer(self) -> EventStreamFramer:
        return EventStreamFramer()

    @guarded
    def parse(self, event: RawEvent) -> list[Delta]:
        headers = event.headers or {}
        mtype = headers.get(":message-type", "event")
        if mtype != "event":
            return [_exception(event)]
        obj, bad = loads(event.data) if event.data else ({}, None)
        if bad is not None:
            return [bad]
        if not isinstance(obj, dict):
            return [not_object(obj)]
        kind = event.event
        if kind == "contentBlockDelta":
            delta = obj.get("delta") or {}
            text = delta.get("text")
            if text and isinstance(text, str):
                return [Delta("text", text=text)]
            rc = delta.get("reasoningContent")
            if rc and isinstance(rc.get("text"), str) and rc["text"]:
                return [Delta("reasoning", text=rc["text"])]
            return [Delta("other")]  # signature, redactedContent, toolUse
        if kind == "metadata":
            out: list[Delta] = []
            u = obj.get("usage") or {}
            latency = (obj.get("metrics") or {}).get("latencyMs")
            if u or latency is not None:
                out.append(Delta("usage", usage=_usage(u, latency)))
            out.append(Delta("done"))
            return out
        if kind == "messageStop":
            return [Delta("other", finish_reason=obj.get("stopReason"))]
        return [Delta("other")]  # messageStart, contentBlockStart/Stop


def _usage(u: dict[str, Any], latency: Any) -> Usage:
    inp = u.get("inputTokens")
    read = u.get("cacheReadInputTokens")
    write = u.get("cacheWriteInputTokens")
    if inp is not None:
        # Converse's inputTokens excludes cache reads/writes; report the whole prompt.
        inp += (read or 0) + (write or 0)
        # The cache fields are only sent when the request used prompt caching: without one,
        # nothing was read from a cache.
        read = 0 if read is None else read
    return Usage(
        input_tokens=inp,
        cached_input_tokens=read,
        cache_write_tokens=write,
        output_tokens=u.get("outputTokens"),
        server_latency_ms=None if latency is None else float(latency),
    )


def _exception(event: RawEvent) -> Delta:
    name = event.event or "exception"
    message: Any = event.data
    obj, bad = loads(event.data) if event.data.startswith("{") else (None, True)
    if bad is None and isinstance(obj, dict):
        message = obj.get("message") or obj.get("Message") or event.data
    d = error_delta({"type": name, "message": message or name})
    if name == "serviceUnavailableException":
        d.error_status = "overloaded"
    return d


class _quiet:
    """Raise a logger to WARNING for the duration of a block."""

    def __init__(self, logger: logging.Logger) -> None:
        self.logger = logger
        self.level = logger.level

    def __enter__(self) -> None:
        self.logger.setLevel(logging.WARNING)

    def __exit__(self, *exc: object) -> None:
        self.logger.setLevel(self.level)
