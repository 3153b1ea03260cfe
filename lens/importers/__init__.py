"""Read other tools' benchmark results (and older lens exports) as lens runs.

>>> from lens.importers import import_file
>>> run = import_file("artifacts/my-run/profile_export.jsonl")     # doctest: +SKIP
>>> run.requests, run.chunks, run.notes, run.checks                  # doctest: +SKIP

Formats (``IMPORTERS``, auto-detected by :func:`detect` from the file's content):

- ``aiperf``   NVIDIA AIPerf ``profile_export.jsonl`` (+ ``profile_export_aiperf.json``)
- ``guidellm`` GuideLLM ``benchmarks.json``/``.yaml`` (each benchmark a scenario)
- ``vllm``     vLLM ``bench serve --save-result --save-detailed`` JSON
- ``lens``     lens exports of any version (Parquet/CSV/JSONL + chunk file)
- ``csv``      any CSV with a column mapping (``map=["ttft=ttft_s:s"]``)

Options every importer takes: ``run_id``, ``name``, ``model``, ``provider``,
``target``, ``region``, ``url`` (endpoint host); per format: ``tz`` (vllm),
``benchmark`` (guidellm: import one benchmark by index), ``map``/``scenario``/
``concurrency`` (csv), ``chunks_path`` (lens). How each tool's definitions map onto
lens's columns: docs/importers.md.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from lens.importers.aiperf import AIPerfImporter
from lens.importers.base import (
    ImportedRun,
    Importer,
    PeerImportError,
    SummaryCheck,
    read_head,
)
from lens.importers.csv_map import CSVMapImporter, parse_map
from lens.importers.guidellm import GuideLLMImporter
from lens.importers.lens_files import LensFilesImporter
from lens.importers.validate import check_frame, find_problems, format_problems
from lens.importers.vllm_bench import VLLMBenchImporter

__all__ = [
    "IMPORTERS",
    "ImportedRun",
    "Importer",
    "PeerImportError",
    "SummaryCheck",
    "check_frame",
    "detect",
    "find_problems",
    "format_problems",
    "import_file",
    "parse_map",
]

IMPORTERS: dict[str, Importer] = {
    imp.name: imp
    for imp in (AIPerfImporter(), GuideLLMImporter(), VLLMBenchImporter(), LensFilesImporter(),
                CSVMapImporter())
}


def known_formats() -> str:
    """The formats, one per line, for messages."""
    return "\n".join(f"  {name:9} {imp.description}" for name, imp in IMPORTERS.items())


def detect(path: str | os.PathLike[str]) -> Importer:
    """The importer for ``path``, chosen by the file's content (a folder: its files).

    PeerImportError names the file and lists the known formats when none fits.
    """
    p = Path(path)
    if not p.exists():
        raise PeerImportError(f"{p}: no such file", hint="check the path")
    try:
        head = "" if p.is_dir() else read_head(p)
    except OSError as exc:
        raise PeerImportError(f"{p}: cannot read the file ({exc})") from None
    scores = sorted(((imp.sniff(p, head), n) for n, imp in IMPORTERS.items()), reverse=True)
    best, name = scores[0]
    if best <= 0:
        what = "folder" if p.is_dir() else "file"
        raise PeerImportError(
            f"{p}: lens does not recognise this {what}'s format. It reads:\n{known_formats()}",
            hint="give one of those files, or pass format=NAME (e.g. format='csv' with a "
            "column mapping) if it is one of them")
    return IMPORTERS[name]


def import_file(path: str | os.PathLike[str], *, format: str | None = None,
                **options: Any) -> ImportedRun:
    """Import one result file (or an artifacts folder) as a lens run.

    ``format`` picks the importer by name (see ``IMPORTERS``); by default it is detected
    from the content, and a given ``map`` means ``csv``. ``options`` are passed to the
    importer (see the module docstring). Raises PeerImportError (a StoreError) with one
    message naming the file and everything that is wrong with it.
    """
    p = Path(path)
    if p.name.endswith(".meta.json") and format in (None, "lens"):
        # `lens export` writes three files; any of them names the run (as the meta's own
        # import did before): read the requests file it belongs to.
        from lens.store.files import run_files

        p, format = run_files(p).requests, "lens"
    if format is None and options.get("map") is not None:
        format = "csv"
    if format is not None:
        if format not in IMPORTERS:
            raise PeerImportError(f"unknown import format {format!r}. lens reads:\n"
                                  f"{known_formats()}", hint="pass one of those names")
        if not p.exists():
            raise PeerImportError(f"{p}: no such file", hint="check the path")
        importer = IMPORTERS[format]
    else:
        importer = detect(p)
    from lens.importers.sanity import check_values, reading

    with reading(p, importer.description):
        run = importer.load(p, **options)
    return check_values(run)
