"""Generate terraform/modules/results/lake_schema.tf.json from lens/store/lake_schema.py.

The Glue tables in Terraform must declare exactly the columns the runner writes. Rather
than copying them by hand, this script renders them as Terraform JSON ``locals`` that
``glue.tf`` iterates over; tests/unit/test_terraform_columns.py regenerates the text and
fails when the committed file is stale.

Usage: .venv/bin/python scripts/gen_tf_columns.py [--check]
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
TARGET = ROOT / "terraform" / "modules" / "results" / "lake_schema.tf.json"

if str(ROOT) not in sys.path:  # runnable as a plain script from any directory
    sys.path.insert(0, str(ROOT))

GLUE_COMMENT_MAX = 255  # Glue rejects longer column comments


def _template_safe(text: str) -> str:
    """Terraform JSON treats strings as templates: escape ``${`` and ``%{`` so docs stay literal."""
    return text.replace("${", "$${").replace("%{", "%%{")


def render() -> str:
    """The generated file's exact text (stable order, trailing newline)."""
    from lens.record import CHUNK_FIELDS, REQUEST_FIELDS
    from lens.store import lake_schema

    docs = {"requests": {c.name: c.doc for c in REQUEST_FIELDS}, "chunks": {c.name: c.doc for c in CHUNK_FIELDS}}
    tables = {}
    for table in lake_schema.TABLES:
        columns = [
            {"name": name, "type": glue_type, "comment": _template_safe(docs[table].get(name, ""))[:GLUE_COMMENT_MAX]}
            for name, glue_type in lake_schema.glue_columns(table).items()
        ]
        tables[table] = {"columns": columns}
    doc = {
        "//": (
            "GENERATED from lens/store/lake_schema.py by scripts/gen_tf_columns.py; do not edit. "
            "Change the record (lens/record/columns.py), then run: .venv/bin/python scripts/gen_tf_columns.py"
        ),
        "locals": {
            "lake_tables": tables,
            "lake_partition_keys": [{"name": k, "type": t} for k, t in lake_schema.partition_types().items()],
        },
    }
    return json.dumps(doc, indent=2, ensure_ascii=False) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="exit 1 if the file is stale instead of writing it")
    args = parser.parse_args(argv)
    text = render()
    current = TARGET.read_text(encoding="utf-8") if TARGET.exists() else None
    if args.check:
        if current != text:
            print(f"{TARGET.relative_to(ROOT)} is stale: run scripts/gen_tf_columns.py", file=sys.stderr)
            return 1
        return 0
    if current != text:
        TARGET.write_text(text, encoding="utf-8")
        print(f"wrote {TARGET.relative_to(ROOT)}")
    else:
        print(f"{TARGET.relative_to(ROOT)} is up to date")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
