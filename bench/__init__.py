"""Benchmarks: runnable modules (``python -m bench.<name>``) that print their results.

``python -m bench`` runs every module in this package that has a ``main()``.
Measured figures and the exact commands live in docs/benchmarks.md.
"""
