"""The same store on PostgreSQL, by SQLAlchemy URL (a throwaway local server)."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest
from helpers_pg import pg_bindir, postgres_server
from helpers_store import make_chunks, make_record, run_info

from lens.analysis.frames import chunks_to_frame, records_to_frame
from lens.store import migrations
from lens.store.sql import open_store

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(pg_bindir() is None, reason="PostgreSQL not installed (make sysdeps)"),
]


def test_store_round_trip_on_postgres(tmp_path: Path) -> None:
    from lens.store.files import export_run
    from lens.store.files_import import import_run

    with postgres_server() as url:
        store = open_store(url)
        try:
            assert migrations.migrate(store.engine) == []  # open_store migrated already
            store.start_run(run_info("pg", tags={"db": "pg"}))
            recs = [make_record("pg", i) for i in range(20)]
            chunks = [c for r in recs for c in make_chunks(r)]
            for r in recs[:10]:
                store.add(r, [c for c in chunks if c.request_id == r.request_id])
            store.add_many(
                recs[10:], [c for c in chunks if c.request_id in {r.request_id for r in recs[10:]}]
            )
            store.finish_run("pg", status="complete")
            got = store.requests_frame("pg").reset_index(drop=True)
            want = (
                records_to_frame(recs)
                .sort_values(["started_at", "request_id"])
                .reset_index(drop=True)
            )
            pd.testing.assert_frame_equal(got, want)
            want_c = (
                chunks_to_frame(chunks).sort_values(["request_id", "index"]).reset_index(drop=True)
            )
            pd.testing.assert_frame_equal(store.chunks_frame("pg").reset_index(drop=True), want_c)
            run = store.get_run("pg")
            assert run.status == "complete" and run.tags == {"db": "pg"} and run.n_requests == 20
            assert run.started_at.tzinfo is not None
            # export from PostgreSQL, import into SQLite: identical frames
            files = export_run(store, "pg", tmp_path / "pg.parquet")
            lite = open_store(tmp_path / "lite.db")
            try:
                import_run(lite, files.requests)
                pd.testing.assert_frame_equal(lite.requests_frame("pg").reset_index(drop=True), got)
            finally:
                lite.close()
        finally:
            store.close()
