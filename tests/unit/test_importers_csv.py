"""A plain CSV with a column mapping: units, factors, status, and clear refusals."""

from __future__ import annotations

import csv
from decimal import Decimal
from pathlib import Path

import pandas as pd
import pytest

from lens.errors import ConfigError
from lens.importers import PeerImportError, import_file, parse_map

CSV = Path(__file__).resolve().parents[1] / "data" / "peers" / "csv" / "loadtest.csv"
MAP = ["started_at=ts_epoch:s", "request_id=id", "ok=success", "ttft=ttft_s:s",
       "e2e=latency_s*1000", "output_tokens=completion_tokens", "input_tokens=prompt_tokens",
       "error=err"]


def _raw() -> list[dict[str, str]]:
    with CSV.open(newline="") as fh:
        return list(csv.DictReader(fh))


def test_mapping_converts_units_and_keeps_every_row() -> None:
    run = import_file(CSV, map=MAP, model="llama-3.1-8b", provider="vllm")
    df = run.requests.set_index("request_id")
    for r in _raw():
        row = df.loc[r["id"]]
        # epoch text is read exactly (no float rounding): "...400.800" is .800000
        exact = pd.Timestamp(int(Decimal(r["ts_epoch"]) * 10**9), unit="ns", tz="UTC")
        assert row["started_at"] == exact and exact.microsecond % 1000 == 0
        if r["success"] == "true":
            assert row["status"] == "ok" and pd.isna(row["error"])
            assert row["ttft_ms"] == pytest.approx(float(r["ttft_s"]) * 1000)
            assert row["e2e_ms"] == pytest.approx(float(r["latency_s"]) * 1000)
            assert row["output_tokens"] == int(r["completion_tokens"])
        else:
            assert row["status"] == "overloaded" and row["error"] == "503 Service Unavailable"
            assert pd.isna(row["ttft_ms"])
    assert set(df["target"]) == {"vllm/llama-3.1-8b"} and set(df["runner"]) == {"csv"}
    assert run.run_id == "csv-20260310-160000"
    assert "'ttft_ms' <- 'ttft_s' in s" in run.notes[0]


def test_map_given_as_one_string_or_a_dict_is_the_same() -> None:
    a = import_file(CSV, map=",".join(MAP)).requests
    b = import_file(CSV, map=dict(m.split("=", 1) for m in MAP)).requests
    pd.testing.assert_frame_equal(a, b)


@pytest.mark.parametrize(("spec", "column", "factor"), [
    ("ttft=t:ms", "ttft_ms", 1.0), ("ttft_ms=t:us", "ttft_ms", 1e-3), ("e2e=t:ns", "e2e_ms", 1e-6),
    ("tpot=t/1000", "tpot_ms", 1e-3), ("itl=t*2", "itl_mean_ms", 2.0),
    ("retry_after_s=t:ms", "retry_after_s", 1e-3),
])
def test_units_and_factors(tmp_path: Path, spec: str, column: str, factor: float) -> None:
    path = tmp_path / "x.csv"
    path.write_text("t,e2e_ms\n1500,1.0\n250,2.0\n")
    df = import_file(path, map=[spec]).requests
    assert df[column].tolist() == pytest.approx([1500 * factor, 250 * factor])


def test_columns_named_like_lens_need_no_mapping(tmp_path: Path) -> None:
    path = tmp_path / "x.csv"
    path.write_text("request_id,ttft_ms,e2e_ms,status\na,100.5,900,ok\nb,,12,timeout\n")
    df = import_file(path, format="csv").requests
    assert df["ttft_ms"].tolist()[0] == 100.5 and pd.isna(df["ttft_ms"].iloc[1])
    assert df["status"].tolist() == ["ok", "timeout"]


def test_semicolon_separated_file(tmp_path: Path) -> None:
    path = tmp_path / "x.csv"
    path.write_text("id;first_token_s\nr1;0,25\n".replace("0,25", "0.25"))
    df = import_file(path, map=["request_id=id", "ttft=first_token_s:s"]).requests
    assert df["ttft_ms"].tolist() == [250.0]


def test_bad_mapping_entries_all_named() -> None:
    with pytest.raises(ConfigError) as ei:
        parse_map(["ttft=a:s", "colour=b", "= c", "status=d:s", "e2e=f/0"])
    msg = str(ei.value)
    assert msg.startswith("--map: cannot read the column mapping '= c', "
                          "'status=d:s' (a unit only fits times), 'e2e=f/0' (the factor must "
                          "be a finite number other than 0); unknown lens column 'colour' "
                          "(in 'colour=b')")
    assert "ttft=time_to_first_token_s:s" in msg


def test_mapping_to_absent_columns_lists_the_files_columns() -> None:
    with pytest.raises(PeerImportError) as ei:
        import_file(CSV, map=["ttft=time_to_first_token", "e2e=total_s:s"])
    msg = str(ei.value)
    assert msg.startswith(f"{CSV}: the mapping names columns the file does not have: "
                          "'time_to_first_token', 'total_s' (its columns: ts_epoch, id, success,")


def test_no_time_mapped_says_what_to_pass() -> None:
    with pytest.raises(PeerImportError, match="no column is mapped to a lens time"):
        import_file(CSV, format="csv")


def test_bad_cells_are_listed_together(tmp_path: Path) -> None:
    path = tmp_path / "x.csv"
    path.write_text("id,ttft_s,tokens\na,0.1,5\nb,slow,6\nc,0.3,many\n")
    with pytest.raises(PeerImportError) as ei:
        import_file(path, map=["request_id=id", "ttft=ttft_s:s", "output_tokens=tokens"])
    msg = str(ei.value)
    assert "2 columns cannot be imported ('output_tokens', 'ttft_ms')" in msg
    assert "'ttft_ms': row 2 (line 3) holds \"slow\", which is not a number" in msg
    assert "'output_tokens': row 3 (line 4) holds \"many\", which is not a whole number" in msg


def test_a_factor_on_a_timestamp_or_text_column_is_refused_not_ignored() -> None:
    # started_at=ts:s*1e20 used to import the epoch seconds with the factor silently dropped
    with pytest.raises(ConfigError) as ei:
        parse_map(["started_at=ts:s*1e20", "model=name*2", "ok=success/2", "ttft=t:s*2"])
    msg = str(ei.value)
    assert "'started_at=ts:s*1e20' (started_at takes a unit such as :s or :ms, not a factor)" \
        in msg
    assert "'model=name*2' (a factor only fits number columns)" in msg
    assert "'ok=success/2' (a factor only fits number columns)" in msg
    assert "ttft=t:s*2" not in msg  # a unit and a factor on a time are both applied
    [m] = parse_map(["ttft=t:s*2"])
    assert (m.unit, m.factor) == ("s", 2.0)


@pytest.mark.parametrize("factor", ["*0", "/0", "*1e400", "*1e-400"])
def test_a_factor_that_is_not_a_finite_nonzero_number_is_refused(factor: str) -> None:
    with pytest.raises(ConfigError) as ei:
        parse_map([f"e2e=latency{factor}"])
    assert str(ei.value).startswith(
        f"--map: cannot read the column mapping 'e2e=latency{factor}' (the factor must be a "
        "finite number other than 0)")


def test_an_unknown_lens_column_is_named_with_the_valid_ones_and_a_guess() -> None:
    with pytest.raises(ConfigError) as ei:
        parse_map(["bogus=ttft", "e2e=lat:s", "ttf=first_s:s"])
    err = ei.value
    msg = str(err)
    assert msg.startswith("--map: unknown lens columns 'bogus' (in 'bogus=ttft'), 'ttf' "
                          "(in 'ttf=first_s:s'; did you mean 'ttft'?)")
    assert "e2e=lat" not in msg
    hint = err.hint or ""
    assert "the left side of LENS=THEIRS is a lens column" in hint
    for name in ("ttft_ms", "e2e_ms", "started_at", "output_tokens", "ok"):
        assert name in hint, name
    assert "bogus" not in hint


def test_a_text_column_mapped_to_started_at_is_one_clear_error_and_no_warning(
    tmp_path: Path,
) -> None:
    import warnings

    path = tmp_path / "x.csv"
    path.write_text("ts,ttft,ok\n1700000000,0.1,true\n1700000001,0.2,false\n")
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # pandas' date-guessing UserWarning reached the terminal
        with pytest.raises(PeerImportError) as ei:
            import_file(path, map=["started_at=ok", "ttft=ttft:s"])
    msg = str(ei.value)
    assert "1 column cannot be imported ('started_at')" in msg
    assert "'started_at': row 1 (line 2) holds \"true\", which is not a date and time" in msg
