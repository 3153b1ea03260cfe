"""TLS: the client's trust store, and certificate errors in words a user can act on.

Trusted CAs are the union of:

- the system store (OpenSSL's compiled-in default file and directory, and the usual
  distribution bundle paths when those are missing);
- ``SSL_CERT_FILE`` / ``SSL_CERT_DIR``: OpenSSL normally lets these REPLACE the default
  store; here they are added to it, so pointing them at a private CA does not untrust
  every public one;
- ``ca_bundle``, a PEM file given by the caller (``--ca-bundle PATH``).

SNI and host name verification are on; ALPN offers only ``http/1.1``.
"""

from __future__ import annotations

import os
import re
import ssl
from collections.abc import Mapping

from lens.errors import ConfigError
from lens.probe.http.errors import ConnectError, TLSVerifyError
from lens.spec.paths import not_a_file

__all__ = ["describe_tls_error", "make_ssl_context"]

_DISTRO_BUNDLES = (
    "/etc/ssl/certs/ca-certificates.crt",  # Debian, Ubuntu, Alpine
    "/etc/pki/tls/certs/ca-bundle.crt",  # Fedora, RHEL
    "/etc/ssl/cert.pem",  # macOS, some BSDs
    "/etc/ssl/ca-bundle.pem",  # openSUSE
)
TRUST_HINT = (
    "if the server's certificate is signed by a private CA, trust that CA with "
    "--ca-bundle PATH (a PEM file) or the SSL_CERT_FILE environment variable"
)


def make_ssl_context(
    ca_bundle: str | os.PathLike[str] | None = None, *, environ: Mapping[str, str] | None = None
) -> ssl.SSLContext:
    """A client context trusting the system store + SSL_CERT_FILE/DIR + ``ca_bundle``."""
    env = os.environ if environ is None else environ
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)  # verification and hostname check on
    ctx.set_alpn_protocols(["http/1.1"])
    paths = ssl.get_default_verify_paths()
    system_file = paths.openssl_cafile if os.path.isfile(paths.openssl_cafile) else None
    if system_file is None:
        system_file = next((p for p in _DISTRO_BUNDLES if os.path.isfile(p)), None)
    if system_file:
        ctx.load_verify_locations(cafile=system_file)
    if paths.openssl_capath and os.path.isdir(paths.openssl_capath):
        ctx.load_verify_locations(capath=paths.openssl_capath)
    env_file = env.get("SSL_CERT_FILE")
    if env_file:
        _load(ctx, env_file, "the SSL_CERT_FILE environment variable")
    env_dir = env.get("SSL_CERT_DIR")
    if env_dir and os.path.isdir(env_dir):
        ctx.load_verify_locations(capath=env_dir)
    if ca_bundle is not None:
        _load(ctx, os.fspath(ca_bundle), "--ca-bundle")
    return ctx


def _load(ctx: ssl.SSLContext, path: str, source: str) -> None:
    why = not_a_file(path)
    if why is not None:
        folder = " (a folder of hashed certificates goes in SSL_CERT_DIR)" if "directory" in why \
            else ""
        raise ConfigError(
            f"CA bundle {path} {why}",
            source=source,
            hint=f"give the path of a PEM file holding the CA certificate(s){folder}",
        )
    try:
        ctx.load_verify_locations(cafile=path)
    except (ssl.SSLError, ValueError, OSError) as exc:
        raise ConfigError(
            f"CA bundle {path} could not be read as PEM certificates ({_plain(exc)})",
            source=source,
            hint="give a PEM file holding the CA certificate(s)",
        ) from None


# OpenSSL X509_V_ERR_* codes -> what they mean for the user
_WHY = {
    18: "it is self-signed",
    19: "its chain ends in a self-signed CA this machine does not trust",
    20: "it is signed by a CA this machine does not trust (unknown issuer)",
    21: "it is signed by a CA this machine does not trust (unknown issuer)",
    2: "it is signed by a CA this machine does not trust (unknown issuer)",
    9: "it is not valid yet",
    10: "it has expired",
    23: "it has been revoked",
    62: "it was issued for another host name",
    64: "it was issued for another host (IP address)",
}


def describe_tls_error(exc: BaseException, address: str, host: str) -> ConnectError:
    """A :class:`TLSVerifyError` (or plain tls-phase ConnectError) for a handshake failure."""
    if isinstance(exc, ssl.SSLCertVerificationError):
        code = getattr(exc, "verify_code", 0) or 0
        text = str(getattr(exc, "verify_message", "") or exc.reason or "verification failed")
        why = _WHY.get(code)
        if why is None and "hostname mismatch" in text.lower():
            code, why = 62, _WHY[62]
        elif why is None and "ip address mismatch" in text.lower():
            code, why = 64, _WHY[64]
        why = f"{why} ({text})" if why else text
        if code in (62, 64):
            hint = (
                f"connect with a host name the certificate lists (it does not list {host}), "
                "or fix the server's certificate"
            )
        elif code in (9, 10, 23):
            hint = "the server's certificate must be renewed; the client cannot fix this"
        else:
            hint = TRUST_HINT
        return TLSVerifyError(
            f"TLS certificate of {address} is not trusted: {why}",
            address=address,
            reason=text,
            hint=hint,
        )
    if isinstance(exc, ssl.SSLError):
        what = exc.reason or exc.strerror or str(exc)
    elif isinstance(exc, OSError) and exc.strerror:
        what = exc.strerror.lower()
    elif isinstance(exc, ConnectionError) and not str(exc):
        what = "the server closed the connection during the handshake"
    else:
        what = str(exc) or type(exc).__name__
    return ConnectError(
        f"TLS handshake with {address} failed: {what}",
        phase="tls",
        address=address,
        hint="check that the URL's port speaks HTTPS (http:// for a plain-HTTP server)",
    )


def _plain(exc: BaseException) -> str:
    """OpenSSL's reason in words: ``no certificate or crl found``, without the C source tag."""
    reason = getattr(exc, "reason", None)
    text = str(exc)
    if isinstance(exc, ssl.SSLError) and exc.args and len(exc.args) > 1:
        text = str(exc.args[1])
    text = re.sub(r"\s*\(_ssl\.c:\d+\)", "", text)
    text = re.sub(r"^\[[A-Z0-9_: ]+\]\s*", "", text)
    return text or (reason.lower().replace("_", " ") if isinstance(reason, str) else type(exc).__name__)
