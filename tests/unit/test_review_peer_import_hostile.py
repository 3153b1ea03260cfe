"""Adversarial review: other tools' result files that lie, crash or explode.

#17 hardened lens's own exports; the peer importers (AIPerf, GuideLLM, vLLM bench) still
stored negative TTFTs, ends before starts and negative token counts, crashed with raw
TypeError/ValueError/OverflowError tracebacks on text where a number belongs, and read
``benchmarks.yaml`` with ``yaml.safe_load``, so a billion-laughs report ended in a
MemoryError. And a GuideLLM import, exported with ``lens export``, could not be imported
again (its first ``scheduled_ms`` was negative).
"""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml
from helpers_cli import lens

from lens.importers import PeerImportError, import_file
from lens.importers.store import save
from lens.store.files import export_run
from lens.store.sql import open_store

PEERS = Path(__file__).resolve().parents[1] / "data" / "peers"
VLLM = next((PEERS / "vllm").glob("*.json"))
AIPERF = PEERS / "aiperf"
GUIDELLM = PEERS / "guidellm" / "benchmarks.json"


def _vllm(tmp_path: Path, mutate: Callable[[dict[str, Any]], None]) -> Path:
    doc = json.loads(VLLM.read_text())
    mutate(doc)
    out = tmp_path / "vllm.json"
    out.write_text(json.dumps(doc))
    return out


def _aiperf(tmp_path: Path, mutate: Callable[[list[dict[str, Any]]], None]) -> Path:
    rows = [json.loads(x) for x in (AIPERF / "profile_export.jsonl").read_text().splitlines()]
    mutate(rows)
    d = tmp_path / "aiperf"
    d.mkdir()
    (d / "profile_export_aiperf.json").write_text((AIPERF / "profile_export_aiperf.json").read_text())
    (d / "profile_export.jsonl").write_text("\n".join(json.dumps(r) for r in rows) + "\n")
    return d / "profile_export.jsonl"


def _set_metric(name: str, value: Any) -> Callable[[list[dict[str, Any]]], None]:
    def f(rows: list[dict[str, Any]]) -> None:
        rows[1]["metrics"][name]["value"] = value
    return f


def _end_before_start(rows: list[dict[str, Any]]) -> None:
    rows[1]["metadata"]["request_end_ns"] = rows[1]["metadata"]["request_start_ns"] - 10**12


LYING = {
    "vllm negative ttft": lambda p: _vllm(p, lambda d: d["ttfts"].__setitem__(0, -5.0)),
    "vllm negative output tokens": lambda p: _vllm(p, lambda d: d["output_lens"].__setitem__(0, -3)),
    "vllm negative itl": lambda p: _vllm(p, lambda d: d["itls"][0].__setitem__(0, -1.0)),
    "aiperf end before start": lambda p: _aiperf(p, _end_before_start),
    "aiperf negative latency": lambda p: _aiperf(p, _set_metric("request_latency", -1e9)),
}
CRASHING = {
    "vllm text ttft": lambda p: _vllm(p, lambda d: d["ttfts"].__setitem__(0, "abc")),
    "vllm 10**30 output tokens": lambda p: _vllm(p, lambda d: d["output_lens"].__setitem__(0, 10**30)),
    "vllm 1e300 s duration": lambda p: _vllm(p, lambda d: d.__setitem__("duration", 1e300)),
    "vllm error as object": lambda p: _vllm(p, lambda d: d["errors"].__setitem__(0, {"a": 1})),
    "vllm text concurrency": lambda p: _vllm(p, lambda d: d.__setitem__("max_concurrency", "eight")),
    "aiperf text ttft": lambda p: _aiperf(p, _set_metric("time_to_first_token", "abc")),
    "aiperf list ttft": lambda p: _aiperf(p, _set_metric("time_to_first_token", [1, 2])),
    "aiperf unknown unit": lambda p: _aiperf(p, lambda r: r[1]["metrics"]["time_to_first_token"]
                                             .__setitem__("unit", "fortnights")),
    "aiperf start 10**30 ns": lambda p: _aiperf(p, lambda r: r[1]["metadata"]
                                                .__setitem__("request_start_ns", 10**30)),
}


@pytest.mark.parametrize("make", list({**LYING, **CRASHING}.values()), ids=list({**LYING, **CRASHING}))
def test_a_hostile_peer_file_is_refused_in_plain_words(make, tmp_path: Path) -> None:
    path = make(tmp_path)
    with pytest.raises(PeerImportError) as info:
        import_file(path)
    assert str(path) in str(info.value)
    db = tmp_path / "d.db"
    res = lens(["import", str(path), "--db", str(db)])
    assert res.code == 2 and "Traceback" not in res.err, res.err
    assert res.err.startswith("lens: error: ") and "fix:" in res.err
    assert "Error:" not in res.err and "'float'" not in res.err  # no Python wording
    store = open_store(db)
    try:
        assert store.list_runs() == []
    finally:
        store.close()


def test_lying_values_are_named_by_column(tmp_path: Path) -> None:
    with pytest.raises(PeerImportError) as info:
        import_file(LYING["vllm negative ttft"](tmp_path))
    assert "'ttft_ms'" in str(info.value) and "request 1" in str(info.value)


def _bomb_report(tmp_path: Path) -> Path:
    doc = json.loads(GUIDELLM.read_text())
    doc["metadata"]["guidellm_version"] = "BOMB"
    lines = ['r: &r "lollollollollollollollollollollol"']
    prev = "r"
    for name in "abcdefgh":  # 10**8 strings once expanded
        lines.append(f"{name}: &{name} [" + ",".join([f"*{prev}"] * 10) + "]")
        prev = name
    text = "\n".join(lines) + "\n" + yaml.safe_dump(doc, width=10**9).replace("BOMB", "*h")
    path = tmp_path / "benchmarks.yaml"
    path.write_text(text)
    return path


def test_a_billion_laughs_guidellm_yaml_is_refused_fast(tmp_path: Path) -> None:
    path = _bomb_report(tmp_path)
    # Its own process under a memory limit: before the fix this ended in a MemoryError
    # (and without the limit, gigabytes).
    code = (
        "import resource, sys\n"
        "resource.setrlimit(resource.RLIMIT_AS, (1536 * 2**20, 1536 * 2**20))\n"
        "from lens.cli import main\n"
        f"sys.exit(main(['import', {str(path)!r}, '--db', {str(tmp_path / 'd.db')!r}]))\n"
    )
    res = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert res.returncode == 2, res.stderr[-2000:]
    assert "Traceback" not in res.stderr and "billion laughs" in res.stderr
    assert str(path) in res.stderr



def test_a_guidellm_yaml_without_aliases_still_imports(tmp_path: Path) -> None:
    path = tmp_path / "benchmarks.yaml"
    path.write_text(yaml.safe_dump(json.loads(GUIDELLM.read_text())))
    assert len(import_file(path).requests) == 22


@pytest.mark.parametrize("src", [GUIDELLM, AIPERF / "profile_export.jsonl", VLLM,
                                 PEERS / "aiperf_reasoning" / "profile_export.jsonl"],
                         ids=["guidellm", "aiperf", "vllm", "aiperf_reasoning"])
@pytest.mark.parametrize("fmt", ["parquet", "jsonl", "csv"])
def test_an_imported_run_exported_imports_again(src: Path, fmt: str, tmp_path: Path) -> None:
    store = open_store(tmp_path / "d.db")
    try:
        rid = save(store, import_file(src), run_id="peer")
        out = tmp_path / f"peer.{fmt}"
        export_run(store, rid, out)
        again = import_file(out)
        assert len(again.requests) == len(store.requests_frame(rid))
        before = store.requests_frame(rid).set_index("request_id").sort_index()
        after = again.requests.set_index("request_id").sort_index()
        for col in ("ttft_ms", "e2e_ms", "scheduled_ms", "output_tokens"):
            assert before[col].astype("float64").round(3).equals(after[col].astype("float64").round(3)), col
    finally:
        store.close()


def test_guidellm_scheduled_times_are_never_before_the_run_start() -> None:
    df = import_file(GUIDELLM).requests
    assert (df["scheduled_ms"] >= 0).all()
    assert df["scheduled_ms"].min() == pytest.approx(0.0, abs=1e-6)



@pytest.mark.parametrize("tz", ["Mars/Olympus", "../../etc/passwd"])
def test_an_unknown_time_zone_is_named_as_the_flag(tz: str, tmp_path: Path) -> None:
    res = lens(["import", str(VLLM), "--db", str(tmp_path / "d.db"), "--tz", tz])
    assert res.code == 2 and "Traceback" not in res.err, res.err
    assert f"--tz {tz} is not a time zone name" in res.err and "Europe/Paris" in res.err
