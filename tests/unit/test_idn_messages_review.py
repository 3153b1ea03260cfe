"""Review of internationalised host names: the refusals a user reads are plain English
and their fix fits the problem."""

from __future__ import annotations

import pytest

from lens.errors import LensError
from lens.probe.http.errors import ProxyError
from lens.probe.http.proxy import parse_proxy, proxy_bypassed
from lens.spec.loading import spec_from_dict


def test_a_bad_idn_proxy_is_named_in_plain_words() -> None:
    with pytest.raises(ProxyError) as err:
        parse_proxy("http://user:secret@-prøxy.example:3128")
    msg = str(err.value)
    assert "the proxy's host name '-prøxy.example' is not a valid" in msg, msg
    assert "the proxy the" not in msg and "secret" not in msg


def test_a_bad_idn_base_url_gets_a_fix_about_the_host_not_the_scheme() -> None:
    with pytest.raises(LensError) as err:
        spec_from_dict({"targets": [{"provider": "openai_compat", "model": "m",
                                     "base_url": "https://-bücher.example/v1"}]})
    assert "base_url" in err.value.message and "-bücher.example" in err.value.message
    hint = err.value.hint or ""
    assert "scheme" not in hint and "host name" in hint, hint


def test_no_proxy_written_in_unicode_matches_the_xn_form() -> None:
    env = {"https": "http://proxy:1", "no": " BÜCHER.example , .münchen.de"}
    assert proxy_bypassed("xn--bcher-kva.example", 443, env)
    assert proxy_bypassed("api.xn--mnchen-3ya.de", 443, env)
    assert not proxy_bypassed("xn--bcher-kva.example.evil", 443, env)
