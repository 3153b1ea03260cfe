"""One registry per kind: every name resolves on every side that keys into it."""

from __future__ import annotations

from lens.importers import IMPORTERS
from lens.probe.dialects import DIALECT_CLASSES, get_dialect
from lens.sim.wire import WRITERS
from lens.spec import DIALECT_REGISTRY, DIALECTS, PROVIDERS


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
