"""Prometheus metrics for bursts: latency histograms and request/token/cost counters.

``PrometheusSink`` is a RecordSink: the engine hands it every finished request, it updates
metrics in its *own* CollectorRegistry (never the process-global one, so several sinks and
tests never collide), and exposes them by ``serve(port)`` (/metrics over HTTP while a burst
or a repeat loop runs) or ``push(gateway_url, job)`` (Pushgateway, for runners and CI jobs).

Label sets are bounded: each label keeps at most ``max_label_values`` distinct values and
maps later newcomers to ``"other"``, so a spec with a thousand scenario names cannot blow
up a Prometheus server's series count.

Warm-up requests are counted in the counters (they cost tokens and money) but not observed
in the latency histograms, which follow the summaries' rule of excluding warm-up.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Sequence
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from lens.analysis.pricing import Prices, price_book
from lens.errors import ConfigError, LensError, require
from lens.record import ChunkTiming, RequestRecord

if TYPE_CHECKING:
    from prometheus_client import CollectorRegistry

log = logging.getLogger(__name__)

NAMESPACE = "lens"
LABELS: tuple[str, ...] = ("provider", "model", "region", "scenario", "target")
TOKEN_KINDS: tuple[str, ...] = ("input", "output", "reasoning", "cached")
OVERFLOW_VALUE = "other"
DEFAULT_MAX_LABEL_VALUES = 50

# Seconds. TTFT of hosted LLMs spans ~50 ms (small prompts, warm) to tens of seconds
# (reasoning models, long prompts), so the buckets are denser below 1 s.
TTFT_BUCKETS: tuple[float, ...] = (
    0.01, 0.025, 0.05, 0.075, 0.1, 0.15, 0.2, 0.3, 0.4, 0.5, 0.75,
    1.0, 1.5, 2.0, 3.0, 5.0, 7.5, 10.0, 15.0, 20.0, 30.0, 60.0,
)  # fmt: skip
# Per-token gaps: ~1 ms (fast local models) to ~0.5 s (stalls).
TOKEN_BUCKETS: tuple[float, ...] = (
    0.001, 0.0025, 0.005, 0.0075, 0.01, 0.015, 0.02, 0.025, 0.03, 0.04, 0.05,
    0.075, 0.1, 0.15, 0.2, 0.3, 0.5, 1.0, 2.5,
)  # fmt: skip
E2E_BUCKETS: tuple[float, ...] = (
    0.1, 0.25, 0.5, 0.75, 1.0, 1.5, 2.0, 3.0, 5.0, 7.5, 10.0, 15.0, 20.0, 30.0,
    45.0, 60.0, 90.0, 120.0, 180.0, 300.0,
)  # fmt: skip
QUEUE_BUCKETS: tuple[float, ...] = (
    0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0,
)  # fmt: skip

_TOKEN_EVENT_KINDS = frozenset({"text", "reasoning"})

Pricer = Callable[[RequestRecord], Decimal | None]


def metric_names() -> dict[str, str]:
    """Base metric name -> Prometheus type, as this exporter emits them (no suffixes)."""
    return {
        f"{NAMESPACE}_ttft_seconds": "histogram",
        f"{NAMESPACE}_tpot_seconds": "histogram",
        f"{NAMESPACE}_itl_seconds": "histogram",
        f"{NAMESPACE}_e2e_seconds": "histogram",
        f"{NAMESPACE}_queue_seconds": "histogram",
        f"{NAMESPACE}_requests_total": "counter",
        f"{NAMESPACE}_tokens_total": "counter",
        f"{NAMESPACE}_cost_usd_total": "counter",
        f"{NAMESPACE}_unpriced_requests_total": "counter",
        f"{NAMESPACE}_budget_used_ratio": "gauge",
    }


class BoundedLabels:
    """Keeps at most ``cap`` distinct values per label; newcomers beyond it become "other".

    Thread-safe: ``add`` runs on the event loop while the HTTP server thread scrapes.
    """

    def __init__(self, names: Sequence[str], cap: int) -> None:
        if cap < 1:
            raise ConfigError(f"max_label_values must be >= 1, got {cap}", field="max_label_values")
        self.cap = cap
        self._seen: dict[str, set[str]] = {n: set() for n in names}
        self.overflowed: dict[str, int] = dict.fromkeys(names, 0)
        self._lock = threading.Lock()

    def value(self, name: str, raw: object) -> str:
        v = str(raw or "").strip()[:120] or "unknown"
        with self._lock:
            seen = self._seen[name]
            if v in seen:
                return v
            # "other" is reserved for the overflow bucket and never counts against the cap.
            if v != OVERFLOW_VALUE and len(seen) < self.cap:
                seen.add(v)
                return v
            self.overflowed[name] += 1
            return OVERFLOW_VALUE

    def values(self, record: RequestRecord) -> dict[str, str]:
        return {n: self.value(n, getattr(record, n)) for n in self._seen}


def default_pricer(record: RequestRecord) -> Decimal | None:
    """Price one request under lens.analysis.pricing's one rule (genai-prices, no price
    overrides); None when it cannot be priced."""
    return price_book().usd(record)


def pricer_for(prices: Prices) -> Pricer:
    """A pricer under the same rule honouring price overrides (a price file path,
    PriceOverrides or PriceBook), e.g. ``PrometheusSink(pricer=pricer_for("prices.toml"))``."""
    return price_book(prices).warm().usd


class PrometheusSink:
    """A RecordSink that turns finished requests into Prometheus metrics.

    ``pricer`` prices a record for ``lens_cost_usd_total`` (default: lens.analysis.pricing,
    the rule reports and budgets use; ``pricer_for(prices)`` adds price overrides; ``None``
    disables cost). A record the pricer returns None for counts in
    ``lens_unpriced_requests_total``. Use ``serve`` to expose
    /metrics, ``push`` to send to a Pushgateway, and ``close`` to stop the server.
    """

    def __init__(
        self,
        *,
        max_label_values: int = DEFAULT_MAX_LABEL_VALUES,
        pricer: Pricer | None = default_pricer,
        registry: CollectorRegistry | None = None,
    ) -> None:
        pc = require("prometheus_client", "prometheus")
        self.registry: CollectorRegistry = registry or pc.CollectorRegistry(auto_describe=True)
        self.labels = BoundedLabels(LABELS, max_label_values)
        self._pricer = pricer
        if pricer is default_pricer:
            price_book().warm()  # genai-prices loads in ~1 s: now, not on the event loop
        self._server: Any = None
        self._thread: threading.Thread | None = None
        ns, reg = NAMESPACE, self.registry

        def hist(name: str, doc: str, buckets: tuple[float, ...]) -> Any:
            return pc.Histogram(name, doc, LABELS, namespace=ns, registry=reg, buckets=buckets)

        self.ttft = hist("ttft_seconds", "Time to first answer token (TTFT).", TTFT_BUCKETS)
        self.tpot = hist(
            "tpot_seconds", "Time per output token after the first (TPOT).", TOKEN_BUCKETS
        )
        self.itl = hist(
            "itl_seconds", "Gap between successive token-bearing stream events.", TOKEN_BUCKETS
        )
        self.e2e = hist("e2e_seconds", "Request end-to-end time.", E2E_BUCKETS)
        self.queue = hist(
            "queue_seconds", "Client-side wait before send (pool, rate limiter).", QUEUE_BUCKETS
        )
        self.requests = pc.Counter(
            "requests", "Finished requests by outcome status.", (*LABELS, "status"),
            namespace=ns, registry=reg,
        )  # fmt: skip
        self.tokens = pc.Counter(
            "tokens", "Tokens by kind (input, output, reasoning, cached input).", (*LABELS, "kind"),
            namespace=ns, registry=reg,
        )  # fmt: skip
        self.cost = pc.Counter(
            "cost_usd", "Cost of finished requests in USD (genai-prices, price overrides).", LABELS,
            namespace=ns, registry=reg,
        )  # fmt: skip
        self.unpriced = pc.Counter(
            "unpriced_requests", "Requests that could not be priced (no known price or usage).", LABELS,
            namespace=ns, registry=reg,
        )  # fmt: skip
        self.budget_ratio = pc.Gauge(
            "budget_used_ratio", "Share of a budget used (spent + estimate) / limit.", ("budget",),
            namespace=ns, registry=reg,
        )  # fmt: skip

    # -- RecordSink ------------------------------------------------------------------------

    def add(self, record: RequestRecord, chunks: Sequence[ChunkTiming]) -> None:
        """Update metrics with one finished request (called from the event loop; cheap)."""
        lv = self.labels.values(record)
        status = record.status if record.status else "unknown"
        self.requests.labels(**lv, status=status).inc()
        for kind, n in (
            ("input", record.input_tokens),
            ("output", record.output_tokens),
            ("reasoning", record.reasoning_tokens),
            ("cached", record.cached_input_tokens),
        ):
            if n:
                self.tokens.labels(**lv, kind=kind).inc(n)
        self._add_cost(record, lv)
        if record.warmup:
            return
        self.queue.labels(**lv).observe(max(record.queue_ms, 0.0) / 1000.0)
        for hist, ms in (
            (self.ttft, record.ttft_ms),
            (self.tpot, record.tpot_ms),
            (self.e2e, record.e2e_ms),
        ):
            if ms is not None:
                hist.labels(**lv).observe(ms / 1000.0)
        itl = self.itl.labels(**lv)
        prev: float | None = None
        for c in sorted((c for c in chunks if c.kind in _TOKEN_EVENT_KINDS), key=lambda c: c.index):
            if prev is not None:
                itl.observe(max(c.t_ms - prev, 0.0) / 1000.0)
            prev = c.t_ms

    def _add_cost(self, record: RequestRecord, lv: dict[str, str]) -> None:
        if self._pricer is None:
            return
        try:
            usd = self._pricer(record)
        except LensError as exc:  # a broken price file must not stop a burst
            log.warning("cannot price %s/%s: %s", record.provider, record.model, exc)
            usd = None
        if usd is None:
            self.unpriced.labels(**lv).inc()
        else:
            self.cost.labels(**lv).inc(float(usd))

    def set_budget_ratio(self, budget: str, ratio: float) -> None:
        """Publish ``lens_budget_used_ratio{budget=...}`` (called by lens.burst.budget)."""
        self.budget_ratio.labels(budget=budget).set(ratio)

    # -- exposition ------------------------------------------------------------------------

    def exposition(self) -> bytes:
        """The text exposition format of this sink's registry (what /metrics returns)."""
        from prometheus_client import generate_latest

        return generate_latest(self.registry)

    def serve(self, port: int, addr: str = "127.0.0.1") -> int:
        """Serve /metrics on ``addr:port`` in a daemon thread; returns the bound port.

        ``port=0`` picks a free port. Use ``addr="0.0.0.0"`` to let another host scrape.
        """
        from prometheus_client import start_http_server

        if self._server is not None:
            raise ConfigError("this PrometheusSink is already serving", hint="call serve() once")
        try:
            self._server, self._thread = start_http_server(port, addr, registry=self.registry)
        except OSError as exc:
            raise ConfigError(
                f"cannot serve metrics on {addr}:{port}: {exc.strerror or exc}",
                source="--prometheus",
                hint="choose a free port (or 0 for any free port)",
            ) from None
        return int(self._server.server_port)

    @property
    def port(self) -> int | None:
        """Bound port while serving, else None."""
        return None if self._server is None else int(self._server.server_port)

    def push(
        self, gateway_url: str, job: str, *, grouping_key: dict[str, str] | None = None,
        timeout: float = 10.0,
    ) -> None:  # fmt: skip
        """PUT this registry to a Pushgateway (replaces the job/grouping key's metrics)."""
        from prometheus_client import push_to_gateway

        try:
            push_to_gateway(
                gateway_url, job=job, registry=self.registry, grouping_key=grouping_key,
                timeout=timeout,
            )  # fmt: skip
        except OSError as exc:  # URLError is an OSError
            raise LensError(
                f"cannot push metrics to Pushgateway {gateway_url!r}: {exc}",
                hint="check --pushgateway (e.g. http://pushgateway:9091) and that it is reachable",
            ) from None

    def close(self) -> None:
        """Stop the /metrics server if one runs. Metrics stay readable via exposition()."""
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            if self._thread is not None:
                self._thread.join(timeout=5)
            self._server = self._thread = None

    def __enter__(self) -> PrometheusSink:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
