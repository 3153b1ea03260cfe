"""User data (run, target, tag names, database paths) is shown verbatim, never as rich markup."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from helpers_cli import lens
from helpers_store import make_record, run_info

from lens.sim import start_sim_in_thread
from lens.store.sql import open_store

RUN_NAME = "nightly [/eu]"  # an unmatched closing tag: MarkupError when parsed as markup
TARGET = "sim [eu]"  # a valid-looking tag: silently dropped when parsed as markup
TAG = "team=[bold]red"


def _seed(db: Path) -> None:
    """A stored run whose name, target and tags look like rich markup."""
    spec = {"targets": [{"name": TARGET, "provider": "sim", "model": "m"}]}
    info = run_info("mk-1", spec_json=json.dumps(spec), tags={"team": "[bold]red"})
    info.name = RUN_NAME
    with open_store(db) as store:
        store.start_run(info)
        store.add_many([make_record("mk-1", i, target=TARGET, status="ok") for i in range(1, 4)],
                       [])  # fmt: skip
        store.finish_run("mk-1", status="complete")


def test_runs_and_show_print_markup_like_names_verbatim(tmp_path: Path) -> None:
    db = tmp_path / "odd [dir]" / "lens.db"
    _seed(db)
    listed = lens(["runs", "--db", str(db)])
    assert listed.code == 0, listed.err
    assert RUN_NAME in listed.out and TARGET in listed.out and TAG in listed.out
    shown = lens(["show", "mk-1", "--db", str(db)])
    assert shown.code == 0, shown.err
    assert f"({RUN_NAME})" in shown.out
    assert TARGET in shown.out
    assert f"stored in {db}" in shown.out  # the [dir] part of the path survives


def test_empty_db_message_keeps_brackets_in_path(tmp_path: Path) -> None:
    db = tmp_path / "[/x]" / "lens.db"
    res = lens(["runs", "--db", str(db)])
    assert res.code == 0, res.err
    assert f"no runs in {db}" in res.out


def test_run_with_markup_like_names_stores_and_prints(tmp_path: Path) -> None:
    db = tmp_path / "lens.db"
    with start_sim_in_thread({"default": "fast"}) as sim:
        spec = {
            "name": RUN_NAME,
            "targets": [
                {"name": TARGET, "provider": "sim", "base_url": sim.base_url("openai_chat"),
                 "model": "m"}
            ],
            "load": {"kind": "concurrency", "requests": 3, "concurrency": 1},
            "max_tokens": 8,
        }  # fmt: skip
        path = tmp_path / "spec.yaml"
        path.write_text(json.dumps(spec), encoding="utf-8")  # JSON is YAML
        res = lens(["run", str(path), "--db", str(db), "--tag", TAG, "--no-progress"])
    assert res.code == 0, res.err
    assert f"({RUN_NAME})" in res.out and TARGET in res.out
    listed = lens(["runs", "--db", str(db)])
    assert listed.code == 0, listed.err
    assert RUN_NAME in listed.out and TARGET in listed.out and TAG in listed.out


@pytest.mark.parametrize("title", ["a [/b]", "[red]x[/red]"])
def test_summary_table_title_is_plain_text(title: str) -> None:
    import io

    from rich.console import Console

    from lens.cli.render import summary_table

    buf = io.StringIO()
    Console(file=buf, width=200).print(summary_table([], title=title))
    assert title in buf.getvalue()
