"""Reading spec files without trusting them: bounded YAML, duplicate keys named, size caps.

A spec file may come from anyone (a shared repository, a ticket): #17 item 10 found that a
"billion laughs" YAML (aliases of aliases) grew to 2.7 GB and ended in a raw MemoryError,
that a 200 MB inline spec was accepted and stored, and that a key given twice silently
kept the last value. Decisions:

- **Aliases are allowed** (``&defaults`` / ``<<: *defaults`` keep specs short) but the
  document they expand to may hold at most :data:`MAX_NODES` values; an alias that refers
  to itself is refused. Both are checked on the composed node graph, before anything is
  built, so the check costs one pass over the distinct nodes.
- **Size**: a spec file, and a spec mapping given directly (a Lambda event, Python), may
  be at most :data:`MAX_SPEC_BYTES` (prompts belong in ``prompts.file`` or a prompt set).
- **Duplicate keys** in one mapping are an error naming the key and both lines (YAML and
  JSON; TOML refuses them itself and the message is made to name the key).

Every refusal is a :class:`~lens.errors.ConfigError` naming the file.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

import yaml

from lens.errors import ConfigError

__all__ = ["MAX_NODES", "MAX_SPEC_BYTES", "check_size", "load_yaml", "toml_error"]

MAX_SPEC_BYTES = 4 * 1024 * 1024
MAX_NODES = 100_000  # values in a document once every alias is expanded
_MERGE = "tag:yaml.org,2002:merge"


class _DuplicateKey(Exception):
    def __init__(self, key: str, line: int, first: int) -> None:
        self.key, self.line, self.first = key, line, first


def _check_keys(node: yaml.MappingNode) -> None:
    """A key given twice in one mapping (merge keys, ``<<``, may override: not checked).

    Checked on the composed node (before anything is built, which flattens merges)."""
    seen: dict[tuple[str, str], int] = {}
    for key_node, _value in node.value:
        if key_node.tag == _MERGE or not isinstance(key_node, yaml.ScalarNode):
            continue
        key = (key_node.tag, key_node.value)
        line = key_node.start_mark.line + 1
        if key in seen:
            raise _DuplicateKey(key_node.value, line, seen[key])
        seen[key] = line


def _expanded_size(root: yaml.Node, source: str, limit: int = MAX_NODES) -> int:
    """Values the document holds once aliases are expanded (stops past ``limit``)."""
    sizes: dict[int, int] = {}
    on_path: set[int] = set()
    # Iterative post-order walk: a deeply nested file must not hit Python's recursion limit.
    stack: list[tuple[yaml.Node, bool]] = [(root, False)]
    while stack:
        node, done = stack.pop()
        key = id(node)
        if done:
            on_path.discard(key)
            total = 1 + sum(sizes[id(c)] for c in _children(node))
            sizes[key] = min(total, limit + 1)
            continue
        if key in sizes:
            continue
        if key in on_path:
            raise ConfigError("a YAML alias refers to a value that contains it (an endless value)",
                              source=source, hint="remove the alias that points back at its own anchor")
        on_path.add(key)
        if isinstance(node, yaml.MappingNode):
            _check_keys(node)
        stack.append((node, True))
        stack.extend((c, False) for c in _children(node) if id(c) not in sizes)
    return sizes[id(root)]


def _children(node: yaml.Node) -> list[yaml.Node]:
    if isinstance(node, yaml.SequenceNode):
        return list(node.value)
    if isinstance(node, yaml.MappingNode):
        return [n for pair in node.value for n in pair]
    return []


def load_yaml(text: str, source: str, *, max_nodes: int = MAX_NODES) -> Any:
    """Parse one YAML (or JSON) document under the rules in the module docstring.

    ``max_nodes`` bounds the expanded document (result files read by lens.importers are
    larger than specs: they pass the text's length, which no alias-free file exceeds)."""
    loader = yaml.SafeLoader(text)
    try:
        node = loader.get_single_node()
        if node is None:
            return None
        if _expanded_size(node, source, max_nodes) > max_nodes:
            raise ConfigError(
                f"the document expands to more than {max_nodes:,} values (YAML aliases "
                "repeating aliases, a 'billion laughs')",
                source=source, hint="write the values out, or use fewer nested aliases")
        return loader.construct_document(node)
    except _DuplicateKey as dup:
        raise ConfigError(
            f"line {dup.line}: key {dup.key!r} is given twice in the same mapping (first on line {dup.first})",
            source=source, hint=f"keep one {dup.key!r}: lens does not guess which one you meant") from None
    finally:
        loader.dispose()


def toml_error(exc: Exception, text: str) -> str:
    """tomllib's message, naming the key when it is one given twice."""
    msg = str(exc)
    m = re.search(r"Cannot (?:overwrite a value|declare .*?) \(at line (\d+)", msg)
    if m:
        lines = text.splitlines()
        n = int(m.group(1))
        line = lines[n - 1].strip() if 0 < n <= len(lines) else ""
        key = line.strip("[] ").split("=", 1)[0].strip() if line else ""
        if key:
            return f"line {n}: key {key!r} is given twice (TOML allows each key once per table)"
    return msg


def check_size(data: Mapping[str, Any], source: str, limit: int = MAX_SPEC_BYTES) -> None:
    """ConfigError when a spec mapping holds more than ``limit`` characters of text (its
    strings and keys, plus a few per value); stops counting as soon as it is over."""
    total = 0
    stack: list[Any] = [data]
    while stack:
        v = stack.pop()
        total += 8
        if isinstance(v, str):
            total += len(v)
        elif isinstance(v, Mapping):
            stack.extend(v.keys())
            stack.extend(v.values())
        elif isinstance(v, list | tuple):
            stack.extend(v)
        if total > limit:
            raise ConfigError(
                f"the spec is larger than {limit // (1024 * 1024)} MiB",
                source=source, hint="keep prompts in a file (prompts.file, lens run --prompt-file) "
                "or a bundled prompt set instead of inline")
