"""FirePanel with regions chosen: the burst goes through lens.fleet.fire in a worker thread,
rows arrive per shard, one progress bar per region, a failed region is reported in the
panel while the other regions' rows are kept."""

from __future__ import annotations

import asyncio
import dataclasses
import threading
from collections.abc import Iterator, Mapping
from typing import Any

import pytest

pytest.importorskip("ipywidgets")

from lens.fleet.invoker import InvokeError
from lens.probe.engine import run_burst_sync
from lens.sim import start_sim_in_thread
from lens.spec import BurstSpec
from lens.widgets import FirePanel


class EngineInvoker:
    """Runs the real engine for each invocation (like the runner would) and answers with
    inline rows; region 'broken' fails like a missing function."""

    def __init__(self) -> None:
        self.calls: list[tuple[str, str]] = []
        self.threads: set[str] = set()

    def invoke(self, region: str, payload: Mapping[str, Any]) -> dict[str, Any]:
        self.calls.append((region, str(payload["run_id"])))
        self.threads.add(threading.current_thread().name)
        if region == "broken":
            raise InvokeError("not_found", "function lens-runner does not exist in broken")
        spec = BurstSpec.model_validate(payload["spec"])
        res = run_burst_sync(spec.model_copy(update={"region": region}), run_id=str(payload["run_id"]))
        return {"ok": True, "n_records": len(res.records), "rows": {
            "records": [{**r.to_dict(), "started_at": r.started_at.isoformat()} for r in res.records],
            "chunks": [dataclasses.asdict(c) for c in res.chunks]}}


@pytest.fixture
def sim() -> Iterator[Any]:
    with start_sim_in_thread({"default": {"header_ms": 1.0, "ttft_ms": 30.0, "itl_ms": 1.0,
                                          "output_tokens": 6}}) as s:
        yield s


async def test_regions_fire_through_the_fleet_in_a_thread(sim: Any) -> None:
    inv = EngineInvoker()
    p = FirePanel([{"name": "t", "provider": "sim", "base_url": sim.url + "/v1", "model": "m"}],
                  regions=["us-east-1", "eu-west-1", "broken"], invoker=inv, requests=4,
                  concurrency=2, max_tokens=6, redraw_interval=0.05)
    p.regions.value = ("us-east-1", "eu-west-1", "broken")
    p.shards.value = 2
    p.fire_button.click()
    # Stop is live for regions too: it skips shards not yet invoked (issue #18)
    assert p.fire_button.disabled and not p.stop_button.disabled
    assert set(p.bars) == {"us-east-1", "eu-west-1", "broken"}
    ticks = 0
    while p.running:  # the loop stays free while the fleet works in a thread
        ticks += 1
        await asyncio.sleep(0.01)
    assert ticks > 3
    assert threading.main_thread().name not in inv.threads
    df = p.frame
    assert df.groupby("region", observed=True).size().to_dict() == {"eu-west-1": 4, "us-east-1": 4}
    assert len({rid for _, rid in inv.calls}) == 1 and len(inv.calls) == 6  # 3 regions x 2 shards
    assert "lens-error" in p.status.value and "broken" in p.status.value
    assert "not_found" in p.status.value
    assert p.bars["us-east-1"].value == 4 and p.bars["broken"].bar_style == "danger"
    assert p.fleet_result.failures.keys() == {"broken"}
    assert set(p.summary["region"]) == {"us-east-1", "eu-west-1"}  # grouped by region
    assert not p.fire_button.disabled
