"""A real browser: JupyterLab (subprocess, free port, token, temp root with a copy of the
quickstart notebook) driven by Playwright + Debian Chromium (never a downloaded browser).
Runs the notebook, clicks Fire, waits until the panel's Vega chart has marks and the summary
table has rows, and saves a screenshot under test-output/browser/."""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
import uuid
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
CHROMIUM = "/usr/bin/chromium"
OUT = ROOT / "test-output" / "browser"
ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
        "--disable-component-update", "--no-first-run", "--disable-sync", "--disable-quic"]

pytestmark = [pytest.mark.browser, pytest.mark.slow]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _wait_http(url: str, proc: subprocess.Popen[bytes], timeout: float, log: Path) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            tail = log.read_text(errors="replace")[-3000:]
            raise RuntimeError(f"jupyter lab exited with {proc.returncode}:\n{tail}")
        try:
            with urllib.request.urlopen(url, timeout=2) as resp:
                if resp.status == 200:
                    return
        except OSError:
            time.sleep(0.3)
    raise TimeoutError(f"jupyter lab did not answer {url} within {timeout}s")


KERNEL_STATUS = ("() => { const w = window.jupyterapp.shell.currentWidget;"
                 " const k = w && w.sessionContext && w.sessionContext.session"
                 " && w.sessionContext.session.kernel; return k ? k.status : 'none'; }")


def _wait_kernel_idle(page: object, timeout: float) -> None:
    """Wait until the notebook's kernel is idle, accepting a kernel-selection dialog."""
    deadline = time.monotonic() + timeout
    status = "none"
    while time.monotonic() < deadline:
        accept = page.locator(".jp-Dialog .jp-Dialog-button.jp-mod-accept")  # type: ignore[attr-defined]
        if accept.count():
            accept.first.click()
        status = page.evaluate(KERNEL_STATUS)  # type: ignore[attr-defined]
        if status == "idle":
            return
        time.sleep(0.3)
    raise TimeoutError(f"kernel not idle after {timeout}s (status {status})")


@pytest.mark.timeout(150)
def test_quickstart_fires_and_draws_in_jupyterlab(tmp_path: Path) -> None:
    if not Path(CHROMIUM).exists():
        pytest.skip("Debian chromium is not installed (make sysdeps installs it)")
    sync_api = pytest.importorskip("playwright.sync_api")
    root = tmp_path / "lab"
    (root / "notebooks").mkdir(parents=True)
    shutil.copy(ROOT / "notebooks" / "01_quickstart.ipynb", root / "notebooks")
    # the notebook finds data/ relative to its folder; the quickstart only needs lens itself
    port, token = _free_port(), uuid.uuid4().hex
    settings = tmp_path / "lab-settings"
    # start the notebook's kernel without asking, and no news pop-up over the page
    for name, value in (("notebook-extension/tracker", {"autoStartDefaultKernel": True}),
                        ("apputils-extension/notification", {"fetchNews": "false"})):
        f = settings / "@jupyterlab" / f"{name}.jupyterlab-settings"
        f.parent.mkdir(parents=True, exist_ok=True)
        f.write_text(json.dumps(value))
    env = {**os.environ, "JUPYTER_CONFIG_DIR": str(tmp_path / "cfg"),
           "JUPYTER_RUNTIME_DIR": str(tmp_path / "rt"), "PYTHONPATH": str(ROOT),
           "JUPYTERLAB_SETTINGS_DIR": str(settings),
           "JUPYTERLAB_WORKSPACES_DIR": str(tmp_path / "workspaces")}
    log = (tmp_path / "lab.log").open("wb")
    lab = subprocess.Popen([
        sys.executable, "-m", "jupyterlab", "--no-browser", f"--port={port}", "--ip=127.0.0.1",
        f"--IdentityProvider.token={token}", f"--ServerApp.root_dir={root}",
        "--LabApp.expose_app_in_browser=True", "--ServerApp.open_browser=False",
        "--allow-root",  # CI runs as root; harmless otherwise
    ], env=env, stdout=log, stderr=subprocess.STDOUT)
    OUT.mkdir(parents=True, exist_ok=True)
    shot = OUT / "quickstart.png"
    try:
        base = f"http://127.0.0.1:{port}"
        _wait_http(f"{base}/api/status?token={token}", lab, 40, tmp_path / "lab.log")
        with sync_api.sync_playwright() as p:
            browser = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
            page = browser.new_page(viewport={"width": 1400, "height": 1600})
            try:
                page.goto(f"{base}/lab/tree/notebooks/01_quickstart.ipynb?token={token}")
                page.wait_for_function("window.jupyterapp && document.querySelector('.jp-NotebookPanel')",
                                       timeout=40_000)
                _wait_kernel_idle(page, 60)
                page.evaluate("window.jupyterapp.commands.execute('notebook:run-all-cells')")
                panel = page.locator(".lens-fire-panel").first
                panel.wait_for(timeout=40_000)
                fire = panel.locator("button", has_text="Fire")
                # the notebook's own programmatic burst runs first; Fire is enabled after it
                page.wait_for_function(
                    "() => { const b = [...document.querySelectorAll('.lens-fire-panel button')]"
                    ".find(x => x.textContent.includes('Fire')); return b && !b.disabled; }",
                    timeout=60_000)
                panel.locator(".lens-summary tr").first.wait_for(timeout=30_000)
                # now click Fire: the panel must go busy, then draw fresh results
                fire.click()
                page.wait_for_function(
                    "() => [...document.querySelectorAll('.lens-fire-panel .lens-status')]"
                    ".some(x => x.textContent.startsWith('running'))", timeout=10_000)
                page.wait_for_function(
                    "() => [...document.querySelectorAll('.lens-fire-panel .lens-status')]"
                    ".some(x => x.textContent.startsWith('done'))", timeout=60_000)
                marks = panel.locator(".vega-embed .mark-line path, .vega-embed canvas")
                marks.first.wait_for(timeout=30_000)
                rows = panel.locator(".lens-summary tbody tr")
                assert rows.count() == 3
                text = panel.inner_text()
                assert "sim-fast" in text and "sim-slow" in text and "p50 ttft_ms" in text
                assert panel.locator(".lens-error").count() == 0
                page.wait_for_timeout(500)
                panel.screenshot(path=str(shot))
            finally:
                page.screenshot(path=str(OUT / "quickstart-page.png"), full_page=False)
                browser.close()
        assert shot.stat().st_size > 10_000
    finally:
        lab.terminate()
        try:
            lab.wait(timeout=15)
        except subprocess.TimeoutExpired:
            lab.kill()
        log.close()
