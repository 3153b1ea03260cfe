"""Every public name of a module that moved is still importable from its old path, with a
DeprecationWarning that points at the importer (review of issue #13's shims).

``lens.store.sqlite`` lost ``run_info_dict`` and ``run_info_from_dict`` when it became an
alias of ``lens.store.sql`` (they moved to ``lens.record``).
"""

from __future__ import annotations

import importlib
import subprocess
import sys
import warnings

import pytest

OLD_NAMES = {
    "lens.config": ["BurstSpec", "TargetSpec", "load_spec", "spec_from_dict"],
    "lens.probe.record": ["RequestRecord", "ChunkTiming", "RunInfo"],
    "lens.store.sqlite": ["open_store", "SQLStore", "run_info_dict", "run_info_from_dict"],
    "lens.probe.scrub": ["scrub", "secret_values", "REDACTED"],
    "lens.privacy": ["redact"],
}


@pytest.mark.parametrize("module", list(OLD_NAMES))
def test_old_paths_keep_their_names_and_warn_at_the_importer(module: str) -> None:
    code = (
        "import warnings, sys\n"
        "warnings.simplefilter('always')\n"
        "with warnings.catch_warnings(record=True) as w:\n"
        f"    from {module} import {', '.join(OLD_NAMES[module])}\n"
        "dep = [x for x in w if issubclass(x.category, DeprecationWarning) and 'moved to' in str(x.message)]\n"
        "assert dep, [str(x.message) for x in w]\n"
        "print(dep[0].filename)\n"
    )
    res = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert res.returncode == 0, res.stderr[-2000:]
    assert res.stdout.strip() == "<string>"  # the warning names the importing code


def test_the_alias_is_the_same_object() -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        old = importlib.import_module("lens.store.sqlite")
    from lens.record import run_info_dict

    assert old.run_info_dict is run_info_dict
