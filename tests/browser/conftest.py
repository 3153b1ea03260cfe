"""Fixtures for the notebook browser tests: one JupyterLab server and one Chromium shared by
all of them (starting either takes seconds; two cores are shared). Module-scoped: every
notebook test lives in one module, and Playwright's sync API allows one driver at a time,
so it must end before test_report_chromium starts its own."""

from __future__ import annotations

import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from lab_driver import ARGS, CHROMIUM, Lab, start_lab


@pytest.fixture(scope="module")
def lab(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Lab]:
    if not Path(CHROMIUM).exists():
        pytest.skip("Debian chromium is not installed (make sysdeps installs it)")
    pytest.importorskip("playwright.sync_api")
    proc, server, log = start_lab(tmp_path_factory.mktemp("jlab"))
    try:
        yield server
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            proc.kill()
        log.close()


@pytest.fixture(scope="module")
def chromium(lab: Lab) -> Iterator[Any]:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        try:
            yield browser
        finally:
            browser.close()


@pytest.fixture
def page(lab: Lab, chromium: Any) -> Iterator[Any]:
    """A fresh page at 1440x1000 (as a person would use it); its kernels end afterwards."""
    pg = chromium.new_page(viewport={"width": 1440, "height": 1000})
    try:
        yield pg
    finally:
        pg.close()
        lab.shutdown_kernels()
