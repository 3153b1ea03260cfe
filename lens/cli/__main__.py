"""``python -m lens.cli``: the ``lens`` command."""

from __future__ import annotations

import sys

from lens.cli import main

sys.exit(main())
