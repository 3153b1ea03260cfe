from __future__ import annotations

import sys

from lens.cli import main

sys.exit(main())
