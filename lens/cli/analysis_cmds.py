"""``lens report``, ``lens compare``, ``lens gate``: thin edges over lens.analysis.

RUN / BASE / CAND may be a run id (read from ``--db``, default ``$LENS_DB``), an exported
Parquet/CSV/JSONL file, or an ``s3://`` dataset URI.
"""

from __future__ import annotations

import argparse
import os
from pathlib import Path
from typing import Any

from lens.errors import NotFoundError


def load_ref(ref: str, db: str | None, *, chunks: bool = False) -> Any:
    """Frames for one RUN argument (see module docstring)."""
    from lens.analysis.frames import chunk_path_for, load

    if ref.startswith("s3://"):
        return load(s3=ref, chunks=chunks)
    p = Path(ref)
    if p.exists():
        if chunks and chunk_path_for(p) is None:
            return load(path=p), None
        return load(path=p, chunks=chunks)
    from lens.store.paths import display_db, is_url, resolve_db

    db = resolve_db(db)  # --db, else $LENS_DB, else the store lens run writes by default
    if not is_url(db) and not Path(os.path.expanduser(db)).is_file():
        raise NotFoundError(f"{ref!r} is not a file or s3:// URI, and there is no store at "
                            f"{display_db(db)} to look it up in",
                            hint="give a run id of a store with --db PATH (or set LENS_DB), "
                                 "or the path of an exported file")
    ref = _resolve_run_id(ref, db)
    out = load(db, runs=[ref], chunks=chunks)
    req = out[0] if chunks else out
    if len(req) == 0:
        raise NotFoundError(f"run {ref!r} has no requests in {display_db(db)}",
                            hint="list runs with `lens runs`")
    from lens.cli.render_slo import run_objectives

    frame: Any = req
    client, spec_json = _run_stored(ref, db)
    frame.attrs["lens_client"] = client  # the run's loop probe, for the gate
    frame.attrs["lens_slo"] = [str(o) for o in run_objectives(spec_json)]  # its spec's SLOs
    return out


def _run_stored(run_id: str, db: str | None) -> tuple[dict[str, Any] | None, str | None]:
    """The run's client-health summary (RunInfo.extra["client"]) and stored spec, when a
    lens store has them."""
    try:
        from lens.store.paths import resolve_db
        from lens.store.sql import open_store

        store = open_store(resolve_db(db))
    except Exception:  # not a lens store: judged from the rows alone
        return None, None
    try:
        run = store.get_run(run_id)
        client = run.extra.get("client")
        return (dict(client) if isinstance(client, dict) else None), run.spec_json
    except Exception:
        return None, None
    finally:
        store.close()


def _resolve_run_id(ref: str, db: str | None) -> str:
    """'latest' or a unique prefix -> the run id, when ``db`` is a lens store (one made by
    lens.store, recognisable by its migrations table); anything else is used as given."""
    import sqlite3

    from lens.store.paths import resolve_db

    src = resolve_db(db)
    if "://" not in src or src.startswith("sqlite:"):
        path = src.split(":///", 1)[-1] if "://" in src else os.path.expanduser(src)
        if not Path(path).is_file():
            return ref
        con = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
        try:
            tables = {r[0] for r in con.execute("SELECT name FROM sqlite_master")}
            if "_lens_migrations" not in tables:
                return ref
            exact = con.execute("SELECT 1 FROM runs WHERE run_id = ?", (ref,)).fetchone()
        finally:
            con.close()
        if exact:
            return ref
    from lens.store.sql import open_store

    store = open_store(src)
    try:
        return store.resolve_run_id(ref)
    finally:
        store.close()


def _add_common(p: argparse.ArgumentParser) -> None:
    p.add_argument("--db", default=None, help="SQLite store for run ids (default $LENS_DB)")
    p.add_argument("--prices", default=None, metavar="FILE.toml",
                   help="price overrides (see data/prices.toml)")
    p.add_argument("--seed", type=int, default=0, help="bootstrap seed (default 0)")


def register(sub: Any) -> None:
    rp = sub.add_parser("report", help="write a self-contained HTML report for runs")
    rp.add_argument("runs", nargs="+", metavar="RUN")
    rp.add_argument("-o", "--output", default="report.html", help="HTML file to write")
    rp.add_argument("--png", metavar="DIR", default=None, help="also write charts as PNG and SVG")
    rp.add_argument("--title", default=None)
    rp.add_argument("--threshold", type=float, default=0.10,
                    help="relative change that counts as a regression (default 0.10)")
    rp.add_argument("--power", type=float, default=0.8,
                    help="power for the detectable shift and requests needed (default 0.8)")
    rp.add_argument("--shift", type=float, default=None, metavar="FRACTION",
                    help="the shift to size the runs for (default: --threshold)")
    rp.add_argument("--slo", action="append", metavar="METRIC<=LIMIT",
                    help="judge SLO attainment and goodput (repeatable; default: the runs' "
                         "stored slo: blocks)")
    _add_common(rp)
    rp.set_defaults(func=cmd_report)

    cp = sub.add_parser("compare", help="compare a candidate run with a baseline")
    cp.add_argument("base", metavar="BASE")
    cp.add_argument("cand", metavar="CAND")
    cp.add_argument("--markdown", action="store_true", help="print a Markdown table")
    cp.add_argument("--metric", action="append", default=None,
                    help="metric to compare (repeatable; default ttft, tpot, e2e, tokens/s)")
    cp.add_argument("--percentile", action="append", type=float, default=None,
                    help="percentile (repeatable; default 50, 95, 99)")
    cp.add_argument("--threshold", type=float, default=0.10,
                    help="relative change that counts as a regression (default 0.10)")
    cp.add_argument("--alpha", type=float, default=0.05,
                    help="1 - the confidence level of the CIs (default 0.05)")
    cp.add_argument("--power", type=float, default=0.8,
                    help="power for the detectable shift and requests needed (default 0.8)")
    cp.add_argument("--shift", type=float, default=None, metavar="FRACTION",
                    help="the shift to size the runs for (default: --threshold)")
    cp.add_argument("--slo", action="append", metavar="METRIC<=LIMIT",
                    help="also compare SLO attainment and goodput (repeatable)")
    cp.add_argument("--pooled", action="store_true",
                    help="pool every target's requests into one comparison (default: per "
                         "target, and per region when the runs span several)")
    cp.add_argument("--json", action="store_true",
                    help="print the comparison rows as JSON (raw numbers, for scripts)")
    _add_common(cp)
    cp.set_defaults(func=cmd_compare)

    gp = sub.add_parser("gate", help="CI gate: exit 0 pass / 1 fail")
    gp.add_argument("--baseline", required=True, metavar="BASE")
    gp.add_argument("--candidate", required=True, metavar="CAND")
    gp.add_argument("--thresholds", default=None, metavar="FILE.toml")
    gp.add_argument("--max-p95-ttft-regression", type=float, default=None, metavar="FRACTION")
    gp.add_argument("--max-error-rate", type=float, default=None, metavar="FRACTION")
    gp.add_argument("--max-error-rate-increase", type=float, default=None, metavar="FRACTION")
    gp.add_argument("--max-cost-per-request", type=str, default=None, metavar="USD")
    gp.add_argument("--max-total-cost", type=str, default=None, metavar="USD")
    gp.add_argument("--slo", action="append", metavar="METRIC<=LIMIT",
                    help="SLO for the attainment checks (repeatable; adds to the file's [slo])")
    gp.add_argument("--min-attainment", type=float, default=None, metavar="FRACTION")
    gp.add_argument("--max-attainment-drop", type=float, default=None, metavar="FRACTION")
    gp.add_argument("--summary", default=None, metavar="FILE",
                    help="write the Markdown summary here (default $GITHUB_STEP_SUMMARY if set)")
    _add_common(gp)
    gp.set_defaults(func=cmd_gate)


def cmd_report(args: argparse.Namespace) -> int:
    import pandas as pd

    from lens.analysis.report import build_report, save_images, write_report

    reqs, chs = [], []
    for ref in args.runs:
        req, ch = load_ref(ref, args.db, chunks=True)
        reqs.append(req)
        if ch is not None:
            chs.append(ch)
    requests = pd.concat(reqs, ignore_index=True) if len(reqs) > 1 else reqs[0]
    chunks = pd.concat(chs, ignore_index=True) if chs else None
    run_ids = [str(r["run_id"].iloc[0]) for r in reqs if len(r)]
    two = len(run_ids) == 2 and run_ids[0] != run_ids[1]
    clients = {str(r["run_id"].iloc[0]): r.attrs["lens_client"] for r in reqs
               if len(r) and r.attrs.get("lens_client")}  # the runs' own loop probes
    rep = build_report(requests, chunks, title=args.title or f"lens report: {', '.join(args.runs)}",
                       prices=args.prices, baseline=run_ids[0] if two else None,
                       candidate=run_ids[1] if two else None, seed=args.seed,
                       threshold=args.threshold, power=args.power, shift=args.shift,
                       options={"clients": clients, "slos": _report_slos(args.slo, reqs)})
    path = write_report(rep, args.output)
    print(f"wrote {path}")
    if args.png:
        files = save_images(rep.charts, args.png)
        print(f"wrote {len(files)} images to {args.png}")
    return 0


def _report_slos(flags: list[str] | None, frames: list[Any]) -> list[str]:
    """The report's SLOs: ``--slo`` flags (checked here, so errors name the flag), else the
    first stored ``slo:`` block among the runs."""
    from lens.spec.slo import as_objectives

    if flags:
        return [str(o) for o in as_objectives(list(flags), source="--slo")]
    return next((list(f.attrs["lens_slo"]) for f in frames if f.attrs.get("lens_slo")), [])


def cmd_compare(args: argparse.Namespace) -> int:
    import json

    from lens.analysis import stats
    from lens.analysis.compare_view import compare_keys, markdown, people_table

    base = load_ref(args.base, args.db)
    cand = load_ref(args.cand, args.db)
    keys = compare_keys(base, cand, pooled=args.pooled)
    kw: dict[str, Any] = {"thresholds": args.threshold, "seed": args.seed,
                          "level": 1 - args.alpha, "by": keys}
    if args.metric:
        kw["metrics"] = args.metric
    if args.percentile:
        kw["percentiles"] = args.percentile
    table = stats.compare(base, cand, **kw)
    err = stats.error_rate_test(base, cand, alpha=args.alpha)
    if args.json:
        rows = json.loads(table.to_json(orient="records", double_precision=15))
        print(json.dumps({"baseline": args.base, "candidate": args.cand, "by": keys,
                          "comparison": rows, "error_rate": {
                              "base": err.base_rate, "cand": err.cand_rate,
                              "p_value": err.p_value, "test": err.test,
                              "verdict": err.verdict}}, indent=2))
        return 0
    people = people_table(table, keys)
    extra = _why_and_how_many(base, cand, args, kw)
    slo_line = _slo_line(base, cand, args.slo) if args.slo else None
    title = f"{args.cand} vs {args.base}" + ("" if keys else " (targets pooled)"
                                             if base["target"].nunique() > 1 else "")
    error_line = (f"Error rate: {err.base_rate:.2%} -> {err.cand_rate:.2%} "
                  f"({fmt_p(err.p_value)}, {err.test}): {err.verdict}")
    if args.markdown:
        from lens.cli.safe_text import say

        say(f"### {title}\n")
        say(markdown(people))
        print(error_line)
        if slo_line:
            print(f"\n{slo_line}")
        for line in extra:
            print(f"\n{line}" if not line.startswith("  ") else f"- {line.strip()}")
        return 0
    from rich.table import Table

    from lens.cli.render import plain, stdout_console

    t = Table(title=plain(title), title_justify="left", header_style="bold")
    for c in people.columns:
        t.add_column(c, justify="right" if c in ("baseline", "candidate", "change [CI]")
                     else "left")
    style = {"regressed": "red", "improved": "green", "insufficient data": "dim"}
    last: tuple[str, ...] = ()
    for row in people.itertuples(index=False):
        cells = [plain(v) for v in row]
        head = tuple(cells[: len(keys) + 1])  # show a target and metric once per group
        shown = [c if i > len(keys) or head[: i + 1] != last[: i + 1] else ""
                 for i, c in enumerate(cells)]
        last = head
        t.add_row(*shown, style=style.get(row.verdict))
    console = stdout_console()
    console.print(t)
    console.print(error_line, markup=False, highlight=False)
    if slo_line:
        console.print(slo_line, markup=False, highlight=False)
    for line in extra:
        console.print(plain(line))
    return 0


def fmt_p(p: float) -> str:
    from lens.analysis.reporting.fmt import pvalue

    return pvalue(p)


def _why_and_how_many(base: Any, cand: Any, args: argparse.Namespace,
                      kw: dict[str, Any]) -> list[str]:
    """What the servers reported differently, and what these runs could detect."""
    from lens.analysis import power
    from lens.analysis.whatchanged import describe, what_changed

    lines = []
    changed = describe(what_changed(base, cand))
    lines.append(f"What changed between the runs: {changed}." if changed else
                 "What changed between the runs: nothing the servers reported (model, "
                 "fingerprint, routing) differs.")
    shift = args.shift if args.shift is not None else args.threshold
    keys = kw.get("by", [])
    pctls = kw.get("percentiles", (50, 95, 99))
    det = power.detectable(base, cand, kw.get("metrics", power.DEFAULT_METRICS), pctls,
                           shift=shift, alpha=args.alpha, power=args.power, seed=args.seed,
                           by=keys)
    focus = "p95" if 95 in pctls else f"p{pctls[0]:g}"
    lines.append(f"How many requests: the smallest shift these runs detect with "
                 f"{args.power:.0%} power at alpha {args.alpha:g}, and what {shift:.0%} takes:")
    lines += [f"  {line}" for line in power.group_lines(det, keys, focus=focus)]
    return lines


def _slo_line(base: Any, cand: Any, flags: list[str]) -> str:
    """Attainment and goodput, baseline -> candidate, with the proportion test's verdict."""
    from lens.analysis.slo import attainment_test
    from lens.spec.slo import as_objectives

    t = attainment_test(base, cand, as_objectives(flags, source="--slo"))
    b, c = t.base, t.cand
    head = "SLO attainment (" + " and ".join(c.objectives) + "): "
    if t.verdict == "insufficient data":
        return head + f"{b.n} baseline and {c.n} candidate requests: insufficient data"
    return (head + f"{b.attainment:.2%} [{b.ci_low:.2%}, {b.ci_high:.2%}] -> "
            f"{c.attainment:.2%} [{c.ci_low:.2%}, {c.ci_high:.2%}] ({t.diff:+.2%}, "
            f"p={t.p_value:.3g}, {t.test}): {t.verdict}; goodput {b.goodput_rps:.3g} -> "
            f"{c.goodput_rps:.3g} req/s, {b.goodput_tok_s:.3g} -> {c.goodput_tok_s:.3g} tok/s")


def cmd_gate(args: argparse.Namespace) -> int:
    from lens.analysis import gate
    from lens.spec.slo import objectives_mapping, parse_objective

    slo = objectives_mapping(parse_objective(f) for f in args.slo) if args.slo else None
    thresholds = gate.load_thresholds(
        args.thresholds, max_p95_ttft_regression=args.max_p95_ttft_regression,
        max_error_rate=args.max_error_rate, max_error_rate_increase=args.max_error_rate_increase,
        max_cost_per_request=args.max_cost_per_request, max_total_cost=args.max_total_cost,
        slo=slo, min_attainment=args.min_attainment,
        max_attainment_drop=args.max_attainment_drop, seed=args.seed if args.seed else None)
    base = load_ref(args.baseline, args.db)
    cand = load_ref(args.candidate, args.db)
    result = gate.evaluate(base, cand, thresholds, prices=args.prices)
    md = gate.to_markdown(result, args.baseline, args.candidate)
    from lens.cli.safe_text import clean

    md = clean(md, newlines=True)  # target names come from stored (maybe imported) runs
    target = args.summary or os.environ.get("GITHUB_STEP_SUMMARY")
    if target:
        with open(target, "a", encoding="utf-8") as fh:  # GitHub appends step summaries
            fh.write(md)
    print(md)
    return result.exit_code
