"""What changed at a change point or between two runs: fingerprint, model, routing."""

from __future__ import annotations

import json
from datetime import timedelta

import pandas as pd
from helpers_analysis import T0, make_records

from lens.analysis import changepoints
from lens.analysis.frames import records_to_frame
from lens.analysis.whatchanged import annotate_changepoints, describe, what_changed


def _runs(days: int, change_at: int, *, fp: tuple[str, str] = ("fp_a", "fp_b"),
          pop: tuple[str, str] = ("SJC", "SJC"), scale: float = 2.0) -> pd.DataFrame:
    recs = []
    for day in range(days):
        after = day >= change_at
        rs = make_records(40, run_id=f"d{day}", seed=day, start=T0 + timedelta(days=day),
                          ttft_scale=scale if after else 1.0)
        for r in rs:
            r.system_fingerprint = fp[after]
            r.server_model = "gpt-4o-2024-08-06"
            r.routing = json.dumps({"cf-ray": pop[after], "server": "cloudflare"})
        recs += rs
    return records_to_frame(recs)


def test_change_point_is_annotated_with_the_fingerprint_switch() -> None:
    df = _runs(10, 5, pop=("SJC", "LAX"))
    points = changepoints.detect(changepoints.series(df, "ttft_ms", 0.95))
    assert [p.index for p in points] == [5]
    (changes,) = annotate_changepoints(df, points)
    assert describe(changes) == "fingerprint fp_a -> fp_b; Cloudflare POP SJC -> LAX"


def test_nothing_changed_says_nothing_and_mixed_rollouts_are_named() -> None:
    df = _runs(4, 2, fp=("fp_a", "fp_a"))
    base, cand = df[df["run_id"] == "d0"], df[df["run_id"] == "d3"]
    assert what_changed(base, cand) == []
    cand = cand.copy()
    cand.loc[cand.index[:12], "system_fingerprint"] = "fp_new"  # 30% of the requests
    (change,) = what_changed(base, cand)
    assert change.mixed and change.sentence() == "fingerprint fp_new appeared on 30% of requests"


def test_a_model_snapshot_change_and_unreported_fields() -> None:
    df = _runs(2, 1, fp=("fp_a", "fp_a"))
    base, cand = df[df["run_id"] == "d0"].copy(), df[df["run_id"] == "d1"].copy()
    cand["server_model"] = "gpt-4o-2024-11-20"
    base["system_fingerprint"] = None  # an older lens run: nothing reported, no change
    text = describe(what_changed(base, cand))
    assert text == "server model gpt-4o-2024-08-06 -> gpt-4o-2024-11-20"
    # files from before these columns existed: no column at all is not a change
    old = base.drop(columns=["system_fingerprint", "server_model", "routing"])
    assert describe(what_changed(old, old)) == ""
    # an import that does not know the endpoint leaves it empty: that is not a change
    assert describe(what_changed(old, old.assign(endpoint_host=""))) == ""
    assert describe(what_changed(old, old.assign(endpoint_host="other.example"))) == (
        "endpoint api.example -> other.example")
