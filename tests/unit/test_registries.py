"""One registry per kind: every name resolves on every side that keys into it."""

from __future__ import annotations

import typing

from lens.importers import IMPORTERS
from lens.probe.dialects import DIALECT_CLASSES, get_dialect
from lens.sim.wire import WRITERS
from lens.spec import DIALECT_REGISTRY, DIALECTS, PROVIDERS, LoadShape
from lens.workload.loadshape import LOAD_SHAPES, stages


def test_every_dialect_has_a_client_and_a_simulated_server() -> None:
    assert set(DIALECTS) == set(DIALECT_REGISTRY) == set(DIALECT_CLASSES) == set(WRITERS)
    for name in DIALECTS:
        if name == "bedrock":  # needs credentials to construct; its class must still import
            module, cls = DIALECT_CLASSES[name]
            assert getattr(__import__(module, fromlist=[cls]), cls)
            continue
        assert get_dialect(name).name == name
        assert WRITERS[name].__name__.endswith("Writer")


def test_every_provider_names_a_registered_dialect() -> None:
    assert {p.dialect for p in PROVIDERS.values()} <= set(DIALECTS)


def test_importers_registry_names_one_module_each() -> None:
    assert IMPORTERS and len({type(i).__module__ for i in IMPORTERS.values()}) == len(IMPORTERS)


def test_every_load_kind_has_a_shape_and_each_builds_stages() -> None:
    kinds = typing.get_args(LoadShape.model_fields["kind"].annotation)
    assert set(kinds) == set(LOAD_SHAPES)
    examples = {
        "concurrency": {"concurrency": 3, "requests": 9},
        "sweep": {"levels": [1, 2], "requests": 4},
        "rate": {"rate": 5, "requests": 10},
        "poisson": {"rate": 5, "requests": 10},
        "trace": {"trace": {"file": "t.jsonl"}},
    }
    assert set(examples) == set(kinds)
    for kind, fields in examples.items():
        out = stages(LoadShape(kind=kind, **fields))
        assert out, kind
        assert all(st.closed == (kind in ("concurrency", "sweep")) for st in out), kind


def test_chart_registry_names_builders_and_the_cli_lists_them() -> None:
    from lens.analysis.chart_registry import CHARTS
    from lens.cli import build_parser

    assert CHARTS and all(k.about and callable(k.build) for k in CHARTS.values())
    helptext = build_parser()._subparsers._group_actions[0].choices["chart"].format_help()  # type: ignore[union-attr]
    assert all(name in helptext for name in CHARTS)
