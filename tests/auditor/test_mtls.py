"""Writes over mutual TLS (as Plexi): a real uvicorn HTTPS server with CERT_OPTIONAL.

Anonymous reads work (plexi presents no certificate); the operator's certificate may create
namespaces; a namespace owner's certificate may publish to its namespace only; a valid
certificate that is not allowed gets 403; no credentials at all gets 401.
"""

from __future__ import annotations

import datetime as dt
import socket
import ssl
import threading
import time
from pathlib import Path

import httpx
import uvicorn
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from glasskey.auditor._service import Auditor, Keyring
from glasskey.auditor._store import open_auditor_store
from glasskey.auditor._tls import ClientCertH11Protocol, spki_sha256_of_pem
from glasskey.auditor.app import AuthConfig, create_app
from glasskey.core.signing import Ed25519Signer
from tests.auditor.conftest import TrustingProofs


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _cert(
    name: str, issuer: tuple[x509.Certificate, ec.EllipticCurvePrivateKey] | None, folder: Path
) -> tuple[x509.Certificate, ec.EllipticCurvePrivateKey, Path, Path]:
    key = ec.generate_private_key(ec.SECP256R1())
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)])
    now = dt.datetime.now(dt.UTC)
    builder = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(issuer[0].subject if issuer else subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=1))
        .not_valid_after(now + dt.timedelta(days=1))
        .add_extension(x509.BasicConstraints(ca=issuer is None, path_length=None), critical=True)
    )
    if name == "localhost":
        builder = builder.add_extension(
            x509.SubjectAlternativeName([x509.DNSName("localhost")]), critical=False
        )
    cert = builder.sign(issuer[1] if issuer else key, hashes.SHA256())
    cert_path, key_path = folder / f"{name}.crt", folder / f"{name}.key"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    return cert, key, cert_path, key_path


def test_mtls_writes(tmp_path: Path) -> None:
    ca_cert, ca_key, ca_path, _ = _cert("test-ca", None, tmp_path)
    _, _, server_crt, server_key = _cert("localhost", (ca_cert, ca_key), tmp_path)
    _, _, op_crt, op_key = _cert("operator", (ca_cert, ca_key), tmp_path)
    _, _, owner_crt, owner_key = _cert("log-owner", (ca_cert, ca_key), tmp_path)
    _, _, other_crt, other_key = _cert("someone", (ca_cert, ca_key), tmp_path)
    operator_spki = spki_sha256_of_pem(op_crt.read_bytes())
    owner_spki = spki_sha256_of_pem(owner_crt.read_bytes())

    store = open_auditor_store(f"sqlite:///{tmp_path}/a.db")
    auditor = Auditor(  # about who may write, not about proofs
        store, Keyring([Ed25519Signer.from_seed(bytes([5] * 32))], 0), proofs=TrustingProofs()
    )
    app = create_app(auditor, AuthConfig(operator_certs=frozenset({operator_spki})))
    port = free_port()
    server = uvicorn.Server(
        uvicorn.Config(
            app,
            host="127.0.0.1",
            port=port,
            log_level="warning",
            http=ClientCertH11Protocol,
            ssl_certfile=str(server_crt),
            ssl_keyfile=str(server_key),
            ssl_ca_certs=str(ca_path),
            ssl_cert_reqs=ssl.CERT_OPTIONAL,
        )
    )
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    while not server.started:
        time.sleep(0.02)
    base = f"https://localhost:{port}"

    def client(cert: tuple[Path, Path] | None) -> httpx.Client:
        context = ssl.create_default_context(cafile=str(ca_path))
        if cert is not None:
            context.load_cert_chain(str(cert[0]), str(cert[1]))
        return httpx.Client(base_url=base, verify=context)

    try:
        with client(None) as anon:
            assert anon.get("/info").status_code == 200
            body = {"name": "ns", "signature_version": 1, "owners": [owner_spki]}
            assert anon.post("/namespaces", json=body).status_code == 401
        with client((owner_crt, owner_key)) as owner:
            assert owner.post("/namespaces", json=body).status_code == 403
        with client((op_crt, op_key)) as op:
            assert op.post("/namespaces", json=body).status_code == 200
            assert op.post("/namespaces", json={**body, "name": "ns2"}).status_code == 200
        publish = {"epoch": 1, "digest": "ab" * 32}
        with client((other_crt, other_key)) as other:
            r = other.post("/namespaces/ns/audits", json=publish)
            assert r.status_code == 403
        with client((owner_crt, owner_key)) as owner:
            assert owner.post("/namespaces/ns/audits", json=publish).status_code == 200
            body2 = {"status": "Disabled"}
            assert owner.patch("/namespaces/ns", json=body2).status_code == 200
        with client(None) as anon:
            assert anon.get("/namespaces/ns/audits/1").status_code == 200
            assert anon.get("/namespaces/ns2").json()["status"] == "Initialization"
    finally:
        server.should_exit = True
        thread.join(timeout=10)
        store.close()
