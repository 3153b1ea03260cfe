"""``lens import --map`` refusals shown on the CLI quote the user's own mapping as typed.

The CLI turns the importers' Python option names (``model=``) into flags (``--model``);
it must not do that inside a quoted mapping the user wrote (``'model=model*2'`` was shown
as ``'--modelmodel*2'``).
"""

from __future__ import annotations

from pathlib import Path

import pytest

from lens.cli.import_cmd import for_cli
from lens.errors import ConfigError
from lens.importers import PeerImportError, import_file, parse_map


@pytest.mark.parametrize("item", ["model=model*2", "target=t:s", "provider=p/3",
                                  "run_id=id*2", "name=x"])
def test_refused_mapping_is_quoted_as_typed(item: str) -> None:
    with pytest.raises(ConfigError) as err:
        parse_map(item)
    shown = for_cli(err.value.message)
    assert f"'{item}'" in shown, shown
    assert "--" not in shown.removeprefix("--map: "), shown


def test_python_option_names_still_become_flags() -> None:
    assert for_cli("pass format='csv' or provider=NAME") == "pass --format csv or --provider NAME"
    assert (for_cli("pass a mapping such as map=['ttft=ttft_seconds:s', 'e2e=latency_ms']")
            == "pass a mapping such as --map ttft=ttft_seconds:s --map e2e=latency_ms")


@pytest.mark.parametrize("cells", [("m1", "m2"), ("1.5s", "2.0s"), ("may", "june")])
def test_text_that_dateutil_reads_as_year_1_is_no_start_time(
    tmp_path: Path, cells: tuple[str, str]
) -> None:
    # `--map started_at=model` with models m1/m2 imported every request at 0001-01-01
    path = tmp_path / "x.csv"
    path.write_text(f"label,ttft\n{cells[0]},0.1\n{cells[1]},0.2\n", encoding="utf-8")
    with pytest.raises(PeerImportError) as ei:
        import_file(path, map=["started_at=label", "ttft=ttft:s"])
    msg = str(ei.value)
    assert f"\"{cells[0]}\"" in msg and "row 1 (line 2)" in msg and "started_at" in msg, msg


def test_real_dates_and_epochs_still_import(tmp_path: Path) -> None:
    path = tmp_path / "x.csv"
    path.write_text("when,ttft\n2024-05-01 10:00:00,0.1\nMay 1 2024 10:00:01,0.2\n",
                    encoding="utf-8")
    run = import_file(path, map=["started_at=when", "ttft=ttft:s"])
    assert [t.year for t in run.requests["started_at"]] == [2024, 2024]
