"""``lens prune`` ages out of range are a clear error naming the flag (review: an
``--older-than 99999999999d`` was an OverflowError traceback)."""

from __future__ import annotations

from pathlib import Path

import pytest
from helpers_cli import lens


@pytest.mark.parametrize("flag", ["--older-than", "--set-retention"])
@pytest.mark.parametrize("age", ["99999999999d", "5000000d", "1e400"])
def test_an_age_out_of_range_names_the_flag(tmp_path: Path, flag: str, age: str) -> None:
    res = lens(["prune", f"{flag}={age}", "--db", str(tmp_path / "d.db")]
               + (["--dry-run"] if flag == "--older-than" else []))
    assert res.code == 2 and "Traceback" not in res.err, res.err
    assert res.err.startswith(f"lens: error: {flag}: cannot read '{age}' as an age"), res.err


def test_a_hundred_years_still_works(tmp_path: Path) -> None:
    res = lens(["prune", "--older-than", "36500d", "--dry-run", "--db", str(tmp_path / "d.db")])
    assert res.code == 0, res.err
