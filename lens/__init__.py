"""LLM Latency Lens: fire profiling bursts at LLM APIs, keep every request, analyse them.

Heavy parts are imported lazily: ``import lens`` pulls in neither aiohttp, boto3 nor altair.
"""

from __future__ import annotations

from typing import Any

from lens._version import __version__

__all__ = ["__version__", "capacity", "compare_cache", "fire", "load", "run"]


def fire(*args: Any, **kwargs: Any) -> Any:
    """Fire a burst and store every request; see lens.api.fire."""
    from lens.api import fire as _fire

    return _fire(*args, **kwargs)


def run(*args: Any, **kwargs: Any) -> Any:
    """Fire a burst into a store (or only into sinks); see lens.burst.run.run."""
    from lens.burst.run import run as _run

    return _run(*args, **kwargs)


def load(*args: Any, **kwargs: Any) -> Any:
    """Load request rows into a pandas DataFrame; see lens.analysis.frames.load."""
    from lens.analysis.frames import load as _load

    return _load(*args, **kwargs)


def compare_cache(*args: Any, **kwargs: Any) -> Any:
    """Fire a workload cold (cache: bust), then warm, and compare; see
    lens.burst.cache_compare.compare_cache."""
    from lens.burst.cache_compare import compare_cache as _compare

    return _compare(*args, **kwargs)


def capacity(*args: Any, **kwargs: Any) -> Any:
    """Search for the highest load that meets SLOs; see lens.api.capacity."""
    from lens.api import capacity as _capacity

    return _capacity(*args, **kwargs)
