"""``lens prune`` (delete old runs, per-store retention) and ``lens backup PATH``."""

from __future__ import annotations

import argparse
import json
from typing import Any


def _db_arg(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--db",
        help="SQLite file or SQLAlchemy URL (default: $LENS_DB or ~/.local/share/lens/lens.db)",
    )


def register(sub: Any) -> None:
    p = sub.add_parser(
        "prune",
        help="delete old runs with their requests and chunks",
        description="Delete runs that ended before now minus AGE (with their requests, chunks "
        "and text samples), and older requests of long-running embedded runs. Without "
        "--older-than the store's retention setting is used.",
    )
    p.add_argument("--older-than", metavar="AGE", help="e.g. 90d, 12h, 2w (a bare number is days)")
    p.add_argument(
        "--set-retention",
        metavar="AGE|off",
        help="save AGE as this store's retention (applied by `lens prune` and embedded sinks)",
    )
    p.add_argument("--dry-run", action="store_true", help="count what would go; delete nothing")
    p.add_argument("--json", action="store_true", help="print the result as JSON")
    _db_arg(p)
    p.set_defaults(func=cmd_prune)

    p = sub.add_parser(
        "backup",
        help="consistent copy of a SQLite store (safe while bursts write)",
        description="Copy the SQLite store to PATH with SQLite's online backup API, check the "
        "copy's integrity, then move it into place. PostgreSQL: use pg_dump.",
    )
    p.add_argument("path", metavar="PATH", help="backup file (or directory)")
    _db_arg(p)
    p.set_defaults(func=cmd_backup)


def cmd_prune(args: argparse.Namespace) -> int:
    from lens.store.paths import resolve_db
    from lens.store.retention import get_retention, prune, set_retention
    from lens.store.sql import open_store

    store = open_store(resolve_db(args.db))
    try:
        if args.set_retention is not None:
            off = args.set_retention.strip().lower() in ("off", "none", "0")
            set_retention(store, None if off else args.set_retention)
            kept = get_retention(store)
            print(f"retention: {'off' if kept is None else f'{kept.days} days'}")
            if kept is None and args.older_than is None:
                return 0
        result = prune(store, args.older_than, dry_run=args.dry_run)
    finally:
        store.close()
    if args.json:
        print(
            json.dumps(
                {
                    "cutoff": result.cutoff.isoformat(),
                    "runs": result.runs,
                    "requests": result.requests,
                    "chunks": result.chunks,
                    "text_samples": result.text_samples,
                    "dry_run": result.dry_run,
                }
            )
        )
        return 0
    verb = "would delete" if result.dry_run else "deleted"
    print(
        f"{verb} {len(result.runs)} runs, {result.requests} requests, {result.chunks} chunks, "
        f"{result.text_samples} text samples older than {result.cutoff:%Y-%m-%d %H:%M:%S} UTC"
    )
    return 0


def cmd_backup(args: argparse.Namespace) -> int:
    from lens.store.backup import backup_sqlite
    from lens.store.paths import resolve_db

    result = backup_sqlite(resolve_db(args.db), args.path)
    print(
        f"backed up {result.requests} requests ({result.bytes} bytes) to {result.path}; "
        f"integrity {result.integrity}"
    )
    return 0
