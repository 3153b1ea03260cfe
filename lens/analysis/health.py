"""Could the client keep up? One reading of a run's client health for every reader.

A run whose client was saturated has TTFT and ITL tails inflated by the client, not the
provider. ``lens run`` warns, ``lens show`` and the report say so, and ``lens gate`` refuses
to pass or fail on it. The rules are lens.probe.lag's: the run's own loop probe (p99 lag
above 2 ms) when the run kept it, else the requests' ``client_lag_ms`` (median above
50 ms). docs/metrics.md defines both.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import pandas as pd

from lens.probe.lag import ROWS_SATURATED_MS, SATURATED_MS, saturated, saturated_rows

__all__ = ["ClientHealth", "client_health"]


@dataclass(frozen=True)
class ClientHealth:
    """Whether the client kept up, and the evidence (``source``: probe | requests | none)."""

    flagged: bool
    source: str
    lag_p99_ms: float | None = None  # the run's probe (source probe)
    cpu: float | None = None  # the client's CPU use of one core (source probe)
    median_ms: float | None = None  # median request's worst lag (client_lag_ms)
    n: int = 0  # requests that carry a lag

    @property
    def known(self) -> bool:
        return self.source != "none"

    def message(self, label: str = "this run") -> str:
        """One sentence for people; empty when the client kept up or nothing is known."""
        if not self.flagged:
            return ""
        if self.source == "probe":
            why = (f"its event loop was more than {SATURATED_MS:g} ms late for over 1% of the "
                   f"burst (p99 lag {self.lag_p99_ms:.1f} ms, CPU {100 * (self.cpu or 0):.0f}% "
                   "of a core)")
        else:
            why = (f"the median request saw its event loop {self.median_ms:.1f} ms late (over "
                   f"{ROWS_SATURATED_MS:g} ms)")
        return (f"{label}: the client could not keep up -- {why}, so TTFT and ITL include the "
                "client's own delay. Fire fewer streams per process (lens run --workers N), "
                "or run the endpoint (e.g. lens sim) in another process or machine.")

    def summary(self) -> str:
        """A short line for a healthy (or unknown) client."""
        if self.source == "probe":
            return (f"client kept up: p99 loop lag {self.lag_p99_ms:.2f} ms, CPU "
                    f"{100 * (self.cpu or 0):.0f}% of a core")
        if self.source == "requests":
            return f"client kept up: median request lag {self.median_ms:.2f} ms"
        return "client health unknown (the rows carry no client lag)"

    def as_dict(self) -> dict[str, Any]:
        return {"saturated": self.flagged, "source": self.source, "lag_p99_ms": self.lag_p99_ms,
                "cpu": self.cpu, "request_lag_median_ms": self.median_ms,
                "requests_with_lag": self.n}


def client_health(requests: pd.DataFrame, run_client: Mapping[str, Any] | None = None
                  ) -> ClientHealth:
    """The client's health: from the run's probe summary (``RunInfo.extra["client"]``) when
    given, else from the requests' ``client_lag_ms`` (warm-up included: it loaded the client)."""
    median, n = None, 0
    if "client_lag_ms" in requests.columns and not requests.empty:
        lag = pd.to_numeric(requests["client_lag_ms"], errors="coerce").dropna()
        flagged_rows, median = saturated_rows(lag.tolist())
        n = len(lag)
    else:
        flagged_rows = False
    probe = saturated(dict(run_client) if run_client else None)
    if probe is not None and run_client is not None:
        return ClientHealth(probe, "probe", float(run_client["lag_p99_ms"]),
                            float(run_client.get("cpu", 0.0)), median, n)
    if median is not None:
        return ClientHealth(flagged_rows, "requests", median_ms=median, n=n)
    return ClientHealth(False, "none")
