"""User errors from `lens run` and the store commands: exit 2, a message naming the file or
flag, the field and the fix, and never a traceback. No burst is fired, nothing stored."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from helpers_cli import lens

SIM = ["--provider", "sim", "--model", "m", "--base-url", "http://127.0.0.1:9/v1"]

FLAG_CASES = [
    ("negative concurrency", [*SIM, "--concurrency", "-1"], r"--concurrency: load\.concurrency: Input should be greater than 0\n  fix: use a number greater than 0"),
    ("zero requests", [*SIM, "--requests", "0"], r"--requests: load\.requests: Input should be greater than 0"),
    ("negative rate", [*SIM, "--rate", "-3"], r"--rate: load\.rate: Input should be greater than 0"),
    ("arrival without rate", [*SIM, "--arrival", "poisson"], r"--arrival: load: load kind 'poisson' needs rate \(requests per second\)\n  fix: see docs/spec\.md#load"),
    ("zero duration", [*SIM, "--duration", "0"], r"--duration: load\.duration_s: Input should be greater than 0"),
    ("negative warmup", [*SIM, "--warmup", "-1"], r"--warmup: warmup: Input should be greater than or equal to 0\n  fix: use a number >= 0"),
    ("zero max tokens", [*SIM, "--max-tokens", "0"], r"--max-tokens: max_tokens: Input should be greater than 0"),
    ("zero prompt tokens", [*SIM, "--prompt-tokens", "0"], r"--prompt-tokens: prompts\.synthetic_tokens: Input should be greater than 0"),
    ("both prompt flags", [*SIM, "--prompt-tokens", "5", "--prompt-set", "short"], r"--prompt-set: give either --prompt-tokens or --prompt-set, not both"),
    ("unknown prompt set", [*SIM, "--prompt-set", "nope"], r"--prompt-set: prompts\.set: unknown prompt set 'nope'.*\n  fix: use one of: long, medium, short"),
    ("url without scheme", ["--provider", "sim", "--model", "m", "--base-url", "localhost:8000/v1"], r"--base-url: targets\[0\]\.base_url: base URL 'localhost:8000/v1' needs a scheme and a host.*\n  fix: write the full URL with its scheme"),
    ("unknown provider", ["--provider", "opnai", "--model", "m"], r"--provider: targets\[0\]\.provider: unknown provider 'opnai'; known providers: anthropic, azure, bedrock, gemini, groq, llamacpp, ollama, openai, .*\n  fix: did you mean 'openai'\?"),
    ("provider without model", ["--provider", "openai"], r"--model: --provider openai needs --model\n  fix: add --model MODEL_ID"),
    ("provider without base url", ["--provider", "vllm", "--model", "m"], r"--provider: targets\[0\]: provider 'vllm' has no default base_url; set base_url\n  fix: add base_url"),
    ("bad tag", [*SIM, "--tag", "novalue"], r"--tag: tag 'novalue' is not KEY=VALUE\n  fix: write e\.g\. --tag env=staging"),
    ("negative repeat", [*SIM, "--repeat", "-1"], r"--repeat: must be 0 \(forever\) or more, got -1"),
    ("negative interval", [*SIM, "--interval", "-1"], r"--interval: must be >= 0 seconds, got -1"),
    ("demo with provider", ["--demo", *SIM], r"--demo: --demo fires at the built-in simulator; it cannot be combined"),
    ("zero shards", [*SIM, "--shards", "0"], r"--shards: must be a positive integer, got 0"),
    ("empty regions", [*SIM, "--regions", ","], r"--regions: no region given"),
    ("prometheus port too big", [*SIM, "--prometheus", "99999"], r"--prometheus: port must be 0-65535, got 99999\n  fix: give a free TCP port, or 0"),
    ("negative prometheus port", [*SIM, "--prometheus", "-1"], r"--prometheus: port must be 0-65535, got -1"),
]  # fmt: skip


@pytest.mark.parametrize(
    ("args", "message"), [c[1:] for c in FLAG_CASES], ids=[c[0] for c in FLAG_CASES]
)
def test_flag_errors_name_the_flag(tmp_path: Path, args: list[str], message: str) -> None:
    db = tmp_path / "x.db"
    res = lens(["run", *args, "--db", str(db), "--no-progress"])
    assert res.code == 2, (res.out, res.err)
    assert re.search(r"^lens: error: " + message, res.err, re.S | re.M), res.err
    assert "Traceback" not in res.err and res.out == ""


def test_missing_api_key_is_named_never_printed(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("ANTHROPIC_API_KEY", raising=False)
    monkeypatch.setenv("OPENAI_API_KEY", "sk-do-not-print-me")
    spec = tmp_path / "s.yaml"
    spec.write_text(
        "targets:\n  - {provider: openai, model: a}\n  - {provider: anthropic, model: b}\n"
    )
    res = lens(["run", str(spec), "--db", str(tmp_path / "x.db")])
    assert res.code == 2
    assert (
        f"{spec}: targets[1].api_key_env: target 'anthropic/b' needs an API key but ANTHROPIC_API_KEY is not set"
        in res.err
    )
    assert "fix: export ANTHROPIC_API_KEY=..." in res.err
    assert "sk-do-not-print-me" not in res.err + res.out
    assert not (tmp_path / "x.db").exists()  # refused before the store was opened
    res = lens(
        ["run", "--provider", "openai", "--model", "m", "--db", str(tmp_path / "y.db")],
        env={"OPENAI_API_KEY": ""},
    )
    assert (
        "--provider: targets[0].api_key_env: target 'openai/m' needs an API key but OPENAI_API_KEY is not set"
        in res.err
    )


SPEC_CASES = [
    ("unknown key", "targets: [{provider: sim, model: m, base_url: 'http://h:1/v1'}]\nconcurency: 3\n", r"concurency: Extra inputs are not permitted\n  fix: remove this key; allowed here:"),
    ("typo in target", "targets: [{provider: sim, modle: m}]\n", r"targets\[0\]\.model: Field required|targets\[0\]\.modle: Extra inputs"),
    ("wrong type", "targets: [{provider: sim, model: m}]\nmax_tokens: many\n", r"max_tokens: Input should be a valid integer"),
    ("negative concurrency", "targets: [{provider: sim, model: m}]\nload: {concurrency: -4}\n", r"load\.concurrency: Input should be greater than 0"),
    ("no scheme", "targets: [{provider: openai, model: m, base_url: api.openai.com/v1}]\n", r"targets\[0\]\.base_url: base URL 'api\.openai\.com/v1' needs a scheme"),
    ("unknown provider", "targets: [{provider: claude, model: m}]\n", r"targets\[0\]\.provider: unknown provider 'claude'; known providers: anthropic,"),
    ("syntax", "targets: [\n", r"cannot parse: (?s:.*)\n  fix: fix the syntax"),
    ("not a mapping", "- a\n", r"top level must be a mapping"),
]  # fmt: skip


@pytest.mark.parametrize(
    ("text", "message"), [c[1:] for c in SPEC_CASES], ids=[c[0] for c in SPEC_CASES]
)
def test_spec_file_errors_name_file_field_and_fix(tmp_path: Path, text: str, message: str) -> None:
    spec = tmp_path / "burst.yaml"
    spec.write_text(text)
    res = lens(["run", str(spec), "--db", str(tmp_path / "x.db")])
    assert res.code == 2
    assert res.err.startswith(f"lens: error: {spec}: "), res.err
    assert re.search(message, res.err), res.err
    assert "Traceback" not in res.err


def test_missing_spec_file_and_unknown_suffix(tmp_path: Path) -> None:
    res = lens(["run", str(tmp_path / "nope.yaml")])
    assert res.code == 2 and "nope.yaml: file not found\n  fix: check the path" in res.err
    bad = tmp_path / "spec.ini"
    bad.write_text("x")
    res = lens(["run", str(bad)])
    assert res.code == 2 and "unknown spec format '.ini'" in res.err


def test_store_command_errors(tmp_path: Path) -> None:
    db = str(tmp_path / "x.db")
    res = lens(["show", "nope", "--db", db])
    assert (
        res.code == 2
        and "no run 'nope' in sqlite:///" in res.err
        and "fix: list runs with `lens runs`" in res.err
    )
    res = lens(["export", "nope", "-o", str(tmp_path / "o.parquet"), "--db", db])
    assert res.code == 2 and "no run 'nope'" in res.err
    res = lens(["export", "latest", "-o", str(tmp_path / "o.parquet"), "--db", db])
    assert res.code == 2 and "no runs in" in res.err
    res = lens(["import", str(tmp_path / "missing.parquet"), "--db", db])
    assert res.code == 2 and "missing.parquet: file not found" in res.err
    res = lens(["run", *SIM, "--db", "nosuchdialect://x"])
    assert res.code == 2 and "cannot open the results store" in res.err
    res = lens(["export", "x", "-o", str(tmp_path / "o.txt"), "--db", db])
    assert res.code == 2 and "--format: cannot tell the format" in res.err
