"""The Fire panel's controls: targets, load, prompts, workload, regions; and the BurstSpec
they describe.

Controls that do not apply are disabled (concurrency under a rate or Poisson arrival, the
rate under closed-loop concurrency, prompt tokens with a named prompt set, shards with no
region). A new target is checked when it is added (a valid spec, a distinct name, its API
key set), so Fire never meets a target that cannot fire.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Mapping, Sequence
from typing import Any

from lens.errors import ConfigError
from lens.spec import PROVIDERS, BurstSpec, TargetSpec, spec_from_dict

ARRIVALS: tuple[str, ...] = ("concurrency", "rate", "poisson")
_SLO_ITEM = re.compile(r"^\s*([A-Za-z0-9_]+)\s*(<=|>=|<|>)\s*(\S+)\s*$")
LIVE_METRICS: tuple[str, ...] = ("ttft_ms", "e2e_ms", "tpot_ms", "itl_p50_ms", "headers_ms")
STYLE = {"description_width": "110px"}


def slo_supported() -> bool:
    """Whether this lens has per-request SLOs (a BurstSpec ``slo`` block)."""
    return "slo" in BurstSpec.model_fields


def slo_block(text: str) -> dict[str, str]:
    """'ttft_ms<=500, tpot_ms<=40' -> {'ttft_ms': '<=500', 'tpot_ms': '<=40'} (the spec's
    ``slo:`` block; lens.spec checks metrics and numbers and names the field)."""
    out: dict[str, str] = {}
    for item in filter(None, (p.strip() for p in re.split(r"[,;]", text))):
        m = _SLO_ITEM.match(item)
        if m is None:
            raise ConfigError(f"SLO {item!r} is not METRIC<=LIMIT", source="panel",
                              field="slo", hint="write e.g. ttft_ms<=500, tpot_ms<=40")
        out[m.group(1)] = f"{m.group(2)}{m.group(3)}"
    return out


def check_target(data: Mapping[str, Any], taken: Sequence[str],
                 env: Mapping[str, str] | None = None) -> TargetSpec:
    """A target the panel can fire at, or ConfigError/TargetError naming the field and fix:
    a valid spec (a URL with scheme and host), a name not taken, and its API key set."""
    spec = spec_from_dict({"targets": [dict(data)]}, source="add target").targets[0]
    if spec.label in taken:
        raise ConfigError(f"a target named {spec.label!r} exists", source="add target",
                          field="name", hint="give the new target another name")
    spec.resolve_api_key(env)  # TargetError: "export OPENAI_API_KEY=..." before any Fire
    return spec


class FireControls:
    """Every input widget of the panel and its layout (``box``); ``spec_data(targets)``
    turns them into a BurstSpec mapping."""

    def __init__(self, w: Any, target_labels: Sequence[str], regions: Sequence[str], *,
                 requests: int, concurrency: int, max_tokens: int, prompt_set: str) -> None:
        from lens.sim import PRESETS
        from lens.workload.prompts import available_sets

        sets = available_sets()
        st = STYLE
        self.target_list = w.SelectMultiple(options=list(target_labels),
                                            value=tuple(target_labels), description="targets",
                                            rows=max(3, min(8, len(target_labels))), style=st)
        self.provider = w.Dropdown(options=sorted(PROVIDERS), value="sim",
                                   description="provider", style=st)
        self.model = w.Text(value="sim-model", description="model", style=st)
        self.base_url = w.Text(value="", placeholder="empty: embedded sim / provider default",
                               description="base URL", style=st)
        self.sim_profile = w.Dropdown(options=sorted(PRESETS), value="default",
                                      description="sim profile", style=st)
        self.target_name = w.Text(value="", placeholder="default provider/model",
                                  description="name", style=st)
        self.add_target_button = w.Button(description="Add target", icon="plus")
        # every region visible at once: a hidden scrolled-off region is never chosen
        self.regions = w.SelectMultiple(options=list(regions), value=(), description="regions",
                                        rows=max(3, min(10, len(regions))), style=st)
        self.shards = w.BoundedIntText(value=1, min=1, max=64, description="shards/region",
                                       style=st)
        self.requests = w.BoundedIntText(value=requests, min=1, max=1_000_000,
                                         description="requests", style=st)
        self.concurrency = w.BoundedIntText(value=concurrency, min=1, max=4096,
                                            description="concurrency", style=st)
        self.arrival = w.Dropdown(options=ARRIVALS, value="concurrency", description="arrival",
                                  style=st)
        self.rate = w.BoundedFloatText(value=10.0, min=0.01, max=1e6,
                                       description="rate (req/s)", style=st)
        self.prompt_set = w.Dropdown(options=[*sets, "synthetic"],
                                     value=prompt_set if prompt_set in sets else "synthetic",
                                     description="prompt set", style=st)
        self.prompt_tokens = w.BoundedIntText(value=128, min=1, max=1_000_000,
                                              description="prompt tokens", style=st)
        self.max_tokens = w.BoundedIntText(value=max_tokens, min=1, max=1_000_000,
                                           description="max tokens", style=st)
        self.turns = w.BoundedIntText(value=1, min=1, max=1000, description="turns/session",
                                      style=st, tooltip="2 or more: multi-turn sessions, each "
                                      "turn resends the conversation so far")
        self.cancel_after = w.BoundedIntText(value=0, min=0, max=1_000_000,
                                             description="cancel after", style=st,
                                             tooltip="abandon each stream after this many "
                                             "tokens (0: never)")
        self.slo = w.Text(value="", placeholder="e.g. ttft_ms<=500, tpot_ms<=40",
                          description="SLOs", style=st, disabled=not slo_supported(),
                          tooltip="per-request objectives: attainment in the summary")
        self.run_name = w.Text(value="notebook", description="run name", style=st)
        self.metric = w.Dropdown(options=[(_metric_label(m), m) for m in LIVE_METRICS],
                                 value="ttft_ms", description="chart metric", style=st)
        self.fire_button = w.Button(description="Fire", button_style="primary", icon="play")
        self.stop_button = w.Button(description="Stop", disabled=True, icon="stop")
        for c in (self.arrival, self.prompt_set, self.regions):
            c.observe(lambda _c: self.sync_enabled(), names="value")
        self.sync_enabled()
        col = functools.partial(w.VBox, layout=w.Layout(min_width="330px"))
        self.box = w.HBox([
            col([w.HTML("<b>Targets</b>"), self.target_list, self.provider, self.model,
                 self.base_url, self.sim_profile, self.target_name, self.add_target_button]),
            col([w.HTML("<b>Load</b>"), self.requests, self.arrival, self.concurrency,
                 self.rate, w.HTML("<b>Prompts</b>"), self.prompt_set, self.prompt_tokens,
                 self.max_tokens, w.HTML("<b>Workload</b>"), self.turns, self.cancel_after,
                 self.slo]),
            col([w.HTML("<b>Regions</b> (none chosen: in-process)"), self.regions, self.shards,
                 self.run_name, self.metric]),
        ])

    def sync_enabled(self) -> None:
        """Disable the controls the current choices make meaningless."""
        closed = self.arrival.value == "concurrency"
        self.concurrency.disabled = not closed
        self.rate.disabled = closed
        self.prompt_tokens.disabled = self.prompt_set.value != "synthetic"
        self.shards.disabled = not self.regions.value

    def new_target(self) -> dict[str, Any]:
        """The add-target row as a TargetSpec mapping (base URL left out when empty)."""
        data: dict[str, Any] = {"provider": self.provider.value,
                                "model": self.model.value.strip()}
        if self.target_name.value.strip():
            data["name"] = self.target_name.value.strip()
        if self.base_url.value.strip():
            data["base_url"] = self.base_url.value.strip()
        return data

    def spec_data(self, targets: Mapping[str, Mapping[str, Any]]) -> dict[str, Any]:
        """The BurstSpec the controls describe, as a dict (``targets``: label -> target)."""
        load: dict[str, Any] = {"kind": self.arrival.value, "requests": int(self.requests.value)}
        if self.arrival.value == "concurrency":
            load["concurrency"] = int(self.concurrency.value)
        else:
            load["rate"] = float(self.rate.value)
        prompts: dict[str, Any] = (
            {"synthetic_tokens": int(self.prompt_tokens.value)}
            if self.prompt_set.value == "synthetic" else {"set": self.prompt_set.value})
        data: dict[str, Any] = {
            "name": self.run_name.value.strip() or "notebook",
            "scenario": "notebook",
            "targets": [dict(targets[label]) for label in self.target_list.value],
            "prompts": prompts,
            "max_tokens": int(self.max_tokens.value),
            "load": load,
            "tags": {"source": "widget"},
        }
        if int(self.turns.value) > 1:
            data["sessions"] = {"turns": int(self.turns.value)}
        if int(self.cancel_after.value) > 0:
            data["cancel"] = {"after_tokens": int(self.cancel_after.value)}
        if self.slo.value.strip() and slo_supported():
            data["slo"] = slo_block(self.slo.value)
        return data

    def set_running(self, running: bool) -> None:
        self.fire_button.disabled = running
        self.stop_button.disabled = not running


def _metric_label(metric: str) -> str:
    from lens.analysis.reporting.fmt import label

    return label(metric)
