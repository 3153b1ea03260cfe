"""ipywidgets control panels for notebooks (install the ``notebook`` extra).

- :class:`FirePanel`: targets, regions, load shape, prompts, a Fire button, live progress,
  chart and summary table.
- :class:`FilterPanel`: filter an already-loaded frame (run, target, region, time range,
  metric, percentile) and redraw charts without re-running any query.
- :class:`CostExplorer`: what-if sliders for volume and prompt/output lengths.
- :class:`CapacityPanel`: SLOs and a target attainment; Search finds the highest load
  that meets them (lens.burst.capacity) and draws the evidence.
- :func:`setup_notebook`: make Altair charts render offline in JupyterLab.
- :func:`show_table`, :func:`comparison_table`: frames as tables for people.

ipywidgets is imported when a panel is built, so ``import lens.widgets`` is cheap.
"""

from __future__ import annotations

from typing import Any

from lens.widgets._display import chart_bundle, error_html, setup_notebook

__all__ = ["CapacityPanel", "CostExplorer", "FilterPanel", "FirePanel", "chart_bundle",
           "comparison_table", "error_html", "setup_notebook", "show_table"]


def __getattr__(name: str) -> Any:
    if name == "FirePanel":
        from lens.widgets.fire import FirePanel

        return FirePanel
    if name == "FilterPanel":
        from lens.widgets.filters import FilterPanel

        return FilterPanel
    if name == "CapacityPanel":
        from lens.widgets.capacity import CapacityPanel

        return CapacityPanel
    if name == "CostExplorer":
        from lens.widgets.cost import CostExplorer

        return CostExplorer
    if name in ("show_table", "comparison_table"):
        from lens.widgets import tables

        return getattr(tables, name)
    raise AttributeError(f"module 'lens.widgets' has no attribute {name!r}")
