"""``lens import --map`` refusals shown on the CLI quote the user's own mapping as typed.

The CLI turns the importers' Python option names (``model=``) into flags (``--model``);
it must not do that inside a quoted mapping the user wrote (``'model=model*2'`` was shown
as ``'--modelmodel*2'``).
"""

from __future__ import annotations

import pytest

from lens.cli.import_cmd import for_cli
from lens.errors import ConfigError
from lens.importers import parse_map


@pytest.mark.parametrize("item", ["model=model*2", "target=t:s", "provider=p/3",
                                  "run_id=id*2", "name=x"])
def test_refused_mapping_is_quoted_as_typed(item: str) -> None:
    with pytest.raises(ConfigError) as err:
        parse_map(item)
    shown = for_cli(err.value.message)
    assert f"'{item}'" in shown, shown
    assert "--" not in shown.removeprefix("--map: "), shown


def test_python_option_names_still_become_flags() -> None:
    assert for_cli("pass format='csv' or provider=NAME") == "pass --format csv or --provider NAME"
    assert (for_cli("pass a mapping such as map=['ttft=ttft_seconds:s', 'e2e=latency_ms']")
            == "pass a mapping such as --map ttft=ttft_seconds:s --map e2e=latency_ms")
