"""Host names as they go on the wire: an internationalised name becomes its ASCII form.

``https://bücher.example/v1`` is sent as ``Host: xn--bcher-kva.example``, resolved and
offered in TLS SNI under that name, as browsers and curl do (IDNA 2008 with UTS 46 mapping
through the ``idna`` package, which aiohttp's yarl brings; Python's IDNA 2003 codec when it
is missing). IP addresses and ASCII names pass through unchanged.
"""

from __future__ import annotations

__all__ = ["ascii_host"]


def ascii_host(host: str) -> str:
    """``host`` in ASCII (punycode labels for non-ASCII ones).

    Raises ValueError, saying which name and why, when it is not a valid domain name.
    """
    if host.isascii():
        return host
    try:
        import idna
    except ImportError:  # pragma: no cover - idna comes with aiohttp (yarl)
        try:
            return host.encode("idna").decode("ascii")
        except UnicodeError as exc:
            raise ValueError(_bad(host, str(exc))) from None
    try:
        return idna.encode(host, uts46=True).decode("ascii")
    except idna.IDNAError as exc:
        raise ValueError(_bad(host, str(exc))) from None


def _bad(host: str, why: str) -> str:
    return (
        f"the host name '{host}' is not a valid internationalised domain name ({why}); "
        "check its spelling or give its ASCII (xn--) form"
    )
