"""A path that exists but is no file (a folder, /dev/zero, a pipe) is called what it is.

``--ca-bundle /etc`` said "does not exist" and ``prompts.file: /dev/zero`` "not found":
both exist. Each place lens reads a named file now says "is a directory" or "is not a
regular file", names the flag or field, and says what to give instead.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from helpers_cli import lens

from lens.errors import ConfigError
from lens.probe.http.tls import make_ssl_context
from lens.spec import PromptSpec
from lens.spec.loading import read_mapping
from lens.spec.models import TraceSource
from lens.spec.paths import not_a_file
from lens.workload.prompts import load_prompts
from lens.workload.traces import read_trace

DEVICE = "/dev/zero"  # a character device: reading it never ends


@pytest.fixture
def fifo(tmp_path: Path) -> Path:
    p = tmp_path / "pipe.jsonl"
    os.mkfifo(p)
    return p


def test_not_a_file_words(tmp_path: Path, fifo: Path) -> None:
    (tmp_path / "f.txt").write_text("x")
    assert not_a_file(tmp_path / "f.txt") is None
    assert not_a_file(tmp_path / "nope") == "does not exist"
    assert not_a_file(tmp_path) == "is a directory, not a file"
    assert not_a_file(DEVICE) == "is not a regular file (a device, pipe or socket)"
    assert not_a_file(fifo) == "is not a regular file (a device, pipe or socket)"


def test_ca_bundle_that_is_a_directory_says_so(tmp_path: Path) -> None:
    with pytest.raises(ConfigError) as ei:
        make_ssl_context(tmp_path)
    err = ei.value
    assert err.message == f"--ca-bundle: CA bundle {tmp_path} is a directory, not a file"
    assert "does not exist" not in str(err)
    assert "PEM file" in (err.hint or "") and "SSL_CERT_DIR" in (err.hint or "")


def test_ca_bundle_that_is_a_device_says_so() -> None:
    with pytest.raises(ConfigError) as ei:
        make_ssl_context(DEVICE)
    assert ei.value.message == (f"--ca-bundle: CA bundle {DEVICE} is not a regular file "
                                "(a device, pipe or socket)")
    assert "PEM file" in (ei.value.hint or "")


def test_ca_bundle_missing_still_says_it_does_not_exist(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"CA bundle .*nope\.pem does not exist"):
        make_ssl_context(tmp_path / "nope.pem")


def test_ssl_cert_file_that_is_a_directory_says_so(tmp_path: Path) -> None:
    with pytest.raises(ConfigError) as ei:
        make_ssl_context(environ={"SSL_CERT_FILE": str(tmp_path)})
    assert "is a directory, not a file" in ei.value.message
    assert ei.value.source == "the SSL_CERT_FILE environment variable"


def test_cli_ca_bundle_directory(tmp_path: Path) -> None:
    res = lens(["run", "--provider", "sim", "--model", "m", "--requests", "1",
                "--ca-bundle", "/etc", "--db", str(tmp_path / "r.db"), "--no-progress"])
    assert res.code == 2, res.err
    assert "lens: error: --ca-bundle: CA bundle /etc is a directory, not a file" in res.err
    assert "does not exist" not in res.err


@pytest.mark.parametrize("which", ["device", "directory", "fifo"])
def test_prompt_file_that_is_no_regular_file(tmp_path: Path, fifo: Path, which: str) -> None:
    path = {"device": Path(DEVICE), "directory": tmp_path, "fifo": fifo}[which]
    with pytest.raises(ConfigError) as ei:
        load_prompts(PromptSpec(file=str(path)))
    msg = ei.value.message
    why = "is a directory, not a file" if which == "directory" else (
        "is not a regular file (a device, pipe or socket)")
    assert msg == f"{path}: prompts.file: the prompt file {why}"
    assert "not found" not in str(ei.value)


def test_cli_prompt_file_dev_zero(tmp_path: Path) -> None:
    spec = tmp_path / "s.yaml"
    spec.write_text("name: t\ntargets: [{provider: sim, model: m}]\n"
                    f"prompts: {{file: {DEVICE}}}\n")
    res = lens(["run", str(spec), "--db", str(tmp_path / "r.db"), "--no-progress"])
    assert res.code == 2
    assert (f"lens: error: {DEVICE}: prompts.file: the prompt file is not a regular file "
            "(a device, pipe or socket)") in res.err


def test_missing_prompt_file_still_not_found(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="prompt file not found"):
        load_prompts(PromptSpec(file=str(tmp_path / "nope.jsonl")))


def test_trace_file_and_spec_file_that_are_no_regular_file(tmp_path: Path, fifo: Path) -> None:
    with pytest.raises(ConfigError) as ei:
        read_trace(TraceSource(file=str(tmp_path)))
    assert ei.value.message == f"{tmp_path}: load.trace.file: the trace file is a directory, " \
                               "not a file"
    with pytest.raises(ConfigError) as ei:
        read_mapping(DEVICE)
    assert ei.value.message == f"{DEVICE}: the file is not a regular file (a device, pipe or socket)"
    with pytest.raises(ConfigError) as ei:
        read_mapping(fifo)  # would block on open: refused before
    assert "is not a regular file" in ei.value.message
