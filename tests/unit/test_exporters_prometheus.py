"""PrometheusSink: metrics, bounded labels, /metrics serving and Pushgateway push."""

from __future__ import annotations

import threading
import urllib.request
from decimal import Decimal
from http.server import BaseHTTPRequestHandler, HTTPServer
from pathlib import Path

import pytest
from helpers_observatory import exposition_names, make_chunks, make_record
from prometheus_client.parser import text_string_to_metric_families

from lens.errors import ConfigError, LensError
from lens.exporters.prometheus import OVERFLOW_VALUE, PrometheusSink, metric_names, pricer_for


def samples(sink: PrometheusSink) -> dict[tuple[str, frozenset[tuple[str, str]]], float]:
    out = {}
    for fam in text_string_to_metric_families(sink.exposition().decode()):
        for s in fam.samples:
            out[(s.name, frozenset(s.labels.items()))] = s.value
    return out


LAB = {"provider": "openai", "model": "gpt-4o", "region": "us-east-1", "scenario": "chat",
       "target": "openai/gpt-4o"}


def value(sink: PrometheusSink, name: str, **labels: str) -> float:
    """Sum of samples named ``name`` whose labels include ``labels``."""
    want = set(labels.items())
    return sum(v for (n, ls), v in samples(sink).items() if n == name and want <= set(ls))


def test_histograms_counters_and_itl_from_chunks() -> None:
    sink = PrometheusSink(pricer=lambda r: Decimal("0.0125"))
    rec = make_record(1)
    sink.add(rec, make_chunks(rec.request_id, [180.0, 200.0, 230.0, 780.0]))
    lab = dict(provider="openai", model="gpt-4o", region="us-east-1", scenario="chat",
               target="openai/gpt-4o")  # fmt: skip
    assert value(sink, "lens_ttft_seconds_count", **lab) == 1
    assert value(sink, "lens_ttft_seconds_sum", **lab) == pytest.approx(0.18)
    # 0.18 s falls in (0.15, 0.2]
    assert value(sink, "lens_ttft_seconds_bucket", le="0.15", **lab) == 0
    assert value(sink, "lens_ttft_seconds_bucket", le="0.2", **lab) == 1
    assert value(sink, "lens_e2e_seconds_sum", **lab) == pytest.approx(0.8)
    assert value(sink, "lens_tpot_seconds_sum", **lab) == pytest.approx(0.02)
    # three gaps: 20 ms, 30 ms, 550 ms
    assert value(sink, "lens_itl_seconds_count", **lab) == 3
    assert value(sink, "lens_itl_seconds_sum", **lab) == pytest.approx(0.6)
    assert value(sink, "lens_queue_seconds_sum", **lab) == pytest.approx(0.002)
    assert value(sink, "lens_requests_total", status="ok", **lab) == 1
    assert value(sink, "lens_tokens_total", kind="input", **lab) == 1000
    assert value(sink, "lens_tokens_total", kind="output", **lab) == 31
    assert value(sink, "lens_tokens_total", kind="reasoning", **lab) == 5
    assert value(sink, "lens_tokens_total", kind="cached", **lab) == 200
    assert value(sink, "lens_cost_usd_total", **lab) == pytest.approx(0.0125)


def test_failed_and_warmup_requests() -> None:
    sink = PrometheusSink(pricer=None)
    sink.add(make_record(1, status="rate_limited", http_status=429, ttft_ms=None, tpot_ms=None,
                         e2e_ms=40.0, input_tokens=None, output_tokens=None), [])  # fmt: skip
    sink.add(make_record(2, warmup=True), make_chunks("req-2", [1.0, 2.0]))
    assert value(sink, "lens_requests_total", status="rate_limited") == 1
    assert value(sink, "lens_requests_total", status="ok") == 1
    # failed request: e2e observed, no TTFT; warm-up: counted, tokens counted, no latency
    assert value(sink, "lens_ttft_seconds_count") == 0
    assert value(sink, "lens_e2e_seconds_count") == 1
    assert value(sink, "lens_itl_seconds_count") == 0
    assert value(sink, "lens_tokens_total", kind="output") == 31
    assert value(sink, "lens_cost_usd_total") == 0


def test_default_pricer_uses_genai_prices_and_counts_unpriced() -> None:
    sink = PrometheusSink()
    sink.add(make_record(1, cached_input_tokens=0, reasoning_tokens=0), [])
    sink.add(make_record(2, model="no-such-model-xyz", provider="openai_compat",
                         target="local"), [])  # fmt: skip
    sink.add(make_record(3, provider="sim", model="sim-fast", target="sim"), [])
    # gpt-4o: $2.5 / MTok in, $10 / MTok out
    expect = 1000 * 2.5e-6 + 31 * 10e-6
    assert value(sink, "lens_cost_usd_total", target="openai/gpt-4o") == pytest.approx(expect)
    assert value(sink, "lens_unpriced_requests_total", target="local") == 1
    assert value(sink, "lens_cost_usd_total", target="sim") == 0
    assert value(sink, "lens_unpriced_requests_total", target="sim") == 0
    # self-hosted without a GPU-hour price: unpriced, as in reports and budgets (not $0)
    sink.add(make_record(4, provider="vllm", model="llama", target="local-vllm"), [])
    assert value(sink, "lens_unpriced_requests_total", target="local-vllm") == 1
    assert ("lens_cost_usd_total", frozenset({**LAB, "target": "local-vllm",
                                               "provider": "vllm", "model": "llama"}.items())) \
        not in samples(sink)
    # refused before generation: billed nothing, which is a price ($0), not unpriced
    sink.add(make_record(5, status="rate_limited", input_tokens=None, output_tokens=None,
                         target="refused"), [])
    assert value(sink, "lens_cost_usd_total", target="refused") == 0
    assert value(sink, "lens_unpriced_requests_total", target="refused") == 0
    assert ("lens_cost_usd_total", frozenset({**LAB, "target": "refused"}.items())) \
        in samples(sink)


def test_price_overrides_reach_the_cost_counter(tmp_path: Path) -> None:
    prices = tmp_path / "p.toml"
    prices.write_text('[[model]]\nmodel = "sim-*"\nprovider = "sim"\ninput_mtok = 1\n'
                      'output_mtok = 2\n[[gpu_hour]]\nmodel = "llama"\nprovider = "vllm"\n'
                      'usd_per_gpu_hour = 36\n')
    sink = PrometheusSink(pricer=pricer_for(prices))
    sink.add(make_record(1, provider="sim", model="sim-fast", target="sim"), [])
    sink.add(make_record(2, provider="vllm", model="llama", target="gpu", e2e_ms=500.0,
                         concurrency=2, input_tokens=None, output_tokens=None), [])
    # 1000 in x $1/M (cached input has no own price) + 31 out x $2/M
    assert value(sink, "lens_cost_usd_total", target="sim") == pytest.approx(0.001062)
    # $36/h x 0.5 s / 2 in flight, priced without token counts
    assert value(sink, "lens_cost_usd_total", target="gpu") == pytest.approx(0.0025)
    assert value(sink, "lens_unpriced_requests_total") == 0


def test_label_values_are_bounded() -> None:
    sink = PrometheusSink(max_label_values=3, pricer=None)
    for i in range(10):
        sink.add(make_record(i, scenario=f"s{i}"), [])
    scen = {dict(ls).get("scenario") for (n, ls) in samples(sink) if n == "lens_requests_total"}
    assert scen == {"s0", "s1", "s2", OVERFLOW_VALUE}
    assert value(sink, "lens_requests_total", scenario=OVERFLOW_VALUE) == 7
    assert sink.labels.overflowed["scenario"] == 7
    # a value seen before the cap keeps its own series
    sink.add(make_record(99, scenario="s1"), [])
    assert value(sink, "lens_requests_total", scenario="s1") == 2
    with pytest.raises(ConfigError):
        PrometheusSink(max_label_values=0)


def test_emitted_names_match_the_catalogue() -> None:
    sink = PrometheusSink(pricer=lambda r: Decimal("0.001"))
    sink.add(make_record(1), make_chunks("req-1", [1.0, 2.0]))
    sink.add(make_record(2, model="m2"), [])
    sink.set_budget_ratio("day", 0.5)
    names = exposition_names(sink.exposition().decode())
    for base, kind in metric_names().items():
        if base == "lens_unpriced_requests_total":
            continue  # needs an unpriced request; covered above
        if kind == "histogram":
            assert {f"{base}_bucket", f"{base}_sum", f"{base}_count"} <= names
        else:
            assert base in names


def test_two_sinks_do_not_share_a_registry() -> None:
    a, b = PrometheusSink(pricer=None), PrometheusSink(pricer=None)
    a.add(make_record(1), [])
    assert value(a, "lens_requests_total") == 1
    assert value(b, "lens_requests_total") == 0


def test_serve_exposes_metrics_over_http() -> None:
    with PrometheusSink(pricer=None) as sink:
        port = sink.serve(0)
        assert port > 0 and sink.port == port
        sink.add(make_record(1), [])
        body = urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=5).read().decode()
        assert 'lens_requests_total{model="gpt-4o"' in body
        with pytest.raises(ConfigError):
            sink.serve(0)
        taken = PrometheusSink(pricer=None)
        with pytest.raises(ConfigError, match="cannot serve metrics"):
            taken.serve(port)
    assert sink.port is None


class _Gateway(BaseHTTPRequestHandler):
    received: list[tuple[str, str, bytes]] = []

    def do_PUT(self) -> None:
        n = int(self.headers.get("Content-Length", 0))
        _Gateway.received.append(("PUT", self.path, self.rfile.read(n)))
        self.send_response(200)
        self.end_headers()

    def log_message(self, *args: object) -> None:
        pass


def test_push_to_pushgateway() -> None:
    server = HTTPServer(("127.0.0.1", 0), _Gateway)
    t = threading.Thread(target=server.serve_forever, daemon=True)
    t.start()
    try:
        sink = PrometheusSink(pricer=None)
        sink.add(make_record(1), [])
        sink.push(f"http://127.0.0.1:{server.server_port}", job="lens-ci",
                  grouping_key={"region": "us-east-1"})  # fmt: skip
        method, path, body = _Gateway.received[-1]
        assert method == "PUT"
        assert path == "/metrics/job/lens-ci/region/us-east-1"
        assert b"lens_requests_total" in body
    finally:
        server.shutdown()
        server.server_close()
    with pytest.raises(LensError, match="Pushgateway"):
        sink.push(f"http://127.0.0.1:{server.server_port}", job="x", timeout=2)
