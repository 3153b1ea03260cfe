"""One JupyterLab for every notebook browser test: a subprocess on a free port with a token,
its root a temp folder holding copies of notebooks/ (data/ linked), driven by Playwright
with Debian Chromium (never a downloaded browser). Helpers open a notebook, run it all,
wait for the kernel, and read outputs from the notebook model (not from the DOM)."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
import urllib.request
from dataclasses import dataclass
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
CHROMIUM = "/usr/bin/chromium"
OUT = ROOT / "test-output" / "browser"
ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
        "--disable-component-update", "--no-first-run", "--disable-sync", "--disable-quic"]

KERNEL_STATUS = ("() => { const w = window.jupyterapp.shell.currentWidget;"
                 " const k = w && w.sessionContext && w.sessionContext.session"
                 " && w.sessionContext.session.kernel; return k ? k.status : 'none'; }")
# every code cell executed (an execution count), from the notebook model
ALL_RAN = ("() => { const nb = window.jupyterapp.shell.currentWidget.content;"
           " return nb.widgets.filter(c => c.model.type === 'code')"
           ".every(c => c.model.executionCount !== null); }")
OUTPUTS = ("() => window.jupyterapp.shell.currentWidget.content.widgets"
           ".filter(c => c.model.type === 'code').map(c => c.model.outputs.toJSON())")
# per Vega chart on the page: data marks drawn (children of Vega's role-mark groups; axes
# and legends have other roles)
VEGA_MARKS = """(sel) => {
  const best = new Map();  // per output area: the most marks among its charts (a chart being
  // replaced by a redraw can linger empty for a moment next to the new one)
  for (const v of document.querySelectorAll(sel + ' .vega-embed')) {
    const svg = v.querySelector('svg');
    const n = svg ? [...svg.querySelectorAll('g.role-mark > *')].filter(e =>
        e.tagName !== 'g' || e.children.length).length : -1;
    const key = v.closest('.jp-OutputArea-child, .widget-output, .jp-Cell') || v;
    best.set(key, Math.max(best.has(key) ? best.get(key) : -1, n));
  }
  return [...best.values()];
}"""


@dataclass
class Lab:
    base: str
    token: str
    root: Path

    def url(self, notebook: str) -> str:
        # reset: no notebook of an earlier test reopens from the saved workspace
        return f"{self.base}/lab/tree/notebooks/{notebook}?reset&token={self.token}"

    def shutdown_kernels(self) -> None:
        """End every kernel (each test's notebook starts its own): two cores are shared."""
        req = urllib.request.Request(f"{self.base}/api/sessions?token={self.token}")
        with urllib.request.urlopen(req, timeout=10) as resp:
            sessions = json.load(resp)
        for s in sessions:
            req = urllib.request.Request(
                f"{self.base}/api/sessions/{s['id']}?token={self.token}", method="DELETE")
            urllib.request.urlopen(req, timeout=20).close()


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def start_lab(tmp: Path) -> tuple[subprocess.Popen[bytes], Lab, Any]:
    root = tmp / "lab"
    (root / "notebooks").mkdir(parents=True)
    for nb in sorted((ROOT / "notebooks").glob("[0-9][0-9]_*.ipynb")):
        (root / "notebooks" / nb.name).write_bytes(nb.read_bytes())
    (root / "data").symlink_to(ROOT / "data")
    port, token = free_port(), os.urandom(16).hex()
    settings = tmp / "lab-settings"
    # start kernels without asking, no news pop-up, and every cell rendered (no windowing),
    # so a screenshot holds the whole notebook
    for name, value in (("notebook-extension/tracker", {"autoStartDefaultKernel": True,
                                                         "windowingMode": "none"}),
                        ("apputils-extension/notification", {"fetchNews": "false"})):
        f = settings / "@jupyterlab" / f"{name}.jupyterlab-settings"
        f.parent.mkdir(parents=True, exist_ok=True)
        f.write_text(json.dumps(value))
    env = {**os.environ, "JUPYTER_CONFIG_DIR": str(tmp / "cfg"),
           "JUPYTER_RUNTIME_DIR": str(tmp / "rt"), "PYTHONPATH": str(ROOT),
           "JUPYTERLAB_SETTINGS_DIR": str(settings),
           "JUPYTERLAB_WORKSPACES_DIR": str(tmp / "workspaces")}
    env.pop("OPENAI_API_KEY", None)  # notebook 01's real-provider cell stays offline
    log = (tmp / "lab.log").open("wb")
    lab = subprocess.Popen([
        sys.executable, "-m", "jupyterlab", "--no-browser", f"--port={port}", "--ip=127.0.0.1",
        f"--IdentityProvider.token={token}", f"--ServerApp.root_dir={root}",
        "--LabApp.expose_app_in_browser=True", "--ServerApp.open_browser=False",
        "--allow-root",  # CI runs as root; harmless otherwise
    ], env=env, stdout=log, stderr=subprocess.STDOUT)
    base = f"http://127.0.0.1:{port}"
    wait_http(f"{base}/api/status?token={token}", lab, 60, tmp / "lab.log")
    return lab, Lab(base, token, root), log


def wait_http(url: str, proc: subprocess.Popen[bytes], timeout: float, log: Path) -> None:
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


def wait_kernel_idle(page: Any, timeout: float) -> None:
    """Wait until the notebook's kernel is idle, accepting a kernel-selection dialog."""
    deadline = time.monotonic() + timeout
    status = "none"
    while time.monotonic() < deadline:
        accept = page.locator(".jp-Dialog .jp-Dialog-button.jp-mod-accept")
        if accept.count():
            accept.first.click()
        status = page.evaluate(KERNEL_STATUS)
        if status == "idle":
            return
        time.sleep(0.3)
    raise TimeoutError(f"kernel not idle after {timeout}s (status {status})")


def open_notebook(page: Any, lab: Lab, name: str) -> None:
    page.goto(lab.url(name))
    page.wait_for_function("window.jupyterapp && document.querySelector('.jp-NotebookPanel')",
                           timeout=60_000)
    wait_kernel_idle(page, 90)
    page.evaluate("window.jupyterapp.shell.collapseLeft()")


def run_all(page: Any, timeout: float = 240) -> list[list[dict[str, Any]]]:
    """Run every cell, wait until each has run and the kernel is idle; the outputs."""
    page.evaluate("window.jupyterapp.commands.execute('notebook:run-all-cells')")
    page.wait_for_function(ALL_RAN, timeout=timeout * 1000)
    wait_kernel_idle(page, timeout)
    return page.evaluate(OUTPUTS)


def errors_in(outputs: list[list[dict[str, Any]]]) -> list[str]:
    """Error outputs and stderr text of the notebook's cells."""
    bad = []
    for i, cell in enumerate(outputs):
        for o in cell:
            if o.get("output_type") == "error":
                bad.append(f"cell {i}: {o.get('ename')}: {o.get('evalue')}")
            elif o.get("output_type") == "stream" and o.get("name") == "stderr":
                bad.append(f"cell {i} stderr: {''.join(o.get('text', ''))[:300]}")
    return bad


CURRENT = "() => '#' + window.jupyterapp.shell.currentWidget.id"


def chart_marks(page: Any, scope: str | None = None, timeout: float = 20) -> list[int]:
    """Data marks per Vega chart in ``scope``, once every chart drew some (Vega renders
    after the output arrives) or ``timeout`` s passed."""
    scope = scope or page.evaluate(CURRENT)
    deadline = time.monotonic() + timeout
    while True:
        marks = list(page.evaluate(VEGA_MARKS, scope))
        if (marks and all(m > 0 for m in marks)) or time.monotonic() > deadline:
            return marks
        time.sleep(0.3)


def screenshot_notebook(page: Any, name: str) -> Path:
    """The whole notebook in one PNG (the viewport grown to its height), to OUT (and to
    $LENS_SCREENSHOTS_DIR when set, e.g. docs/img)."""
    current = page.evaluate(CURRENT)
    height = page.evaluate("(c) => { const o = document.querySelector(c + "
                           "' .jp-WindowedPanel-outer') || document.querySelector(c + "
                           "' .jp-Notebook'); return o.scrollHeight; }", current)
    page.set_viewport_size({"width": 1440, "height": min(int(height) + 160, 14_000)})
    page.evaluate("(c) => document.querySelectorAll(c + ' .jp-WindowedPanel-outer, ' + c + "
                  "' .jp-Notebook').forEach(e => { e.scrollTop = 0; })", current)
    page.wait_for_timeout(1200)
    OUT.mkdir(parents=True, exist_ok=True)
    path = OUT / f"{name}.png"
    page.locator(current).screenshot(path=str(path))
    extra = os.environ.get("LENS_SCREENSHOTS_DIR")
    if extra:
        Path(extra).mkdir(parents=True, exist_ok=True)
        (Path(extra) / f"notebook-{name}.png").write_bytes(path.read_bytes())
    page.set_viewport_size({"width": 1440, "height": 1000})
    return path
