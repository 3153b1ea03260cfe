"""Fixtures: real servers we did not write (uvicorn, the LiteLLM proxy), on loopback.

- ``uvicorn_module``: skips unless uvicorn is importable here (the app runs under this
  interpreter); tests then start ``servers.uvicorn_proc.uvicorn_openai`` as they need it.
- ``gateway`` (session): :func:`servers.gateway.start_gateway`, the LiteLLM proxy with a
  1 s keep-alive in front of the uvicorn app and lens's simulator, started once per
  session (the proxy takes seconds to start).

Both skip, with the reason, only when the package is not installed.
"""

from __future__ import annotations

from collections.abc import Iterator
from types import ModuleType

import pytest

from servers.gateway import Gateway, start_gateway
from servers.litellm_proc import find_litellm


@pytest.fixture(scope="session")
def uvicorn_module() -> ModuleType:
    return pytest.importorskip(
        "uvicorn", reason="uvicorn is not installed (it is in the test extra: pip install uvicorn)"
    )


@pytest.fixture(scope="session")
def gateway(uvicorn_module: ModuleType) -> Iterator[Gateway]:
    if find_litellm() is None:
        pytest.skip(
            "the LiteLLM proxy is not installed: pip install 'litellm[proxy]' (in the test "
            "extra), or set LENS_LITELLM to a litellm executable in another venv"
        )
    with start_gateway() as gw:
        yield gw
