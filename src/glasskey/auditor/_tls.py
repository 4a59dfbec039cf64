"""Mutual TLS for writes, as Plexi's auditor does it.

Why a protocol shim: ASGI has a TLS extension (``scope["extensions"]["tls"]``) for the
client's certificate, but uvicorn does not fill it. The TLS layer verifies the certificate
against the operator's CA (``CERT_OPTIONAL``: reads stay anonymous, plexi presents no
certificate); this shim only forwards the already-verified certificate to the app, which
identifies it by the SHA-256 of its SubjectPublicKeyInfo — stable across re-issuance with the
same key, and independent of subject naming conventions.
"""

from __future__ import annotations

import hashlib
import ssl
from typing import Any

from cryptography import x509
from cryptography.hazmat.primitives import serialization
from uvicorn.protocols.http.h11_impl import H11Protocol


def spki_sha256_of_der(cert_der: bytes) -> str:
    cert = x509.load_der_x509_certificate(cert_der)
    spki = cert.public_key().public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    return hashlib.sha256(spki).hexdigest()


def spki_sha256_of_pem(cert_pem: bytes) -> str:
    return spki_sha256_of_der(
        x509.load_pem_x509_certificate(cert_pem).public_bytes(serialization.Encoding.DER)
    )


def client_cert_spki_sha256(scope: Any) -> str | None:
    """SPKI hash of the verified client certificate in an ASGI scope, if any."""
    tls = (scope.get("extensions") or {}).get("tls") or {}
    chain = tls.get("client_cert_chain") or []
    if not chain:
        return None
    first = chain[0]
    try:
        return spki_sha256_of_pem(first.encode() if isinstance(first, str) else first)
    except ValueError:
        return None


class _WithClientCert:
    def __init__(self, app: Any, cert_pem: str) -> None:
        self.app = app
        self.cert_pem = cert_pem

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope.get("type") == "http":
            extensions = dict(scope.get("extensions") or {})
            extensions["tls"] = {"client_cert_chain": [self.cert_pem]}
            scope = {**scope, "extensions": extensions}
        await self.app(scope, receive, send)


class ClientCertH11Protocol(H11Protocol):
    """uvicorn's h11 protocol, plus the ASGI TLS extension's ``client_cert_chain``."""

    def connection_made(self, transport: Any) -> None:
        super().connection_made(transport)
        ssl_object = transport.get_extra_info("ssl_object")
        if ssl_object is None:
            return
        der = ssl_object.getpeercert(binary_form=True)
        if der:
            self.app = _WithClientCert(self.app, ssl.DER_cert_to_PEM_cert(der))


__all__ = [
    "ClientCertH11Protocol",
    "client_cert_spki_sha256",
    "spki_sha256_of_der",
    "spki_sha256_of_pem",
]
