"""#17 item 9: inline prompts are not stored verbatim in ``runs.spec_json`` or ``.meta.json``.

The old ``run_info`` stored ``spec.model_dump_json()``: every inline prompt went whole into
the runs table and every export, against the promise that no prompt text is stored by
default. Now each is kept as its id, hash and size (the hash the request rows carry),
unless text storage is opted in (``keep_text=True``), which keeps it PII-redacted.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from helpers_cli import lens

from lens.burst.run import run
from lens.record import RunInfo
from lens.redact.pii import prompt_hash
from lens.sim import start_sim_in_thread
from lens.store.files import export_run
from lens.store.sql import open_store

MARK = "PROMPT-MARKER-5c1d"
PROMPTS = [f"{MARK} write to jane.doe@example.com about the plan", f"{MARK} second prompt"]


@pytest.fixture(scope="module")
def sim() -> Iterator[Any]:
    with start_sim_in_thread({"fast": {"ttft_ms": 1.0, "itl_ms": 0.5, "output_tokens": 3}}) as s:
        yield s


def _spec(sim: Any) -> dict[str, Any]:
    return {"name": "inline", "targets": [{"provider": "openai_compat", "base_url": sim.base_url("openai_chat", "fast"),
                                           "model": "m"}],
            "prompts": {"inline": PROMPTS}, "max_tokens": 3, "load": {"requests": 2}}


def _text(folder: Path) -> str:
    return "\n".join(p.read_bytes().decode("latin-1") for p in folder.rglob("*") if p.is_file())


def test_inline_prompts_are_stored_as_hashes_and_sizes(sim: Any, tmp_path: Path) -> None:
    store = open_store(tmp_path / "db" / "lens.db")
    try:
        out = run(_spec(sim), store=store)
        spec = json.loads(store.get_run(out.run_id).spec_json)
        export_run(store, out.run_id, tmp_path / "export" / "run.jsonl")
    finally:
        store.close()
    assert spec["prompts"] == {"inline_stored": [
        {"id": f"inline-{i}", "prompt_hash": prompt_hash(t), "chars": len(t)} for i, t in enumerate(PROMPTS)]}
    # the same hashes the request rows carry, so rows can still be grouped by prompt
    assert {r.prompt_hash for r in out.records} == {prompt_hash(t) for t in PROMPTS}
    assert spec["targets"][0]["model"] == "m" and spec["load"]["requests"] == 2  # the rest is kept
    assert MARK not in _text(tmp_path / "db") and MARK not in _text(tmp_path / "export")
    meta = json.loads((tmp_path / "export" / "run.meta.json").read_text())
    assert "inline_stored" in meta["run"]["spec_json"]


def test_keep_text_opts_in_and_the_text_is_redacted(sim: Any, tmp_path: Path) -> None:
    store = open_store(tmp_path / "lens.db")
    try:
        out = run(_spec(sim), store=store, keep_text=True)
        spec = json.loads(store.get_run(out.run_id).spec_json)
    finally:
        store.close()
    assert spec["prompts"] == {"inline_redacted": [f"{MARK} write to [REDACTED:email] about the plan",
                                                   f"{MARK} second prompt"]}


def test_an_older_run_with_text_in_its_spec_is_exported_without_it(tmp_path: Path) -> None:
    store = open_store(tmp_path / "lens.db")
    try:
        old = {"name": "old", "targets": [{"provider": "sim", "model": "m"}], "prompts": {"inline": PROMPTS}}
        store.start_run(RunInfo(run_id="old-run", name="old", started_at=datetime.now(UTC),
                                spec_json=json.dumps(old), status="complete"))
        files = export_run(store, "old-run", tmp_path / "export" / "old.csv")
    finally:
        store.close()
    meta = json.loads(files.meta.read_text())
    assert MARK not in files.meta.read_text()
    assert json.loads(meta["run"]["spec_json"])["prompts"]["inline_stored"][1]["chars"] == len(PROMPTS[1])


def test_the_cli_stores_no_prompt_text_from_a_spec_file(sim: Any, tmp_path: Path) -> None:
    spec_file = tmp_path / "burst.yaml"
    spec_file.write_text(json.dumps(_spec(sim)))  # JSON is YAML
    db = tmp_path / "cli" / "lens.db"
    res = lens(["run", str(spec_file), "--db", str(db)])
    assert res.code == 0, res.err
    assert MARK not in _text(db.parent)
