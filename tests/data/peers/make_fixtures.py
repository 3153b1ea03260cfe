"""Write the peer-format fixtures in tests/data/peers/ (deterministic; run by hand).

The files are written by the peers' own code where it can be installed without a GPU
stack, so their per-request records and summaries are exactly what the tools write:

- AIPerf 0.13.0: records are ``MetricRecordInfo`` models, the summary is built with
  ``metric_result_from_array`` (ns) -> ``to_display_unit`` (ms) -> ``JsonExportData``.
- GuideLLM 0.8.1: requests are ``GenerativeRequestStats`` models (their computed fields
  included), distributions are ``StatusDistributionSummary.from_values_function`` with the
  same functions GuideLLM's ``GenerativeMetrics.compile`` uses.
- vLLM ``bench serve`` (vllm is too large to install here): the result dict and
  ``calculate_metrics`` follow vllm/benchmarks/serve.py line by line (numpy calls).

Run with a virtualenv holding numpy, pydantic, pydantic-settings, loguru, pyyaml, rich,
click, orjson, ruamel.yaml, jinja2, cyclopts, msgspec and, installed with --no-deps,
aiperf==0.13.0 and guidellm==0.8.1::

    /tmp/glvenv/bin/python tests/data/peers/make_fixtures.py
"""

from __future__ import annotations

import json
import warnings
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
T0 = 1_773_151_200.0  # 2026-03-10T14:00:00Z
MODEL = "meta-llama/Llama-3.1-8B-Instruct"
warnings.filterwarnings("ignore")


def synth(rng: np.random.Generator, n: int, *, reasoning: bool = False) -> list[dict]:
    """Per-request timings in seconds: ttft, token-event gaps, tail to stream end."""
    out = []
    for _ in range(n):
        isl = int(rng.integers(480, 620))
        osl = int(rng.integers(24, 72))
        ttft = 0.060 + isl * 0.00012 + float(rng.lognormal(-3.6, 0.5))
        gaps = [float(g) for g in rng.gamma(6.0, 0.0021, size=osl - 1)]
        if rng.random() < 0.2:  # a stall
            gaps[int(rng.integers(0, len(gaps)))] += float(rng.uniform(0.05, 0.15))
        r_tok = int(rng.integers(8, 20)) if reasoning else 0
        out.append({"isl": isl, "osl": osl, "ttft": ttft, "gaps": gaps,
                    "reasoning": r_tok, "tail": float(rng.uniform(0.0004, 0.0015))})
    return out


# -- AIPerf ----------------------------------------------------------------------------


def aiperf(folder: Path, *, seed: int, reasoning: bool, n_warm: int, n_err: int) -> None:
    from aiperf.common.enums import MetricTimeUnit
    from aiperf.common.models.error_models import ErrorDetails
    from aiperf.common.models.export_models import JsonExportData
    from aiperf.common.models.record_models import (
        MetricRecordInfo,
        MetricRecordMetadata,
        MetricValue,
    )
    from aiperf.metrics.metric_dicts import metric_result_from_array

    ns_ms = MetricTimeUnit.NANOSECONDS

    def ms(v_ns: int) -> float:
        return ns_ms.convert_to(MetricTimeUnit.MILLISECONDS, v_ns)

    rng = np.random.default_rng(seed)
    reqs = synth(rng, 20 + n_warm + n_err, reasoning=reasoning)
    lines, cols = [], {}
    clock = [int(T0 * 1e9)] * 4  # 4 concurrent users
    for i, r in enumerate(reqs):
        user = i % 4
        start = clock[user] + int(rng.integers(200_000, 900_000))
        phase = "warmup" if i < n_warm else "profiling"
        error = i >= len(reqs) - n_err
        ttft_ns = int(r["ttft"] * 1e9)
        gaps_ns = [int(g * 1e9) for g in r["gaps"]]
        # reasoning streams first: its events precede the first answer event
        n_reason_events = r["reasoning"]
        last_ns = ttft_ns + sum(gaps_ns)
        end_ns = last_ns + int(r["tail"] * 1e9)
        md = dict(session_num=i, x_request_id=f"0b7e{i:04d}-5a1c-4f3e-9d2a-7c1b2e3f4a{i:02d}",
                  x_correlation_id=f"c0{i:06d}", conversation_id=f"conv-{i % 7}", turn_index=0,
                  credit_issued_ns=start - int(rng.integers(20_000, 400_000)),
                  request_start_ns=start, request_ack_ns=start + int(ttft_ns * 0.3),
                  request_end_ns=start + end_ns, worker_id=f"worker_{user}",
                  record_processor_id="record_processor_0", benchmark_phase=phase)
        if error:
            kind = i % 2
            end = start + int(rng.integers(5_000_000, 40_000_000))
            md.update(request_ack_ns=None, request_end_ns=end)
            if kind:
                md.update(was_cancelled=True, cancellation_time_ns=end)
                err = ErrorDetails(code=499, type="RequestCancellationError",
                                   message="Request was cancelled after 0.020 seconds")
            else:
                err = ErrorDetails(code=429, type="HTTPError", message="Too Many Requests")
            rec = MetricRecordInfo(metadata=MetricRecordMetadata(**md),
                                   metrics={"error_isl": MetricValue(value=r["isl"],
                                                                     unit="tokens")},
                                   error=err)
            lines.append(rec.model_dump_json(exclude_none=False))
            clock[user] = end
            continue
        osl_answer = r["osl"]
        osl = osl_answer + r["reasoning"]
        ttfo_ns = ttft_ns + sum(gaps_ns[:n_reason_events]) if reasoning else ttft_ns
        values_ns = {
            "time_to_first_token": ttft_ns,
            "time_to_second_token": gaps_ns[0],
            "time_to_first_output_token": ttfo_ns,
            "request_latency": last_ns,
            "inter_token_latency": (last_ns - ttft_ns) / (osl - 1),
            "stream_setup_latency": int(ttft_ns * 0.3),
        }
        metrics = {tag: MetricValue(value=ms(v), unit="ms") for tag, v in values_ns.items()}
        metrics["inter_chunk_latency"] = MetricValue(value=[ms(g) for g in gaps_ns], unit="ms")
        metrics["input_sequence_length"] = MetricValue(value=r["isl"], unit="tokens")
        metrics["output_token_count"] = MetricValue(value=osl_answer, unit="tokens")
        if reasoning:
            metrics["reasoning_token_count"] = MetricValue(value=r["reasoning"], unit="tokens")
        metrics["output_sequence_length"] = MetricValue(value=osl, unit="tokens")
        metrics["output_token_throughput_per_user"] = MetricValue(
            value=1e9 / values_ns["inter_token_latency"], unit="tokens/sec/user")
        metrics["usage_prompt_tokens"] = MetricValue(value=r["isl"], unit="tokens")
        metrics["usage_completion_tokens"] = MetricValue(value=osl, unit="tokens")
        rec = MetricRecordInfo(metadata=MetricRecordMetadata(**md), metrics=metrics, error=None)
        lines.append(rec.model_dump_json(exclude_none=False))
        clock[user] = start + end_ns
        if phase == "profiling":
            for tag, v in values_ns.items():
                cols.setdefault(tag, []).append(float(v))
            cols.setdefault("output_sequence_length", []).append(float(osl))
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "profile_export.jsonl").write_text("\n".join(lines) + "\n", encoding="utf-8")
    export = JsonExportData(schema_version=JsonExportData.SCHEMA_VERSION,
                            aiperf_version="0.13.0", benchmark_id=f"bench-{seed}",
                            was_cancelled=False)
    for tag, vals in cols.items():
        arr = np.array(vals)
        unit = "tokens" if tag == "output_sequence_length" else "ns"
        result = metric_result_from_array(tag, tag, unit, arr, float(arr.sum()))
        result = result.to_display_unit() if unit == "ns" else result
        setattr(export, tag, result.to_json_result())
    payload = export.model_dump(mode="json", exclude_unset=True, exclude_none=True)
    payload["input_config"] = {
        "models": {"items": [{"name": MODEL}]},
        "endpoint": {"urls": ["http://gpu-box-1:8000"], "type": "chat", "streaming": True},
        "datasets": [{"name": "main", "type": "synthetic", "entries": len(reqs)}],
        "phases": [{"name": "profiling", "kind": "profiling", "type": "concurrency",
                    "requests": len(reqs), "concurrency": 4}],
    }
    (folder / "profile_export_aiperf.json").write_text(json.dumps(payload, indent=2) + "\n",
                                                      encoding="utf-8")


# -- GuideLLM --------------------------------------------------------------------------


def _guidellm_request(i: int, r: dict, start: float, status: str, rng: np.random.Generator):
    from guidellm.schemas.base import (
        GenerativeRequestStats,
        RequestInfo,
        RequestTimings,
        UsageMetrics,
    )

    first = start + r["ttft"]
    times = [first]
    for g in r["gaps"]:
        times.append(times[-1] + g)
    error = None
    if status == "errored":
        times, error = [], "HTTPStatusError: Server error '503 Service Unavailable'"
    elif status == "incomplete":
        times = times[: len(times) // 3]
    end = times[-1] + r["tail"] if times else start + 0.012
    timings = RequestTimings(
        targeted_start=start - float(rng.uniform(0.0002, 0.003)), queued=start - 0.004,
        dequeued=start - 0.003, scheduled_at=start - 0.002, resolve_start=start - 0.0005,
        request_start=start,
        first_request_iteration=(times[0] - 0.00005) if times else None,
        first_token_iteration=times[0] if times else None,
        first_output_token_iteration=times[0] if times else None,
        last_token_iteration=times[-1] if times else None,
        last_request_iteration=(times[-1] + r["tail"]) if times else None,
        request_iterations=len(times) + 2 if times else 0, token_iterations=len(times),
        request_end=None if status == "incomplete" else end,
        resolve_end=end + 0.0003,
        finalized=end + 0.001,
    )
    info = RequestInfo(request_id=f"gl-{i:04d}", status={"ok": "completed"}.get(status, status
                       if status != "incomplete" else "cancelled"), timings=timings, error=error)
    usage_out = None if status != "ok" else UsageMetrics(text_tokens=r["osl"])
    return GenerativeRequestStats(
        request_id=f"7d3c{i:04d}-0a6e-4c52-8c1e-5b0f{i:08d}", info=info,
        input_metrics=UsageMetrics(text_tokens=r["isl"]),
        output_metrics=usage_out or UsageMetrics(),
    )


def guidellm(path: Path, seed: int) -> None:
    import types

    from guidellm.benchmark.schemas.accumulator import GenerativeRequestsAccumulator
    from guidellm.benchmark.schemas.base import BenchmarkConfig
    from guidellm.benchmark.schemas.benchmark import GenerativeBenchmark
    from guidellm.benchmark.schemas.metrics import GenerativeMetrics, SchedulerMetrics
    from guidellm.benchmark.schemas.report import (
        GenerativeBenchmarkMetadata,
        GenerativeBenchmarksReport,
    )
    from guidellm.scheduler import ConcurrentStrategy, SchedulerState, SynchronousStrategy
    from guidellm.schemas.backends.openai_http import OpenAIHTTPBackendArgs
    from guidellm.schemas.base import StatusBreakdown
    from guidellm.schemas.benchmark.entrypoints import BenchmarkScenario

    rng = np.random.default_rng(seed)
    backend = OpenAIHTTPBackendArgs(target="http://gpu-box-1:8000", model=MODEL)
    benchmarks = []
    t = T0 + 3600.0
    plans = [(SynchronousStrategy(), 6, {}), (ConcurrentStrategy(streams=4), 16,
                                              {5: "errored", 12: "incomplete"})]
    for index, (strategy, n, odd) in enumerate(plans):
        reqs = synth(rng, n)
        streams = getattr(strategy, "streams", 1)
        clock = [t] * streams
        groups: dict[str, list] = {"ok": [], "errored": [], "incomplete": []}
        for i, r in enumerate(reqs):
            k = i % streams
            start = clock[k] + float(rng.uniform(0.0002, 0.001))
            status = odd.get(i, "ok")
            stats = _guidellm_request(index * 100 + i, r, start, status, rng)
            groups[status].append(stats)
            clock[k] = stats.request_end_time + 0.0004
        run_start, run_end = t, max(clock)
        counts = {"successful": len(groups["ok"]), "incomplete": len(groups["incomplete"]),
                  "errored": len(groups["errored"])}
        config = BenchmarkConfig(
            id_=f"62cb99e5-c383-45ed-b405-a393a22e9{index:03d}", run_id="5f0c2d1e-run",
            run_index=index, strategy=strategy,
            constraints={"max_requests": {"max_num": n}},
            profile={"type_": "synchronous" if index == 0 else "concurrent"},
            requests={"data": ["prompt_tokens=550,output_tokens=48"]},
            backend=backend.model_dump(mode="json"), environment={"type_": "non_distributed"})
        acc = types.SimpleNamespace(
            timings=types.SimpleNamespace(finalized_measure_start=run_start,
                                          finalized_measure_end=run_end),
            completed=GenerativeRequestsAccumulator(requests_stats=groups["ok"]),
            incomplete=GenerativeRequestsAccumulator(requests_stats=groups["incomplete"]),
            errored=GenerativeRequestsAccumulator(requests_stats=groups["errored"]),
            config=config,
        )
        benchmarks.append(GenerativeBenchmark(
            config=config,
            scheduler_state=SchedulerState(start_time=run_start - 0.01, end_time=run_end + 0.01),
            scheduler_metrics=SchedulerMetrics(
                start_time=run_start - 0.01, request_start_time=run_start,
                measure_start_time=run_start, measure_end_time=run_end,
                request_end_time=run_end, end_time=run_end + 0.01,
                requests_made=StatusBreakdown(total=n, **counts),
                queued_time_avg=0.004, resolve_start_delay_avg=0.0005,
                resolve_targeted_start_delay_avg=0.001, request_start_delay_avg=0.0005,
                request_targeted_start_delay_avg=0.001, request_time_avg=0.5,
                resolve_end_delay_avg=0.0003, resolve_time_avg=0.5, finalized_delay_avg=0.001,
                processed_delay_avg=0.001),
            metrics=GenerativeMetrics.compile(acc),
            requests=StatusBreakdown(successful=groups["ok"], incomplete=groups["incomplete"],
                                     errored=groups["errored"], total=None),
        ))
        t = run_end + 2.0
    report = GenerativeBenchmarksReport(
        metadata=GenerativeBenchmarkMetadata(guidellm_version="0.8.1", python_version="3.12.3",
                                             platform="Linux-6.8.0-x86_64-with-glibc2.39"),
        config=BenchmarkScenario(spec={
            "backend": backend.model_dump(mode="json"),
            "profile": {"kind": "concurrent", "streams": [4]},
            "data": [{"kind": "synthetic_text", "prompt_tokens": 550, "output_tokens": 48}],
        }), benchmarks=benchmarks)
    path.parent.mkdir(parents=True, exist_ok=True)
    report.save_file(path)


# -- vLLM bench serve ------------------------------------------------------------------


def vllm(path: Path, seed: int) -> None:
    """``vllm bench serve --save-result --save-detailed --percentile-metrics
    ttft,tpot,itl,e2el --metric-percentiles 50,90,99 --max-concurrency 8``."""
    rng = np.random.default_rng(seed)
    reqs = synth(rng, 30)
    outputs, t = [], 5123.25  # perf_counter() values
    clock = [t] * 8
    for i, r in enumerate(reqs):
        k = i % 8
        start = clock[k] + float(rng.uniform(0.0001, 0.0006))
        o = {"start_time": start, "client_queue_time": float(rng.uniform(0.0, 0.002)),
             "prompt_len": r["isl"], "success": True, "error": "", "ttft": 0.0, "itl": [],
             "latency": 0.0, "output_tokens": 0, "generated_text": ""}
        if i in (11, 23):
            o["success"] = False
            o["error"] = ("Too Many Requests" if i == 11 else
                          "Traceback (most recent call last):\n  ...\naiohttp.client_exceptions."
                          "ServerDisconnectedError: Server disconnected\n")
            clock[k] = start + 0.02
        else:
            o.update(ttft=r["ttft"], itl=r["gaps"], output_tokens=r["osl"],
                     latency=r["ttft"] + sum(r["gaps"]),
                     generated_text=" ".join(["tok"] * r["osl"]))
            clock[k] = start + o["latency"] + r["tail"]
        outputs.append(o)
    duration = max(clock) - t
    # calculate_metrics, as in vllm/benchmarks/serve.py
    actual_output_lens, ttfts, tpots, itls, e2els, total_input, completed = [], [], [], [], [],\
        0, 0
    for o in outputs:
        if o["success"]:
            output_len = o["output_tokens"]
            actual_output_lens.append(output_len)
            total_input += o["prompt_len"]
            if output_len > 1:
                tpots.append((o["latency"] - o["ttft"]) / (output_len - 1))
            itls += o["itl"]
            ttfts.append(o["ttft"])
            e2els.append(o["latency"])
            completed += 1
        else:
            actual_output_lens.append(0)
    result = {
        "date": "20260310-160512", "endpoint_type": "openai-chat", "backend": "openai-chat",
        "label": None, "model_id": MODEL, "tokenizer_id": MODEL, "num_prompts": len(reqs),
        "request_rate": "inf", "burstiness": 1.0, "max_concurrency": 8,
        "duration": duration, "completed": completed, "failed": len(reqs) - completed,
        "total_input_tokens": total_input, "total_output_tokens": sum(actual_output_lens),
        "request_throughput": completed / duration, "request_goodput": None,
        "output_throughput": sum(actual_output_lens) / duration,
        "total_token_throughput": (total_input + sum(actual_output_lens)) / duration,
        "input_lens": [o["prompt_len"] for o in outputs], "output_lens": actual_output_lens,
        "ttfts": [o["ttft"] for o in outputs], "itls": [o["itl"] for o in outputs],
        "latencies": [o["latency"] for o in outputs],
        "start_times": [o["start_time"] for o in outputs],
        "queue_times": [o["client_queue_time"] for o in outputs],
        "generated_texts": [o["generated_text"] for o in outputs],
        "errors": [o["error"] for o in outputs],
        "max_output_tokens_per_s": 612.0, "max_concurrent_requests": 8, "rtfx": 0.0,
    }
    for name, values in (("ttft", ttfts), ("tpot", tpots), ("itl", itls), ("e2el", e2els)):
        result[f"mean_{name}_ms"] = np.mean(values or 0) * 1000
        result[f"median_{name}_ms"] = np.median(values or 0) * 1000
        result[f"std_{name}_ms"] = np.std(values or 0) * 1000
        for p in (50.0, 90.0, 99.0):
            result[f"p{int(p)}_{name}_ms"] = np.percentile(values or 0, p) * 1000
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", encoding="utf-8") as fh:
        json.dump({k: float(v) if isinstance(v, np.floating) else v for k, v in result.items()},
                  fh)


# -- lens before target/shard, and a plain CSV -----------------------------------------


def lens_v0(folder: Path) -> None:
    """Rows in the record format of the first published design (no target, shard,
    prompt_hash, output_chars, ...), as JSONL and as CSV with chunk files."""
    rows, chunks = [], []
    for i in range(6):
        rid = f"req-{i:03d}"
        ttft = 180.0 + 7.5 * i
        times = [ttft + 11.0 * k for k in range(5)]
        status = "ok" if i != 4 else "rate_limited"
        rows.append({
            "run_id": None, "request_id": rid, "started_at": f"2025-11-02T09:00:0{i}+00:00",
            "region": "local", "runner": "local", "provider": "openai", "dialect": "openai_chat",
            "model": "gpt-4o-mini", "endpoint_host": "api.openai.com", "scenario": "default",
            "prompt_id": f"p{i % 2}", "warmup": i == 0, "concurrency": 2,
            "scheduled_ms": 10.0 * i, "queue_ms": 0.0, "conn_reused": i > 1,
            "dns_ms": None, "connect_ms": None, "sent_ms": 1.5, "headers_ms": ttft - 40.0,
            "first_reasoning_ms": None, "ttft_ms": ttft if status == "ok" else None,
            "last_token_ms": times[-1] if status == "ok" else None,
            "e2e_ms": times[-1] + 2.0 if status == "ok" else 95.0,
            "itl_mean_ms": 11.0 if status == "ok" else None,
            "input_tokens": 42, "cached_input_tokens": 0,
            "output_tokens": None if i == 3 else (20 if status == "ok" else None),
            "reasoning_tokens": None, "tokens_estimated": False, "status": status,
            "http_status": 200 if status == "ok" else 429,
            "error": None if status == "ok" else "HTTP 429: rate limit reached",
            "retry_after_s": None if status == "ok" else 2.0,
        })
        if status == "ok":
            chunks += [{"request_id": rid, "index": k, "t_ms": tt, "kind": "text",
                        "n_tokens": 4} for k, tt in enumerate(times)]
            chunks.append({"request_id": rid, "index": 5, "t_ms": times[-1] + 1.0,
                           "kind": "usage", "n_tokens": 0})
    folder.mkdir(parents=True, exist_ok=True)
    with (folder / "baseline.jsonl").open("w", encoding="utf-8") as fh:
        for r in rows:
            fh.write(json.dumps({k: v for k, v in r.items() if k != "run_id"}) + "\n")
    with (folder / "baseline.chunks.jsonl").open("w", encoding="utf-8") as fh:
        for c in chunks:
            fh.write(json.dumps(c) + "\n")
    import csv

    for name, data in (("baseline.csv", rows), ("baseline.chunks.csv", chunks)):
        with (folder / name).open("w", encoding="utf-8", newline="") as fh:
            w = csv.DictWriter(fh, fieldnames=list(data[0]))
            w.writeheader()
            for d in data:
                w.writerow({k: "\\N" if v is None else v for k, v in d.items()})


def plain_csv(path: Path, seed: int) -> None:
    """A load tester's own CSV: seconds, epoch timestamps, a success flag."""
    import csv

    rng = np.random.default_rng(seed)
    reqs = synth(rng, 12)
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", encoding="utf-8", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(["ts_epoch", "id", "success", "ttft_s", "latency_s", "completion_tokens",
                    "prompt_tokens", "err"])
        for i, r in enumerate(reqs):
            ok = i != 7
            w.writerow([f"{T0 + 7200 + 0.8 * i:.3f}", f"q{i}", "true" if ok else "false",
                        f"{r['ttft']:.6f}" if ok else "",
                        f"{r['ttft'] + sum(r['gaps']):.6f}" if ok else "0.031",
                        r["osl"] if ok else "", r["isl"], "" if ok else "503 Service Unavailable"])


def main() -> None:
    aiperf(HERE / "aiperf", seed=7, reasoning=False, n_warm=2, n_err=2)
    aiperf(HERE / "aiperf_reasoning", seed=8, reasoning=True, n_warm=0, n_err=0)
    guidellm(HERE / "guidellm" / "benchmarks.json", seed=9)
    vllm(HERE / "vllm" / "openai-chat-infqps-concurrency8-Llama-3.1-8B-Instruct-20260310-160512"
         ".json", seed=10)
    lens_v0(HERE / "lens_v0")
    plain_csv(HERE / "csv" / "loadtest.csv", seed=11)


if __name__ == "__main__":
    main()
