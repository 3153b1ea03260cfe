"""``lens import FILE``: any tool's results (or a lens export) into the store.

The format is detected from the file's content (lens.importers.detect); ``--format``
names it. For the lens exports of earlier versions ``--format`` also still takes the file
formats it used to (``parquet``, ``jsonl``, ``csv``): ``csv`` means a lens export when the
file looks like one and no ``--map`` is given, else a CSV with a column mapping.

What the importer could not map (its notes) and any figure of the tool's own summary
that lens recomputes differently are printed after the import, in plain words.
"""

from __future__ import annotations

import argparse
import re
from pathlib import Path
from typing import Any

from lens.errors import LensError, NotFoundError

_FILE_FORMATS = ("parquet", "jsonl")
FORMATS = ("aiperf", "guidellm", "vllm", "lens", "csv", *_FILE_FORMATS)


def add_parser(sub: Any, db_arg: Any) -> None:
    """Register ``lens import`` (``db_arg`` adds the shared ``--db`` flag)."""
    p = sub.add_parser(
        "import",
        help="load a result file (AIPerf, GuideLLM, vLLM bench, CSV, lens export) as a run",
        description="Load one result file as a lens run: AIPerf profile_export.jsonl, GuideLLM "
        "benchmarks.json, vLLM `bench serve --save-result --save-detailed` JSON, a CSV with "
        "--map, or a file written by `lens export` (any lens version). The format is detected "
        "from the content. See docs/importers.md.",
    )
    p.add_argument("path", metavar="FILE", help="the result file (or an AIPerf artifacts folder)")
    p.add_argument("--format", choices=FORMATS, metavar="FORMAT",
                   help="aiperf, guidellm, vllm, lens or csv (default: detected); parquet and "
                   "jsonl still mean a lens export")
    p.add_argument("--map", action="append", metavar="LENS=THEIRS",
                   help="CSV column mapping, e.g. --map ttft=ttft_s:s --map e2e=latency_ms "
                   "(repeatable; implies --format csv)")
    p.add_argument("--run-id", help="store it under this id (default: from the file)")
    p.add_argument("--name", help="the run's name (default: from the file)")
    p.add_argument("--model", help="model name, when the file does not say")
    p.add_argument("--provider", help="provider (none of the peer tools records it)")
    p.add_argument("--target", help="target name (default: provider/model)")
    p.add_argument("--region", help="region label (default: local)")
    p.add_argument("--url", help="the endpoint's URL (only its host is kept)")
    p.add_argument("--tz", metavar="AREA/CITY",
                   help="vLLM: the time zone of the machine that wrote the file (default UTC)")
    p.add_argument("--benchmark", type=int, metavar="N",
                   help="GuideLLM: import only the N-th benchmark (from 0)")
    p.add_argument("--scenario", help="CSV: the scenario label of every row")
    p.add_argument("--concurrency", type=int, metavar="N", help="CSV: the load's concurrency")
    p.add_argument("--chunks", metavar="PATH",
                   help="lens export: the chunk file, when it is not beside the request file")
    db_arg(p)
    p.set_defaults(func=cmd_import)


_OPTION_FLAGS = ("run_id", "name", "model", "provider", "target", "region", "url", "tz",
                 "benchmark", "scenario", "concurrency")


def importer_options(args: argparse.Namespace) -> tuple[str | None, dict[str, Any]]:
    """(importer name or None to detect, options for lens.importers.import_file)."""
    from lens.importers import IMPORTERS
    from lens.importers.base import read_head

    opts: dict[str, Any] = {k: getattr(args, k) for k in _OPTION_FLAGS
                            if getattr(args, k, None) is not None}
    if args.map:
        opts["map"] = list(args.map)
    if args.chunks:
        opts["chunks_path"] = args.chunks
    fmt = args.format
    if fmt in _FILE_FORMATS:
        opts["file_format"] = fmt
        return "lens", opts
    if fmt == "csv" and not args.map:
        path = Path(args.path)
        head = read_head(path) if path.is_file() else ""
        if IMPORTERS["lens"].sniff(path, head) > 0:  # a lens CSV export, as before
            opts["file_format"] = "csv"
            return "lens", opts
    return fmt, opts


def cmd_import(args: argparse.Namespace) -> int:
    from lens.importers import import_file
    from lens.importers.store import save
    from lens.store.paths import display_db, resolve_db
    from lens.store.sql import open_store

    if not Path(args.path).exists():
        raise NotFoundError(f"{args.path}: file not found", hint="check the path")
    fmt, opts = importer_options(args)
    try:
        run = import_file(args.path, format=fmt, **opts)
    except LensError as exc:
        raise type(exc)(for_cli(exc.message),
                        hint=for_cli(exc.hint) if exc.hint else None) from None
    db = resolve_db(args.db)
    store = open_store(db)
    try:
        run_id = save(store, run, run_id=args.run_id)
    finally:
        store.close()
    from lens.cli.safe_text import clean

    # Run ids, file names, scenarios and notes come from the imported file or the flags.
    print(clean(f"imported run {run_id} into {display_db(db)}"))
    for line in describe(run):
        print(clean(line))
    return 0


def describe(run: Any) -> list[str]:
    """What the import did, for people: source, rows, notes, the check of the peer's summary."""
    df = run.requests
    tool = {"vllm-bench": "vLLM bench serve", "aiperf": "AIPerf", "guidellm": "GuideLLM",
            "csv": "CSV", "lens": "lens export"}.get(run.source_tool, run.source_tool)
    version = f" {run.source_version}" if run.source_version else ""
    scen = sorted(set(df["scenario"].astype(str))) if len(df) else []
    ok = int((df["status"].astype(str) == "ok").sum()) if len(df) else 0
    lines = [f"  from {run.source_path} ({tool}{version}): {len(df)} requests, {ok} ok"
             + (f", {len(scen)} scenarios ({', '.join(scen[:6])}{', ...' if len(scen) > 6 else ''})"
                if len(scen) > 1 else "")]
    if run.notes:
        lines.append("notes on the import:")
        lines += [f"  - {for_cli(n)}" for n in run.notes]
    if run.checks:
        bad = run.mismatches
        if not bad:
            lines.append(f"checked against {tool}'s own summary: all {len(run.checks)} figures "
                         "match when recomputed from the imported rows")
        else:
            lines.append(f"{len(bad)} of {len(run.checks)} figures of {tool}'s own summary differ "
                         "from lens's recomputation from the imported rows:")
            lines += [f"  - {_check_line(c, tool)}" for c in bad]
    return lines


def _num(v: float | None) -> str:
    return "nothing" if v is None else f"{v:.6g}"


def _check_line(c: Any, tool: str) -> str:
    where = f"{c.scenario}: " if c.scenario and c.scenario != "default" else ""
    return (f"{where}{c.metric}: {tool} says {_num(c.theirs)}, lens recomputes "
            f"{_num(c.ours)} (from {c.column}, {c.method})")


_PY_TO_FLAG = [
    (re.compile(r"map=\[([^\]]*)\]"),
     lambda m: " ".join(f"--map {s.strip().strip(chr(39))}" for s in m.group(1).split(","))),
    (re.compile(r"format='([a-z]+)'"), lambda m: f"--format {m.group(1)}"),
    (re.compile(r"tz='([^']*)'"), lambda m: f"--tz {m.group(1)}"),
    (re.compile(r"\b(format|map|provider|url|run_id|model|name|benchmark|target)=(\.\.\.|NAME)?"),
     lambda m: f"--{m.group(1).replace('_', '-')}" + (f" {m.group(2)}" if m.group(2) else "")),
]


# One pass, leftmost match first: a quoted span the user wrote ('model=model*2', a column
# name) is matched as a whole and kept; option patterns start before their own quotes.
_FLAG_OR_QUOTED = re.compile("|".join(
    [f"(?:{p.pattern})" for p, _ in _PY_TO_FLAG] + ["(?P<quoted>'[^']*')"]))


def for_cli(text: str) -> str:
    """Importer messages name Python options (``provider=``); the CLI's user has flags."""
    def one(m: re.Match[str]) -> str:
        if m.group("quoted") is not None:
            return m.group(0)
        for pattern, repl in _PY_TO_FLAG:
            hit = pattern.fullmatch(m.group(0))
            if hit is not None:
                return repl(hit)
        return m.group(0)  # pragma: no cover - every alternative is one of the patterns

    return _FLAG_OR_QUOTED.sub(one, text)
