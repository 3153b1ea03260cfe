"""OpenTelemetry traces: one CLIENT span per request, its phases as span events.

The span starts at the record's ``started_at`` and ends ``e2e_ms`` later; phase events sit
at ``started_at`` + their millisecond offsets (dns, connect, sent, ttfb, first_reasoning,
first_token, last_token), all converted to ns since the epoch. Attributes follow the GenAI
semantic conventions where they exist (``gen_ai.system``, ``gen_ai.operation.name``,
``gen_ai.request.model``, ``gen_ai.usage.input_tokens``/``output_tokens``, ``server.address``,
``http.response.status_code``, ``error.type``) and carry the rest of the row as ``lens.*``.

Spans are exported by OTLP/HTTP when an endpoint is given, or through a TracerProvider the
caller passes in (their own pipeline). The OpenTelemetry packages are the extra ``otel``
and are imported only when an OtelSink is created.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from lens.errors import ConfigError, require
from lens.record import ChunkTiming, RequestRecord

if TYPE_CHECKING:
    from opentelemetry.sdk.trace import TracerProvider

SCOPE = "lens.exporters.otel"
# lens provider -> gen_ai.system well-known value (semantic conventions).
GEN_AI_SYSTEM = {
    "openai": "openai",
    "openai_responses": "openai",
    "anthropic": "anthropic",
    "gemini": "gcp.gemini",
    "bedrock": "aws.bedrock",
    "azure": "az.ai.openai",
    "groq": "groq",
}
# lens.* attributes copied from the record when not None.
_LENS_ATTRS: tuple[str, ...] = (
    "run_id", "request_id", "region", "runner", "target", "provider", "dialect", "scenario",
    "prompt_id", "warmup", "shard", "server_request_id", "concurrency", "scheduled_ms",
    "queue_ms", "conn_reused", "dns_ms", "connect_ms", "sent_ms", "headers_ms",
    "first_reasoning_ms", "ttft_ms", "last_token_ms", "e2e_ms", "n_chunks", "itl_mean_ms",
    "itl_p50_ms", "itl_p99_ms", "itl_max_ms", "tpot_ms", "tokens_per_chunk",
    "output_tokens_per_s", "cached_input_tokens", "reasoning_tokens", "tokens_estimated",
    "status", "retry_after_s", "server_latency_ms",
)  # fmt: skip


_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def epoch_ns(ts: datetime) -> int:
    """ns since the Unix epoch, exact to the microsecond (naive datetimes are UTC)."""
    ts = ts if ts.tzinfo else ts.replace(tzinfo=UTC)
    return (ts - _EPOCH) // timedelta(microseconds=1) * 1000


def _ns(started_ns: int, ms: float) -> int:
    return started_ns + round(ms * 1_000_000)


def phase_events(record: RequestRecord) -> list[tuple[str, float]]:
    """(event name, ms from start) for each phase the record has, in time order."""
    ev: list[tuple[str, float]] = []
    if record.dns_ms is not None:
        ev.append(("dns", record.dns_ms))
    if record.connect_ms is not None:
        # connect_ms is a duration following DNS; the event marks when the connection was up.
        ev.append(("connect", (record.dns_ms or 0.0) + record.connect_ms))
    for name, ms in (
        ("sent", record.sent_ms),
        ("ttfb", record.headers_ms),
        ("first_reasoning", record.first_reasoning_ms),
        ("first_token", record.ttft_ms),
        ("last_token", record.last_token_ms),
    ):
        if ms is not None:
            ev.append((name, ms))
    ev.sort(key=lambda e: e[1])
    return ev


def span_attributes(record: RequestRecord) -> dict[str, Any]:
    """Span attributes: gen_ai.* semantic conventions plus ``lens.<column>``."""
    attrs: dict[str, Any] = {
        "gen_ai.operation.name": "chat",
        "gen_ai.system": GEN_AI_SYSTEM.get(record.provider, record.provider or "unknown"),
        "gen_ai.request.model": record.model,
    }
    if record.input_tokens is not None:
        attrs["gen_ai.usage.input_tokens"] = record.input_tokens
    if record.output_tokens is not None:
        attrs["gen_ai.usage.output_tokens"] = record.output_tokens
    if record.server_request_id:
        attrs["gen_ai.response.id"] = record.server_request_id
    if record.endpoint_host:
        host, _, port = record.endpoint_host.rpartition(":")
        if host and port.isdigit():
            attrs["server.address"], attrs["server.port"] = host, int(port)
        else:
            attrs["server.address"] = record.endpoint_host
    if record.http_status is not None:
        attrs["http.response.status_code"] = record.http_status
    if record.status != "ok":
        attrs["error.type"] = record.status
    for name in _LENS_ATTRS:
        v = getattr(record, name)
        if v is not None:
            attrs[f"lens.{name}"] = v
    return attrs


def traces_url(endpoint: str) -> str:
    """OTLP/HTTP traces URL: a bare collector base URL gets ``/v1/traces`` appended."""
    parts = urlsplit(endpoint)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise ConfigError(
            f"OTLP endpoint {endpoint!r} needs a scheme and host",
            source="--otlp",
            hint="e.g. http://localhost:4318 (OTLP/HTTP)",
        )
    return endpoint if parts.path.rstrip("/") else endpoint.rstrip("/") + "/v1/traces"


class OtelSink:
    """A RecordSink emitting one span per finished request.

    Give ``endpoint`` (an OTLP/HTTP collector, e.g. ``http://localhost:4318``) to export
    there with a BatchSpanProcessor, or ``tracer_provider`` to use your own pipeline.
    ``close()`` flushes and, for a provider this sink created, shuts it down.
    """

    def __init__(
        self,
        endpoint: str | None = None,
        *,
        tracer_provider: TracerProvider | None = None,
        service_name: str = "llm-latency-lens",
        headers: Mapping[str, str] | None = None,
        timeout_s: float = 10.0,
    ) -> None:
        trace = require("opentelemetry.trace", "otel")
        self._own = tracer_provider is None
        if tracer_provider is None:
            if endpoint is None:
                raise ConfigError(
                    "OtelSink needs an OTLP endpoint or a tracer_provider",
                    source="--otlp",
                    hint="pass --otlp http://HOST:4318",
                )
            sdk_trace = require("opentelemetry.sdk.trace", "otel")
            export = require("opentelemetry.sdk.trace.export", "otel")
            resources = require("opentelemetry.sdk.resources", "otel")
            otlp = require("opentelemetry.exporter.otlp.proto.http.trace_exporter", "otel")
            tracer_provider = sdk_trace.TracerProvider(
                resource=resources.Resource.create({"service.name": service_name})
            )
            exporter = otlp.OTLPSpanExporter(
                endpoint=traces_url(endpoint), headers=dict(headers or {}), timeout=timeout_s
            )
            tracer_provider.add_span_processor(export.BatchSpanProcessor(exporter))
        self.provider = tracer_provider
        self._tracer = tracer_provider.get_tracer(SCOPE)
        self._trace = trace
        self.n_spans = 0

    def add(self, record: RequestRecord, chunks: Sequence[ChunkTiming]) -> None:
        """Emit the request's span (start/end/events taken from the record, not from now)."""
        t = self._trace
        start_ns = epoch_ns(record.started_at)
        end_ms = record.e2e_ms
        if end_ms is None:
            end_ms = max((ms for _, ms in phase_events(record)), default=0.0)
        span = self._tracer.start_span(
            f"chat {record.model}",
            kind=t.SpanKind.CLIENT,
            attributes=span_attributes(record),
            start_time=start_ns,
        )
        for name, ms in phase_events(record):
            span.add_event(name, {"lens.t_ms": ms}, timestamp=_ns(start_ns, ms))
        if record.status == "ok":
            span.set_status(t.Status(t.StatusCode.OK))
        else:
            desc = record.status if not record.error else f"{record.status}: {record.error[:200]}"
            span.set_status(t.Status(t.StatusCode.ERROR, desc))
        span.end(end_time=_ns(start_ns, end_ms))
        self.n_spans += 1

    def flush(self, timeout_ms: int = 10_000) -> bool:
        """Export buffered spans now; False when the exporter did not finish in time."""
        fn = getattr(self.provider, "force_flush", None)
        return bool(fn(timeout_ms)) if fn is not None else True

    def close(self) -> None:
        """Flush; shut down the provider if this sink created it."""
        self.flush()
        if self._own:
            self.provider.shutdown()
