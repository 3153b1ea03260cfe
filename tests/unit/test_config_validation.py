"""Every spec validation error names the file, the field path and the fix."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from lens.errors import ConfigError, TargetError
from lens.spec import load_spec, spec_from_dict

T = {"provider": "openai", "model": "gpt-4o-mini"}

CASES: list[tuple[str, dict[str, Any], str, str]] = [
    # (id, spec, "field: message" regex, fix regex)
    ("unknown top key", {"targets": [T], "bogus": 1}, r"bogus: Extra inputs", r"remove this key; allowed here: ca_bundle, cache, cancel, caps, "),
    ("misspelt key", {"targets": [{**T, "modle": "x"}]}, r"targets\[0\]\.modle: Extra inputs", r"did you mean 'model'\?"),
    ("misspelt load key", {"targets": [T], "load": {"concurency": 2}}, r"load\.concurency: Extra", r"did you mean 'concurrency'\?"),
    ("wrong type", {"targets": [T], "max_tokens": "lots"}, r"max_tokens: Input should be a valid integer", r"expected type"),
    ("targets not a list", {"targets": {"provider": "openai"}}, r"targets: Input should be a valid list", r"expected type"),
    ("negative concurrency", {"targets": [T], "load": {"concurrency": -2}}, r"load\.concurrency: Input should be greater than 0", r"greater than 0"),
    ("negative warmup", {"targets": [T], "warmup": -1}, r"warmup: Input should be greater than or equal to 0", r"use a number >= 0"),
    ("zero timeout", {"targets": [T], "timeouts": {"connect_s": 0}}, r"timeouts\.connect_s: Input should be greater than 0", r"greater than 0"),
    ("url without scheme", {"targets": [{**T, "base_url": "api.example.com/v1"}]}, r"targets\[0\]\.base_url: base URL 'api\.example\.com/v1' needs a scheme", r"full URL with its scheme"),
    ("unknown provider", {"targets": [{"provider": "opnai", "model": "m"}]}, r"targets\[0\]\.provider: unknown provider 'opnai'; known providers: anthropic, .*openai, .*vllm", r"did you mean 'openai'\?"),
    ("unknown dialect", {"targets": [{**T, "dialect": "soap"}]}, r"targets\[0\]\.dialect: unknown dialect 'soap'; known dialects: openai_chat", r"known dialects listed"),
    ("secret header", {"targets": [{**T, "headers": {"Authorization": "Bearer x"}}]}, r"targets\[0\]\.headers: header 'Authorization' looks like it carries a secret", r"api_key_env"),
    ("gateway key header", {"targets": [{**T, "headers": {"Ocp-Apim-Subscription-Key": "abc"}}]}, r"header 'Ocp-Apim-Subscription-Key' looks like it carries a secret; put its value in an environment variable and name it in headers_env", r"api_key_env"),
    ("two prompt sources", {"targets": [T], "prompts": {"set": "short", "inline": ["x"]}}, r"prompts: give exactly one of set, file, inline, synthetic_tokens \(got set, inline\)", r"keep exactly one"),
    ("rate without rate", {"targets": [T], "load": {"kind": "rate"}}, r"load: load kind 'rate' needs rate", r"docs/spec\.md#load"),
    ("sweep without levels", {"targets": [T], "load": {"kind": "sweep"}}, r"load: load kind 'sweep' needs levels", r"docs/spec\.md#load"),
    ("no bound", {"targets": [T], "load": {"requests": None}}, r"load: give requests, duration_s, or both", r"docs/spec\.md#load"),
    ("duplicate labels", {"targets": [T, T]}, r"\(top level\): targets share the label 'openai/gpt-4o-mini'", r"distinct name"),
    ("no targets", {}, r"targets: Field required", r"add this field \(at least one target"),
    ("empty targets", {"targets": []}, r"targets: List should have at least 1 item", r"add at least one entry"),
    ("bad literal", {"targets": [T], "connection": "hot"}, r"connection: Input should be 'warm' or 'cold'", r"use one of the values listed"),
    ("no base_url", {"targets": [{"provider": "vllm", "model": "m"}]}, r"targets\[0\]: provider 'vllm' has no default base_url", r"add base_url"),
]  # fmt: skip


@pytest.mark.parametrize(
    ("spec", "message", "fix"), [c[1:] for c in CASES], ids=[c[0] for c in CASES]
)
def test_spec_errors_name_source_field_and_fix(
    spec: dict[str, Any], message: str, fix: str
) -> None:
    with pytest.raises(ConfigError) as info:
        spec_from_dict(spec, source="bursts/x.yaml")
    text = str(info.value)
    assert text.startswith("bursts/x.yaml: "), text
    assert __import__("re").search(message, text), text
    assert __import__("re").search(r"\n  fix: .*" + fix, text), text
    assert "Traceback" not in text


def test_several_errors_are_counted() -> None:
    with pytest.raises(ConfigError, match=r"\(and 1 more\)"):
        spec_from_dict({"targets": [T], "bogus": 1, "max_tokens": -1})


def test_missing_api_key_names_the_variable_never_a_value(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    spec = spec_from_dict({"targets": [T]})
    with pytest.raises(TargetError) as info:
        spec.targets[0].resolve_api_key()
    assert "OPENAI_API_KEY is not set" in str(info.value)
    assert "export OPENAI_API_KEY=..." in str(info.value)
    key = "sk-secret-value-123"
    assert spec.targets[0].resolve_api_key({"OPENAI_API_KEY": key}) == key
    gem = spec_from_dict({"targets": [{"provider": "gemini", "model": "g"}]}).targets[0]
    with pytest.raises(TargetError, match="GEMINI_API_KEY or GOOGLE_API_KEY is not set"):
        gem.resolve_api_key({})
    custom = spec_from_dict({"targets": [{**T, "api_key_env": "MY_KEY"}]}).targets[0]
    with pytest.raises(TargetError, match="MY_KEY is not set"):
        custom.resolve_api_key({"OPENAI_API_KEY": key})


@pytest.mark.parametrize(
    ("name", "text", "message"),
    [
        ("x.yaml", "targets: [\n  {provider: openai", r"x\.yaml: cannot parse: (?s:.*)line \d+"),
        ("x.toml", "targets = [", r"x\.toml: cannot parse"),
        ("x.yaml", "- just\n- a list\n", r"x\.yaml: top level must be a mapping"),
        (
            "x.ini",
            "[a]\n",
            r"x\.ini: unknown spec format '\.ini'\n  fix: use \.yaml, \.yml, \.json or \.toml",
        ),
    ],
)
def test_file_errors(tmp_path: Path, name: str, text: str, message: str) -> None:
    p = tmp_path / name
    p.write_text(text)
    with pytest.raises(ConfigError, match=message):
        load_spec(p)


def test_missing_file(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"nope\.yaml: file not found\n  fix: check the path"):
        load_spec(tmp_path / "nope.yaml")


def test_file_error_names_the_file_and_field(tmp_path: Path) -> None:
    p = tmp_path / "burst.toml"
    p.write_text('[[targets]]\nprovider = "openai"\nmodel = "m"\n[load]\nconcurrency = 0\n')
    with pytest.raises(
        ConfigError, match=r"burst\.toml: load\.concurrency: Input should be greater than 0"
    ):
        load_spec(p)


def test_example_specs_are_valid() -> None:
    root = Path(__file__).resolve().parents[2] / "examples" / "specs"
    files = sorted(root.glob("*.yaml")) + sorted(root.glob("*.toml"))
    assert {f.name for f in files} >= {
        "demo.yaml",
        "multi-target.toml",
        "openai.yaml",
        "anthropic.yaml",
    }
    for f in files:
        spec = load_spec(f)
        assert spec.targets, f


def test_spec_file_that_is_not_utf8_is_named(tmp_path: Path) -> None:
    p = tmp_path / "latin1.yaml"
    p.write_bytes(b"name: caf\xe9\ntargets: []\n")
    with pytest.raises(ConfigError, match=r"latin1\.yaml: not UTF-8 text \(byte 9"):
        load_spec(p)
