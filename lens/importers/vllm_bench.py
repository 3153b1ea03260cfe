"""vLLM ``bench serve --save-result --save-detailed`` (and ``benchmark_serving.py``) JSON.

One JSON object per run: setup (``date``, ``backend``, ``model_id``, ``max_concurrency``,
``request_rate``), summary (``mean_ttft_ms``, ``p99_itl_ms``, ...) and, with
``--save-detailed``, per-request arrays in seconds: ``ttfts``, ``itls`` (a list per
request), ``latencies``, ``start_times`` (``perf_counter``), ``queue_times``,
``input_lens``, ``output_lens`` and ``errors`` ('' when the request succeeded).
``--append-result`` writes several objects, one per line: each becomes a scenario.
Mapping: docs/importers.md#vllm.
"""

from __future__ import annotations

import itertools
import json
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from lens.importers import derive
from lens.importers.base import (
    ImportedRun,
    PeerImportError,
    SummaryCheck,
    default_run_id,
    load_json,
    missing_fields_error,
)
from lens.importers.peer_stats import numpy_stats

_WHAT = "vLLM bench serve result"
_ARRAYS = ("ttfts", "itls", "input_lens", "output_lens", "errors")
_SUMMARY_KEYS = ("duration", "completed", "failed", "total_input_tokens", "total_output_tokens",
                 "request_throughput", "output_throughput", "total_token_throughput",
                 "max_concurrency", "request_rate", "burstiness")


class VLLMBenchImporter:
    name = "vllm"
    tool = "vllm-bench"
    description = "vLLM bench serve result JSON (--save-result --save-detailed)"

    def sniff(self, path: Path, head: str) -> int:
        if '"completed"' in head and ('"ttfts"' in head or '"mean_ttft_ms"' in head
                                      or '"request_throughput"' in head):
            return 100
        return 0

    def load(self, path: Path, **options: Any) -> ImportedRun:
        _check_tz(options.get("tz"))
        docs = _documents(path)
        for doc in docs:
            missing = [k for k in _ARRAYS if not isinstance(doc.get(k), list)]
            if missing and "mean_ttft_ms" in doc and len(missing) == len(_ARRAYS):
                raise PeerImportError(
                    f"{path}: this vLLM result holds only the summary, no per-request data",
                    hint="run `vllm bench serve` with --save-result --save-detailed",
                )
            if missing:
                raise missing_fields_error(path, _WHAT, missing,
                                           "save it with --save-result --save-detailed")
            n = len(doc["ttfts"])
            uneven = [k for k in (*_ARRAYS, "latencies", "start_times", "queue_times")
                      if isinstance(doc.get(k), list) and len(doc[k]) != n]
            if uneven:
                raise PeerImportError(
                    f"{path}: the per-request arrays differ in length ({n} ttfts, but "
                    + ", ".join(f"{len(doc[k])} {k}" for k in uneven) + ")",
                    hint="give the result file as vLLM wrote it")
        return _build(path, docs, options)


def _check_tz(tz: str | None) -> None:
    """A ``tz`` that names no zone is the user's typo, not a bad file: say so up front."""
    if tz is None:
        return
    from zoneinfo import ZoneInfoNotFoundError

    try:
        ZoneInfo(tz)
    except (ZoneInfoNotFoundError, ValueError):
        raise PeerImportError(
            f"tz='{tz}' is not a time zone name",
            hint="give the zone of the machine that ran vLLM as Area/City, e.g. tz='Europe/Paris'",
        ) from None


def _documents(path: Path) -> list[dict[str, Any]]:
    text = path.read_text(encoding="utf-8", errors="replace")
    lines = [ln for ln in text.splitlines() if ln.strip()]
    if len(lines) > 1 and all(ln.lstrip().startswith("{") for ln in lines):
        try:  # --append-result: one JSON object per line
            return [json.loads(ln) for ln in lines]
        except (json.JSONDecodeError, RecursionError):
            pass  # read as one document below, which says what is wrong
    doc = load_json(path, _WHAT)
    if not isinstance(doc, dict):
        raise PeerImportError(f"{path}: expected one JSON object (a vLLM bench result)",
                              hint="give the file written by --save-result")
    return [doc]


def _saved_at(doc: dict[str, Any], tz: str | None) -> datetime | None:
    """vLLM's ``date``: local wall time when the result was saved (None: not such a date)."""
    try:
        saved = datetime.strptime(str(doc.get("date")), "%Y%m%d-%H%M%S")
    except ValueError:
        return None
    return saved.replace(tzinfo=ZoneInfo(tz) if tz else UTC).astimezone(UTC)


def _mtime(path: Path) -> datetime:
    return datetime.fromtimestamp(path.stat().st_mtime, tz=UTC)


def _started(doc: dict[str, Any], tz: str | None, path: Path) -> datetime:
    """When the run began: saved (``date``, else the file's modification time, which is
    also when vLLM saved it) minus the run's duration."""
    saved = _saved_at(doc, tz) or _mtime(path)
    return saved - timedelta(seconds=float(doc.get("duration") or 0.0))


def _scenario(doc: dict[str, Any]) -> str:
    rate, conc = doc.get("request_rate", "inf"), doc.get("max_concurrency")
    return f"rate-{rate}" + (f"-c{conc}" if conc else "")


def _rows(doc: dict[str, Any], k: int, scenario: str, begun: datetime,
          origin: datetime) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    n = len(doc["ttfts"])
    starts = doc.get("start_times") or [None] * n
    t0 = min((s for s in starts if s is not None), default=0.0)
    lat = doc.get("latencies") or [None] * n
    queue = doc.get("queue_times") or [None] * n
    conc = doc.get("max_concurrency")
    rows, chunks = [], []
    for i in range(n):
        rid = f"{k + 1}-{i:05d}" if k else f"{i:05d}"
        err = doc["errors"][i]
        ok = not err
        at = begun + timedelta(seconds=(starts[i] - t0) if starts[i] is not None else 0.0)
        gaps = [g * 1000.0 for g in (doc["itls"][i] or [])] if ok else []
        ttft = doc["ttfts"][i] * 1000.0 if ok else None
        last = ttft + sum(gaps) if ttft is not None else None
        e2e = lat[i] * 1000.0 if ok and lat[i] is not None else last
        out = doc["output_lens"][i] if ok else None
        row = {
            "request_id": rid, "started_at": at, "scenario": scenario,
            "concurrency": int(conc) if conc else 0,
            "scheduled_ms": (at - origin).total_seconds() * 1000.0,
            "queue_ms": float(queue[i]) * 1000.0 if queue[i] is not None else 0.0,
            "ttft_ms": ttft, "last_token_ms": last, "e2e_ms": e2e,
            "input_tokens": doc["input_lens"][i], "output_tokens": out,
            "tokens_estimated": False,
            "status": "ok" if ok else derive.status_from_error(None, err),
            "http_status": 200 if ok else None,
            # a traceback's last line says what failed
            "error": None if ok else derive.error_text(str(err).strip().splitlines()[-1]),
        }
        row.update(derive.streaming_fields(first_ms=ttft, last_ms=last, output_tokens=out,
                                           n_chunks=(len(gaps) + 1) if ok else 0,
                                           gaps_ms=gaps))
        rows.append(row)
        if ok and ttft is not None:
            chunks += derive.chunk_rows(rid, ttft, gaps, out)
    return rows, chunks


def _build(path: Path, docs: list[dict[str, Any]], options: dict[str, Any]) -> ImportedRun:
    tz = options.get("tz")
    begun = [_started(d, tz, path) for d in docs]
    origin = min(begun)
    labels = [_scenario(d) for d in docs]
    labels = [lb if labels.count(lb) == 1 else f"{lb}#{k + 1}" for k, lb in enumerate(labels)]
    rows, chunks = [], []
    for k, doc in enumerate(docs):
        r, c = _rows(doc, k, labels[k], begun[k], origin)
        rows += r
        chunks += c
    first = docs[0]
    model = options.get("model") or str(first.get("model_id") or "unknown")
    backend = str(first.get("backend") or first.get("endpoint_type") or "")
    provider = options.get("provider") or ""
    run_id = options.get("run_id") or default_run_id("vllm", origin, path.stem)
    defaults = {
        "run_id": run_id, "region": options.get("region", "local"), "runner": "vllm-bench",
        "provider": provider or "unknown", "model": model,
        "target": options.get("target") or derive.target_for(provider, model),
        "dialect": "openai_compat" if "chat" in backend else (backend or "openai_compat"),
        "endpoint_host": derive.host_of(options.get("url")), "shard": 0,
        "prompt_id": "", "warmup": False,
    }
    requests = derive.request_frame(rows, defaults)
    notes = [
        "vLLM's TTFT is the first chunk that has a choice, even one with empty text (the "
        "role-only opening chunk): ttft_ms is vLLM's TTFT and first_reasoning_ms is null.",
        "vLLM keeps each chunk's gap but not its kind or token count: chunks are all 'text' "
        "and output tokens are spread evenly over them.",
        "vLLM records no connection phases and no result URL: dns_ms, connect_ms, sent_ms, "
        "headers_ms, conn_reused and endpoint_host are empty.",
        *_date_notes(path, docs, labels, tz),
        "Failed requests keep no timings in vLLM's file: their e2e_ms is null.",
    ]
    if not all(isinstance(d.get("latencies"), list) for d in docs):
        notes.append("This result has no 'latencies' (older vLLM): e2e_ms is the last "
                     "chunk's time.")
    if not all(isinstance(d.get("start_times"), list) for d in docs):
        notes.append("This result has no 'start_times' (older vLLM): every request is "
                     "placed at the start of the run.")
    if not provider:
        notes.append("vLLM does not record the provider or server: provider is 'unknown' "
                     "(pass provider= and url= to set them).")
    summary = {lb: {k: v for k, v in derive.without_secrets(d).items()
                    if not isinstance(v, list | dict)}
               for lb, d in zip(labels, docs, strict=True)}
    imported = ImportedRun(
        requests=requests, chunks=derive.chunk_frame(chunks), run_id=run_id,
        name=options.get("name") or str(first.get("label") or path.stem), started_at=origin,
        source_tool="vllm-bench", source_version=str(first.get("vllm_version") or "") or None,
        source_path=str(path), peer_summary=summary, notes=notes,
        extra={"scenarios": labels},
    )
    imported.checks = checks(imported)
    if imported.mismatches:
        imported.notes.append(f"{len(imported.mismatches)} of vLLM's summary figures differ "
                              "from the same figures computed from the imported rows.")
    return imported


def _date_notes(path: Path, docs: list[dict[str, Any]], labels: list[str],
                tz: str | None) -> list[str]:
    """What the start times were placed by: vLLM's ``date``, or the file's time (said)."""
    notes = []
    bad = [(lb, d) for lb, d in zip(labels, docs, strict=True) if _saved_at(d, tz) is None]
    if len(bad) < len(docs):
        notes.append("vLLM writes its date in the machine's local time without a zone: start "
                     "times are " + (f"read in {tz}." if tz else
                                     "read as UTC (pass tz='Area/City' to correct them)."))
    for label, doc in bad:
        date = doc.get("date")
        what = "no 'date'" if date is None else f"'date' ({str(date)[:40]})"
        where = f" in scenario {label}" if len(docs) > 1 else ""
        notes.append(f"The result has {what}{where}, not a date as vLLM writes it "
                     "(20260310-160512): its start times are placed by the file's "
                     f"modification time ({_mtime(path):%Y-%m-%d %H:%M:%S} UTC), the run "
                     "ending then.")
    return notes


def _stat_keys(summary: dict[str, Any], name: str) -> list[str]:
    """vLLM's summary keys for one metric: mean_/median_/std_/p<q>_<name>_ms."""
    tail = f"_{name}_ms"
    return [k for k in summary if k.endswith(tail)
            and (k.split("_")[0] in ("mean", "median", "std") or k.startswith("p"))
            and k[: -len(tail)].count("_") == 0]


def checks(run: ImportedRun) -> list[SummaryCheck]:
    """vLLM's summary (numpy over successful requests) recomputed from the rows."""
    out: list[SummaryCheck] = []
    df, ch = run.requests, run.chunks
    for label, summary in (run.peer_summary or {}).items():
        ok = df[(df["scenario"] == label) & (df["status"] == "ok")]
        gaps: list[float] = []
        if ch is not None and len(ch):
            sel = ch[ch["request_id"].isin(ok["request_id"])].sort_values(["request_id", "index"])
            for _, g in sel.groupby("request_id", sort=False):
                gaps += [b - a for a, b in itertools.pairwise(g["t_ms"].tolist())]
        out_tok = ok["output_tokens"].astype("float64")
        tpot = ((ok["e2e_ms"] - ok["ttft_ms"]) / (out_tok - 1))[out_tok > 1]
        series = {"ttft": ("ttft_ms", ok["ttft_ms"].tolist()),
                  "tpot": ("(e2e_ms - ttft_ms) / (output_tokens - 1)", tpot.tolist()),
                  "itl": ("gaps between chunks", gaps), "e2el": ("e2e_ms", ok["e2e_ms"].tolist())}
        for name, (column, values) in series.items():
            keys = _stat_keys(summary, name)
            pct = [float(k[1:].split("_")[0]) for k in keys if k.startswith("p")]
            ours = numpy_stats(values, pct)
            for key in keys:
                out.append(SummaryCheck(label, key, column, "numpy linear",
                                        ours[key.split("_")[0]], float(summary[key])))
    return out
