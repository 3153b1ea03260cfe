from __future__ import annotations

import subprocess
import sys
import types
from pathlib import Path

import pandas as pd
import pytest
from helpers_analysis import T0, make_chunks, make_records, write_sqlite

from lens.analysis.frames import CHUNK_DTYPES, REQUEST_DTYPES, chunk_path_for, load
from lens.errors import ConfigError, NotFoundError


@pytest.fixture()
def db(tmp_path: Path) -> Path:
    a = make_records(30, run_id="run-a", warmup=3)
    b = make_records(20, run_id="run-b", seed=1, target="anthropic/claude",
                     start=T0 + pd.Timedelta(days=2))
    return write_sqlite(tmp_path / "lens.db", {"run-a": (a, {"branch": "main"}),
                                               "run-b": (b, {"branch": "dev"})},
                        chunks=make_chunks(a[:5], per_request=4) + make_chunks(b[:2]))


def test_sqlite_dtypes_and_order(db: Path) -> None:
    df = load(db)
    assert len(df) == 50
    for name, dtype in REQUEST_DTYPES.items():
        assert str(df[name].dtype) == str(dtype), name
    assert list(df.columns[: len(REQUEST_DTYPES)]) == list(REQUEST_DTYPES)
    assert isinstance(df["provider"].dtype, pd.CategoricalDtype)
    assert str(df["started_at"].dt.tz) == "UTC"
    assert df.loc[df.request_id == "run-a-00001", "started_at"].iloc[0] == pd.Timestamp(
        T0) + pd.Timedelta(seconds=1)
    assert df["warmup"].sum() == 3


def test_sqlite_filters(db: Path) -> None:
    assert set(load(db, runs="run-b")["run_id"]) == {"run-b"}
    assert set(load(db, tags={"branch": "main"})["run_id"]) == {"run-a"}
    assert len(load(db, include_warmup=False)) == 47
    assert set(load(db, target="anthropic/claude")["run_id"]) == {"run-b"}
    # a bare date as until includes that whole day; since is inclusive
    assert set(load(db, until=T0.date().isoformat())["run_id"]) == {"run-a"}
    assert set(load(db, since=(T0 + pd.Timedelta(days=1)).isoformat())["run_id"]) == {"run-b"}
    only = load(db, since=T0 + pd.Timedelta(seconds=10), until=T0 + pd.Timedelta(seconds=19))
    assert len(only) == 10


def test_sqlite_chunks_follow_selection(db: Path) -> None:
    req, ch = load(db, runs=["run-a"], chunks=True)
    assert len(req) == 30
    assert len(ch) == 5 * 4
    assert set(ch["request_id"]) <= set(req["request_id"])
    for name, dtype in CHUNK_DTYPES.items():
        assert str(ch[name].dtype) == str(dtype), name


def test_exported_files_roundtrip(tmp_path: Path) -> None:
    from lens.analysis.frames import chunks_to_frame, records_to_frame
    from lens.record import CHUNK_FIELDS, REQUEST_FIELDS
    from lens.store.files import write_frame

    recs = make_records(25, error_every=5)
    df = records_to_frame(recs)
    chunks = chunks_to_frame(make_chunks(recs))
    for fmt in ("parquet", "csv", "jsonl"):
        path = tmp_path / f"run.{fmt}"
        write_frame(df, path, fmt, REQUEST_FIELDS)
        write_frame(chunks, tmp_path / f"run.chunks.{fmt}", fmt, CHUNK_FIELDS)
        assert chunk_path_for(path) == tmp_path / f"run.chunks.{fmt}"
        req, ch = load(path=path, chunks=True)
        pd.testing.assert_frame_equal(req, df, check_dtype=True)
        assert len(ch) == len(chunks)
        assert len(load(path=path, runs="nope")) == 0


def test_errors_name_the_problem(tmp_path: Path, db: Path) -> None:
    with pytest.raises(ConfigError, match="one data source"):
        load(db, path=tmp_path / "x.parquet")
    with pytest.raises(NotFoundError):
        load(tmp_path / "missing.db")
    with pytest.raises(ConfigError, match="tags"):
        load(path=db, tags={"a": "b"})
    with pytest.raises(ConfigError, match="since"):
        load(db, since="not a date")


def test_s3_delegates_to_store(monkeypatch: pytest.MonkeyPatch) -> None:
    calls: list[tuple[str, dict]] = []
    frame = pd.DataFrame([r.to_dict() for r in make_records(4)])

    def read_dataset(uri: str, **kw: object) -> pd.DataFrame:
        calls.append((uri, kw))
        return frame

    fake = types.ModuleType("lens.store.s3")
    fake.read_dataset = read_dataset  # type: ignore[attr-defined]
    fake.athena_query = lambda sql, **kw: frame.head(2)  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, "lens.store.s3", fake)
    session = object()
    out = load(s3="s3://b/lens/requests/", runs="run-a", boto3_session=session)
    assert str(out["ttft_ms"].dtype) == "float64" and len(out) == 4
    assert calls[0][1]["boto3_session"] is session
    assert calls[0][1]["partition_filter"] == {"run_id": "run-a"}
    assert len(load(athena="SELECT 1", athena_options={"database": "d"})) == 2


def test_real_store_file_loads(tmp_path: Path) -> None:
    sqlite = pytest.importorskip("lens.store.sql")
    recs = make_records(12)
    store = sqlite.open_store(tmp_path / "s.db")
    from lens.store.base import RunInfo

    store.start_run(RunInfo(run_id="run-a", name="x", started_at=T0, tags={"k": "v"}))
    for r in recs:
        store.add(r, make_chunks([r], per_request=3))
    store.finish_run("run-a", status="complete")
    store.close()
    assert len(load(store)) == 12  # a store object is accepted too
    req, ch = load(tmp_path / "s.db", tags={"k": "v"}, chunks=True)
    assert len(req) == 12 and len(ch) == 36
    assert req["ttft_ms"].tolist() == pytest.approx([r.ttft_ms for r in recs])


def test_import_does_not_pull_network_or_aws() -> None:
    code = ("import sys, lens, lens.analysis, lens.analysis.frames, lens.analysis.stats, "
            "lens.analysis.cost, lens.analysis.gate, lens.analysis.report, "
            "lens.analysis.changepoints, lens.analysis.measuring_cost, lens.cli.analysis_cmds; "
            "bad = [m for m in ('aiohttp', 'boto3', 'botocore', 'awswrangler') if m in sys.modules]; "
            "print(bad); sys.exit(1 if bad else 0)")
    res = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         timeout=120)
    assert res.returncode == 0, res.stdout + res.stderr


@pytest.mark.slow
def test_postgres_store_url(tmp_path: Path) -> None:
    helpers_pg = pytest.importorskip("helpers_pg")
    if helpers_pg.pg_bindir() is None:
        pytest.skip("PostgreSQL is not installed")
    from lens.store.base import RunInfo
    from lens.store.sql import open_store

    with helpers_pg.postgres_server() as url:
        store = open_store(url)
        for run_id, tag in (("pa", "x"), ("pb", "y")):
            store.start_run(RunInfo(run_id=run_id, name=run_id, started_at=T0, tags={"t": tag}))
            recs = make_records(7, run_id=run_id)
            store.add_many(recs, make_chunks(recs, per_request=2))
            store.finish_run(run_id, status="complete")
        store.close()
        assert len(load(url)) == 14
        req, ch = load(url, tags={"t": "y"}, chunks=True)
        assert set(req["run_id"]) == {"pb"} and len(ch) == 14
        assert str(req["started_at"].dtype) == str(REQUEST_DTYPES["started_at"])
        assert len(load(url, runs="pa", until=T0 + pd.Timedelta(seconds=2))) == 3


def test_adbc_and_sqlite3_paths_agree(db: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from lens.store import read_sqlite as frames

    pytest.importorskip("adbc_driver_sqlite")
    calls: list[int] = []
    real = frames._query_adbc

    def spy(*a: object, **kw: object) -> pd.DataFrame:
        out = real(*a, **kw)  # type: ignore[arg-type]
        calls.append(len(out))
        return out

    monkeypatch.setattr(frames, "_query_adbc", spy)
    fast_req, fast_ch = load(db, runs=["run-a", "run-b"], chunks=True)
    assert calls == [50, 30]  # both queries went through ADBC, pin rows dropped
    monkeypatch.setattr(frames, "USE_ADBC", False)
    slow_req, slow_ch = load(db, runs=["run-a", "run-b"], chunks=True)
    pd.testing.assert_frame_equal(fast_req, slow_req)
    pd.testing.assert_frame_equal(fast_ch, slow_ch)
