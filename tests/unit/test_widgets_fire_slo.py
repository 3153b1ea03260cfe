"""SLO controls on the Fire panel (issue #14 item 1, #18): objectives typed in the panel
reach the spec's ``slo`` block and the summary shows each target's attainment. Skipped
where this lens has no SLOs yet (a BurstSpec without ``slo``)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

pytest.importorskip("ipywidgets")

from lens.errors import ConfigError
from lens.sim import start_sim_in_thread
from lens.widgets import FirePanel
from lens.widgets.fire_controls import slo_block, slo_supported


def test_slo_text_becomes_the_spec_block() -> None:
    assert slo_block("ttft_ms<=500, tpot_ms <= 40") == {"ttft_ms": "<=500", "tpot_ms": "<=40"}
    assert slo_block("") == {}
    with pytest.raises(ConfigError, match="METRIC<=LIMIT"):
        slo_block("ttft under 500")


@pytest.fixture
def sim() -> Iterator[Any]:
    with start_sim_in_thread({"fast": {"header_ms": 1.0, "ttft_ms": 10.0, "itl_ms": 1.0,
                                       "output_tokens": 6},
                              "slow": {"header_ms": 1.0, "ttft_ms": 200.0, "itl_ms": 1.0,
                                       "output_tokens": 6}}) as s:
        yield s


@pytest.mark.skipif(not slo_supported(), reason="this lens has no SLOs (BurstSpec.slo)")
async def test_the_summary_shows_attainment(sim: Any) -> None:
    p = FirePanel([{"name": "fast", "provider": "sim", "model": "m",
                    "base_url": sim.base_url("openai_chat", "fast")},
                   {"name": "slow", "provider": "sim", "model": "m",
                    "base_url": sim.base_url("openai_chat", "slow")}],
                  requests=4, concurrency=2, max_tokens=6, redraw_interval=0.05)
    assert not p.slo.disabled
    p.slo.value = "ttft_ms<=100"
    assert p.spec().slo is not None
    await p.fire_and_wait(30)
    got = p.summary.set_index("target")["SLO attainment"].to_dict()
    assert got == {"fast": "100%", "slow": "0%"}
    assert "SLO attainment" in p.table.value
