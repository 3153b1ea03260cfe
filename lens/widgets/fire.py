"""The Fire panel: pick targets, regions, load and prompts; fire; watch results arrive.

``FirePanel()`` starts the embedded simulated endpoint on a free port and offers three
simulated providers as targets, so it works offline. The panel is an edge: its controls
(lens.widgets.fire_controls) become a BurstSpec and Fire makes ONE library call,
``lens.burst.run_async`` on the kernel's running loop, with the engine here
(``LocalExecutor``) or the fleet for regions (``FleetExecutor``: the local fleet offline,
Lambda with a fleet config and AWS credentials); runs are stored as ``lens run`` stores
them. The kernel stays free, Fire is disabled until the burst ends, Stop stops it (local
or fleet), a bar per target (or region) counts requests by status
(lens.widgets.fire_progress), and the chart, summary table and client health
(lens.widgets.fire_results) are redrawn at most every ``redraw_interval`` seconds.

A target that cannot fire (a bad URL, a missing API key) is refused at "Add target" with
the fix. A closed panel says so, and Fire restarts the embedded sim it needs. Errors are
shown in the panel, never as a traceback.
"""

from __future__ import annotations

import threading
from collections.abc import Mapping, Sequence
from typing import Any

from lens.errors import ConfigError, LensError
from lens.record import ChunkTiming, RequestRecord
from lens.spec import BurstSpec, TargetSpec, spec_from_dict
from lens.widgets._display import error_html, info_html, ipw, status_html, table_html
from lens.widgets.fire_controls import ARRIVALS, LIVE_METRICS, FireControls, check_target
from lens.widgets.fire_progress import ProgressView
from lens.widgets.fire_results import draw
from lens.widgets.fire_run import FiringMixin

__all__ = ["ARRIVALS", "LIVE_METRICS", "SIM_TARGETS", "FirePanel"]

# (target name, dialect, sim latency preset, model): three visibly different providers.
SIM_TARGETS: tuple[tuple[str, str, str, str], ...] = (
    ("sim-fast", "openai_chat", "fast", "sim-fast-1"),
    ("sim-steady", "anthropic", "steady", "sim-steady-1"),
    ("sim-slow", "gemini", "slow", "sim-slow-1"),
)


class FirePanel(FiringMixin):
    """Control panel for one burst at a time. Display it as the last expression of a cell.

    ``targets``: TargetSpecs or dicts (default: the embedded sim's SIM_TARGETS).
    ``regions``: the regions offered (default: the fleet config's, else the local fleet's).
    ``store``: a lens Store (e.g. ``open_store(path)``) that keeps every fired run.
    ``invoker``: a lens.fleet Invoker for region runs (default: chosen on first use).
    """

    def __init__(
        self,
        targets: Sequence[TargetSpec | Mapping[str, Any]] | None = None,
        *,
        regions: Sequence[str] | None = None,
        store: Any = None,
        invoker: Any = None,
        requests: int = 20,
        concurrency: int = 4,
        max_tokens: int = 64,
        prompt_set: str = "short",
        redraw_interval: float = 0.5,
    ) -> None:
        w = ipw()
        self.store = store
        self.redraw_interval = redraw_interval
        self._sim: Any = None
        self._invoker = invoker
        self._own_invoker: Any = None
        self._targets: dict[str, dict[str, Any]] = {}
        self._sim_bound: dict[str, tuple[str, str]] = {}  # label -> (dialect, sim profile)
        self._task: Any = None
        self._stop: Any = None  # lens.burst.stop.StopSignal while a burst runs
        self._lock = threading.Lock()
        self._dirty = False
        self._fresh = False  # no row of the current burst drawn yet
        self.closed = False
        self.records: list[RequestRecord] = []
        self.chunks: list[ChunkTiming] = []
        self.all_records: list[RequestRecord] = []
        self.all_chunks: list[ChunkTiming] = []
        self.run_id: str | None = None
        self.outcome: Any = None
        self.error: BaseException | None = None
        self.chart: Any = None
        self.summary: Any = None
        self.redraws = 0
        self.fleet_result: Any = None
        self._regions_of_run: list[str] = []
        self._spec_of_run: Any = None

        if targets is None:
            for name, dialect, preset, model in SIM_TARGETS:
                self._targets[name] = {"name": name, "provider": "sim", "dialect": dialect,
                                       "model": model,
                                       "base_url": self.sim_base_url(dialect, preset)}
                self._sim_bound[name] = (dialect, preset)
        else:
            for t in targets:
                spec = t if isinstance(t, TargetSpec) else TargetSpec.model_validate(dict(t))
                self._targets[spec.label] = spec.model_dump(exclude_none=True)

        self.controls = c = FireControls(
            w, list(self._targets), list(regions or _default_regions()), requests=requests,
            concurrency=concurrency, max_tokens=max_tokens, prompt_set=prompt_set)
        self.status = w.HTML(info_html("ready: choose targets and load, then Fire"))
        self.progress = ProgressView(w)
        self.chart_output = w.Output()
        self.table = w.HTML(table_html(None, empty="no results yet"))
        self.health = w.HTML("")
        c.add_target_button.on_click(lambda _b: self.add_target())
        c.fire_button.on_click(lambda _b: self.fire())
        c.stop_button.on_click(lambda _b: self.stop())
        c.metric.observe(lambda _c: self.redraw(), names="value")
        self.widget = w.VBox([c.box, w.HBox([c.fire_button, c.stop_button]), self.status,
                              self.progress.box, self.chart_output, self.table, self.health])
        self.widget.add_class("lens-fire-panel")
        # vl-convert's first compile starts a JS engine (about a second): do it now, off-thread
        threading.Thread(target=_warm_vl_convert, name="lens-vl-warmup", daemon=True).start()

    def __getattr__(self, name: str) -> Any:
        """The controls as attributes (``panel.requests``, ``panel.fire_button``...)."""
        controls = self.__dict__.get("controls")
        if controls is not None and hasattr(controls, name):
            return getattr(controls, name)
        raise AttributeError(f"'FirePanel' object has no attribute {name!r}")

    # ---- display --------------------------------------------------------------------------

    def _repr_mimebundle_(self, **kwargs: Any) -> dict[str, Any]:
        bundle = dict(self.widget._repr_mimebundle_(**kwargs))
        bundle["text/plain"] = (f"Fire panel ({len(self._targets)} targets, "
                                f"{len(self.regions.options)} regions): run this cell to use it")
        return bundle

    @property
    def bars(self) -> dict[str, Any]:
        """The progress bars of the latest burst, by target (or region)."""
        return self.progress.bars

    # ---- targets and spec -----------------------------------------------------------------

    def sim_base_url(self, dialect: str, profile: str | None = None) -> str:
        """Base URL of the embedded simulated endpoint (started on a free port on first use)."""
        if self._sim is None:
            from lens.sim import SimServer, SimThread

            sim = SimThread(SimServer())
            sim.start()
            self._sim = sim
        return str(self._sim.base_url(dialect, profile))

    @property
    def sim(self) -> Any:
        """The embedded simulated endpoint (a lens.sim.SimThread), or None."""
        return self._sim

    def add_target(self) -> str | None:
        """Add the target the provider/model/base URL row describes; returns its label, or
        None with the reason and fix in the panel (bad URL, name taken, API key not set)."""
        try:
            data = self.controls.new_target()
            sim_bound = data["provider"] == "sim" and "base_url" not in data
            if sim_bound:
                data["base_url"] = self.sim_base_url("openai_chat", self.sim_profile.value)
            spec = check_target(data, list(self._targets))
        except Exception as exc:
            self.show_error(exc)
            return None
        self._targets[spec.label] = spec.model_dump(exclude_none=True)
        if sim_bound:
            self._sim_bound[spec.label] = ("openai_chat", self.sim_profile.value)
        self.target_list.options = list(self._targets)
        self.target_list.rows = max(3, min(8, len(self._targets)))
        self.target_list.value = (*self.target_list.value, spec.label)
        self.status.value = info_html(f"added target {spec.label}")
        return spec.label

    def spec_data(self) -> dict[str, Any]:
        """The BurstSpec the panel's controls describe, as a dict."""
        return self.controls.spec_data(self._targets)

    def spec(self) -> BurstSpec:
        """Validate the controls into a BurstSpec (ConfigError names the control)."""
        data = self.spec_data()
        if not data["targets"]:
            raise ConfigError("no target selected", source="panel", field="targets",
                              hint="select at least one target in the targets list")
        return spec_from_dict(data, source="panel")

    # ---- results --------------------------------------------------------------------------

    @property
    def frame(self) -> Any:
        """Request rows of the latest burst as a DataFrame (lens.analysis.frames dtypes)."""
        from lens.analysis.frames import records_to_frame

        with self._lock:
            return records_to_frame(list(self.records))

    @property
    def chunk_frame(self) -> Any:
        from lens.analysis.frames import chunks_to_frame

        with self._lock:
            return chunks_to_frame(list(self.chunks))

    @property
    def history(self) -> Any:
        """Request rows of every burst fired from this panel."""
        from lens.analysis.frames import records_to_frame

        with self._lock:
            return records_to_frame(list(self.all_records))

    def _compute(self) -> tuple[Any, Any, dict[str, Any] | None] | None:
        """(summary, chart, chart mimebundle) from the rows so far; None without rows."""
        if not self.records:
            return None
        return draw(self.frame, self.metric.value, self._regions_of_run, list(self._targets),
                    getattr(self._spec_of_run, "slo", None))

    def _show(self, drawn: tuple[Any, Any, dict[str, Any] | None] | None) -> None:
        if drawn is None:
            return
        self.summary, chart, bundle = drawn
        self.table.value = table_html(self.summary)
        if bundle is not None:
            self.chart = chart
            self.chart_output.outputs = ({"output_type": "display_data", "data": bundle,
                                          "metadata": {}},)
        elif self._fresh:  # no successful row yet: the last run's chart would mislead
            self.chart = None
            self.chart_output.outputs = ()
        self._fresh = False
        self.redraws += 1

    def redraw(self) -> None:
        """Redraw progress, chart and summary table from the rows received so far."""
        self._dirty = False
        self.progress.render()
        try:
            self._show(self._compute())
        except Exception as exc:
            self.show_error(exc)

    def show_error(self, exc: BaseException) -> None:
        """Show ``exc`` in the panel's error box (and keep it in ``error``)."""
        self.error = exc
        self.status.value = error_html(exc)

    # ---- closing --------------------------------------------------------------------------

    def close(self) -> None:
        """Stop the embedded sim and any local fleet this panel started. The panel says it
        is closed; Fire starts the embedded sim again (on a new port)."""
        if self._stop is not None:
            self._stop.stop()
        if self._own_invoker is not None and hasattr(self._own_invoker, "close"):
            self._own_invoker.close()
            self._own_invoker = self._invoker = None
        if self._sim is not None:
            self._sim.stop()
            self._sim = None
        self.closed = True
        self.status.value = status_html(
            "warn", "closed: the embedded simulated endpoint and local fleet were stopped; "
            "Fire starts them again")

    def _reopen(self) -> None:
        """Restart what a closed panel needs: the embedded sim, its targets' new URLs."""
        for label, (dialect, profile) in self._sim_bound.items():
            self._targets[label]["base_url"] = self.sim_base_url(dialect, profile)
        self.closed = False


def _warm_vl_convert() -> None:
    try:
        import vl_convert as vlc

        from lens.widgets._display import VL_VERSION

        vlc.vegalite_to_vega({"mark": "point", "data": {"values": []}}, vl_version=VL_VERSION)
    except Exception:  # only a warm-up: chart_bundle has its own fallback
        pass


def _default_regions() -> list[str]:
    from lens.fleet.delay_proxy import DEFAULT_RTT_MS

    try:
        from lens.fleet.config import load_fleet_config

        config = load_fleet_config()
    except LensError:
        config = None
    return sorted(config.regions) if config is not None else list(DEFAULT_RTT_MS)
