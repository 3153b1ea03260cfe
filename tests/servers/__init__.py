"""Servers we did not write, on loopback, with ground truth: the test harness.

- :mod:`servers.openai_asgi`: a tiny OpenAI-compatible streaming ASGI app with
  deterministic timing that records when it wrote every chunk.
- :mod:`servers.uvicorn_proc`: ``uvicorn_openai(...)`` serves it with uvicorn in a
  subprocess (uvicorn's defaults unless told otherwise) and reads its truth.
- :mod:`servers.litellm_proc`: ``litellm_proxy({...})`` runs the LiteLLM proxy offline
  in front of any OpenAI-compatible upstream.
- :mod:`servers.gateway`: the proxy in front of the uvicorn app and lens's simulator.
- :mod:`servers.compare`: lens records next to the truth (TTFT error, the proxy's hop).
- :mod:`servers.measure_litellm`: start-up time and hop figures (``python -m``).

Fixtures (``uvicorn_module``, ``gateway``) are in this folder's conftest.py; the context
managers work anywhere (``tests/`` is on pytest's pythonpath).
"""
