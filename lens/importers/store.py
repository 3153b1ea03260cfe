"""Put an :class:`~lens.importers.base.ImportedRun` into a lens store.

What ``lens import FILE`` needs after :func:`lens.importers.import_file`: the run row
(with the import's source and notes in its ``extra``), then every request and chunk,
all or nothing, like lens.store.files_import.import_run.
"""

from __future__ import annotations

from typing import Any

from lens.importers.base import ImportedRun


def save(store: Any, run: ImportedRun, *, run_id: str | None = None) -> str:
    """Store ``run`` in ``store`` (a lens.store SQLStore); returns the run id used.

    ``run_id`` renames the run. Nothing is left behind if adding the rows fails.
    """
    from lens.store.files_import import frame_to_chunks, frame_to_records

    info = run.run_info()
    if run_id:
        info.run_id = run_id
    info.status, wanted = "running", info.status  # rows go in before the run is closed
    requests = run.requests.assign(run_id=info.run_id)
    store.start_run(info)
    try:
        chunks = frame_to_chunks(run.chunks) if run.chunks is not None else []
        store.add_many(frame_to_records(requests), chunks)
    except Exception:
        store.delete_run(info.run_id, exact=True)
        raise
    status = wanted if wanted != "running" else "incomplete"
    store.finish_run(info.run_id, status=status, skipped=info.skipped)
    if info.finished_at is not None and hasattr(store, "set_finished_at"):
        store.set_finished_at(info.run_id, info.finished_at)  # not the time of the import
    return info.run_id
