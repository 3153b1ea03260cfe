"""Read the Terraform in terraform/ with python-hcl2 for the contract tests.

Blocks come back with quotes stripped: literals are plain strings, expressions keep their
``${...}`` form. Nothing here evaluates Terraform; the tests check what is written.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import hcl2

ROOT = Path(__file__).resolve().parents[1]
TF = ROOT / "terraform"
MODULES = TF / "modules"
EXAMPLE = TF / "envs" / "example"

_OPTIONS = hcl2.SerializationOptions(strip_string_quotes=True, explicit_blocks=False, with_comments=False)


def load_dir(path: Path) -> dict[str, list[Any]]:
    """All top-level blocks of the ``*.tf`` files in one directory, by block type."""
    merged: dict[str, list[Any]] = {}
    for tf in sorted(path.glob("*.tf")):
        with tf.open(encoding="utf-8") as fh:
            doc = hcl2.load(fh, serialization_options=_OPTIONS)
        for kind, blocks in doc.items():
            merged.setdefault(kind, []).extend(blocks if isinstance(blocks, list) else [blocks])
    return merged


def named(doc: dict[str, list[Any]], kind: str) -> dict[tuple[str, str], dict[str, Any]]:
    """``resource``/``data`` blocks as {(type, name): body}."""
    out: dict[tuple[str, str], dict[str, Any]] = {}
    for block in doc.get(kind, []):
        for rtype, by_name in block.items():
            for name, body in by_name.items():
                out[(rtype, name)] = body
    return out


def flat(doc: dict[str, list[Any]], kind: str) -> dict[str, Any]:
    """``module``/``variable``/``output``/``locals`` blocks merged into {name: body}."""
    out: dict[str, Any] = {}
    for block in doc.get(kind, []):
        out.update(block)
    return out


def one(value: Any) -> Any:
    """A nested block is a list of one body; a plain attribute is itself."""
    if isinstance(value, list) and len(value) == 1 and isinstance(value[0], dict):
        return value[0]
    return value


@dataclass(frozen=True)
class Statement:
    """One IAM statement from an aws_iam_policy_document, where it was written."""

    where: str  # "runner: data.aws_iam_policy_document.runner"
    document: str  # data source name
    sid: str
    effect: str
    actions: tuple[str, ...]
    resources: tuple[str, ...]
    resources_expr: str | None  # resources given as one expression (e.g. ${local.glue_arns})
    principals: tuple[tuple[str, tuple[str, ...]], ...]
    conditions: tuple[str, ...]  # condition variables


def _as_list(value: Any) -> tuple[list[str], str | None]:
    if isinstance(value, list):
        return [str(v) for v in value], None
    if value is None:
        return [], None
    return [], str(value)


def _statement(where: str, document: str, body: dict[str, Any]) -> Statement:
    actions, _ = _as_list(body.get("actions"))
    resources, resources_expr = _as_list(body.get("resources"))
    principals = tuple(
        (p["type"], tuple(_as_list(p["identifiers"])[0])) for p in body.get("principals", [])
    )
    conditions = tuple(c["variable"] for c in body.get("condition", []))
    return Statement(
        where=where,
        document=document,
        sid=str(body.get("sid", "")),
        effect=str(body.get("effect", "Allow")),
        actions=tuple(actions),
        resources=tuple(resources),
        resources_expr=resources_expr,
        principals=principals,
        conditions=conditions,
    )


def policy_statements(where: str, doc: dict[str, list[Any]]) -> Iterator[Statement]:
    """Every statement of every policy document in ``doc``, static and ``dynamic "statement"``."""
    for (rtype, name), body in named(doc, "data").items():
        if rtype != "aws_iam_policy_document":
            continue
        label = f"{where}: data.aws_iam_policy_document.{name}"
        for st in body.get("statement", []):
            yield _statement(label, name, st)
        for dyn in body.get("dynamic", []):
            for content in dyn.get("statement", {}).get("content", []):
                yield _statement(label, name, content)


def key_policy_documents(doc: dict[str, list[Any]]) -> set[str]:
    """Names of the policy documents used as KMS key policies in ``doc``."""
    names = set()
    for (rtype, _), body in named(doc, "resource").items():
        if rtype == "aws_kms_key":
            m = re.fullmatch(r"\$\{data\.aws_iam_policy_document\.(\w+)\.json\}", str(body.get("policy", "")))
            if m:
                names.add(m.group(1))
    return names


def lake_schema_json() -> dict[str, Any]:
    """The generated Terraform JSON with the lake columns."""
    return json.loads((MODULES / "results" / "lake_schema.tf.json").read_text(encoding="utf-8"))
