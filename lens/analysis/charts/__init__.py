"""Altair charts, one function per view. Importing this package registers and enables the
``lens`` Altair theme (lens.analysis.charts.theme).

Every function takes frames from lens.analysis (requests, chunks, comparisons) and returns
an Altair chart whose data stays under Altair's row limit (see theme.MAX_ROWS).
"""

from __future__ import annotations

from lens.analysis.charts.box import region_box
from lens.analysis.charts.capacity import capacity_chart
from lens.analysis.charts.ecdf import ecdf
from lens.analysis.charts.forest import forest_plot
from lens.analysis.charts.knee import find_knee, latency_vs_load
from lens.analysis.charts.pareto import cost_latency_pareto, pareto_points
from lens.analysis.charts.prefill import prefill_fit, ttft_vs_prompt
from lens.analysis.charts.stalls import stall_chart
from lens.analysis.charts.status import error_rate_chart
from lens.analysis.charts.theme import MAX_ROWS, limit_rows, register
from lens.analysis.charts.timeseries import timeseries_chart
from lens.analysis.charts.timeslices import timeslice_chart
from lens.analysis.charts.turns import ttft_by_turn
from lens.analysis.charts.waterfall import token_waterfall

register()

__all__ = [
    "MAX_ROWS",
    "capacity_chart",
    "cost_latency_pareto",
    "ecdf",
    "error_rate_chart",
    "find_knee",
    "forest_plot",
    "latency_vs_load",
    "limit_rows",
    "pareto_points",
    "prefill_fit",
    "region_box",
    "register",
    "stall_chart",
    "timeseries_chart",
    "timeslice_chart",
    "token_waterfall",
    "ttft_by_turn",
    "ttft_vs_prompt",
]
