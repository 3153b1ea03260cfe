"""``python -m bench``: run every benchmark module in this package, one after another."""

from __future__ import annotations

import importlib
import pkgutil
import sys

import bench


def main(argv: list[str] | None = None) -> int:
    """Run each ``bench.<module>.main()`` with default flags; argv names modules to run."""
    wanted = set(argv if argv is not None else sys.argv[1:])
    failed = 0
    for info in sorted(pkgutil.iter_modules(bench.__path__), key=lambda i: i.name):
        if info.name.startswith("_") or (wanted and info.name not in wanted):
            continue
        module = importlib.import_module(f"bench.{info.name}")
        run = getattr(module, "main", None)
        if run is None:
            continue
        print(f"\n===== bench.{info.name} =====", flush=True)
        saved = sys.argv
        sys.argv = [f"bench.{info.name}"]  # each module parses its own (empty) flags
        try:
            rc = run()
        finally:
            sys.argv = saved
        failed += bool(rc)
    return 1 if failed else 0


if __name__ == "__main__":
    raise SystemExit(main())
