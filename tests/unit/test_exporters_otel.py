"""OtelSink: one span per request with record times, phase events, gen_ai attributes, OTLP."""

from __future__ import annotations

import threading
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, HTTPServer

import pytest
from helpers_observatory import make_record
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import SpanKind, StatusCode

from lens.errors import ConfigError
from lens.exporters.otel import OtelSink, epoch_ns, traces_url

T0 = datetime(2026, 11, 27, 12, 0, 0, 123456, tzinfo=UTC)
T0_NS = 1_795_780_800_123_456_000  # 2026-11-27T12:00:00.123456Z


def memory_sink() -> tuple[OtelSink, InMemorySpanExporter]:
    exporter = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    return OtelSink(tracer_provider=provider), exporter


def test_epoch_ns_is_exact() -> None:
    assert epoch_ns(T0) == T0_NS
    assert epoch_ns(T0.replace(tzinfo=None)) == T0_NS


def test_span_times_events_and_attributes() -> None:
    sink, exp = memory_sink()
    sink.add(make_record(1, started_at=T0), [])
    (span,) = exp.get_finished_spans()
    assert span.name == "chat gpt-4o"
    assert span.kind is SpanKind.CLIENT
    assert span.start_time == T0_NS
    assert span.end_time == T0_NS + 800_000_000
    events = {e.name: e.timestamp - T0_NS for e in span.events}
    assert events == {
        "dns": 1_500_000,
        "connect": 11_500_000,  # dns 1.5 ms + connect 10 ms
        "sent": 12_000_000,
        "ttfb": 150_000_000,
        "first_token": 180_000_000,
        "last_token": 780_000_000,
    }
    assert [e.name for e in span.events] == [
        "dns",
        "connect",
        "sent",
        "ttfb",
        "first_token",
        "last_token",
    ]
    a = span.attributes
    assert a["gen_ai.system"] == "openai"
    assert a["gen_ai.operation.name"] == "chat"
    assert a["gen_ai.request.model"] == "gpt-4o"
    assert a["gen_ai.usage.input_tokens"] == 1000
    assert a["gen_ai.usage.output_tokens"] == 31
    assert a["server.address"] == "api.openai.com" and a["server.port"] == 443
    assert a["http.response.status_code"] == 200
    assert a["lens.ttft_ms"] == 180.0 and a["lens.run_id"] == "run-1"
    assert a["lens.status"] == "ok" and "error.type" not in a
    assert span.status.status_code is StatusCode.OK
    assert sink.n_spans == 1


def test_failed_request_span_has_error_status() -> None:
    sink, exp = memory_sink()
    rec = make_record(2, started_at=T0, provider="anthropic", model="claude-x", status="timeout",
                      http_status=None, ttft_ms=None, last_token_ms=None, e2e_ms=None,
                      error="no first token within 60s", headers_ms=150.0)  # fmt: skip
    sink.add(rec, [])
    (span,) = exp.get_finished_spans()
    assert span.status.status_code is StatusCode.ERROR
    assert span.status.description == "timeout: no first token within 60s"
    assert span.attributes["error.type"] == "timeout"
    assert span.attributes["gen_ai.system"] == "anthropic"
    # no e2e: the span ends at the last phase it reached
    assert span.end_time == T0_NS + 150_000_000


def test_needs_endpoint_or_provider_and_valid_url() -> None:
    with pytest.raises(ConfigError, match="endpoint"):
        OtelSink()
    with pytest.raises(ConfigError, match="scheme"):
        OtelSink("localhost:4318")
    assert traces_url("http://c:4318") == "http://c:4318/v1/traces"
    assert traces_url("http://c:4318/custom/path") == "http://c:4318/custom/path"


class _Collector(BaseHTTPRequestHandler):
    received: list[tuple[str, bytes]] = []

    def do_POST(self) -> None:
        n = int(self.headers.get("Content-Length", 0))
        _Collector.received.append((self.path, self.rfile.read(n)))
        self.send_response(200)
        self.send_header("Content-Type", "application/x-protobuf")
        self.end_headers()

    def log_message(self, *args: object) -> None:
        pass


def test_exports_over_otlp_http_to_a_collector() -> None:
    server = HTTPServer(("127.0.0.1", 0), _Collector)
    t = threading.Thread(target=server.serve_forever, daemon=True)
    t.start()
    try:
        sink = OtelSink(f"http://127.0.0.1:{server.server_port}", service_name="lens-test")
        for i in range(3):
            sink.add(make_record(i, started_at=T0), [])
        sink.close()
    finally:
        server.shutdown()
        server.server_close()
    spans = []
    for path, body in _Collector.received:
        assert path == "/v1/traces"
        req = ExportTraceServiceRequest.FromString(body)
        for rs in req.resource_spans:
            res = {kv.key: kv.value.string_value for kv in rs.resource.attributes}
            assert res["service.name"] == "lens-test"
            for ss in rs.scope_spans:
                spans.extend(ss.spans)
    assert len(spans) == 3
    s = spans[0]
    assert s.start_time_unix_nano == T0_NS and s.end_time_unix_nano == T0_NS + 800_000_000
    attrs = {kv.key: kv.value for kv in s.attributes}
    assert attrs["gen_ai.request.model"].string_value == "gpt-4o"
    assert attrs["gen_ai.usage.input_tokens"].int_value == 1000
    assert [e.name for e in s.events][:2] == ["dns", "connect"]
