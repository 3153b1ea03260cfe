"""#17 item 2: a server echoing the API key in its response headers never gets it stored.

The review's server put ``Authorization: Bearer sk-...`` into ``x-request-id`` and the
``x-ratelimit-*`` headers; the old engine stored both verbatim, so the key reached the
database, every export format, the Lambda runner's inline rows and the embed store. Here a
leaky gateway on aiohttp.web (tests/helpers_echo.py) echoes every credential it receives
into ``x-request-id``, rate-limit headers, ``openai-processing-ms``, ``retry-after``, the
error body and a mid-stream error event. Two keys are sent: a key-shaped one (``sk-...``,
as the Bearer token) and a gateway key with no known shape (as ``x-api-key``), which only
scrubbing by the request's own secret values can catch.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
from helpers_echo import LONG, EchoServer, echo_server
from helpers_runner import Ctx

from lens.burst.executor import LocalExecutor
from lens.burst.run import run
from lens.probe.outcome import HEADER_VALUE_LIMIT
from lens.record import RequestRecord
from lens.store.files import export_run
from lens.store.sql import open_store

KEY = "sk-echo-Q7x2LmN9pR4tV8wZ3yB6"
GW = "gw-tenant-7Hq2xv-secret-91"  # no known key shape: only the value scrubber catches it
MARKS = (KEY, KEY[8:], GW, GW[10:])  # the keys and their distinctive tails


@pytest.fixture(scope="module")
def srv() -> Iterator[EchoServer]:
    with echo_server() as s:
        yield s


def _target(srv: EchoServer, mode: str) -> dict[str, Any]:
    return {"name": mode, "provider": "openai_compat", "base_url": f"{srv.url}/{mode}/v1", "model": "m",
            "api_key_env": "ECHO_KEY", "headers_env": {"x-api-key": "ECHO_GW"}}


def _spec(srv: EchoServer, modes: tuple[str, ...] = ("ok", "err", "mid")) -> dict[str, Any]:
    return {"name": "echo", "targets": [_target(srv, m) for m in modes], "prompts": {"synthetic_tokens": 8},
            "max_tokens": 4, "load": {"requests": 2, "concurrency": 1}}


def _leaks(text: str) -> list[str]:
    return [m for m in MARKS if m in text]


def _files_text(folder: Path) -> str:
    """Every file under ``folder`` as text: raw bytes, and Parquet files decoded too."""
    out = []
    for p in sorted(folder.rglob("*")):
        if not p.is_file():
            continue
        out.append(p.read_bytes().decode("latin-1"))
        if p.suffix == ".parquet":  # compressed pages could hide a string from a byte search
            out.append(pd.read_parquet(p).astype(str).to_csv())
    return "\n".join(out)


def _check_records(records: list[RequestRecord]) -> None:
    by = {r.target: r for r in records}
    assert set(by) == {"ok", "err", "mid"}
    for r in records:
        assert not _leaks(json.dumps(r.to_dict(), default=str)), r.target
        # what is kept still tells the request apart, with the keys cut out, and is bounded
        assert r.server_request_id is not None and r.server_request_id.startswith("req_0001 ")
        assert "[REDACTED]" in r.server_request_id and len(r.server_request_id) <= HEADER_VALUE_LIMIT
        rl = json.loads(r.ratelimit or "{}")
        assert set(rl) == {"x-ratelimit-limit-requests", "x-ratelimit-remaining-tokens",
                           "anthropic-ratelimit-requests-reset", "retry-after"}
        assert all("[REDACTED]" in v and len(v) <= HEADER_VALUE_LIMIT for v in rl.values())
        assert len(rl["x-ratelimit-remaining-tokens"]) < LONG  # bounded
        assert r.server_processing_ms is None and r.retry_after_s is None  # a key is no number
    assert by["ok"].status == "ok" and by["ok"].output_tokens == 2
    assert by["err"].status == "http_error" and by["err"].http_status == 401
    assert (by["err"].error or "").startswith("HTTP 401 Unauthorized: Incorrect API key provided: ")
    assert "[REDACTED]" in (by["err"].error or "")
    assert by["mid"].status == "stream_error" and "upstream rejected the key " in (by["mid"].error or "")
    assert "[REDACTED]" in (by["mid"].error or "")


def test_engine_store_and_every_export_format_hold_no_echoed_key(srv: EchoServer, tmp_path: Path) -> None:
    db = tmp_path / "db" / "lens.db"
    store = open_store(db)
    try:
        out = run(_spec(srv), store=store, executor=LocalExecutor(api_keys={"ECHO_KEY": KEY, "ECHO_GW": GW}))
        assert len(out.records) == 6
        _check_records(out.records)
        _check_records(store.records(out.run_id))
        for fmt in ("parquet", "csv", "jsonl"):
            files = export_run(store, out.run_id, tmp_path / "export" / f"run.{fmt}")
            assert files.meta.is_file() and files.chunks.is_file()
    finally:
        store.close()
    assert not _leaks(_files_text(db.parent))  # the database file, WAL included
    exported = _files_text(tmp_path / "export")
    assert "req_0001 " in exported and "[REDACTED]" in exported  # the rows are there
    assert not _leaks(exported)


def test_runner_inline_rows_hold_no_echoed_key(srv: EchoServer) -> None:
    import lens.fleet.runner.handle as H

    try:
        H.configure(env={"LENS_ALLOWED_BASE_URLS": srv.url,
                         "LENS_API_KEY_SECRETS": json.dumps({"ECHO_KEY": "lens/echo", "ECHO_GW": "lens/gw"}),
                         "LENS_API_KEY_URLS": json.dumps({"ECHO_KEY": [srv.url], "ECHO_GW": [srv.url]})})
        H.state().api_keys = {"ECHO_KEY": KEY, "ECHO_GW": GW}  # as fetched from Secrets Manager
        resp = H.handler({"run_id": "echo", "inline": True, "spec": _spec(srv)}, Ctx(60_000))
    finally:
        H.configure()
    assert resp["ok"] is True, resp
    records = [RequestRecord.from_dict(r) for r in resp["rows"]["records"]]
    assert len(records) == 6
    _check_records(records)
    assert not _leaks(json.dumps(resp, default=str))


def test_odd_numeric_headers_are_not_stored_as_numbers(srv: EchoServer) -> None:
    """NaN processing time, a negative retry-after, an infinite retry-after-ms: none is a
    duration, so none is stored (the old code stored nan and inf)."""
    targets = [{"name": m, "provider": "openai_compat", "base_url": f"{srv.url}/{m}/v1", "model": "m"}
               for m in ("odd", "odd429")]
    out = run({"targets": targets, "prompts": {"synthetic_tokens": 8}, "max_tokens": 4, "load": {"requests": 1}})
    by = {r.target: r for r in out.records}
    assert by["odd"].status == "ok" and by["odd429"].status == "rate_limited"
    for r in by.values():
        assert r.server_request_id == "req_odd"
        assert r.server_processing_ms is None and r.retry_after_s is None
        assert json.loads(r.ratelimit or "{}") == {"retry-after": "-5", "retry-after-ms": "1e400",
                                                   "x-ratelimit-reset-requests": "inf"}


@pytest.mark.parametrize(
    ("headers", "want"),
    [({"retry-after": "2.5"}, 2.5), ({"retry-after-ms": "1500"}, 1.5), ({"retry-after": "-5"}, None),
     ({"retry-after": "nan"}, None), ({"retry-after": "inf"}, None), ({"retry-after-ms": "1e400"}, None),
     ({"retry-after-ms": "-1", "retry-after": "3"}, 3.0), ({"retry-after": "Bearer sk-x"}, None)],
)
def test_retry_after_is_a_finite_non_negative_duration(headers: dict[str, str], want: float | None) -> None:
    from lens.probe.outcome import retry_after

    assert retry_after(headers) == want


@pytest.mark.parametrize(("value", "want"), [("412", 412.0), ("0", 0.0), ("NaN", None), ("-3", None),
                                             ("inf", None), ("sk-echo", None), ("", None)])
def test_processing_ms_is_a_finite_non_negative_duration(value: str, want: float | None) -> None:
    from lens.probe.outcome import processing_ms

    assert processing_ms({"openai-processing-ms": value}) == want


def test_impossible_usage_counts_are_not_stored(srv: EchoServer) -> None:
    """#17 item 13, the engine's side: a usage report with -5, Infinity and NaN token counts
    (JSON parsers accept the last two) is not stored; the answer is counted locally."""
    out = run({"targets": [{"provider": "openai_compat", "base_url": f"{srv.url}/badusage/v1", "model": "m"}],
               "prompts": {"synthetic_tokens": 8}, "max_tokens": 4, "load": {"requests": 1}})
    (r,) = out.records
    assert r.status == "ok"
    assert r.output_tokens == 2 and r.tokens_estimated  # "hello there", counted here
    assert r.reasoning_tokens is None
    assert r.input_tokens is not None and r.input_tokens > 0  # the prompt, counted here
