"""GuideLLM (0.4 and later): ``benchmarks.json`` (or ``.yaml``) reports.

A report holds one invocation's benchmarks: one per load level of its profile (a sweep
gives synchronous, throughput and several rates). Each benchmark becomes a *scenario* of
one lens run, named after its strategy (``synchronous``, ``concurrent-4``,
``constant-2.5rps``), with ``concurrency`` set from it: the same shape as a lens sweep,
so ``lens compare``/``report`` split by scenario and a whole sweep stays one run.
Per-request stats are kept under ``requests.successful|errored|incomplete``; times are
Unix seconds (``time.time()``). Mapping: docs/importers.md#guidellm.
"""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pandas as pd

from lens.importers import derive
from lens.importers.base import (
    ImportedRun,
    PeerImportError,
    SummaryCheck,
    default_run_id,
    load_json,
    missing_fields_error,
)
from lens.importers.peer_stats import guidellm_summary

_WHAT = "GuideLLM benchmarks report"
_GROUPS = (("successful", "ok"), ("errored", None), ("incomplete", "truncated"))


def strategy_label(strategy: dict[str, Any]) -> tuple[str, int]:
    """Scenario label and concurrency of a GuideLLM scheduling strategy."""
    kind = str(strategy.get("type_") or strategy.get("type") or "unknown")
    cap = strategy.get("max_concurrency")
    if kind == "synchronous":
        return "synchronous", 1
    if kind == "concurrent":
        streams = int(strategy.get("streams") or 0)
        return f"concurrent-{streams}", streams
    if kind in ("constant", "poisson"):
        return f"{kind}-{float(strategy.get('rate') or 0):g}rps", int(cap or 0)
    return kind, int(cap or 0)


class GuideLLMImporter:
    name = "guidellm"
    tool = "guidellm"
    description = "GuideLLM benchmark report (benchmarks.json / .yaml)"

    def sniff(self, path: Path, head: str) -> int:
        if path.is_dir():
            return 100 if any((path / f).is_file() for f in ("benchmarks.json",
                                                              "benchmarks.yaml")) else 0
        markers = ("generative_benchmark", "scheduler_metrics", "generative_request_stats",
                   "request_totals", "time_to_first_token_ms")
        if "benchmarks" in head and any(m in head for m in markers):
            return 100  # YAML reports sort their keys: requests may come first
        return 0

    def load(self, path: Path, **options: Any) -> ImportedRun:
        if path.is_dir():
            path = next(p for p in (path / "benchmarks.json", path / "benchmarks.yaml")
                        if p.is_file())
        doc = load_json(path, _WHAT)
        if not isinstance(doc, dict) or not isinstance(doc.get("benchmarks"), list):
            raise missing_fields_error(path, _WHAT, ["benchmarks"],
                                       "give the benchmarks.json GuideLLM wrote")
        if not doc["benchmarks"]:
            raise PeerImportError(f"{path}: the report holds no benchmarks",
                                  hint="did the GuideLLM run finish?")
        problems = []
        for k, b in enumerate(doc["benchmarks"]):
            lacks = [f for f in ("config", "requests", "metrics") if not isinstance(b.get(f), dict)]
            if not lacks and isinstance(b["requests"].get("successful"), list):
                req = (b["requests"]["successful"] or [{}])[0]
                if req and "info" not in req:
                    problems.append(f"benchmark {k + 1}: requests lack 'info' (a GuideLLM "
                                    "report before 0.4, which lens cannot read)")
            if lacks:
                problems.append(f"benchmark {k + 1} lacks " + ", ".join(f"'{f}'" for f in lacks))
        if problems:
            raise PeerImportError(f"{path}: " + "; ".join(problems),
                                  hint="give a benchmarks.json written by GuideLLM 0.4 or later")
        pick = options.get("benchmark")
        benches = list(enumerate(doc["benchmarks"]))
        if pick is not None:
            benches = [(i, b) for i, b in benches if i == int(pick)]
        return _build(path, doc, benches, options)


def _s(v: Any) -> float | None:
    return None if v is None else float(v)


def _row(req: dict[str, Any], status: str | None, window: tuple[float, float] | None,
         origin: float) -> dict[str, Any]:
    t = req.get("info", {}).get("timings", {})
    start = _s(req.get("request_start_time")) or _s(t.get("request_start"))
    if start is None:
        start = _s(t.get("resolve_start")) or origin

    def ms(v: Any) -> float | None:
        return None if v is None else (float(v) - start) * 1000.0

    first_tok = ms(t.get("first_token_iteration"))
    if "first_output_token_iteration" in t:  # 0.7+: the first answer (non-reasoning) token
        ttft = ms(t.get("first_output_token_iteration"))
        reasoning = first_tok if first_tok is not None and (ttft is None or first_tok < ttft) \
            else None
    else:
        ttft, reasoning = first_tok, None
    last = ms(t.get("last_token_iteration"))
    end = req.get("request_end_time") or t.get("request_end") or t.get("resolve_end")
    out = req.get("output_tokens")
    usage_out = (req.get("output_metrics") or {}).get("total_tokens")
    targeted = _s(t.get("targeted_start"))
    error = (req.get("info") or {}).get("error")
    if status is None:
        status = derive.status_from_error(None, error)
    elif status == "truncated":
        error = error or "cancelled by GuideLLM when its benchmark ended (incomplete)"
    row = {
        "request_id": str(req.get("request_id") or (req.get("info") or {}).get("request_id")),
        "started_at": datetime.fromtimestamp(start, tz=UTC),
        "prompt_id": str((req.get("info") or {}).get("conversation_id") or ""),
        "warmup": window is not None and not (
            float(end or start) >= window[0] and start <= window[1]),
        "scheduled_ms": ((targeted if targeted is not None else start) - origin) * 1000.0,
        "queue_ms": max((start - targeted) * 1000.0, 0.0) if targeted is not None else 0.0,
        "first_reasoning_ms": reasoning, "ttft_ms": ttft, "last_token_ms": last,
        "e2e_ms": ms(end),
        "input_tokens": req.get("prompt_tokens"), "cached_input_tokens": req.get("cached_tokens"),
        "output_tokens": out, "tokens_estimated": out is not None and usage_out is None,
        "status": status, "http_status": 200 if status == "ok" or first_tok is not None else None,
        "error": derive.error_text(error) if status != "ok" else None,
    }
    row.update(derive.streaming_fields(first_ms=derive.first_token(reasoning, ttft), last_ms=last,
                                       output_tokens=out, n_chunks=t.get("token_iterations")))
    return row


def _targeted_starts(benches: list[tuple[int, dict[str, Any]]]) -> list[float]:
    out = []
    for _, b in benches:
        for group, _status in _GROUPS:
            for req in b["requests"].get(group) or []:
                t = _s(((req.get("info") or {}).get("timings") or {}).get("targeted_start"))
                if t is not None:
                    out.append(t)
    return out


def _notes(requests: pd.DataFrame, scenarios: list[str], sampled: list[str],
           provider: str) -> list[str]:
    """What the import could not carry over from GuideLLM, and how lens read it."""
    notes = [
        "GuideLLM keeps no per-event times: there are no chunk rows, and itl_p50_ms, "
        "itl_p99_ms and itl_max_ms are null (itl_mean_ms is (last - first token) / "
        "(iterations - 1)).",
        "GuideLLM records no connection phases: dns_ms, connect_ms, sent_ms, headers_ms "
        "and conn_reused are null.",
        "Each GuideLLM benchmark is a scenario of this run: " + ", ".join(scenarios)
        + ".",
    ]
    if (requests["status"] == "truncated").any():
        notes.append("GuideLLM's 'incomplete' requests (cancelled at the end of a "
                      "benchmark) have status 'truncated'.")
    if requests["warmup"].any():
        notes.append("Requests outside GuideLLM's measurement window (warm-up and "
                     "cool-down) are marked warmup, so lens leaves them out as GuideLLM does.")
    if sampled:
        notes.append("GuideLLM kept only a sample of the successful requests ("
                     + "; ".join(sampled) + "); its summaries cover all of them, so lens's "
                     "figures from the kept rows will differ.")
    if not provider:
        notes.append("GuideLLM does not name the provider: provider is 'unknown' "
                     "(pass provider= to set it).")
    return notes


def _build(path: Path, doc: dict[str, Any], benches: list[tuple[int, dict[str, Any]]],
           options: dict[str, Any]) -> ImportedRun:
    rows: list[dict[str, Any]] = []
    summary: dict[str, Any] = {}
    scenarios: dict[int, str] = {}
    sampled: list[str] = []
    origin = min(float(b.get("start_time") or b["scheduler_metrics"]["start_time"])
                 for _, b in benches)
    # GuideLLM targets its first requests slightly before the start it records; the burst
    # starts at the earliest of them, so no scheduled_ms is negative (lens's re-import of
    # its own export refuses negative times).
    origin = min([origin, *_targeted_starts(benches)])
    for k, b in benches:
        label, conc = strategy_label(b["config"].get("strategy") or {})
        label = label if label not in scenarios.values() else f"{label}#{k + 1}"
        scenarios[k] = label
        sm = b.get("scheduler_metrics") or {}
        window = (float(sm["measure_start_time"]), float(sm["measure_end_time"])) \
            if "measure_start_time" in sm and "measure_end_time" in sm else None
        kept = 0
        for group, status in _GROUPS:
            for req in b["requests"].get(group) or []:
                rows.append({**_row(req, status, window, origin), "scenario": label,
                             "concurrency": conc})
                kept += group == "successful"
        summary[label] = {name: b["metrics"][name] for name in (
            "request_totals", "time_to_first_token_ms", "time_to_first_output_token_ms",
            "inter_token_latency_ms", "time_per_output_token_ms", "request_latency",
            "output_token_count", "prompt_token_count") if name in b["metrics"]}
        total = (b["metrics"].get("request_totals") or {}).get("successful")
        if isinstance(total, int) and total > kept:
            sampled.append(f"{label}: {kept} of {total}")
    cfg = doc.get("config") or doc.get("args") or {}
    first = benches[0][1]
    model = options.get("model") or derive.find_key(first["config"].get("backend") or {}, "model") \
        or derive.find_key(cfg, "model") or "unknown"
    url = derive.find_key(first["config"].get("backend") or {}, "target") \
        or derive.find_key(cfg, "target")
    host = derive.host_of(options.get("url") or (url if isinstance(url, str) else None))
    provider = options.get("provider") or derive.provider_for(host) or ""
    started = datetime.fromtimestamp(origin, tz=UTC)
    run_id = options.get("run_id") or default_run_id("guidellm", started, path.stem)
    defaults = {
        "run_id": run_id, "region": options.get("region", "local"), "runner": "guidellm",
        "provider": provider or "unknown", "model": str(model),
        "target": options.get("target") or derive.target_for(provider, str(model)),
        "dialect": "openai_compat", "endpoint_host": host, "shard": 0,
    }
    requests = derive.request_frame(rows, defaults)
    version = (doc.get("metadata") or {}).get("guidellm_version")
    notes = _notes(requests, list(scenarios.values()), sampled, provider)
    imported = ImportedRun(
        requests=requests, chunks=None, run_id=run_id,
        name=options.get("name") or str(first["config"].get("run_id") or path.stem),
        started_at=started, source_tool="guidellm", source_version=version,
        source_path=str(path), peer_summary=summary, notes=notes,
        extra={"scenarios": list(scenarios.values())},
    )
    imported.checks = checks(imported)
    bad = imported.mismatches
    if bad:
        imported.notes.append(f"{len(bad)} of GuideLLM's summary figures differ from the "
                              "same figures computed from the imported rows (see checks).")
    return imported


def checks(run: ImportedRun) -> list[SummaryCheck]:
    """GuideLLM's successful-request summaries, recomputed from the rows its way."""
    out: list[SummaryCheck] = []
    df = run.requests
    method = "GuideLLM weighted inverted CDF"
    for label, metrics in (run.peer_summary or {}).items():
        ok = df[(df["scenario"] == label) & (df["status"] == "ok") & ~df["warmup"].astype(bool)]
        first = ok[["first_reasoning_ms", "ttft_ms"]].min(axis=1, skipna=True).fillna(0.0)
        out_tok = pd.to_numeric(ok["output_tokens"], errors="coerce").fillna(1.0)
        series = {
            # GuideLLM summarises ``value or 0.0``: a missing value counts as 0
            "time_to_first_token_ms": ("min(first_reasoning_ms, ttft_ms)", first, None),
            "time_to_first_output_token_ms": ("ttft_ms", ok["ttft_ms"].fillna(0.0), None),
            "inter_token_latency_ms": ("tpot_ms", ok["tpot_ms"].fillna(0.0), out_tok - 1.0),
            "request_latency": ("e2e_ms / 1000", ok["e2e_ms"].fillna(0.0) / 1000.0, None),
        }
        for name, (column, values, weights) in series.items():
            block = (metrics.get(name) or {}).get("successful")
            if not isinstance(block, dict):
                continue
            ours = guidellm_summary(values.tolist(), None if weights is None else weights.tolist())
            theirs = {"mean": block.get("mean"), **(block.get("percentiles") or {})}
            for stat in ("mean", "p50", "p90", "p99"):
                if theirs.get(stat) is not None:
                    out.append(SummaryCheck(label, f"{name} {stat}", column, method,
                                            ours[stat], float(theirs[stat])))
    return out
