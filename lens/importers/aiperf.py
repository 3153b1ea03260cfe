"""NVIDIA AIPerf: per-request records (``profile_export.jsonl``) and its summary.

Each line is one request: ``metadata`` (wall-clock ``*_ns`` times, ids, benchmark
phase), ``metrics`` (``{tag: {"value": v, "unit": u}}`` in display units) and ``error``
(``{code, type, message}`` or null). The aggregate ``profile_export_aiperf.json`` beside
it, when present, gives the model, URL, concurrency, AIPerf's version and its own
summary, which the import is checked against. Mapping: docs/importers.md#aiperf.
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
    iter_json_lines,
    load_json,
)
from lens.importers.peer_stats import numpy_stats

SUMMARY_FILE = "profile_export_aiperf.json"
RECORDS_FILE = "profile_export.jsonl"
_WHAT = "AIPerf profile_export.jsonl"
# AIPerf summary tag -> lens expression it equals (after import) and how to compute it.
_CHECKED = {
    "time_to_first_token": "min(first_reasoning_ms, ttft_ms)",
    "time_to_first_output_token": "ttft_ms",
    "request_latency": "last_token_ms",
}


def _metric(metrics: dict[str, Any], tag: str, time: bool = False) -> Any:
    m = metrics.get(tag)
    if not isinstance(m, dict) or m.get("value") is None:
        return None
    value, unit = m["value"], str(m.get("unit") or "")
    if time:
        if isinstance(value, list):
            return [derive.to_ms(v, unit or "ms") for v in value]
        return derive.to_ms(value, unit or "ms")
    return value


class AIPerfImporter:
    name = "aiperf"
    tool = "aiperf"
    description = "NVIDIA AIPerf per-request records (profile_export.jsonl)"

    def sniff(self, path: Path, head: str) -> int:
        if path.is_dir():
            return 100 if (path / RECORDS_FILE).is_file() else 0
        first = next((ln for ln in head.splitlines() if ln.strip()), "")
        if '"request_start_ns"' in first and '"metrics"' in first:
            return 100
        if path.name.startswith("profile_export_aiperf") or (
            '"time_to_first_token"' in head and '"unit"' in head and '"avg"' in head
        ):
            return 60  # the summary alone: load() says to give the records
        return 0

    def load(self, path: Path, **options: Any) -> ImportedRun:
        if path.is_dir():
            path = path / RECORDS_FILE
        if path.suffix.lower() == ".json":
            raise PeerImportError(
                f"{path}: this is AIPerf's aggregate summary; it has no per-request rows",
                hint=f"import {RECORDS_FILE} from the same artifacts folder "
                "(the summary beside it is read too)",
            )
        summary_path = path.with_name(SUMMARY_FILE)
        summary = load_json(summary_path, "AIPerf summary") if summary_path.is_file() else None
        records = list(iter_json_lines(path, _WHAT))
        if not records:
            raise PeerImportError(f"{path}: the file has no records", hint="is the run complete?")
        problems = []
        for line, rec in records:
            md = rec.get("metadata") if isinstance(rec, dict) else None
            lacks = [k for k in ("request_start_ns", "request_end_ns")
                     if not isinstance(md, dict) or md.get(k) is None]
            if not isinstance(rec, dict) or "metrics" not in rec:
                lacks.append("metrics")
            if lacks:
                problems.append(f"line {line}: " + ", ".join(f"'{k}'" for k in lacks))
        if problems:
            shown = "; ".join(problems[:5]) + (f"; and {len(problems) - 5} more lines"
                                                if len(problems) > 5 else "")
            raise PeerImportError(f"{path}: records lack required fields: {shown}",
                                  hint=f"give the {RECORDS_FILE} that AIPerf wrote")
        return _build(path, [r for _, r in records], summary, options)


def _config(summary: dict[str, Any] | None) -> dict[str, Any]:
    cfg = (summary or {}).get("input_config") or {}
    models = derive.find_key(cfg, "model_names", "models", "model")
    if isinstance(models, dict):
        models = derive.find_key(models, "name", "model_names")
    model = models[0] if isinstance(models, list) and models else models
    if isinstance(model, dict):
        model = model.get("name")
    url = derive.find_key(cfg, "urls", "url", "base_url")
    url = url[0] if isinstance(url, list) and url else url
    conc = derive.find_key(cfg, "concurrency")
    endpoint = cfg.get("endpoint") if isinstance(cfg.get("endpoint"), dict) else cfg
    etype = derive.find_key(endpoint, "endpoint_type", "type")
    return {"model": str(model) if model else "", "url": str(url) if url else "",
            "concurrency": conc if isinstance(conc, int) else None,
            "endpoint_type": str(etype) if isinstance(etype, str) else ""}


def _row(rec: dict[str, Any], origin_ns: int) -> tuple[dict[str, Any], list[float] | None]:
    md, m = rec["metadata"], rec.get("metrics") or {}
    start_ns = int(md["request_start_ns"])
    ttft = _metric(m, "time_to_first_token", time=True)
    ttfo = _metric(m, "time_to_first_output_token", time=True)
    reasoning = _metric(m, "reasoning_token_count") or _metric(m, "usage_reasoning_tokens")
    # AIPerf's TTFT counts reasoning; TTFO (0.3+) is the first answer token. Without TTFO
    # a reasoning request's first event is taken as reasoning and its answer time is unknown.
    if ttfo is not None:
        ttft_ms = ttfo
        first_reasoning = ttft if ttft is not None and ttft < ttfo else None
    elif reasoning:
        ttft_ms, first_reasoning = None, ttft
    else:
        ttft_ms, first_reasoning = ttft, None
    icl = _metric(m, "inter_chunk_latency", time=True)
    last = _metric(m, "request_latency", time=True)
    first = derive.first_token(first_reasoning, ttft_ms)
    osl = _metric(m, "output_sequence_length")
    usage_out = _metric(m, "usage_completion_tokens")
    out_tokens = usage_out if usage_out is not None else osl
    issued = md.get("credit_issued_ns")
    err = rec.get("error")
    status = "ok"
    if err:
        status = "timeout" if md.get("was_cancelled") else derive.status_from_error(
            err.get("code"), f"{err.get('type') or ''} {err.get('message') or ''}")
    dns = _metric(m, "http_req_dns_lookup", time=True)
    connecting = _metric(m, "http_req_connecting", time=True)
    reused = _metric(m, "http_req_connection_reused")
    n_chunks = (len(icl) + 1) if icl else (1 if first is not None else 0)
    row: dict[str, Any] = {
        "request_id": str(md.get("x_request_id") or md.get("session_num")),
        "started_at": pd.Timestamp(start_ns, unit="ns", tz="UTC"),  # lens keeps µs
        "prompt_id": f"{md.get('conversation_id') or ''}#{md.get('turn_index') or 0}",
        "warmup": str(md.get("benchmark_phase")) == "warmup",
        "scheduled_ms": ((int(issued) if issued else start_ns) - origin_ns) / 1e6,
        "queue_ms": max((start_ns - int(issued)) / 1e6, 0.0) if issued else 0.0,
        "conn_reused": None if reused is None else bool(reused),
        "dns_ms": dns,
        "connect_ms": None if reused or connecting is None else connecting - (dns or 0.0),
        "headers_ms": _metric(m, "stream_setup_latency", time=True),
        "first_reasoning_ms": first_reasoning,
        "ttft_ms": ttft_ms,
        "last_token_ms": last if last is not None else first,
        "e2e_ms": (int(md["request_end_ns"]) - start_ns) / 1e6,
        "input_tokens": _metric(m, "usage_prompt_tokens") or _metric(m, "input_sequence_length")
        or _metric(m, "error_isl"),
        "output_tokens": out_tokens,
        "reasoning_tokens": reasoning,
        "tokens_estimated": usage_out is None and out_tokens is not None,
        "status": status,
        # AIPerf's 499 marks its own cancellation, not an HTTP response
        "http_status": 200 if not err else None if md.get("was_cancelled") else err.get("code"),
        "error": derive.error_text(f"{err.get('type') or 'error'}: {err.get('message') or ''}")
        if err else None,
    }
    row.update(derive.streaming_fields(first_ms=first, last_ms=row["last_token_ms"],
                                       output_tokens=out_tokens, n_chunks=n_chunks,
                                       gaps_ms=icl))
    return row, icl


def _build(path: Path, records: list[dict[str, Any]], summary: dict[str, Any] | None,
           options: dict[str, Any]) -> ImportedRun:
    cfg = _config(summary)
    model = options.get("model") or cfg["model"] or "unknown"
    host = derive.host_of(options.get("url") or cfg["url"])
    provider = options.get("provider") or derive.provider_for(host) or ""
    origin = min(int(r["metadata"].get("credit_issued_ns") or r["metadata"]["request_start_ns"])
                 for r in records)
    rows, chunks = [], []
    for rec in records:
        row, icl = _row(rec, origin)
        rows.append(row)
        first = derive.first_token(row["first_reasoning_ms"], row["ttft_ms"])
        if row["status"] == "ok" and first is not None:
            answer = row["ttft_ms"] if row["first_reasoning_ms"] is not None else None
            chunks += derive.chunk_rows(row["request_id"], first, icl or [],
                                        row["output_tokens"], answer_ms=answer)
    defaults = {
        "run_id": "", "region": options.get("region", "local"), "runner": "aiperf",
        "provider": provider or "unknown", "model": model,
        "target": options.get("target") or derive.target_for(provider, model),
        "dialect": "openai_chat" if "chat" in cfg["endpoint_type"] else
        cfg["endpoint_type"] or "openai_compat",
        "endpoint_host": host, "scenario": options.get("scenario", "default"), "shard": 0,
        "concurrency": options.get("concurrency") or cfg["concurrency"] or 0,
    }
    started = datetime.fromtimestamp(origin / 1e9, tz=UTC)
    run_id = options.get("run_id") or default_run_id("aiperf", started, path.parent.name)
    requests = derive.request_frame(rows, {**defaults, "run_id": run_id})
    notes = [
        "AIPerf records no request-sent time: sent_ms is null.",
        "AIPerf keeps each event's time but not its kind or token count: events before "
        "the first answer token are 'reasoning', the rest 'text', and each request's "
        "output tokens are spread evenly over its events.",
    ]
    if requests["dns_ms"].isna().all() and requests["conn_reused"].isna().all():
        notes.insert(0, "AIPerf records no DNS/connect phases here (run without HTTP "
                     "tracing): dns_ms, connect_ms and conn_reused are null.")
    if not provider:
        notes.append("AIPerf does not name the provider: provider is 'unknown' "
                     "(pass provider= to set it).")
    if requests["tokens_estimated"].fillna(False).any():
        notes.append("Output tokens are AIPerf's own tokenizer counts where the server "
                     "sent no usage: tokens_estimated is true on those rows.")
    if requests["ttft_ms"].isna().any() and requests["reasoning_tokens"].notna().any():
        notes.append("Reasoning requests without AIPerf's time_to_first_output_token "
                     "(AIPerf before 0.3): the first event is taken as reasoning "
                     "(first_reasoning_ms) and ttft_ms is null.")
    if (requests["concurrency"] == 0).all():
        notes.append("The concurrency level is unknown (no summary file beside the "
                     "records): concurrency is 0.")
    version = (summary or {}).get("aiperf_version")
    imported = ImportedRun(
        requests=requests, chunks=derive.chunk_frame(chunks), run_id=run_id,
        name=options.get("name") or str((summary or {}).get("benchmark_id") or path.parent.name),
        started_at=started, source_tool="aiperf", source_version=version,
        source_path=str(path), notes=notes,
        peer_summary=derive.without_secrets(
            {k: v for k, v in (summary or {}).items() if k != "input_config"}) or None,
    )
    imported.checks = checks(imported)
    for c in imported.mismatches:
        imported.notes.append(f"AIPerf's summary says {c.metric} = {c.theirs:.6g}; from the "
                              f"imported rows it is {c.ours:.6g}.")
    return imported


def checks(run: ImportedRun) -> list[SummaryCheck]:
    """AIPerf's summary figures recomputed from ``run``'s rows (profiling, no error)."""
    out: list[SummaryCheck] = []
    summary = run.peer_summary or {}
    df = run.requests
    ok = df[(df["status"] == "ok") & ~df["warmup"].fillna(False).astype(bool)]
    first = ok[["first_reasoning_ms", "ttft_ms"]].min(axis=1, skipna=True)
    series = {"time_to_first_token": first, "time_to_first_output_token": ok["ttft_ms"],
              "request_latency": ok["last_token_ms"]}
    for tag, column in _CHECKED.items():
        block = summary.get(tag)
        if not isinstance(block, dict) or block.get("unit") not in ("ms", None):
            continue
        ours = numpy_stats(series[tag].tolist(), [50, 90, 99])
        for stat, key in (("avg", "mean"), ("p50", "p50"), ("p90", "p90"), ("p99", "p99")):
            if stat in block:
                out.append(SummaryCheck("default", f"{tag} {stat}", column,
                                        "numpy linear", ours[key], float(block[stat])))
    return out
