"""Credentials written into a spec's base_url or plain headers never reach the store.

Adversarial review: ``base_url: http://user:pw@host/v1?key=...`` and a key-shaped value
under an innocent header name were accepted, silently not used (the client ignores URL
user-info) and stored verbatim in ``runs.spec_json`` and every export's ``.meta.json``.
"""

from __future__ import annotations

import pytest

from lens.errors import ConfigError
from lens.spec import spec_from_dict

PASSWORD = "SuperSecretPw123"
QUERY_KEY = "QUERYSECRET99xyz"


def _spec(**target: object) -> dict[str, object]:
    base = {"provider": "openai_compat", "model": "m", "base_url": "http://127.0.0.1:9/v1"}
    return {"targets": [{**base, **target}], "load": {"requests": 1}}


@pytest.mark.parametrize(
    "url",
    [
        f"http://alice:{PASSWORD}@127.0.0.1:9/v1",
        f"https://{PASSWORD}@gw.example.com/v1",
        f"https://gw.example.com/v1?api-version=1&key={QUERY_KEY}",
        f"https://gw.example.com/v1#{QUERY_KEY}",
    ],
)
def test_credentials_in_base_url_are_refused_without_echoing_them(url: str) -> None:
    with pytest.raises(ConfigError) as info:
        spec_from_dict(_spec(base_url=url), source="burst.yaml")
    text = str(info.value)
    assert PASSWORD not in text and QUERY_KEY not in text
    assert "burst.yaml" in text and "base_url" in text
    assert "api_key_env" in text or "headers_env" in text


def test_a_bad_scheme_is_named_without_a_python_repr_or_user_info() -> None:
    with pytest.raises(ConfigError) as info:
        spec_from_dict(_spec(base_url=f"ftp://bob:{PASSWORD}@h/v1"), source="burst.yaml")
    assert PASSWORD not in str(info.value)


def test_a_key_shaped_value_under_an_innocent_header_name_is_refused() -> None:
    with pytest.raises(ConfigError) as info:
        spec_from_dict(_spec(headers={"X-Org": "sk-proj-ABCDEFGHIJKLMNOPQRSTUV"}), source="s.yaml")
    text = str(info.value)
    assert "X-Org" in text and "headers_env" in text
    assert "ABCDEFGHIJKLMNOP" not in text


def test_plain_urls_and_headers_still_pass() -> None:
    spec = spec_from_dict(_spec(base_url="https://gw.example.com:8443/openai/v1/", headers={"X-Team": "ml"}))
    assert spec.targets[0].base_url == "https://gw.example.com:8443/openai/v1"
    assert spec.targets[0].headers == {"X-Team": "ml"}


def test_user_info_without_a_scheme_is_not_echoed() -> None:
    with pytest.raises(ConfigError) as info:
        spec_from_dict(_spec(base_url=f"alice:{PASSWORD}@gw.example.com/v1"), source="burst.yaml")
    assert PASSWORD not in str(info.value)


def test_a_sim_target_without_base_url_says_how_to_get_one() -> None:
    from lens.errors import TargetError

    spec = spec_from_dict({"targets": [{"provider": "sim", "model": "m"}], "load": {"requests": 1}})
    with pytest.raises(TargetError) as info:
        _ = spec.targets[0].resolved_base_url
    assert "lens sim" in str(info.value) and "fix:" in str(info.value)
    assert "'sim/m'" in str(info.value)
