"""The Fire panel: pick targets, regions, load and prompts; fire; watch results arrive.

``FirePanel()`` starts the embedded simulated endpoint on a free port and offers three
simulated providers as targets, so it works offline. With no region chosen a burst runs
in-process, with regions through the fleet (the local fleet offline, Lambda when a fleet
config and AWS credentials exist); either way through ``lens.burst.run_async`` on the
kernel's running loop, so runs are stored exactly as ``lens run`` stores them. Either way the kernel stays free,
Fire is disabled until the burst ends, a progress bar per target (or region) moves, and the
chart and summary table are redrawn at most every ``redraw_interval`` seconds. Errors are
shown in the panel as a message box, never as a traceback.
"""

from __future__ import annotations

import asyncio
import functools
import threading
from collections.abc import Mapping, Sequence
from typing import Any

from lens.errors import ConfigError, LensError
from lens.record import ChunkTiming, RequestRecord, new_run_id
from lens.spec import PROVIDERS, BurstSpec, TargetSpec, spec_from_dict
from lens.widgets._display import chart_bundle, error_html, info_html, ipw, table_html
from lens.widgets.live import fleet_invoker, live_summary

# (target name, dialect, sim latency preset, model): three visibly different providers.
SIM_TARGETS: tuple[tuple[str, str, str, str], ...] = (
    ("sim-fast", "openai_chat", "fast", "sim-fast-1"),
    ("sim-steady", "anthropic", "steady", "sim-steady-1"),
    ("sim-slow", "gemini", "slow", "sim-slow-1"),
)
LIVE_METRICS: tuple[str, ...] = ("ttft_ms", "e2e_ms", "tpot_ms", "itl_p50_ms", "headers_ms")
ARRIVALS: tuple[str, ...] = ("concurrency", "rate", "poisson")


class _Sink:
    """RecordSink for run_burst: hands each finished request to the panel."""

    def __init__(self, panel: FirePanel) -> None:
        self.panel = panel

    def add(self, record: RequestRecord, chunks: Sequence[ChunkTiming] = ()) -> None:
        self.panel._add_rows([record], list(chunks))


class FirePanel:
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
        from lens.sim import PRESETS
        from lens.workload.prompts import available_sets

        self.store = store
        self.redraw_interval = redraw_interval
        self._sim: Any = None
        self._invoker = invoker
        self._own_invoker: Any = None
        self._targets: dict[str, dict[str, Any]] = {}
        self._task: asyncio.Future[Any] | None = None
        self._stop: Any = None  # lens.burst.stop.StopSignal while a burst runs
        self._lock = threading.Lock()
        self._dirty = False
        self.records: list[RequestRecord] = []
        self.chunks: list[ChunkTiming] = []
        self.all_records: list[RequestRecord] = []
        self.all_chunks: list[ChunkTiming] = []
        self.progress: dict[str, tuple[int, int | None, int]] = {}
        self.run_id: str | None = None
        self.error: BaseException | None = None
        self.chart: Any = None
        self.summary: Any = None
        self.redraws = 0
        self.fleet_result: Any = None

        if targets is None:
            for name, dialect, preset, model in SIM_TARGETS:
                self._targets[name] = {"name": name, "provider": "sim", "dialect": dialect,
                                       "model": model, "base_url": self.sim_base_url(dialect, preset)}
        else:
            for t in targets:
                spec = t if isinstance(t, TargetSpec) else TargetSpec.model_validate(dict(t))
                self._targets[spec.label] = spec.model_dump(exclude_none=True)

        sets = available_sets()
        style = {"description_width": "110px"}
        self.target_list = w.SelectMultiple(options=list(self._targets), value=tuple(self._targets),
                                            description="targets", rows=4, style=style)
        self.provider = w.Dropdown(options=sorted(PROVIDERS), value="sim", description="provider",
                                   style=style)
        self.model = w.Text(value="sim-model", description="model", style=style)
        self.base_url = w.Text(value="", placeholder="empty: embedded sim / provider default",
                               description="base URL", style=style)
        self.sim_profile = w.Dropdown(options=sorted(PRESETS), value="default",
                                      description="sim profile", style=style)
        self.target_name = w.Text(value="", placeholder="default provider/model",
                                  description="name", style=style)
        self.add_target_button = w.Button(description="Add target", icon="plus")
        self.regions = w.SelectMultiple(options=list(regions or _default_regions()), value=(),
                                        description="regions", rows=5, style=style)
        self.shards = w.BoundedIntText(value=1, min=1, max=64, description="shards/region",
                                       style=style)
        self.requests = w.BoundedIntText(value=requests, min=1, max=1_000_000,
                                         description="requests", style=style)
        self.concurrency = w.BoundedIntText(value=concurrency, min=1, max=4096,
                                            description="concurrency", style=style)
        self.arrival = w.Dropdown(options=ARRIVALS, value="concurrency", description="arrival",
                                  style=style)
        self.rate = w.BoundedFloatText(value=10.0, min=0.01, max=1e6, description="rate (req/s)",
                                       style=style)
        self.prompt_set = w.Dropdown(options=[*sets, "synthetic"],
                                     value=prompt_set if prompt_set in sets else "synthetic",
                                     description="prompt set", style=style)
        self.prompt_tokens = w.BoundedIntText(value=128, min=1, max=1_000_000,
                                              description="prompt tokens", style=style)
        self.max_tokens = w.BoundedIntText(value=max_tokens, min=1, max=1_000_000,
                                           description="max tokens", style=style)
        self.run_name = w.Text(value="notebook", description="run name", style=style)
        self.fire_button = w.Button(description="Fire", button_style="primary", icon="play")
        self.stop_button = w.Button(description="Stop", disabled=True, icon="stop")
        self.metric = w.Dropdown(options=LIVE_METRICS, value="ttft_ms", description="chart metric",
                                 style=style)
        self.status = w.HTML(info_html("ready"))
        self.progress_box = w.VBox()
        self.bars: dict[str, Any] = {}
        self.chart_output = w.Output()
        self.table = w.HTML(table_html(None))

        self.add_target_button.on_click(lambda _b: self.add_target())
        self.fire_button.on_click(lambda _b: self.fire())
        self.stop_button.on_click(lambda _b: self.stop())
        self.metric.observe(lambda _c: self.redraw(), names="value")
        col = functools.partial(w.VBox, layout=w.Layout(min_width="330px"))
        self.widget = w.VBox([
            w.HBox([
                col([w.HTML("<b>Targets</b>"), self.target_list, self.provider, self.model,
                     self.base_url, self.sim_profile, self.target_name, self.add_target_button]),
                col([w.HTML("<b>Load</b>"), self.requests, self.concurrency, self.arrival,
                     self.rate, w.HTML("<b>Prompts</b>"), self.prompt_set, self.prompt_tokens,
                     self.max_tokens]),
                col([w.HTML("<b>Regions</b> (none: in-process)"), self.regions, self.shards,
                     self.run_name, self.metric]),
            ]),
            w.HBox([self.fire_button, self.stop_button]),
            self.status, self.progress_box, self.chart_output, self.table,
        ])
        self.widget.add_class("lens-fire-panel")
        # vl-convert's first compile starts a JS engine (about a second): do it now, off-thread
        threading.Thread(target=_warm_vl_convert, name="lens-vl-warmup", daemon=True).start()

    # ---- display --------------------------------------------------------------------------

    def _repr_mimebundle_(self, **kwargs: Any) -> dict[str, Any]:
        bundle = dict(self.widget._repr_mimebundle_(**kwargs))
        bundle["text/plain"] = f"FirePanel(targets={len(self._targets)}, regions={len(self.regions.options)})"
        return bundle

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
        """Add the target described by the provider/model/base URL fields; returns its label."""
        try:
            data: dict[str, Any] = {"provider": self.provider.value, "model": self.model.value.strip()}
            if self.target_name.value.strip():
                data["name"] = self.target_name.value.strip()
            url = self.base_url.value.strip()
            if url:
                data["base_url"] = url
            elif self.provider.value == "sim":
                data["base_url"] = self.sim_base_url("openai_chat", self.sim_profile.value)
            spec = spec_from_dict({"targets": [data]}, source="panel").targets[0]
            if spec.label in self._targets:
                raise ConfigError(f"a target named {spec.label!r} exists", source="panel",
                                  field="name", hint="give the new target another name")
        except Exception as exc:
            self.show_error(exc)
            return None
        self._targets[spec.label] = spec.model_dump(exclude_none=True)
        self.target_list.options = list(self._targets)
        self.target_list.value = (*self.target_list.value, spec.label)
        self.status.value = info_html(f"added target {spec.label}")
        return spec.label

    def spec_data(self) -> dict[str, Any]:
        """The BurstSpec the panel's controls describe, as a dict."""
        load: dict[str, Any] = {"kind": self.arrival.value, "requests": int(self.requests.value)}
        if self.arrival.value == "concurrency":
            load["concurrency"] = int(self.concurrency.value)
        else:
            load["rate"] = float(self.rate.value)
        prompts: dict[str, Any] = (
            {"synthetic_tokens": int(self.prompt_tokens.value)}
            if self.prompt_set.value == "synthetic" else {"set": self.prompt_set.value})
        return {
            "name": self.run_name.value.strip() or "notebook",
            "scenario": "notebook",
            "targets": [self._targets[label] for label in self.target_list.value],
            "prompts": prompts,
            "max_tokens": int(self.max_tokens.value),
            "load": load,
            "tags": {"source": "widget"},
        }

    def spec(self) -> BurstSpec:
        """Validate the controls into a BurstSpec (ConfigError names the control)."""
        data = self.spec_data()
        if not data["targets"]:
            raise ConfigError("no target selected", source="panel", field="targets",
                              hint="select at least one target in the targets list")
        return spec_from_dict(data, source="panel")

    # ---- firing ---------------------------------------------------------------------------

    @property
    def running(self) -> bool:
        return self._task is not None and not self._task.done()

    def fire(self) -> asyncio.Future[Any] | None:
        """Start a burst (what the Fire button does); returns the task, or None on a bad spec.

        On a running event loop (a notebook kernel) it is a task on that loop; without one
        the burst runs on its own loop in a daemon thread.
        """
        if self.running:
            return self._task
        try:
            spec = self.spec()
        except Exception as exc:
            self.show_error(exc)
            return None
        regions = list(self.regions.value)
        self._begin(spec, regions)
        coro = self._guard(self._run(spec, regions))
        try:
            loop = asyncio.get_running_loop()
            self._task = loop.create_task(coro)
        except RuntimeError:
            self._task = _thread_future(coro)
        return self._task

    async def wait(self, timeout: float | None = None) -> None:
        """Wait until the current burst (if any) has finished."""
        task = self._task
        if task is None:
            return
        fut = asyncio.shield(task) if isinstance(task, asyncio.Future) else asyncio.wrap_future(task)
        await asyncio.wait_for(fut, timeout)

    async def fire_and_wait(self, timeout: float | None = None) -> Any:
        """Fire, wait, and return the run's request frame (empty on an error; see ``error``)."""
        if self.fire() is not None:
            await self.wait(timeout)
        return self.frame

    def stop(self) -> None:
        """Stop starting new requests (in-flight ones finish)."""
        if self._stop is not None:
            self._stop.stop()
            self.status.value = info_html("stopping: waiting for in-flight requests")

    def _begin(self, spec: BurstSpec, regions: list[str]) -> None:
        from lens.burst.stop import StopSignal

        self.error = None
        self._stop = StopSignal()
        self.records, self.chunks, self.progress = [], [], {}
        self.chart, self.summary, self.fleet_result = None, None, None
        self.run_id = new_run_id()
        keys = regions or [t.label for t in spec.targets]
        total = (spec.load.requests or 0) * (len(spec.targets) if regions else 1)
        w = ipw()
        self.bars = {k: w.IntProgress(value=0, min=0, max=max(1, total), description=k,
                                      style={"description_width": "110px"}) for k in keys}
        self.progress_box.children = tuple(self.bars.values())
        self.fire_button.disabled = True
        self.stop_button.disabled = False  # stop skips requests (and shards) not yet started
        self.chart_output.outputs = ()
        self.table.value = table_html(None)
        where = f"regions {', '.join(regions)}" if regions else "in-process"
        self.status.value = info_html(f"running {self.run_id}: {len(spec.targets)} target(s), {where}")

    def _end(self) -> None:
        self.fire_button.disabled = False
        self.stop_button.disabled = True
        self._stop = None

    async def _guard(self, coro: Any) -> None:
        try:
            await coro
            if self.error is None:
                n_err = sum(r.status != "ok" for r in self.records)
                self.status.value = info_html(
                    f"done {self.run_id}: {len(self.records)} requests, {n_err} failed")
        except asyncio.CancelledError:
            self.status.value = info_html("cancelled")
        except Exception as exc:
            self.show_error(exc)
        finally:
            self.redraw()
            self._end()

    async def _run(self, spec: BurstSpec, regions: list[str]) -> None:
        """Fire through lens.burst.run_async (the engine here, or the fleet for regions)."""
        from lens.burst.executor import LocalExecutor
        from lens.burst.run import run_async

        loop = asyncio.get_running_loop()
        executor: Any = LocalExecutor()
        if regions:
            from lens.fleet.executor import FleetExecutor

            if self._invoker is None:  # starting the local fleet takes a moment: not on the loop
                self._own_invoker = await loop.run_in_executor(None, fleet_invoker)
                self._invoker = self._own_invoker
            executor = FleetExecutor(regions=regions, shards=int(self.shards.value),
                                     invoker=self._invoker)
        ticker = loop.create_task(self._tick())
        try:
            outcome = await run_async(
                spec, store=self.store, sinks=[_Sink(self)], on_progress=self._on_progress,
                stop=self._stop, executor=executor, run_id=self.run_id, source="panel",
                run_extra={"regions": regions} if regions else None,
            )  # fmt: skip
        finally:
            ticker.cancel()
        self.fleet_result = outcome.details
        if outcome.failures:
            msgs = "; ".join(f"{r}: {m}" for r, m in outcome.failures.items())
            self.show_error(LensError(f"some regions failed ({msgs})",
                                      hint="rows of the other regions are kept"))

    # ---- results --------------------------------------------------------------------------

    def _add_rows(self, records: list[RequestRecord], chunks: list[ChunkTiming]) -> None:
        with self._lock:
            self.records.extend(records)
            self.chunks.extend(chunks)
            self.all_records.extend(records)
            self.all_chunks.extend(chunks)
            self._dirty = True

    def _on_progress(self, ev: Any) -> None:
        if hasattr(ev, "state"):  # a fleet region event
            self._on_fleet_state(ev.region, ev.state, dict(ev.info))
            return
        self.progress[ev.target] = (ev.done, ev.total, ev.errors)
        self._dirty = True

    def _on_fleet_state(self, region: str, state: str, info: dict[str, Any]) -> None:
        if state == "shard_done":
            done, total, errors = self.progress.get(region, (0, None, 0))
            self.progress[region] = (done + int(info.get("records", 0)), total,
                                     errors + int(info.get("errors", 0)))
            self._dirty = True
        bar = self.bars.get(region)
        if bar is not None and state in ("failed", "partial"):
            bar.bar_style = "danger"
        if state == "failed":
            self.error = self.error or LensError(f"{region}: {info.get('error') or info.get('reason')}")

    async def _tick(self) -> None:
        loop = asyncio.get_running_loop()
        while True:
            await asyncio.sleep(self.redraw_interval)
            if self._dirty:
                # Build the frame, chart and Vega spec in a worker thread: the burst's timing
                # runs on this loop, and a blocked loop would delay (inflate) its timestamps.
                self._dirty = False
                self._apply_progress()
                try:
                    drawn = await loop.run_in_executor(None, self._compute)
                except Exception as exc:
                    self.show_error(exc)
                    continue
                self._show(drawn)

    def _apply_progress(self) -> None:
        for key, (done, total, errors) in list(self.progress.items()):
            bar = self.bars.get(key)
            if bar is None:
                continue
            if total:
                bar.max = max(1, total)
            bar.value = min(done, bar.max)
            bar.description = key
            bar.bar_style = "warning" if errors else ("success" if done >= bar.max else "info")

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
        df = self.frame
        metric = self.metric.value
        group = "region" if len(self.regions.value) > 1 else "target"
        summary = live_summary(df, metric, group)
        ok = df[(df["status"].astype("object") == "ok") & df[metric].notna()]
        if not len(ok):
            return summary, None, None
        from lens.analysis import charts

        chart = charts.ecdf(df, metric, group)
        return summary, chart, chart_bundle(chart)

    def _show(self, drawn: tuple[Any, Any, dict[str, Any] | None] | None) -> None:
        if drawn is None:
            return
        self.summary, chart, bundle = drawn
        self.table.value = table_html(self.summary)
        if bundle is not None:
            self.chart = chart
            self.chart_output.outputs = ({"output_type": "display_data", "data": bundle,
                                          "metadata": {}},)
        self.redraws += 1

    def redraw(self) -> None:
        """Redraw progress, chart and summary table from the rows received so far."""
        self._dirty = False
        self._apply_progress()
        try:
            self._show(self._compute())
        except Exception as exc:
            self.show_error(exc)

    def show_error(self, exc: BaseException) -> None:
        """Show ``exc`` in the panel's error box (and keep it in ``error``)."""
        self.error = exc
        self.status.value = error_html(exc)

    def close(self) -> None:
        """Stop the embedded sim and any local fleet this panel started."""
        if self._own_invoker is not None and hasattr(self._own_invoker, "close"):
            self._own_invoker.close()
            self._own_invoker = self._invoker = None
        if self._sim is not None:
            self._sim.stop()
            self._sim = None


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


def _thread_future(coro: Any) -> Any:
    """Run ``coro`` on a private event loop in a daemon thread (no running loop here)."""
    import concurrent.futures

    fut: concurrent.futures.Future[Any] = concurrent.futures.Future()

    def run() -> None:
        try:
            fut.set_result(asyncio.run(coro))
        except BaseException as exc:
            fut.set_exception(exc)

    threading.Thread(target=run, name="lens-fire", daemon=True).start()
    return fut

