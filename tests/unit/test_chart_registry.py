"""The chart registry: every registered chart draws real marks from run rows, and each
kind of bad request is a plain error naming what to fix."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
from helpers_analysis import make_chunks, make_records

from lens.analysis.chart_registry import CHARTS, chart
from lens.analysis.charts.files import save_chart
from lens.errors import AnalysisError, ConfigError
from lens.record.frames import chunks_to_frame, records_to_frame


def _rows() -> tuple[pd.DataFrame, pd.DataFrame]:
    recs = make_records(120, seed=3, error_every=10) + make_records(
        80, run_id="run-b", seed=4, target="anthropic/claude", concurrency=8, region="eu-west-1")
    df = records_to_frame(recs)
    rng = np.random.default_rng(0)
    # columns the sample lacks that some charts need: sessions, stalls, phases
    df["turn"] = np.arange(len(df)) % 3 + 1
    df["itl_max_ms"] = rng.lognormal(np.log(60), 0.8, len(df))
    df["stalls"] = (df["itl_max_ms"] > 250).astype("int64")
    df["headers_ms"] = df["ttft_ms"] * 0.5
    df["sent_ms"] = 1.0
    return df, chunks_to_frame(make_chunks(recs))


def _data_rows(spec: dict) -> int:
    return sum(len(v) for v in spec.get("datasets", {}).values())


@pytest.mark.parametrize("name", sorted(CHARTS))
def test_every_registered_chart_draws_from_run_rows(name: str, tmp_path) -> None:
    df, chunks = _rows()
    drawn = chart(name, df, chunks, metric="ttft_ms", group="target")
    spec = drawn.to_dict()
    assert _data_rows(spec) > 0, name  # real data behind the marks
    svg = save_chart(drawn, tmp_path / f"{name}.svg").read_text()
    assert svg.startswith("<svg") and ("<path" in svg or "<rect" in svg or "<line" in svg)


def test_a_chart_over_a_metric_draws_that_metric() -> None:
    df, _ = _rows()
    spec = chart("ecdf", df, metric="e2e_ms").to_dict()
    assert "e2e_ms" in json.dumps(spec["encoding"]) or "e2e_ms" in json.dumps(spec)
    values = next(iter(spec["datasets"].values()))
    ok = df[(df["status"] == "ok") & ~df["warmup"]]
    assert max(r["e2e_ms"] for r in values) == pytest.approx(ok["e2e_ms"].max())


@pytest.mark.parametrize(("args", "words"), [
    (("ecfd",), ["no chart named 'ecfd'", "did you mean 'ecdf'"]),
    (("ecdf", "ttft"), ["no column 'ttft'", "did you mean 'ttft_ms'"]),
    (("waterfall",), ["needs the runs' chunk rows"]),
])
def test_bad_requests_are_plain_errors(args: tuple[str, ...], words: list[str]) -> None:
    df, _ = _rows()
    with pytest.raises(AnalysisError) as err:
        chart(args[0], df, None, metric=args[1] if len(args) > 1 else "ttft_ms")
    for w in words:
        assert w in str(err.value)


def test_a_chart_without_its_columns_says_which() -> None:
    df, _ = _rows()
    with pytest.raises(AnalysisError, match="no turn values"):
        chart("turns", df.drop(columns=["turn"]))
    with pytest.raises(AnalysisError, match="no column 'zone' to group by"):
        chart("ecdf", df, group="zone")


def test_save_chart_formats(tmp_path) -> None:
    df, _ = _rows()
    drawn = chart("ecdf", df)
    assert json.loads(save_chart(drawn, tmp_path / "c.json").read_text())["$schema"]
    assert save_chart(drawn, tmp_path / "c.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    page = save_chart(drawn, tmp_path / "c.html").read_text()
    assert "vegaEmbed" in page and "<script src=" not in page  # self-contained
    with pytest.raises(ConfigError, match=r"\.svg, \.png, \.json or \.html"):
        save_chart(drawn, tmp_path / "c.pdf")
