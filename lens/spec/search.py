"""The spec's ``search:`` block: how ``lens capacity`` looks for the highest load level
whose SLO attainment stays at or above a target (lens.analysis.capacity has the rules,
lens.burst.capacity fires the levels)."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

DEFAULT_LEVELS: dict[str, tuple[float, ...]] = {
    "concurrency": (1, 2, 4, 8, 16, 32, 64, 128),
    "rate": (0.5, 1, 2, 4, 8, 16, 32, 64),
}
DEFAULT_RESOLUTION: dict[str, float] = {"concurrency": 1.0, "rate": 0.10}


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", validate_assignment=True)


class SaturationSpec(_Strict):
    """When a sweep level counts as saturated (compared with the previous sweep level):
    throughput (requests/s) grew by less than ``min_throughput_gain`` *and* the p50 wait
    for the first token (``queue_ms + ttft_ms``) grew by more than ``min_wait_growth``."""

    min_throughput_gain: float = Field(default=0.05, ge=0)
    min_wait_growth: float = Field(default=0.25, ge=0)


class SearchSpec(_Strict):
    """A capacity search: sweep ``levels`` upwards, then bisect between the last level
    that met ``attainment`` and the first that did not.

    - ``mode``: ``concurrency`` (closed loop, integer levels) or ``rate`` (open loop,
      requests/s; ``arrival`` poisson or constant).
    - ``requests``: requests per level at least (default: the spec's ``load.requests``);
      concurrency levels fire at least ``rounds`` x level requests, rate levels at least
      ``min_duration_s`` x rate.
    - ``resolution``: bisection stops when the bracket is this narrow: concurrency an
      absolute step (default 1), rate a relative width (default 0.10).
    - ``max_levels``: at most this many levels are fired in all.
    - ``confirm``: a level that misses without its queue having grown is fired once more
      and the repeat decides (lens.analysis.capacity rule 4).
    - ``warmup_wave``: a concurrency level first fires one wave of ``level`` warm-up
      requests (not measured), so its new connections and the start burst, where every
      request arrives at once, are not judged as steady-state load.
    """

    mode: Literal["concurrency", "rate"] = "concurrency"
    levels: list[float] | None = None
    attainment: float = Field(default=0.95, gt=0, le=1)
    requests: int | None = Field(default=None, gt=0)
    rounds: int = Field(default=4, ge=1)
    min_duration_s: float = Field(default=5.0, gt=0)
    arrival: Literal["poisson", "constant"] = "poisson"
    resolution: float | None = Field(default=None, gt=0)
    max_levels: int = Field(default=24, ge=1)
    warmup_wave: bool = True
    confirm: bool = True
    saturation: SaturationSpec = Field(default_factory=SaturationSpec)

    @model_validator(mode="after")
    def _levels(self) -> SearchSpec:
        if self.levels is None:
            return self
        if not self.levels:
            raise ValueError("levels: give at least one level")
        if any(lv <= 0 for lv in self.levels):
            raise ValueError("levels must be positive")
        if any(b <= a for a, b in zip(self.levels, self.levels[1:], strict=False)):
            raise ValueError("levels must be strictly increasing, e.g. [1, 2, 4, 8]")
        if self.mode == "concurrency" and any(lv != int(lv) for lv in self.levels):
            raise ValueError("concurrency levels must be whole numbers")
        return self

    @property
    def grid(self) -> list[float]:
        return list(self.levels) if self.levels else list(DEFAULT_LEVELS[self.mode])

    @property
    def step(self) -> float:
        return self.resolution if self.resolution is not None else DEFAULT_RESOLUTION[self.mode]
