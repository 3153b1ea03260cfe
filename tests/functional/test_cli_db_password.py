"""A database URL's password never reaches the terminal: messages, tables, JSON, errors."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from helpers_cli import lens
from helpers_pg import pg_bindir, postgres_server
from helpers_store import make_record, run_info

from lens.store.sql import open_store

PASSWORD = "s3cret-Pw-0xDEAD"


@pytest.mark.parametrize(
    "url",
    [
        f"postgresql://user:{PASSWORD}@db.example:notaport/lens",  # SQLAlchemy cannot parse it
        f"nosuchdialect://user:{PASSWORD}@db.example/lens",
    ],
)
def test_unusable_url_error_masks_the_password(url: str) -> None:
    run = ["run", "--provider", "sim", "--model", "m", "--base-url", "http://127.0.0.1:9/v1"]
    for args in (["runs"], ["show", "latest"], run):
        res = lens([*args, "--db", url])
        assert res.code == 2, (args, res.err)
        assert "cannot open the results store" in res.err and "user:***@db.example" in res.err
        assert PASSWORD not in res.err + res.out
        assert "Traceback" not in res.err


@pytest.mark.slow
@pytest.mark.skipif(pg_bindir() is None, reason="PostgreSQL not installed (make sysdeps)")
def test_postgres_url_with_password_is_masked_everywhere(tmp_path: Path) -> None:
    with postgres_server() as server:  # trust auth: any password is accepted
        # as a user writes it: plain postgresql://, the password in the URL
        url = server.replace("postgresql+psycopg://lens@", f"postgresql://lens:{PASSWORD}@")
        shown = "lens:***@127.0.0.1"
        outputs: list[str] = []

        res = lens(["runs", "--db", url])
        assert res.code == 0 and f"no runs in {url.replace(PASSWORD, '***')}" in res.out
        outputs.append(res.out + res.err)
        res = lens(["show", "latest", "--db", url])
        assert res.code == 2 and f"no runs in postgresql+psycopg://{shown}" in res.err
        outputs.append(res.out + res.err)

        with open_store(url) as store:
            store.start_run(run_info("pgrun"))
            store.add_many([make_record("pgrun", i, status="ok") for i in range(1, 4)], [])
            store.finish_run("pgrun", status="complete")
        res = lens(["show", "nope", "--db", url])
        assert res.code == 2 and f"no run 'nope' in postgresql+psycopg://{shown}" in res.err
        outputs.append(res.out + res.err)
        res = lens(["show", "pgrun", "--db", url])
        assert res.code == 0 and f"stored in {url.replace(PASSWORD, '***')}" in res.out
        outputs.append(res.out + res.err)
        res = lens(["show", "pgrun", "--db", url, "--json"])
        assert res.code == 0 and json.loads(res.out)["db"] == url.replace(PASSWORD, "***")
        outputs.append(res.out + res.err)
        res = lens(["export", "pgrun", "-o", str(tmp_path / "r.jsonl"), "--db", url])
        assert res.code == 0, res.err
        res = lens(["import", str(tmp_path / "r.jsonl"), "--run-id", "copy", "--db", url])
        assert res.code == 0 and f"into {url.replace(PASSWORD, '***')}" in res.out
        outputs.append(res.out + res.err)
        res = lens(["run", "--provider", "sim", "--model", "m", "--base-url",
                    "http://127.0.0.1:9/v1", "--run-id", "pgrun", "--db", url])  # fmt: skip
        assert (
            res.code == 2
            and f"a run 'pgrun' already exists in {url.replace(PASSWORD, '***')}" in res.err
        )
        outputs.append(res.out + res.err)

    for text in outputs:
        assert PASSWORD not in text
