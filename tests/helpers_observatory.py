"""Shared helpers for the observatory tests: records and PromQL metric-name extraction."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from typing import Any

from lens.record import ChunkTiming, RequestRecord

ROOT = __import__("pathlib").Path(__file__).resolve().parents[1]


def make_record(i: int = 0, **kw: Any) -> RequestRecord:
    """A plausible finished streaming request; override any field with kw."""
    base: dict[str, Any] = dict(
        run_id="run-1",
        request_id=f"req-{i}",
        started_at=datetime(2026, 11, 27, 12, 0, 0, 123456, tzinfo=UTC),
        region="us-east-1",
        target="openai/gpt-4o",
        provider="openai",
        dialect="openai_chat",
        model="gpt-4o",
        endpoint_host="api.openai.com:443",
        scenario="chat",
        prompt_id="p0",
        queue_ms=2.0,
        dns_ms=1.5,
        connect_ms=10.0,
        sent_ms=12.0,
        headers_ms=150.0,
        ttft_ms=180.0,
        last_token_ms=780.0,
        e2e_ms=800.0,
        n_chunks=4,
        tpot_ms=20.0,
        input_tokens=1000,
        cached_input_tokens=200,
        output_tokens=31,
        reasoning_tokens=5,
        status="ok",
        http_status=200,
        server_request_id=f"sim-{i}",
    )
    base.update(kw)
    return RequestRecord(**base)


def make_chunks(request_id: str, times_ms: list[float], kind: str = "text") -> list[ChunkTiming]:
    return [ChunkTiming(request_id, i, t, kind, 1) for i, t in enumerate(times_ms)]


_KEYWORDS = {
    "by", "without", "on", "ignoring", "group_left", "group_right", "and", "or", "unless",
    "offset", "bool", "inf", "nan",
}  # fmt: skip


def promql_metric_names(expr: str) -> set[str]:
    """Metric (or recording rule) names an expression selects.

    Strips strings, label matchers, range/subquery brackets, grouping clauses and
    Grafana variables; what is left that is an identifier not called as a function and
    not a keyword is a metric name.
    """
    s = re.sub(r'"(?:[^"\\]|\\.)*"', '""', expr)
    s = re.sub(r"\$\{?\w+\}?", "", s)
    s = re.sub(r"\{[^}]*\}", " ", s)
    s = re.sub(r"\[[^\]]*\]", " ", s)
    s = re.sub(r"\b(by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)", " ", s)
    names = set()
    s = re.sub(r"\boffset\s+-?[0-9smhdwy]+", " ", s)
    for m in re.finditer(r"(?<![\w.])[A-Za-z_:][A-Za-z0-9_:]*", s):
        tok = m.group(0)
        rest = s[m.end() :].lstrip()
        if rest.startswith("(") or tok.lower() in _KEYWORDS:
            continue
        names.add(tok)
    return names


def exposition_names(text: str) -> set[str]:
    """Sample names in a Prometheus text exposition (with _bucket/_sum/_count/_total)."""
    out = set()
    for line in text.splitlines():
        if line and not line.startswith("#"):
            out.add(re.split(r"[{ ]", line, maxsplit=1)[0])
    return out


def scraped_names() -> set[str]:
    """Names the real exporter emits, scraped over HTTP after feeding varied records."""
    import urllib.request
    from decimal import Decimal

    from lens.exporters.prometheus import PrometheusSink

    def pricer(r: RequestRecord) -> Decimal | None:
        return None if r.model == "unpriced" else Decimal("0.001")

    with PrometheusSink(pricer=pricer) as sink:
        port = sink.serve(0)
        sink.add(make_record(1), make_chunks("req-1", [180.0, 200.0, 230.0]))
        sink.add(make_record(2, model="unpriced", status="rate_limited", http_status=429), [])
        sink.set_budget_ratio("day", 0.5)
        sink.set_budget_ratio("burst", 0.2)
        url = f"http://127.0.0.1:{port}/metrics"
        text = urllib.request.urlopen(url, timeout=5).read().decode()
    return exposition_names(text)
