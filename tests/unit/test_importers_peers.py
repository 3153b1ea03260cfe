"""Peer results imported into lens give the peer's own summary numbers back.

Fixtures in tests/data/peers/ were written by the peers' own code (AIPerf 0.13.0 and
GuideLLM 0.8.1 models and statistics; vLLM's serve.py arithmetic): see make_fixtures.py.
The expected figures are read from those files here, never recomputed by lens.
"""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from lens.analysis.summary import summarize
from lens.importers import import_file
from lens.importers.peer_stats import guidellm_summary

PEERS = Path(__file__).resolve().parents[1] / "data" / "peers"
AIPERF = PEERS / "aiperf" / "profile_export.jsonl"
AIPERF_R = PEERS / "aiperf_reasoning" / "profile_export.jsonl"
GUIDELLM = PEERS / "guidellm" / "benchmarks.json"
VLLM = next((PEERS / "vllm").glob("*.json"))


def close(a: float | None, b: float) -> bool:
    # the peers compute in ns (AIPerf) or s (vLLM) and convert; lens works in ms
    return a is not None and math.isclose(a, b, rel_tol=1e-9)


def measured(df: pd.DataFrame) -> pd.DataFrame:
    return df[(df["status"] == "ok") & ~df["warmup"].astype(bool)]


# -- AIPerf ----------------------------------------------------------------------------


def test_aiperf_ttft_percentiles_equal_aiperfs_summary() -> None:
    theirs = json.loads((AIPERF.parent / "profile_export_aiperf.json").read_text())
    run = import_file(AIPERF)
    [s] = summarize(run.requests)
    ttft = theirs["time_to_first_token"]
    assert ttft["unit"] == "ms"
    assert s.ttft_ms.n == ttft["count"] == 20
    for q in ("p50", "p90", "p99"):
        assert close(getattr(s.ttft_ms, q), ttft[q]), q
    assert close(s.ttft_ms.mean, ttft["avg"])
    # AIPerf's request latency ends at the last content chunk: lens's last_token_ms
    lat = measured(run.requests)["last_token_ms"].to_numpy()
    assert close(float(np.percentile(lat, 99)), theirs["request_latency"]["p99"])
    assert run.checks and not run.mismatches


def test_aiperf_rows_keep_warmup_errors_queue_and_chunk_times() -> None:
    records = [json.loads(line) for line in AIPERF.read_text().splitlines()]
    run = import_file(AIPERF)
    df = run.requests.set_index("request_id")
    assert len(df) == len(records) == 24
    warm = [r["metadata"]["x_request_id"] for r in records
            if r["metadata"]["benchmark_phase"] == "warmup"]
    assert sorted(df.index[df["warmup"].astype(bool)]) == sorted(warm)
    assert df["status"].value_counts().to_dict() == {"ok": 22, "rate_limited": 1, "timeout": 1}
    for rec in records:
        md, row = rec["metadata"], df.loc[rec["metadata"]["x_request_id"]]
        assert row["queue_ms"] == pytest.approx(
            (md["request_start_ns"] - md["credit_issued_ns"]) / 1e6)
        assert row["e2e_ms"] == pytest.approx((md["request_end_ns"] - md["request_start_ns"]) / 1e6)
        assert row["started_at"] == pd.Timestamp(md["request_start_ns"], unit="ns",
                                                 tz="UTC").floor("us")
        if rec["error"] is None:
            icl = rec["metrics"]["inter_chunk_latency"]["value"]
            assert row["n_chunks"] == len(icl) + 1
            assert row["itl_max_ms"] == pytest.approx(max(icl))
            assert row["output_tokens"] == rec["metrics"]["usage_completion_tokens"]["value"]
            assert not row["tokens_estimated"]
    # rebuilt chunks: first at TTFT, then AIPerf's inter-chunk gaps
    one = records[5]
    ch = run.chunks[run.chunks["request_id"] == one["metadata"]["x_request_id"]]
    gaps = np.diff(ch["t_ms"].to_numpy())
    assert ch["t_ms"].iloc[0] == pytest.approx(one["metrics"]["time_to_first_token"]["value"])
    assert gaps == pytest.approx(one["metrics"]["inter_chunk_latency"]["value"])
    assert ch["n_tokens"].sum() == one["metrics"]["usage_completion_tokens"]["value"]


def test_aiperf_reasoning_ttft_is_first_answer_token_and_ttfo_matches() -> None:
    """AIPerf's TTFT counts reasoning (lens: min(first_reasoning_ms, ttft_ms)); its TTFO
    is the first answer token, which is lens's TTFT."""
    theirs = json.loads((AIPERF_R.parent / "profile_export_aiperf.json").read_text())
    run = import_file(AIPERF_R)
    ok = measured(run.requests)
    [s] = summarize(run.requests)
    for q in ("p50", "p90", "p99"):
        assert close(getattr(s.ttft_ms, q), theirs["time_to_first_output_token"][q])
        first = ok[["first_reasoning_ms", "ttft_ms"]].min(axis=1).to_numpy()
        assert close(float(np.percentile(first, int(q[1:]))), theirs["time_to_first_token"][q])
    assert (ok["first_reasoning_ms"] < ok["ttft_ms"]).all()
    assert ok["reasoning_tokens"].notna().all()
    # AIPerf's ITL = (request_latency - TTFT) / (OSL - 1) is lens's TPOT (same window)
    assert close(float(np.percentile(ok["tpot_ms"], 50)), theirs["inter_token_latency"]["p50"])


# -- vLLM bench serve ------------------------------------------------------------------


def test_vllm_ttft_and_pooled_itl_equal_vllms_summary() -> None:
    theirs = json.loads(VLLM.read_text())
    run = import_file(VLLM)
    [s] = summarize(run.requests, run.chunks)
    assert s.ok == theirs["completed"] == 28 and s.count - s.ok == theirs["failed"]
    for q in ("50", "90", "99"):
        assert close(getattr(s.ttft_ms, f"p{q}"), theirs[f"p{q}_ttft_ms"]), q
        # lens pools every gap between chunks, as vLLM pools its itls
        assert close(getattr(s.itl_ms, f"p{q}"), theirs[f"p{q}_itl_ms"]), q
        assert close(getattr(s.e2e_ms, f"p{q}"), theirs[f"p{q}_e2el_ms"]), q
    assert close(s.ttft_ms.mean, theirs["mean_ttft_ms"])
    assert s.itl_source == "chunks"
    assert run.checks and not run.mismatches


def test_vllm_tpot_differs_from_lens_tpot_by_its_window_and_is_reproducible() -> None:
    """vLLM's TPOT divides (latency - ttft), lens's (last token - first token); with
    vLLM's current client both end at the last chunk, so they agree here."""
    theirs = json.loads(VLLM.read_text())
    ok = measured(import_file(VLLM).requests)
    vllm_tpot = ((ok["e2e_ms"] - ok["ttft_ms"]) / (ok["output_tokens"] - 1)).to_numpy(float)
    assert close(float(np.percentile(vllm_tpot, 99)), theirs["p99_tpot_ms"])
    assert ok["tpot_ms"].to_numpy(float) == pytest.approx(vllm_tpot, rel=1e-9)


def test_vllm_failures_and_start_times() -> None:
    theirs = json.loads(VLLM.read_text())
    df = import_file(VLLM).requests
    failed = df[df["status"] != "ok"]
    assert failed["status"].tolist() == ["rate_limited", "network"]
    assert failed["error"].tolist() == [
        "Too Many Requests", "aiohttp.client_exceptions.ServerDisconnectedError: "
        "Server disconnected"]
    assert failed["e2e_ms"].isna().all() and failed["ttft_ms"].isna().all()
    start = np.array(theirs["start_times"])
    offsets = (df["started_at"] - df["started_at"].min()).dt.total_seconds().to_numpy()
    assert offsets == pytest.approx(start - start.min(), abs=1e-6)
    assert (df["queue_ms"].to_numpy() == pytest.approx(np.array(theirs["queue_times"]) * 1000))
    # the saved date (local time, read as UTC) is when the run ended
    end = df["started_at"].min() + pd.Timedelta(seconds=theirs["duration"])
    assert abs(end - pd.Timestamp("2026-03-10 16:05:12", tz="UTC")) < pd.Timedelta("1us")


def test_vllm_local_date_read_in_given_zone() -> None:
    utc = import_file(VLLM).requests["started_at"].min()
    berlin = import_file(VLLM, tz="Europe/Berlin").requests["started_at"].min()
    assert utc - berlin == pd.Timedelta(hours=1)  # CET in March


def test_vllm_append_result_lines_become_scenarios(tmp_path: Path) -> None:
    doc = json.loads(VLLM.read_text())
    other = {**doc, "max_concurrency": 16}
    path = tmp_path / "appended.json"
    path.write_text(json.dumps(doc) + "\n" + json.dumps(other) + "\n")
    run = import_file(path)
    assert run.requests["scenario"].value_counts().to_dict() == {"rate-inf-c8": 30,
                                                                "rate-inf-c16": 30}
    assert run.requests["request_id"].is_unique
    assert set(run.requests["concurrency"]) == {8, 16}
    assert not run.mismatches


# -- GuideLLM --------------------------------------------------------------------------


def test_guidellm_ttft_percentiles_equal_guidellms_summary_with_its_method() -> None:
    report = json.loads(GUIDELLM.read_text())
    run = import_file(GUIDELLM)
    assert run.extra["scenarios"] == ["synchronous", "concurrent-4"]
    for bench, label in zip(report["benchmarks"], run.extra["scenarios"], strict=True):
        theirs = bench["metrics"]["time_to_first_token_ms"]["successful"]
        ok = measured(run.requests[run.requests["scenario"] == label])
        assert len(ok) == theirs["count"]
        ours = guidellm_summary(ok["ttft_ms"].tolist())
        for key, value in theirs["percentiles"].items():
            assert ours[key] == pytest.approx(value, rel=1e-12), (label, key)
        assert ours["mean"] == pytest.approx(theirs["mean"], rel=1e-12)
    assert run.checks and not run.mismatches


def test_guidellm_percentiles_are_observed_values_where_lens_interpolates() -> None:
    """GuideLLM's p99 of 14 requests is the largest value; lens's linear p99 lies between
    the two largest. Same data, a different, documented method."""
    report = json.loads(GUIDELLM.read_text())
    run = import_file(GUIDELLM)
    ok = measured(run.requests[run.requests["scenario"] == "concurrent-4"])
    values = np.sort(ok["ttft_ms"].to_numpy(float))
    theirs = report["benchmarks"][1]["metrics"]["time_to_first_token_ms"]["successful"]
    [s] = summarize(ok)
    assert theirs["percentiles"]["p99"] == pytest.approx(values[-1])
    assert values[-2] < s.ttft_ms.p99 < values[-1]
    assert s.ttft_ms.p99 == pytest.approx(float(np.percentile(values, 99)))


def test_guidellm_itl_is_lens_tpot_weighted_by_output_tokens() -> None:
    report = json.loads(GUIDELLM.read_text())
    run = import_file(GUIDELLM)
    for bench, label in zip(report["benchmarks"], run.extra["scenarios"], strict=True):
        ok = measured(run.requests[run.requests["scenario"] == label])
        theirs = bench["metrics"]["inter_token_latency_ms"]["successful"]
        ours = guidellm_summary(ok["tpot_ms"].tolist(), (ok["output_tokens"] - 1).tolist())
        assert ours["p50"] == pytest.approx(theirs["percentiles"]["p50"], rel=1e-12)
        assert ours["mean"] == pytest.approx(theirs["mean"], rel=1e-12)


def test_guidellm_statuses_tokens_and_concurrency() -> None:
    run = import_file(GUIDELLM)
    df = run.requests
    conc = df[df["scenario"] == "concurrent-4"]
    assert set(conc["concurrency"]) == {4} and set(df[df["scenario"] == "synchronous"]
                                                   ["concurrency"]) == {1}
    assert conc["status"].value_counts().to_dict() == {"ok": 14, "overloaded": 1, "truncated": 1}
    assert df["itl_p50_ms"].isna().all() and run.chunks is None
    assert (df.loc[df["status"] == "ok", "tokens_estimated"] == False).all()  # noqa: E712


def test_guidellm_sampled_requests_are_said(tmp_path: Path) -> None:
    report = json.loads(GUIDELLM.read_text())
    del report["benchmarks"][1]["requests"]["successful"][3:]
    path = tmp_path / "benchmarks.json"
    path.write_text(json.dumps(report))
    run = import_file(path)
    assert any("kept only a sample" in n and "concurrent-4: 3 of 14" in n for n in run.notes)
    assert run.mismatches  # its summary covers all 14, the rows only 3


def test_guidellm_one_benchmark_by_index() -> None:
    run = import_file(GUIDELLM, benchmark=0, provider="vllm", run_id="sync-only")
    assert set(run.requests["scenario"]) == {"synchronous"}
    assert set(run.requests["target"]) == {"vllm/meta-llama/Llama-3.1-8B-Instruct"}
    assert set(run.requests["run_id"]) == {"sync-only"}


# -- the reference statistics themselves -----------------------------------------------


def test_guidellm_method_on_a_hand_computed_example() -> None:
    # sorted 1,2,2,3: cdf 0.25, 0.75, 1.0 -> p25 = 1, p50 = 2, p75 = 2, p90 = 3
    s = guidellm_summary([3.0, 1.0, 2.0, 2.0])
    assert (s["p25"], s["p50"], s["p75"], s["p90"], s["mean"]) == (1.0, 2.0, 2.0, 3.0, 2.0)
    # weights: 10 (w 1) and 20 (w 3): cdf 0.25, 1.0 -> p25 = 10, p50 = 20, mean 17.5
    w = guidellm_summary([10.0, 20.0], [1.0, 3.0])
    assert (w["p25"], w["p50"], w["mean"]) == (10.0, 20.0, 17.5)


def _rewrite(src: Path, dest: Path, edit) -> Path:  # type: ignore[no-untyped-def]
    recs = [json.loads(x) for x in src.read_text().splitlines()]
    for rec in recs:
        edit(rec)
    dest.write_text("\n".join(json.dumps(r) for r in recs) + "\n")
    return dest


def test_aiperf_before_ttfo_reasoning_first_event_is_reasoning(tmp_path: Path) -> None:
    """AIPerf before 0.3 has no time_to_first_output_token: a reasoning request's first
    event is taken as reasoning and its first answer token is unknown."""
    path = _rewrite(AIPERF_R, tmp_path / "profile_export.jsonl",
                    lambda r: r["metrics"].pop("time_to_first_output_token", None))
    run = import_file(path)
    ok = measured(run.requests)
    raw = [json.loads(x) for x in AIPERF_R.read_text().splitlines()]
    assert ok["ttft_ms"].isna().all()
    assert ok["first_reasoning_ms"].tolist() == pytest.approx(
        [r["metrics"]["time_to_first_token"]["value"] for r in raw])
    assert any("before 0.3" in n for n in run.notes)


def test_aiperf_http_trace_phases(tmp_path: Path) -> None:
    def trace(rec: dict) -> None:  # type: ignore[type-arg]
        if rec["error"] is None:
            reused = rec["metadata"]["session_num"] % 2
            rec["metrics"].update({
                "http_req_dns_lookup": {"value": 0 if reused else 2500000, "unit": "ns"},
                "http_req_connecting": {"value": 0.0 if reused else 9.5, "unit": "ms"},
                "http_req_connection_reused": {"value": reused, "unit": "ratio"}})

    df = import_file(_rewrite(AIPERF, tmp_path / "profile_export.jsonl", trace)).requests
    ok = df[df["status"] == "ok"]
    fresh, reused = ok[ok["conn_reused"] == False], ok[ok["conn_reused"] == True]  # noqa: E712
    assert len(fresh) and len(reused)
    assert fresh["dns_ms"].tolist() == pytest.approx([2.5] * len(fresh))
    # AIPerf's connecting spans DNS too (aiohttp resolves inside connection creation)
    assert fresh["connect_ms"].tolist() == pytest.approx([7.0] * len(fresh))
    assert reused["connect_ms"].isna().all()


def test_guidellm_requests_outside_the_window_are_warmup(tmp_path: Path) -> None:
    report = json.loads(GUIDELLM.read_text())
    bench = report["benchmarks"][0]
    reqs = sorted(bench["requests"]["successful"], key=lambda r: r["request_start_time"])
    # measurement starts after the first two requests ended, stops before the last began
    bench["scheduler_metrics"]["measure_start_time"] = reqs[1]["request_end_time"] + 1e-4
    bench["scheduler_metrics"]["measure_end_time"] = reqs[-1]["request_start_time"] - 1e-4
    path = tmp_path / "benchmarks.json"
    path.write_text(json.dumps(report))
    df = import_file(path).requests
    warm = set(df.loc[df["warmup"].astype(bool), "request_id"])
    assert warm == {reqs[0]["request_id"], reqs[1]["request_id"], reqs[-1]["request_id"]}


def test_secrets_in_peer_files_do_not_reach_rows_or_summary(tmp_path: Path) -> None:
    key = "sk-proj-" + "A1b2C3d4E5f6G7h8J9k0" * 2

    def leak(rec: dict) -> None:  # type: ignore[type-arg]
        if rec["error"] is not None:
            rec["error"]["message"] = f"Incorrect API key provided: {key}"

    run = import_file(_rewrite(AIPERF, tmp_path / "profile_export.jsonl", leak))
    errors = " ".join(run.requests["error"].dropna())
    assert key not in errors and "[REDACTED]" in errors
    doc = {**json.loads(VLLM.read_text()), "api_key": key, "cli_command": f"--api-key {key}"}
    doc["errors"][11] = f"Unauthorized for Bearer {key}"
    path = tmp_path / "r.json"
    path.write_text(json.dumps(doc))
    vrun = import_file(path)
    assert key not in json.dumps(vrun.peer_summary) and key not in " ".join(
        vrun.requests["error"].dropna())


def test_guidellm_yaml_report(tmp_path: Path) -> None:
    import yaml

    path = tmp_path / "benchmarks.yaml"
    path.write_text(yaml.safe_dump(json.loads(GUIDELLM.read_text())))
    run = import_file(path)
    assert len(run.requests) == 22 and run.checks and not run.mismatches


def test_aiperf_reasoning_chunks_come_before_the_answer() -> None:
    run = import_file(AIPERF_R)
    ok = measured(run.requests).set_index("request_id")
    ch = run.chunks
    for rid, g in ch.groupby("request_id", sort=False):
        reasoning = g.loc[g["kind"] == "reasoning", "t_ms"]
        text = g.loc[g["kind"] == "text", "t_ms"]
        assert reasoning.iloc[0] == pytest.approx(ok.loc[rid, "first_reasoning_ms"])
        assert text.iloc[0] == pytest.approx(ok.loc[rid, "ttft_ms"])
        assert reasoning.max() < text.min()
    [s] = summarize(run.requests, ch)
    assert s.itl_source == "chunks" and s.itl_ms.n == len(ch) - ch["request_id"].nunique()
