"""EmbedSink: bounded, never blocks or raises into the app; fan-out; text kept only redacted."""

from __future__ import annotations

import sqlite3
import threading
import time
from datetime import UTC, datetime
from pathlib import Path

from lens.embed.sink import EmbedSink, TextSample
from lens.record import ChunkTiming, RequestRecord
from lens.store.sql import open_store


def _rec(i: int, run_id: str = "r") -> RequestRecord:
    return RequestRecord(run_id=run_id, request_id=f"q{i}", started_at=datetime.now(UTC), ttft_ms=float(i))


def test_full_queue_drops_and_counts_without_blocking() -> None:
    gate = threading.Event()
    seen: list[str] = []

    def slow(record: RequestRecord) -> None:
        gate.wait(10)
        seen.append(record.request_id)

    sink = EmbedSink(callback=slow, maxsize=2, batch=1)
    try:
        t0 = time.perf_counter()
        results = [sink.submit(_rec(i)) for i in range(50)]
        elapsed = time.perf_counter() - t0
        # one item in the writer's hands + 2 queued; the other 47 were dropped at once
        assert results.count(True) <= 3 and results[:2] == [True, True]
        assert sink.dropped == results.count(False) >= 47
        assert elapsed < 0.05, f"submit blocked: {elapsed:.3f}s for 50 calls"
    finally:
        gate.set()
        sink.close()
    assert len(seen) == results.count(True) == sink.delivered


class Boom:
    def __init__(self) -> None:
        self.calls = 0

    def add(self, record: RequestRecord, chunks: object) -> None:
        self.calls += 1
        raise RuntimeError("exporter down")


def test_failing_sinks_are_counted_and_logged_once_never_raised(caplog) -> None:
    good: list[RequestRecord] = []
    boom = Boom()

    def bad_callback(record: RequestRecord) -> None:
        raise ValueError("user bug")

    sink = EmbedSink(sinks=[boom, type("Ok", (), {"add": lambda self, r, c: good.append(r)})()],
                     callback=bad_callback)  # fmt: skip
    for i in range(5):
        assert sink.submit(_rec(i)) is True
    assert sink.flush(10)
    sink.close()
    assert boom.calls == 5 and len(good) == 5  # one failing sink does not starve the next
    assert sink.errors == {"Boom": 5, "callback": 5}
    warnings = [r for r in caplog.records if "failed" in r.getMessage()]
    assert len(warnings) == 2  # once per destination
    assert sink.submit(_rec(9)) is False and sink.dropped == 1  # closed: dropped, no raise


def test_store_gets_run_rows_and_no_text_by_default(tmp_path: Path) -> None:
    db = tmp_path / "e.db"
    sink = EmbedSink(store=str(db), run_id="embed-1")
    sink.submit(_rec(1, "embed-1"), [ChunkTiming("q1", 0, 1.0, "text", 1)],
                TextSample("mail me at a@b.example", "ok"))  # fmt: skip
    sink.close()
    store = open_store(db)
    try:
        run = store.get_run("embed-1")
        assert run.runner == "embed" and run.status == "complete" and run.n_requests == 1
        assert len(store.chunks_frame("embed-1")) == 1
    finally:
        store.close()
    with sqlite3.connect(db) as con:
        assert con.execute("select count(*) from text_samples").fetchone()[0] == 0
        dump = "\n".join(con.iterdump())
    assert "a@b.example" not in dump and "mail me" not in dump


def test_keep_text_stores_redacted_samples_only(tmp_path: Path) -> None:
    db = tmp_path / "e.db"
    sink = EmbedSink(store=str(db), run_id="embed-2", keep_text=True)
    prompt = "Call +1 (415) 555-0100 or mail jane.doe@example.com, key sk-proj-abcdefghijklmnop1234"
    sink.submit(_rec(1, "embed-2"), (), TextSample(prompt, "card 4111 1111 1111 1111 from 10.0.0.1"))
    sink.close()
    with sqlite3.connect(db) as con:
        (p, r), = con.execute("select prompt_text, response_text from text_samples").fetchall()
        dump = "\n".join(con.iterdump())
    assert "[REDACTED:phone]" in p and "[REDACTED:email]" in p and "[REDACTED:api_key]" in p
    assert r == "card [REDACTED:card] from [REDACTED:ip]"
    for secret in ("555-0100", "jane.doe", "sk-proj-", "4111 1111", "10.0.0.1"):
        assert secret not in dump


def test_unreachable_store_costs_records_not_the_app(tmp_path: Path) -> None:
    # A database that cannot be opened (a directory where the file should be).
    bad = tmp_path / "dir.db"
    bad.mkdir()
    sink = EmbedSink(store=str(bad))
    assert sink.submit(_rec(1)) is True
    assert sink.flush(10)
    sink.close()
    assert sink.errors.get("store") == 1
