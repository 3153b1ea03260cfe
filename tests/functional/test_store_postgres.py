"""The results store on a real PostgreSQL server: same migrations, bursts (`lens run --db
postgresql://...`), embedded sinks, loaders, prune, and writers from several processes."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import sqlalchemy as sa
from helpers_cli import lens
from helpers_pg import pg_bindir, postgres_server

from lens.analysis.frames import load
from lens.record import RequestRecord
from lens.sim import SimThread, start_sim_in_thread
from lens.store import migrations
from lens.store.base import RunInfo
from lens.store.retention import prune, set_retention
from lens.store.sql import normalize_url, open_store

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(pg_bindir() is None, reason="PostgreSQL not installed (make sysdeps)"),
]
ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def pg() -> Iterator[str]:
    """A plain postgresql:// URL (lens normalises it to the psycopg driver)."""
    with postgres_server() as url:
        yield url.replace("postgresql+psycopg://", "postgresql://")


@pytest.fixture(scope="module")
def sim() -> Iterator[SimThread]:
    with start_sim_in_thread({"default": {"header_ms": 0, "ttft_ms": 10, "itl_ms": 1, "output_tokens": 8}}) as s:
        yield s


def test_url_normalisation() -> None:
    assert normalize_url("postgresql://u@h:5/d") == "postgresql+psycopg://u@h:5/d"
    assert normalize_url("postgres://u@h/d") == "postgresql+psycopg://u@h/d"
    assert normalize_url("postgresql+psycopg://u@h/d") == "postgresql+psycopg://u@h/d"
    assert normalize_url("sqlite:///x.db") == "sqlite:///x.db"


def test_migrations_apply_on_a_fresh_server(pg: str) -> None:
    store = open_store(pg)
    try:
        assert store.engine.dialect.name == "postgresql" and store.engine.dialect.driver == "psycopg"
        insp = sa.inspect(store.engine)
        assert {"runs", "requests", "chunks", "settings", "text_samples"} <= set(insp.get_table_names())
        with store.engine.connect() as conn:
            assert migrations.applied(conn) == [m.name for m in migrations.discover()]
        assert migrations.migrate(store.engine) == []  # re-opening is a no-op
        from lens.store.schema import metadata

        for table in ("runs", "requests", "chunks"):
            assert [c["name"] for c in insp.get_columns(table)] == [c.name for c in metadata.tables[table].columns]
    finally:
        store.close()


def test_burst_writes_to_postgres_and_loaders_read_it(pg: str, sim: SimThread, monkeypatch) -> None:
    res = lens(["run", "--provider", "sim", "--base-url", sim.base_url("openai_chat"), "--model", "m",
                "--requests", "6", "--concurrency", "2", "--max-tokens", "8", "--db", pg,
                "--run-id", "pgburst", "--tag", "where=pg", "--json", "--no-progress"])  # fmt: skip
    assert res.code == 0, res.err
    assert json.loads(res.out)["run_id"] == "pgburst"
    req, chunks = load(db=pg, runs="pgburst", chunks=True)
    assert len(req) == 6 and set(req["status"]) == {"ok"}
    assert str(req["started_at"].dtype) == "datetime64[us, UTC]" and str(req["output_tokens"].dtype) == "Int64"
    per_request = chunks.groupby("request_id").size()
    for row in req.itertuples():
        truth = sim.truth(row.server_request_id)
        assert row.output_tokens == truth.output_tokens
        assert per_request[row.request_id] == truth.n_events  # every event the server wrote
    assert len(load(db=pg, tags={"where": "pg"})) == 6 and len(load(db=pg, tags={"where": "x"})) == 0
    monkeypatch.setenv("LENS_DB", pg)  # loaders and CLI honour LENS_DB too
    assert len(load(runs=["pgburst"])) == 6
    assert "pgburst" in lens(["runs", "--json"]).out


def test_embedded_sdk_calls_land_in_postgres_with_redacted_text(pg: str, sim: SimThread) -> None:
    openai = pytest.importorskip("openai")
    import lens.embed

    client = openai.OpenAI(base_url=sim.base_url("openai_chat"), api_key="sk-sim", max_retries=0)
    prof = lens.embed.instrument(client, store=pg, keep_text=True)
    for _ in range(3):
        list(client.chat.completions.create(model="m", stream=True, max_tokens=4,
             messages=[{"role": "user", "content": "call me at +44 20 7946 0958"}]))  # fmt: skip
    prof.close()
    run_id = prof.sink.run_id
    req = load(db=pg, runs=run_id)
    assert len(req) == 3 and set(req["runner"]) == {"embed"} and set(req["status"]) == {"ok"}
    eng = sa.create_engine(normalize_url(pg))
    with eng.connect() as conn:
        rows = conn.exec_driver_sql(
            "select prompt_text from text_samples where run_id = %(r)s", {"r": run_id}).all()  # fmt: skip
        status = conn.exec_driver_sql("select status from runs where run_id = %(r)s", {"r": run_id}).scalar()
    eng.dispose()
    assert [r[0] for r in rows] == ["call me at [REDACTED:phone]"] * 3 and status == "complete"


WRITER = """
import sys
from datetime import UTC, datetime
from lens.embed.sink import EmbedSink
from lens.record import ChunkTiming, RequestRecord
from lens.store.sql import open_store
url, k, n = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
sink = EmbedSink(store=url, run_id=f"proc{k}", maxsize=n + 1)
shared = open_store(url)
for i in range(n):
    for run, sinkf in ((f"proc{k}", sink.submit), ("shared", shared.add)):
        rid = f"p{k}-r{i}"
        rec = RequestRecord(run, rid, datetime.now(UTC), ttft_ms=float(i))
        sinkf(rec, [ChunkTiming(rid, j, float(j), "text", 1) for j in range(3)])
sink.close()
shared.close()
assert sink.dropped == 0 and not sink.errors, (sink.dropped, sink.errors)
"""


def test_concurrent_writer_processes_lose_and_duplicate_nothing(pg: str) -> None:
    store = open_store(pg)
    store.start_run(RunInfo("shared", "shared", datetime.now(UTC)))
    n, procs = 60, 4
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    ps = [subprocess.Popen([sys.executable, "-c", WRITER, pg, str(k), str(n)], env=env,
                           stderr=subprocess.PIPE, text=True) for k in range(procs)]  # fmt: skip
    for p in ps:
        _out, err = p.communicate(timeout=120)
        assert p.returncode == 0, err[-2000:]
    with store.engine.connect() as conn:
        def q(sql: str) -> int:
            return int(conn.exec_driver_sql(sql).scalar_one())

        assert q("select count(*) from requests where run_id = 'shared'") == n * procs
        assert q("select count(distinct request_id) from requests where run_id = 'shared'") == n * procs
        assert q("select count(*) from requests where run_id like 'proc%%'") == n * procs
        assert q("select count(*) from chunks where run_id = 'shared'") == 3 * n * procs
        assert q("select count(*) from chunks where run_id like 'proc%%'") == 3 * n * procs
        assert q("select count(*) from runs where run_id like 'proc%%' and status = 'complete'") == procs
    for k in range(procs):
        ttfts = sorted(load(db=pg, runs=f"proc{k}")["ttft_ms"])
        assert ttfts == [float(i) for i in range(n)]  # every record of every process, once
    store.close()


def test_prune_on_postgres(pg: str) -> None:
    store = open_store(pg)
    try:
        old = datetime.now(UTC) - timedelta(days=400)
        store.start_run(RunInfo("ancient", "a", old))
        store.add_many([RequestRecord("ancient", "a1", old)], [])
        store.finish_run("ancient", status="complete")
        store.set_finished_at("ancient", old)
        set_retention(store, "365d")
        res = prune(store)
        assert res.runs == ["ancient"] and res.requests == 1
        assert not store.has_run("ancient") and store.has_run("pgburst")
        set_retention(store, None)
    finally:
        store.close()
