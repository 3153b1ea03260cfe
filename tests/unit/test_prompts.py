"""Prompt sources, synthetic lengths, cache modes."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from lens.errors import ConfigError
from lens.spec import PromptSpec
from lens.workload.prompts import (
    SHARED_PREFIX_TOKENS,
    apply_cache_mode,
    available_sets,
    load_prompts,
    prompt_hash,
    shared_prefix,
    synthetic_text,
)
from lens.workload.tokens import count_tokens


def test_named_set_from_data_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    d = tmp_path / "prompts"
    d.mkdir()
    (d / "mini.jsonl").write_text(
        json.dumps({"id": "a", "text": "first"})
        + "\n\n"
        + json.dumps({"id": "b", "text": "second"})
        + "\n"
    )
    monkeypatch.setenv("LENS_DATA_DIR", str(tmp_path))
    got = load_prompts(PromptSpec(set="mini"))
    assert [(p.id, p.text) for p in got] == [("a", "first"), ("b", "second")]
    assert available_sets() == ["mini"]
    with pytest.raises(ConfigError, match=r"unknown prompt set 'nope'") as ei:
        load_prompts(PromptSpec(set="nope"))
    assert "mini" in str(ei.value)  # the fix lists the sets that exist


def test_files_jsonl_and_txt(tmp_path: Path) -> None:
    txt = tmp_path / "p.txt"
    txt.write_text("one\n\n  two  \n")
    assert [(p.id, p.text) for p in load_prompts(PromptSpec(file=str(txt)))] == [
        ("p-1", "one"),
        ("p-3", "  two  "),
    ]
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"id": "x", "text": "ok"}\nnot json\n')
    with pytest.raises(ConfigError, match=r"bad\.jsonl.*line 2"):
        load_prompts(PromptSpec(file=str(bad)))
    with pytest.raises(ConfigError, match=r"missing\.txt.*not found"):
        load_prompts(PromptSpec(file=str(tmp_path / "missing.txt")))
    other = tmp_path / "p.csv"
    other.write_text("x")
    with pytest.raises(ConfigError, match="unknown prompt file type"):
        load_prompts(PromptSpec(file=str(other)))


def test_inline() -> None:
    got = load_prompts(PromptSpec(inline=["a", "b"]))
    assert [(p.id, p.text) for p in got] == [("inline-0", "a"), ("inline-1", "b")]


@pytest.mark.parametrize("n", [1, 16, 128, 1000])
def test_synthetic_length_close_to_n(n: int) -> None:
    (p,) = load_prompts(PromptSpec(synthetic_tokens=n))
    assert p.id == f"synthetic-{n}"
    assert abs(count_tokens(p.text) - n) <= max(1, n // 100)
    assert synthetic_text(n) == p.text  # deterministic


def test_cache_modes() -> None:
    a = apply_cache_mode("q", "bust")
    b = apply_cache_mode("q", "bust")
    assert a != b and a.endswith("\nq") and b.endswith("\nq")
    assert prompt_hash(a) != prompt_hash(b)
    s1 = apply_cache_mode("q1", "shared")
    s2 = apply_cache_mode("q2", "shared")
    prefix = shared_prefix()
    assert s1.startswith(prefix) and s2.startswith(prefix)
    assert count_tokens(prefix) >= 1024 and abs(count_tokens(prefix) - SHARED_PREFIX_TOKENS) <= 12
    assert apply_cache_mode("q", "default") == "q"
    with pytest.raises(ConfigError):
        apply_cache_mode("q", "weird")
    assert len(prompt_hash("x")) == 16


@pytest.mark.parametrize("suffix", [".jsonl", ".txt"])
def test_non_utf8_prompt_file_names_file_offset_and_fix(tmp_path: Path, suffix: str) -> None:
    path = tmp_path / f"latin1{suffix}"
    good = (
        (json.dumps({"id": "a", "text": "ok"}) + "\n").encode() if suffix == ".jsonl" else b"ok\n"
    )
    bad_line = '{"id": "b", "text": "caf\xe9"}\n' if suffix == ".jsonl" else "caf\xe9\n"
    path.write_bytes(good + bad_line.encode("latin-1"))
    offset = len(good) + bad_line.index("\xe9")
    with pytest.raises(ConfigError) as ei:
        load_prompts(PromptSpec(file=str(path)))
    msg = str(ei.value)
    assert str(path) in msg and "prompts.file" in msg
    assert f"byte offset {offset}" in msg and "0xe9" in msg and "line 2" in msg
    assert "save the file as UTF-8" in msg


def test_non_utf8_named_set_is_a_config_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "prompts").mkdir()
    (tmp_path / "prompts" / "bad.jsonl").write_bytes(b'{"id": "a", "text": "\xff"}\n')
    monkeypatch.setenv("LENS_DATA_DIR", str(tmp_path))
    with pytest.raises(ConfigError, match=r"prompts\.set: not UTF-8.*byte offset 21"):
        load_prompts(PromptSpec(set="bad"))


def test_unreadable_prompt_file_is_a_config_error(tmp_path: Path) -> None:
    # A regular file whose read fails with EIO (works as root, unlike chmod 000).
    link = tmp_path / "mem.txt"
    link.symlink_to("/proc/self/mem")
    with pytest.raises(ConfigError, match=r"mem\.txt: prompts\.file: cannot read the prompt file"):
        load_prompts(PromptSpec(file=str(link)))


def test_jsonl_keeps_line_separator_characters_inside_strings(tmp_path: Path) -> None:
    path = tmp_path / "u.jsonl"
    path.write_text(
        '{"id": "a", "text": "x\u2028y"}\r\n{"id": "b", "text": "z"}\n', encoding="utf-8"
    )
    got = load_prompts(PromptSpec(file=str(path)))
    assert [(p.id, p.text) for p in got] == [("a", "x\u2028y"), ("b", "z")]
