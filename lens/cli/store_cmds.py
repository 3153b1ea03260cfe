"""``lens runs``, ``lens show RUN``, ``lens export RUN``; ``lens import FILE`` (import_cmd.py).

RUN is a run id, a unique prefix of one, or ``latest``. A run left ``running`` by a
process that is gone (killed) is shown as ``incomplete``.
"""

from __future__ import annotations

import argparse
from typing import Any


def _db_arg(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--db",
        help="SQLite file or SQLAlchemy URL (default: $LENS_DB or ~/.local/share/lens/lens.db)",
    )


def register(sub: Any) -> None:
    p = sub.add_parser(
        "runs", help="list stored runs", description="List stored runs, newest first."
    )
    _db_arg(p)
    p.add_argument("--limit", type=int, default=50, metavar="N", help="at most N runs (default 50)")
    p.add_argument("--json", action="store_true", help="print JSON")
    p.set_defaults(func=cmd_runs)

    p = sub.add_parser(
        "show", help="summarise one stored run", description="Summarise one stored run."
    )
    p.add_argument("run", metavar="RUN", help="run id, unique prefix, or 'latest'")
    _db_arg(p)
    p.add_argument("--json", action="store_true", help="print JSON")
    p.add_argument("--slo", action="append", metavar="METRIC<=LIMIT",
                   help="judge by this SLO (repeatable; default: the run's spec slo block)")
    p.set_defaults(func=cmd_show)

    p = sub.add_parser(
        "export",
        help="write a run to Parquet, CSV or JSONL",
        description="Write a run's requests to PATH, its chunk timings to PATH's .chunks sibling "
        "and its metadata to a .meta.json sidecar.",
    )
    p.add_argument("run", metavar="RUN", help="run id, unique prefix, or 'latest'")
    p.add_argument(
        "--format", choices=("parquet", "csv", "jsonl"), help="default: from -o's suffix"
    )
    p.add_argument("-o", "--output", required=True, metavar="PATH", help="request rows file")
    _db_arg(p)
    p.set_defaults(func=cmd_export)

    from lens.cli.import_cmd import add_parser

    add_parser(sub, _db_arg)  # lens import: any tool's results (lens.importers)


def _open(args: argparse.Namespace) -> tuple[Any, str]:
    from lens.store.paths import resolve_db
    from lens.store.sql import open_store

    db = resolve_db(args.db)
    return open_store(db), db


def cmd_runs(args: argparse.Namespace) -> int:
    from lens.cli.render import dump_json, esc, runs_table, stdout_console
    from lens.record import run_info_dict
    from lens.store.paths import display_db

    store, db = _open(args)
    try:
        runs = store.list_runs(limit=args.limit)
    finally:
        store.close()
    if args.json:
        dump_json([{k: v for k, v in run_info_dict(r).items() if k != "spec_json"} for r in runs])
        return 0
    console = stdout_console()
    if not runs:
        console.print(f"no runs in {esc(display_db(db))} (fire one with `lens run`)")
        return 0
    console.print(runs_table(runs))
    return 0


def cmd_show(args: argparse.Namespace) -> int:
    from lens.analysis.health import client_health
    from lens.analysis.summary import summarize
    from lens.cli.render import dump_json, print_summary, summary_json
    from lens.cli.render_slo import run_objectives

    store, db = _open(args)
    try:
        run = store.get_run(args.run)
        frame = store.requests_frame(run.run_id)
        objectives = run_objectives(run.spec_json, args.slo)
        summaries = summarize(frame, store.chunks_frame(run.run_id), objectives=objectives)
    finally:
        store.close()
    health = client_health(frame, run.extra.get("client"))
    if args.json:
        dump_json(summary_json(run, summaries, db=db, health=health))
    else:
        print_summary(run, summaries, db=db, health=health)
    return 0


def cmd_export(args: argparse.Namespace) -> int:
    from lens.store.files import export_run

    store, _db = _open(args)
    try:
        files = export_run(store, args.run, args.output, args.format)
    finally:
        store.close()
    from lens.cli.safe_text import say

    say(f"wrote {files.requests}, {files.chunks} and {files.meta}")
    return 0
