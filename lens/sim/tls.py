"""HTTPS for the simulated endpoint: a certificate you give it, or a throwaway test CA.

``server_context(cert, key)`` loads a PEM certificate chain and key. ``TestCA`` makes a
certificate authority on the fly with the PyPI ``trustme`` package (an optional
dependency), issues the server a certificate for its host names, and writes the CA
certificate to a file a client can be pointed at (``SSL_CERT_FILE``, ``--ca-bundle``,
``curl --cacert``)::

    ca = TestCA(["127.0.0.1", "localhost"])
    async with SimServer(ssl_context=ca.server_context()) as sim:   # sim.url is https://
        ... aiohttp.TCPConnector(ssl=ca.client_context()) ...
"""

from __future__ import annotations

import os
import ssl
import tempfile
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from lens.errors import ConfigError, require


def server_context(cert: str | os.PathLike[str], key: str | os.PathLike[str]) -> ssl.SSLContext:
    """A server SSLContext from a PEM certificate (chain) file and its private key file."""
    for flag, path in (("--cert", cert), ("--key", key)):
        if not Path(path).is_file():
            raise ConfigError(f"no such file: {os.fspath(path)}", source=flag,
                              hint="give the path of a PEM file")
    ctx = _server_base()
    try:
        ctx.load_cert_chain(os.fspath(cert), os.fspath(key))
    except ssl.SSLError as exc:
        raise ConfigError(
            f"cannot load certificate {os.fspath(cert)} with key {os.fspath(key)}: {exc.reason or exc}",
            source="--cert/--key",
            hint="both must be PEM files and the key must belong to the certificate",
        ) from None
    return ctx


def _server_base() -> ssl.SSLContext:
    ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    # aiohttp.web speaks HTTP/1.1 only: say so to clients that offer h2 first.
    ctx.set_alpn_protocols(["http/1.1"])
    return ctx


class TestCA:
    """A throwaway certificate authority (trustme) and a server certificate it signed.

    ``hosts`` are the names and IP addresses the server certificate is valid for.
    ``ca_path`` is the CA certificate in PEM, written to ``ca_file`` or, by default, to a
    new file in the temporary directory (kept until ``cleanup``).
    """

    __test__ = False  # not a pytest test class, despite its name

    def __init__(self, hosts: Iterable[str] = ("127.0.0.1", "localhost"), *,
                 ca_file: str | os.PathLike[str] | None = None) -> None:
        trustme: Any = require("trustme", "tls")
        self.hosts = list(dict.fromkeys(hosts))
        self._ca = trustme.CA()
        self._cert = self._ca.issue_cert(*self.hosts)
        self._own_file = ca_file is None
        if ca_file is None:
            fd, name = tempfile.mkstemp(prefix="lens-sim-ca-", suffix=".pem")
            os.close(fd)
            ca_file = name
        self.ca_path = Path(ca_file)
        try:
            self._ca.cert_pem.write_to_path(os.fspath(self.ca_path))
        except OSError as exc:
            raise ConfigError(f"cannot write the CA certificate to {self.ca_path}: {exc.strerror}",
                              source="--ca-out", hint="pick a writable path") from None

    @property
    def ca_pem(self) -> bytes:
        """The CA certificate, PEM-encoded."""
        return bytes(self._ca.cert_pem.bytes())

    def server_context(self) -> ssl.SSLContext:
        """An SSLContext serving the issued certificate (with its chain)."""
        ctx = _server_base()
        self._cert.configure_cert(ctx)
        return ctx

    def client_context(self) -> ssl.SSLContext:
        """A client SSLContext that trusts this CA only (hostname checking on)."""
        ctx = ssl.create_default_context()
        self._ca.configure_trust(ctx)
        return ctx

    def cleanup(self) -> None:
        """Remove the CA file if this object created it."""
        if self._own_file:
            self.ca_path.unlink(missing_ok=True)
