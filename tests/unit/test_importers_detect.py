"""Formats are recognised from content; unknown and broken files get one clear message."""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path

import pytest

from lens.errors import LensError, StoreError
from lens.importers import IMPORTERS, PeerImportError, detect, import_file

PEERS = Path(__file__).resolve().parents[1] / "data" / "peers"
VLLM = next((PEERS / "vllm").glob("*.json"))
FIXTURES = {
    "aiperf": PEERS / "aiperf" / "profile_export.jsonl",
    "guidellm": PEERS / "guidellm" / "benchmarks.json",
    "vllm": VLLM,
    "lens": PEERS / "lens_v0" / "baseline.jsonl",
    "csv": PEERS / "csv" / "loadtest.csv",
}
_REPR = re.compile(r"np\.|numpy|nan\b|NaN|None|<NA>|Timestamp\(|dtype")


@pytest.mark.parametrize("name", sorted(FIXTURES))
def test_each_fixture_is_detected_by_content(name: str, tmp_path: Path) -> None:
    assert detect(FIXTURES[name]).name == name
    # the name of the file plays no part
    renamed = tmp_path / ("results" + FIXTURES[name].suffix)
    shutil.copy(FIXTURES[name], renamed)
    assert detect(renamed).name == name


def test_lens_csv_export_beats_the_generic_csv() -> None:
    assert detect(PEERS / "lens_v0" / "baseline.csv").name == "lens"


def test_artifact_folders_are_detected(tmp_path: Path) -> None:
    assert detect(PEERS / "aiperf").name == "aiperf"
    assert len(import_file(PEERS / "aiperf").requests) == 24
    folder = tmp_path / "gl"
    folder.mkdir()
    shutil.copy(FIXTURES["guidellm"], folder / "benchmarks.json")
    assert detect(folder).name == "guidellm"


@pytest.mark.parametrize("content", ['{"foo": 1, "bar": [2, 3]}\n', "just some notes\n", ""])
def test_unknown_file_lists_the_known_formats(tmp_path: Path, content: str) -> None:
    path = tmp_path / "mystery.json"
    path.write_text(content)
    with pytest.raises(PeerImportError) as ei:
        import_file(path)
    msg = str(ei.value)
    assert msg.startswith(f"{path}: lens does not recognise this file's format")
    for name, imp in IMPORTERS.items():
        assert name in msg and imp.description in msg
    assert "fix:" in msg


def test_missing_path_and_unknown_format_name(tmp_path: Path) -> None:
    with pytest.raises(PeerImportError, match=r"nope\.json: no such file"):
        import_file(tmp_path / "nope.json")
    with pytest.raises(PeerImportError, match=r"unknown import format 'locust'") as ei:
        import_file(FIXTURES["vllm"], format="locust")
    assert "guidellm" in str(ei.value)


def test_errors_are_lens_store_errors() -> None:
    assert issubclass(PeerImportError, StoreError) and issubclass(PeerImportError, LensError)


# -- truncated files ------------------------------------------------------------------


def _cut(src: Path, dest: Path, fraction: float = 0.5) -> Path:
    data = src.read_bytes()
    dest.write_bytes(data[: int(len(data) * fraction)])
    return dest


@pytest.mark.parametrize("name", ["guidellm", "vllm"])
def test_truncated_json_says_the_file_is_cut_off(tmp_path: Path, name: str) -> None:
    path = _cut(FIXTURES[name], tmp_path / FIXTURES[name].name)
    assert detect(path).name == name  # still recognised from its head
    with pytest.raises(PeerImportError) as ei:
        import_file(path)
    msg = str(ei.value)
    assert msg.startswith(f"{path}: the JSON ends early (line 1, column ")
    assert "the file looks cut off" in msg and "copy the whole" in msg
    assert not _REPR.search(msg), msg


def test_truncated_aiperf_records_name_the_last_line(tmp_path: Path) -> None:
    src = FIXTURES["aiperf"]
    lines = src.read_text().splitlines(keepends=True)
    path = tmp_path / "profile_export.jsonl"
    path.write_text("".join(lines[:10]) + lines[10][:200])
    with pytest.raises(PeerImportError) as ei:
        import_file(path)
    msg = str(ei.value)
    assert msg.startswith(f"{path}: line 11 is not valid JSON")
    assert "the file looks cut off after its last complete line" in msg


def test_empty_json_file(tmp_path: Path) -> None:
    path = tmp_path / "benchmarks.json"
    path.write_text("")
    with pytest.raises(PeerImportError, match="the file is empty"):
        import_file(path, format="guidellm")


# -- missing fields -------------------------------------------------------------------


def test_vllm_without_per_request_arrays_names_them_all(tmp_path: Path) -> None:
    doc = json.loads(VLLM.read_text())
    for key in ("itls", "errors", "output_lens"):
        del doc[key]
    path = tmp_path / "r.json"
    path.write_text(json.dumps(doc))
    with pytest.raises(PeerImportError) as ei:
        import_file(path)
    msg = str(ei.value)
    assert msg.startswith(f"{path}: this vLLM bench serve result lacks the fields "
                          "'itls', 'output_lens', 'errors'")
    assert "--save-detailed" in msg


def test_vllm_summary_only_asks_for_save_detailed(tmp_path: Path) -> None:
    doc = {k: v for k, v in json.loads(VLLM.read_text()).items() if not isinstance(v, list)}
    path = tmp_path / "r.json"
    path.write_text(json.dumps(doc))
    with pytest.raises(PeerImportError, match="holds only the summary, no per-request data"):
        import_file(path)


def test_vllm_arrays_of_different_lengths(tmp_path: Path) -> None:
    doc = json.loads(VLLM.read_text())
    doc["latencies"] = doc["latencies"][:-2]
    path = tmp_path / "r.json"
    path.write_text(json.dumps(doc))
    with pytest.raises(PeerImportError, match=r"differ in length \(30 ttfts, but 28 latencies\)"):
        import_file(path)


def test_aiperf_records_without_times_list_every_line(tmp_path: Path) -> None:
    recs = [json.loads(x) for x in FIXTURES["aiperf"].read_text().splitlines()]
    del recs[2]["metadata"]["request_start_ns"]
    del recs[7]["metadata"]["request_end_ns"]
    del recs[7]["metrics"]
    path = tmp_path / "profile_export.jsonl"
    path.write_text("\n".join(json.dumps(r) for r in recs) + "\n")
    with pytest.raises(PeerImportError) as ei:
        import_file(path, format="aiperf")
    assert str(ei.value).startswith(
        f"{path}: records lack required fields: line 3: 'request_start_ns'; "
        "line 8: 'request_end_ns', 'metrics'")


def test_aiperf_summary_alone_points_to_the_records() -> None:
    path = PEERS / "aiperf" / "profile_export_aiperf.json"
    assert detect(path).name == "aiperf"
    with pytest.raises(PeerImportError, match="aggregate summary; it has no per-request rows") \
            as ei:
        import_file(path)
    assert "profile_export.jsonl" in str(ei.value)


def test_guidellm_benchmarks_missing_parts_listed_together(tmp_path: Path) -> None:
    doc = json.loads(FIXTURES["guidellm"].read_text())
    del doc["benchmarks"][0]["requests"]
    del doc["benchmarks"][1]["metrics"]
    path = tmp_path / "benchmarks.json"
    path.write_text(json.dumps(doc))
    with pytest.raises(PeerImportError) as ei:
        import_file(path)
    assert str(ei.value).startswith(f"{path}: benchmark 1 lacks 'requests'; "
                                    "benchmark 2 lacks 'metrics'")


def test_guidellm_report_before_0_4_is_refused_plainly(tmp_path: Path) -> None:
    doc = json.loads(FIXTURES["guidellm"].read_text())
    for req in doc["benchmarks"][0]["requests"]["successful"]:
        del req["info"]
    path = tmp_path / "benchmarks.json"
    path.write_text(json.dumps(doc))
    with pytest.raises(PeerImportError, match=r"GuideLLM report before 0\.4"):
        import_file(path)
