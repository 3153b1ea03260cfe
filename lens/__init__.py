"""LLM Latency Lens: fire profiling bursts at LLM APIs, keep every request, analyse them.

Heavy parts are imported lazily: ``import lens`` pulls in neither aiohttp, boto3 nor altair.
"""

from __future__ import annotations

from typing import Any

__version__ = "0.1.0"

__all__ = ["__version__", "fire", "load"]


def fire(*args: Any, **kwargs: Any) -> Any:
    """Fire a burst and store every request; see lens.api.fire."""
    from lens.api import fire as _fire

    return _fire(*args, **kwargs)


def load(*args: Any, **kwargs: Any) -> Any:
    """Load request rows into a pandas DataFrame; see lens.analysis.frames.load."""
    from lens.analysis.frames import load as _load

    return _load(*args, **kwargs)
