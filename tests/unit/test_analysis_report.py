from __future__ import annotations

import re
from datetime import timedelta

import pandas as pd
from helpers_analysis import T0, make_records

from lens.analysis.frames import records_to_frame
from lens.analysis.report import build_report, render_html


def test_scheduled_runs_get_a_time_series_with_change_points() -> None:
    recs = []
    for day in range(8):
        recs += make_records(60, run_id=f"d{day}", seed=day, start=T0 + timedelta(days=day),
                             ttft_scale=2.0 if day >= 4 else 1.0)
    recs += make_records(20, run_id="sim-run", seed=99, provider="vllm", model="private-small",
                         target="sim", start=T0 + timedelta(days=8))
    rep = build_report(records_to_frame(recs), title="nightly <runs>")
    assert "ttft_over_time" in rep.charts
    cps = dict(rep.tables)["Change points in p95 TTFT per run"]
    assert len(cps) == 1 and cps["index"].iloc[0] == 4
    assert cps["time"].iloc[0] == pd.Timestamp(T0 + timedelta(days=4))
    assert rep.section("cost") is not None
    # unpriced, by name, with the fix for a self-hosted endpoint
    cost = rep.section("cost")
    assert cost is not None and any(
        "vllm/private-small (self-hosted: add a [[gpu_hour]] price) (20 rows)" in b.text
        for b in cost.blocks if hasattr(b, "text"))
    # the summary names the change point and when it happened
    assert any("p95 TTFT rose" in v and f"{T0 + timedelta(days=4):%Y-%m-%d}" in v
               for v in rep.verdicts)
    html = render_html(rep)
    assert "<title>nightly &lt;runs&gt;</title>" in html  # escaped
    assert not re.search(r"<script[^>]+src=", html)
    # every chart spec is embedded as JSON that a closing tag cannot break out of
    specs = re.findall(r"<script type='application/json' id='spec-\d+'>(.*?)</script>", html,
                       re.S)
    assert len(specs) == len(rep.charts)
    assert all("</" not in s for s in specs)
