"""``lens chart NAME RUN... -o FILE``: one registered chart of runs, as a file.

Translates flags to :func:`lens.analysis.chart_registry.chart` and
:func:`lens.analysis.charts.files.save_chart`; runs are read like ``lens report`` reads
them (run ids from the store, exported files, s3:// URIs).
"""

from __future__ import annotations

import argparse
import sys
from typing import Any

from lens.errors import ConfigError


def register(sub: Any) -> None:
    from lens.analysis.chart_registry import CHARTS

    listing = "; ".join(f"{n}: {k.about}" for n, k in CHARTS.items())
    p = sub.add_parser(
        "chart", help="draw one chart of runs to a file (.svg, .png, .json, .html)",
        description=f"Draw one chart of runs to a file. Charts: {listing}.")
    p.add_argument("name", metavar="NAME", help="the chart: " + ", ".join(CHARTS))
    p.add_argument("runs", nargs="+", metavar="RUN",
                   help="run ids (or unique prefixes, 'latest') in the store, exported files, "
                        "or s3:// URIs")
    p.add_argument("-o", "--output", default=None, metavar="FILE",
                   help="file to write; its suffix picks the format (default NAME.svg)")
    p.add_argument("--metric", default="ttft_ms",
                   help="the request column to draw, for charts that take one (default ttft_ms)")
    p.add_argument("--group", default=None,
                   help="colour by this column (default: target, or run with several runs)")
    p.add_argument("--db", default=None, help="store (default $LENS_DB or the user store)")
    p.set_defaults(func=cmd_chart)


def cmd_chart(args: argparse.Namespace) -> int:
    import pandas as pd

    from lens.analysis.chart_registry import CHARTS, chart
    from lens.analysis.charts.files import CHART_FORMATS, save_chart
    from lens.cli.analysis_cmds import load_ref

    output = args.output or f"{args.name}.svg"
    if not output.lower().endswith(CHART_FORMATS):
        raise ConfigError(f"cannot write a chart as {output!r}", source="--output",
                          hint="name the file .svg, .png, .json or .html")
    kind = CHARTS.get(args.name)
    reqs, chs = [], []
    for ref in args.runs:
        if kind is not None and kind.needs_chunks:
            req, ch = load_ref(ref, args.db, chunks=True)
            if ch is not None:
                chs.append(ch)
        else:
            req = load_ref(ref, args.db)
        reqs.append(req)
    requests = pd.concat(reqs, ignore_index=True) if len(reqs) > 1 else reqs[0]
    chunks = pd.concat(chs, ignore_index=True) if chs else None
    group = args.group
    if group is None:
        several = requests["run_id"].astype("object").nunique() > 1
        group = "run_id" if several else "target"
    drawn = chart(args.name, requests, chunks, metric=args.metric, group=group)
    path = save_chart(drawn, output, source="--output")
    print(f"wrote {path}", file=sys.stderr)
    return 0
