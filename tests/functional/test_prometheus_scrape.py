"""A real Prometheus server scrapes a running `lens run --prometheus` and answers PromQL.

Ground truth: the TTFTs the same process stored in SQLite. The histogram_quantile that
Prometheus computes from the scraped buckets must fall in the bucket that holds the
records' own quantile, and _count/_sum must match the records exactly. Every dashboard and
alert-rule expression is also run through Prometheus's own PromQL parser.
"""

from __future__ import annotations

import json
import math
import re
import shutil
import socket
import subprocess
import sys
import time
import urllib.parse
import urllib.request
from pathlib import Path
from typing import Any

import pytest
import yaml
from helpers_observatory import ROOT

from lens.exporters.prometheus import TTFT_BUCKETS

pytestmark = pytest.mark.slow
N = 20  # requests per burst


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def wait_for(what: str, fn: Any, timeout: float = 30.0, every: float = 0.25) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        v = fn()
        if v:
            return v
        time.sleep(every)
    raise AssertionError(f"timed out waiting for {what}")


def query(base: str, expr: str) -> dict[str, Any]:
    url = f"{base}/api/v1/query?" + urllib.parse.urlencode({"query": expr})
    try:
        with urllib.request.urlopen(url, timeout=5) as r:
            return json.loads(r.read())
    except urllib.error.HTTPError as e:  # 400 carries the PromQL error
        return json.loads(e.read())


def scalar(base: str, expr: str) -> float | None:
    res = query(base, expr)
    data = res.get("data", {}).get("result", [])
    return float(data[0]["value"][1]) if data else None


def bucket_of(v: float) -> tuple[float, float]:
    lo = 0.0
    for b in TTFT_BUCKETS:
        if v <= b:
            return lo, b
        lo = b
    return lo, math.inf


@pytest.fixture
def lens_and_prometheus(tmp_path: Path) -> Any:
    prom = shutil.which("prometheus")
    if prom is None:
        pytest.fail("prometheus not found: run `make sysdeps` (Debian package prometheus)")
    lens = Path(sys.executable).parent / "lens"
    err = (tmp_path / "lens.err").open("w")
    # --interval 30 keeps the process (and /metrics) up, idle, after the first burst.
    lens_proc = subprocess.Popen(
        [str(lens), "run", "--provider", "sim", "--model", "sim-1", "--requests", str(N),
         "--concurrency", "4", "--prometheus", "0", "--repeat", "2", "--interval", "30",
         "--db", str(tmp_path / "lens.db"), "--json"],
        stdout=subprocess.DEVNULL, stderr=err, cwd=tmp_path,
    )  # fmt: skip
    procs = [lens_proc]
    try:
        pat = re.compile(r"serving Prometheus metrics on http://127\.0\.0\.1:(\d+)/metrics")

        def metrics_port() -> int | None:
            if lens_proc.poll() is not None:
                raise AssertionError("lens run exited: " + (tmp_path / "lens.err").read_text())
            m = pat.search((tmp_path / "lens.err").read_text())
            return int(m.group(1)) if m else None

        port = wait_for("lens run to serve /metrics", metrics_port)
        config = {
            "global": {"scrape_interval": "1s", "evaluation_interval": "1s"},
            "scrape_configs": [
                {"job_name": "lens", "static_configs": [{"targets": [f"127.0.0.1:{port}"]}]}
            ],
        }
        (tmp_path / "prometheus.yml").write_text(yaml.safe_dump(config))
        web = free_port()
        prom_proc = subprocess.Popen(
            [prom, f"--config.file={tmp_path / 'prometheus.yml'}",
             f"--storage.tsdb.path={tmp_path / 'data'}", f"--web.listen-address=127.0.0.1:{web}",
             "--log.level=warn"],
            stdout=subprocess.DEVNULL, stderr=(tmp_path / "prom.err").open("w"), cwd=tmp_path,
        )  # fmt: skip
        procs.append(prom_proc)
        base = f"http://127.0.0.1:{web}"

        def ready() -> bool:
            if prom_proc.poll() is not None:
                raise AssertionError("prometheus exited: " + (tmp_path / "prom.err").read_text())
            try:
                return urllib.request.urlopen(f"{base}/-/ready", timeout=2).status == 200
            except OSError:
                return False

        wait_for("Prometheus to be ready", ready)
        yield base, tmp_path / "lens.db"
    finally:
        for p in reversed(procs):
            p.terminate()
        for p in procs:
            try:
                p.wait(timeout=10)
            except subprocess.TimeoutExpired:
                p.kill()
                p.wait()
        err.close()


def test_histogram_quantile_read_back_matches_records(lens_and_prometheus: Any) -> None:
    base, db = lens_and_prometheus
    # The first burst's N requests scraped (the process then idles until the next burst).
    wait_for(
        "the first burst to be scraped",
        lambda: scalar(base, 'sum(lens_ttft_seconds_count{job="lens"})') == N,
        timeout=45,
    )
    from lens.analysis.frames import load

    df = load(db=str(db))
    assert len(df) == N and (df["status"] == "ok").all()
    ttft_s = sorted(df["ttft_ms"].astype(float) / 1000.0)

    assert scalar(base, 'sum(lens_requests_total{job="lens",status="ok"})') == N
    got_sum = scalar(base, 'sum(lens_ttft_seconds_sum{job="lens"})')
    assert got_sum == pytest.approx(sum(ttft_s), rel=1e-9)
    for q in (0.5, 0.9, 0.99):
        est = scalar(base, f"histogram_quantile({q}, sum by (le) (lens_ttft_seconds_bucket))")
        assert est is not None
        # Prometheus interpolates inside the bucket holding the rank-th observation.
        lo, hi = bucket_of(ttft_s[math.ceil(q * N) - 1])
        assert lo <= est <= hi, f"p{q * 100:g}: {est} not in ({lo}, {hi}] of the records"
        # and the bucket resolution around the sim's TTFT is 25 ms
        assert abs(est - ttft_s[math.ceil(q * N) - 1]) <= 0.025 + 1e-9
    # every dashboard and alert expression is valid PromQL for a real Prometheus
    for expr in _all_exprs():
        res = query(base, expr)
        assert res["status"] == "success", f"{expr}: {res.get('error')}"
    # the dashboards' rate()-based latency panels return this target's series once the
    # window holds a few scrapes
    wait_for(
        "three scrapes",
        lambda: (
            (scalar(base, 'count_over_time(lens_ttft_seconds_count{job="lens"}[1m])') or 0) >= 3
        ),
    )
    p95 = _dashboard_expr("latency", "TTFT quantiles", 1)
    res = query(base, p95)["data"]["result"]
    assert [r["metric"]["target"] for r in res] == ["sim/sim-1"]


def _substitute(expr: str) -> str:
    expr = expr.replace("$__rate_interval", "1m").replace("$__range", "5m")
    return re.sub(r"\$\{?\w+\}?", ".*", expr)


def _dashboard_expr(name: str, title: str, index: int) -> str:
    d = json.loads((ROOT / "observatory" / "grafana" / f"{name}.json").read_text())
    panel = next(p for p in d["panels"] if p["title"] == title)
    return _substitute(panel["targets"][index]["expr"])


def _all_exprs() -> list[str]:
    out = []
    for f in sorted((ROOT / "observatory" / "grafana").glob("*.json")):
        d = json.loads(f.read_text())
        out += [_substitute(t["expr"]) for p in d["panels"] for t in p.get("targets", [])]
    rules = yaml.safe_load((ROOT / "observatory" / "alerts" / "lens-rules.yml").read_text())
    out += [r["expr"] for g in rules["groups"] for r in g["rules"]]
    return out
