"""The Capacity panel: SLOs, an attainment target and a level grid; Search finds the highest
concurrency (or request rate) that still meets the target (lens.burst.capacity).

``CapacityPanel()`` starts the embedded simulated endpoint with servers of known capacity
(``SIM_SLOTS``: each serves that many streams at once and queues the rest), so it works
offline and the right answer is known: the server's slots. With ``spec=`` it searches a
target of your own. The search runs in a worker thread, so the kernel stays free: each
level's row, the table and the evidence chart (throughput vs p95 TTFT, knee ringed,
answer marked; attainment per level with its CI) appear as levels finish. Errors are shown
in the panel, never as a traceback.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Mapping
from typing import Any

from pydantic import ValidationError

from lens.errors import ConfigError
from lens.spec import BurstSpec, SearchSpec, as_objectives, spec_from_dict
from lens.widgets._display import chart_bundle, error_html, info_html, ipw, table_html

SIM_SLOTS: tuple[int, ...] = (2, 4, 8, 16)
# A simulated server whose capacity is its slots: fixed 20 ms to first token, 10 ms per
# token, 24 tokens, no jitter. A request that finds every slot busy waits for one.
SIM_PROFILE: dict[str, Any] = {"ttft_ms": 20.0, "itl_ms": 10.0, "output_tokens": 24}
TABLE_COLUMNS: tuple[str, ...] = ("level", "phase", "n", "attainment", "ci_low", "ci_high",
                                  "throughput_rps", "goodput_rps", "ttft_p95", "wait_p50")


def sim_profiles() -> dict[str, dict[str, Any]]:
    """The embedded sim's profiles: ``slots-N`` serves N streams at once."""
    return {f"slots-{n}": {**SIM_PROFILE, "max_concurrency": n} for n in SIM_SLOTS}


class CapacityPanel:
    """Control panel for capacity searches. Display it as the last expression of a cell.

    ``spec``: a BurstSpec or mapping with one target (default: the embedded sim, whose
    ``slots`` control picks the simulated server's capacity). ``store``: a lens Store that
    keeps every level's run (default: none; the rows stay in the result).
    """

    def __init__(self, spec: BurstSpec | Mapping[str, Any] | None = None, *, store: Any = None,
                 slo: str = "ttft_ms<=60", attainment: float = 0.95,
                 levels: str = "1,2,4,8,16,32", requests: int = 12, slots: int = 4) -> None:
        w = ipw()
        self.store = store
        self._spec = spec
        self._sim: Any = None
        self._thread: threading.Thread | None = None
        self._stop: Any = None
        self.result: Any = None
        self.error: BaseException | None = None
        self.levels_seen: list[Any] = []
        self.chart: Any = None
        style = {"description_width": "120px"}
        self.slots = w.Dropdown(options=list(SIM_SLOTS), value=slots, style=style,
                                description="sim slots", disabled=spec is not None)
        self.slo = w.Text(value=slo, description="SLOs", style=style,
                          placeholder="e.g. ttft_ms<=500, tpot_ms<=40")
        self.attainment = w.FloatSlider(value=attainment, min=0.5, max=1.0, step=0.01,
                                        description="attainment", readout_format=".0%",
                                        style=style)
        self.mode = w.Dropdown(options=("concurrency", "rate"), value="concurrency",
                               description="search", style=style)
        self.levels = w.Text(value=levels, description="levels", style=style)
        self.requests = w.BoundedIntText(value=requests, min=1, max=100_000, style=style,
                                         description="requests/level")
        self.search_button = w.Button(description="Search", button_style="primary", icon="search")
        self.stop_button = w.Button(description="Stop", disabled=True, icon="stop")
        self.status = w.HTML(info_html("ready"))
        self.table = w.HTML(table_html(None))
        self.chart_output = w.Output()
        self.search_button.on_click(lambda _b: self.search())
        self.stop_button.on_click(lambda _b: self.stop())
        self.widget = w.VBox([
            w.HBox([w.VBox([self.slo, self.attainment, self.mode]),
                    w.VBox([self.levels, self.requests, self.slots])]),
            w.HBox([self.search_button, self.stop_button]),
            self.status, self.table, self.chart_output])
        self.widget.add_class("lens-capacity-panel")

    def _repr_mimebundle_(self, **kwargs: Any) -> dict[str, Any]:
        bundle = dict(self.widget._repr_mimebundle_(**kwargs))
        bundle["text/plain"] = f"CapacityPanel(levels={self.levels.value}, slo={self.slo.value})"
        return bundle

    # ---- what the controls say -------------------------------------------------------------

    def _sim_url(self) -> str:
        if self._sim is None:
            from lens.sim import SimServer, SimThread

            sim = SimThread(SimServer(sim_profiles()))
            sim.start()
            self._sim = sim
        return str(self._sim.base_url("openai_chat", f"slots-{self.slots.value}"))

    def spec(self) -> BurstSpec:
        """The BurstSpec searched (the given one, or the embedded sim's target)."""
        if self._spec is not None:
            return self._spec if isinstance(self._spec, BurstSpec) else \
                spec_from_dict(self._spec, source="CapacityPanel(spec)")
        return spec_from_dict({
            "name": "capacity-panel",
            "targets": [{"name": f"sim-{self.slots.value}-slots", "provider": "sim",
                         "dialect": "openai_chat", "model": "sim-capacity",
                         "base_url": self._sim_url()}],
            "prompts": {"synthetic_tokens": 32}, "max_tokens": 64,
        }, source="CapacityPanel")

    def plan(self) -> SearchSpec:
        """The SearchSpec the controls describe (errors name the control)."""
        try:
            levels = [float(x) for x in self.levels.value.split(",") if x.strip()]
        except ValueError:
            raise ConfigError(f"cannot read {self.levels.value!r}", source="levels",
                              hint="numbers separated by commas, e.g. 1,2,4,8") from None
        try:
            return SearchSpec(mode=self.mode.value, levels=levels,
                              attainment=self.attainment.value, requests=self.requests.value)
        except ValidationError as exc:
            msg = str(exc.errors()[0]["msg"]).removeprefix("Value error, ")
            raise ConfigError(msg, source="levels",
                              hint="ascending positive levels, whole numbers for concurrency") \
                from None

    def objectives(self) -> list[Any]:
        texts = [t for t in self.slo.value.replace(";", ",").split(",") if t.strip()]
        return as_objectives(texts, source="SLOs")

    # ---- running ----------------------------------------------------------------------------

    @property
    def running(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    def search(self) -> threading.Thread | None:
        """Start a search in a worker thread (what the button does); None on a bad input."""
        if self.running:
            return self._thread
        from lens.burst.stop import StopSignal

        try:
            spec, plan, objectives = self.spec(), self.plan(), self.objectives()
        except Exception as exc:
            self.show_error(exc)
            return None
        self.error, self.result, self.levels_seen = None, None, []
        self._stop = StopSignal()
        self.search_button.disabled, self.stop_button.disabled = True, False
        self.status.value = info_html(f"searching {spec.targets[0].label} ...")
        self._thread = threading.Thread(target=self._run, args=(spec, plan, objectives),
                                        name="lens-capacity", daemon=True)
        self._thread.start()
        return self._thread

    def _run(self, spec: BurstSpec, plan: SearchSpec, objectives: list[Any]) -> None:
        from lens.burst.capacity import search_capacity

        try:
            self.result = search_capacity(spec, slo=objectives, search=plan, store=self.store,
                                          on_level=self._on_level, stop=self._stop,
                                          source="CapacityPanel")
            self.status.value = info_html(self.result.explain())
            self._draw()
        except Exception as exc:
            self.show_error(exc)
        finally:
            self.search_button.disabled, self.stop_button.disabled = False, True

    def _on_level(self, r: Any) -> None:
        self.levels_seen.append(r)
        import pandas as pd

        rows = pd.DataFrame([{c: getattr(r, c) for c in TABLE_COLUMNS} | {"verdict": r.verdict}
                             for r in self.levels_seen])
        self.table.value = table_html(rows, floatfmt="{:.3g}")
        self.status.value = info_html(f"level {r.level:g}: {r.verdict} "
                                      f"({r.attainment:.1%} of {r.n})")

    def _draw(self) -> None:
        if self.result is None or not self.result.results:
            return
        self.chart = self.result.chart()
        self.chart_output.outputs = ({"output_type": "display_data", "metadata": {},
                                      "data": chart_bundle(self.chart)},)

    async def wait(self, timeout: float | None = None) -> Any:
        """Wait for the running search (without blocking the kernel); returns the result."""
        thread = self._thread
        if thread is not None:
            await asyncio.to_thread(thread.join, timeout)
            if thread.is_alive():
                raise TimeoutError(f"capacity search still running after {timeout} s")
        return self.result

    async def search_and_wait(self, timeout: float | None = None) -> Any:
        """Start a search and wait for its CapacityResult (None when it could not start)."""
        if self.search() is None:
            return None
        return await self.wait(timeout)

    def stop(self) -> None:
        """Stop after the level in flight (it finishes and is kept)."""
        if self._stop is not None:
            self._stop.stop()

    @property
    def frame(self) -> Any:
        """The levels fired so far, one row each."""
        import pandas as pd

        if self.result is not None:
            return self.result.frame()
        from dataclasses import asdict

        return pd.DataFrame([asdict(r) for r in self.levels_seen])

    def show_error(self, exc: BaseException) -> None:
        self.error = exc
        self.status.value = error_html(exc)

    def close(self) -> None:
        """Stop the search and the embedded sim this panel started."""
        self.stop()
        if self._thread is not None:
            self._thread.join(60)
        if self._sim is not None:
            self._sim.stop()
            self._sim = None
