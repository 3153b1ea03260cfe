"""``python -m lens.sim`` = ``lens sim`` (without loading the other command groups)."""

from __future__ import annotations

import argparse
import sys

from lens.errors import LensError
from lens.sim.serve import add_arguments, run


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m lens.sim", description="Serve the simulated LLM endpoint.")
    add_arguments(parser)
    try:
        return run(parser.parse_args(argv))
    except LensError as err:
        print(f"lens sim: error: {err}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 0


if __name__ == "__main__":
    sys.exit(main())
