"""``lens schedules create|list|delete`` and ``lens fleet run``: thin wrappers over lens.fleet."""

from __future__ import annotations

import argparse
import sys
from typing import Any

from lens.errors import ConfigError


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    sch = sub.add_parser("schedules", help="EventBridge Scheduler schedules that run the Lambda runner")
    ssub = sch.add_subparsers(dest="schedules_command", metavar="ACTION", required=True)

    c = ssub.add_parser("create", help="create or replace a schedule in each region")
    c.add_argument("name", help="schedule name (stored as lens-NAME)")
    c.add_argument("--spec", required=True, help="burst spec file (YAML/TOML)")
    c.add_argument("--expression", "--cron", required=True, dest="expression",
                   help="rate(1 hour) | cron(0 6 * * ? *) | at(...)")
    c.add_argument("--regions", required=True, help="comma-separated regions (from the fleet config)")
    c.add_argument("--role-arn", help="role the scheduler assumes (default: fleet config schedule_role_arn)")
    c.add_argument("--group", help="schedule group (default: fleet config schedule_group)")
    c.add_argument("--disabled", action="store_true", help="create it disabled")
    c.set_defaults(func=_create)

    ls = ssub.add_parser("list", help="list lens schedules")
    ls.add_argument("--regions", required=True, help="comma-separated regions")
    ls.add_argument("--group", default=None)
    ls.set_defaults(func=_list)

    d = ssub.add_parser("delete", help="delete a schedule in each region")
    d.add_argument("name")
    d.add_argument("--regions", required=True)
    d.add_argument("--group", default=None)
    d.set_defaults(func=_delete)

    fl = sub.add_parser("fleet", help="run a burst from several regions (Lambda, or the local fleet)")
    fsub = fl.add_subparsers(dest="fleet_command", metavar="ACTION", required=True)
    r = fsub.add_parser("run", help="fire a spec in several regions and gather the rows")
    r.add_argument("--spec", required=True, help="burst spec file")
    r.add_argument("--regions", required=True, help="comma-separated regions, e.g. us-east-1,eu-west-1")
    r.add_argument("--shards", type=int, default=1, help="invocations per region (requests split)")
    r.add_argument("--local", action="store_true", help="force the local fleet (no AWS)")
    r.add_argument("--db", default=None, help="SQLite store to save the rows in")
    r.set_defaults(func=_fleet_run)


def _regions(text: str) -> list[str]:
    regions = [r.strip() for r in text.split(",") if r.strip()]
    if not regions:
        raise ConfigError("no region given", source="--regions", hint="e.g. --regions us-east-1,eu-west-1")
    return regions


def _config() -> Any:
    from lens.fleet.config import load_fleet_config

    cfg = load_fleet_config()
    if cfg is None:
        raise ConfigError("no fleet config", hint="terraform output -json lens_fleet_config > ~/.config/lens/fleet.json")
    return cfg


def _scheduler(region: str) -> Any:
    import boto3

    return boto3.Session().client("scheduler", region_name=region)


def _create(args: argparse.Namespace) -> int:
    from lens.fleet.schedules import create_schedule
    from lens.spec import load_spec

    cfg = _config()
    spec = load_spec(args.spec)
    role = args.role_arn or cfg.schedule_role_arn
    if not role:
        raise ConfigError("no scheduler role", source="--role-arn", hint="pass --role-arn or set schedule_role_arn")
    for region in _regions(args.regions):
        arn = create_schedule(
            _scheduler(region), name=args.name, spec=spec, function_arn=cfg.region(region).function,
            role_arn=role, expression=args.expression, group=args.group or cfg.schedule_group,
            region=region, enabled=not args.disabled,
        )
        print(f"{region}: {arn}")
    return 0


def _list(args: argparse.Namespace) -> int:
    from lens.fleet.schedules import list_schedules

    for region in _regions(args.regions):
        for s in list_schedules(_scheduler(region), group=args.group):
            from lens.cli.safe_text import clean

            print("\t".join(clean(v) for v in (region, s.name, s.expression, s.state, s.spec_name or "")))
    return 0


def _delete(args: argparse.Namespace) -> int:
    from lens.fleet.schedules import delete_schedule

    group = args.group or "default"
    for region in _regions(args.regions):
        delete_schedule(_scheduler(region), args.name, group=group)
        print(f"{region}: deleted")
    return 0


def _fleet_run(args: argparse.Namespace) -> int:
    from lens.fleet import fire
    from lens.spec import load_spec

    spec = load_spec(args.spec)
    regions = _regions(args.regions)
    invoker = None
    fleet = None
    if args.local:
        from lens.fleet.local import LocalFleet

        fleet = invoker = LocalFleet(regions).start()
    store = None
    if args.db:
        from lens.store.sql import open_store

        store = open_store(args.db)

    def progress(region: str, state: str, info: dict[str, Any]) -> None:
        extra = f" ({info['reason']}: {info.get('error', '')})" if state == "failed" else ""
        from lens.cli.safe_text import say

        say(f"  {region:<16} {state}{extra}", file=sys.stderr)

    try:
        result = fire(spec, regions, shards=args.shards, invoker=invoker, store=store, progress=progress)
    finally:
        if fleet is not None:
            fleet.close()
        if store is not None:
            store.close()
    print(f"run {result.run_id}: {len(result.records)} requests")
    for region, st in result.statuses.items():
        s = st.summaries[0] if st.summaries else {}
        from lens.cli.safe_text import say

        say(f"  {region:<16} {st.state:<8} rows={st.n_records:<5} skipped={st.skipped:<4} "
            f"ttft_p50={s.get('ttft_p50_ms')} {st.error or ''}")
    return 0 if not result.failures else 1
