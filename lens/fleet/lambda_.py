"""Invoke the runner on AWS Lambda: one boto3 client per region, synchronous invokes.

Clients come from the boto3 session passed in (or are passed in ready-made, e.g. pointed at
moto); they are built once per region and shared by the fan-out's threads (boto3 clients
are thread-safe). Failures are classified into :data:`lens.fleet.invoker.REASONS` so the
fan-out reports "eu-west-1: throttled" and keeps the other regions' rows.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Mapping
from typing import Any

from lens.errors import require
from lens.fleet.config import FleetConfig
from lens.fleet.invoker import InvokeError, parse_response
from lens.fleet.runner.wire import RunnerResponse
from lens.record import ChunkTiming, RequestRecord

_THROTTLED = {"TooManyRequestsException", "ThrottlingException", "Throttling", "EC2ThrottledException"}
_NOT_FOUND = {"ResourceNotFoundException", "ResourceNotFound"}
_CREDENTIALS = {
    "UnrecognizedClientException",
    "InvalidClientTokenId",
    "ExpiredTokenException",
    "ExpiredToken",
    "AccessDeniedException",
    "AccessDenied",
    "InvalidSignatureException",
    "SignatureDoesNotMatch",
    "AuthFailure",
}


def classify(exc: BaseException) -> InvokeError:
    """Turn a botocore exception into an InvokeError with a reason and a fix."""
    import botocore.exceptions as bex

    if isinstance(exc, InvokeError):
        return exc
    if isinstance(exc, (bex.NoCredentialsError, bex.PartialCredentialsError)):
        return InvokeError("credentials", "no AWS credentials", hint="configure AWS credentials or use the local fleet")
    if isinstance(exc, (bex.ReadTimeoutError, bex.ConnectTimeoutError)):
        return InvokeError("timeout", f"no response in time ({exc})", hint="raise the client read timeout or lower the burst")
    if isinstance(exc, bex.EndpointConnectionError):
        return InvokeError("network", str(exc), hint="check the region name and network access")
    if isinstance(exc, bex.ClientError):
        code = exc.response.get("Error", {}).get("Code", "")
        msg = exc.response.get("Error", {}).get("Message", "") or str(exc)
        if code in _THROTTLED:
            return InvokeError("throttled", f"{code}: {msg}", hint="lower shards or raise the function's concurrency")
        if code in _NOT_FOUND:
            return InvokeError("not_found", f"{code}: {msg}", hint="deploy the runner in this region (terraform apply)")
        if code in _CREDENTIALS:
            return InvokeError("credentials", f"{code}: {msg}", hint="check the AWS credentials and lambda:InvokeFunction")
        return InvokeError("error", f"{code}: {msg}")
    return InvokeError("error", f"{type(exc).__name__}: {exc}")


class LambdaInvoker:
    """Invoker for deployed runners.

    ``functions`` maps region -> function name/ARN (or comes from ``config``); ``clients``
    maps region -> a ready Lambda client (tests pass moto clients); otherwise clients are
    built from ``boto3_session`` (``boto3.Session()`` if none), one per region.
    """

    def __init__(
        self,
        config: FleetConfig | None = None,
        *,
        functions: Mapping[str, str] | None = None,
        boto3_session: Any | None = None,
        clients: Mapping[str, Any] | None = None,
        s3_clients: Mapping[str, Any] | None = None,
        read_timeout_s: float = 900.0,
    ) -> None:
        self.config = config
        self._functions = dict(functions or {})
        self._session = boto3_session
        self._clients: dict[str, Any] = dict(clients or {})
        self._s3: dict[str, Any] = dict(s3_clients or {})
        self._read_timeout_s = read_timeout_s
        self._lock = threading.Lock()

    def function(self, region: str) -> str:
        if region in self._functions:
            return self._functions[region]
        if self.config is not None:
            return self.config.region(region).function
        raise InvokeError("not_found", f"no runner function is configured for {region}",
                          hint="pass functions={region: name} or write the fleet config")

    def _session_or_default(self) -> Any:
        if self._session is None:
            boto3 = require("boto3", "aws")
            self._session = boto3.Session()
        return self._session

    def client(self, region: str) -> Any:
        """The region's Lambda client (created once, on first use)."""
        with self._lock:
            if region not in self._clients:
                from botocore.config import Config

                cfg = Config(
                    region_name=region,
                    read_timeout=self._read_timeout_s + 60,  # the burst itself may run 15 min
                    connect_timeout=10,
                    retries={"max_attempts": 2, "mode": "standard"},
                    tcp_keepalive=True,
                )
                self._clients[region] = self._session_or_default().client("lambda", config=cfg)
            return self._clients[region]

    def s3_client(self, region: str) -> Any:
        with self._lock:
            if region not in self._s3:
                self._s3[region] = self._session_or_default().client("s3", region_name=region)
            return self._s3[region]

    def invoke(self, region: str, payload: Mapping[str, Any]) -> RunnerResponse:
        """Invoke the runner synchronously (RequestResponse) and return its response."""
        try:
            resp = self.client(region).invoke(
                FunctionName=self.function(region),
                InvocationType="RequestResponse",
                Payload=json.dumps(payload).encode("utf-8"),
            )
            body = resp["Payload"].read()
        except Exception as exc:
            raise classify(exc) from None
        try:
            data = json.loads(body or b"null")
        except json.JSONDecodeError:
            raise InvokeError("function_error", f"response is not JSON: {body[:200]!r}") from None
        if resp.get("FunctionError"):
            msg = data.get("errorMessage", "") if isinstance(data, dict) else str(data)
            kind = data.get("errorType", "") if isinstance(data, dict) else ""
            if "timed out" in msg.lower():
                raise InvokeError("timeout", msg, hint="raise the function timeout or lower load.requests")
            raise InvokeError("function_error", f"{kind}: {msg}".strip(": "))
        return parse_response(data)

    def fetch_rows(
        self, region: str, response: RunnerResponse
    ) -> tuple[list[RequestRecord], list[ChunkTiming]]:
        """Inline rows, or the shard's Parquet objects read back from S3."""
        inline = response.inline_rows()
        if inline is not None:
            return inline
        from lens.store.s3 import read_shard

        if not response.bucket or not response.s3_keys:
            return [], []
        return read_shard(
            self.s3_client(region), response.bucket, response.s3_keys,
            run_id=str(response.run_id), region=str(response.region),
        )
