"""docs/modules.md lists every module of lens/ as it is (scripts/gen_module_map.py)."""

from __future__ import annotations

import importlib.util
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_the_module_map_is_current() -> None:
    spec = importlib.util.spec_from_file_location("gen_module_map", ROOT / "scripts" / "gen_module_map.py")
    assert spec is not None and spec.loader is not None
    gen = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(gen)
    written = (ROOT / "docs" / "modules.md").read_text(encoding="utf-8")
    assert written == gen.render(), "docs/modules.md is stale: run python scripts/gen_module_map.py"
    for path in (ROOT / "lens").rglob("*.py"):  # and it does name every module
        if "__pycache__" not in path.parts and path.name != "__init__.py":
            assert f"`{'.'.join(path.relative_to(ROOT).with_suffix('').parts)}`" in written
