"""Loading the auditor's Ed25519 signing keys (shim until ``glasskey.keys`` lands).

Keys come from ``GLASSKEY_AUDITOR_SIGNING_KEY`` (base64 of a PKCS#8 PEM, the way ops teams
put secrets in environment variables; a raw PEM is accepted too) or from a PEM file. Either
may hold several ``PRIVATE KEY`` blocks: that is how a rotation is staged (old and new key
loaded together; the one with the newest valid ``not_before`` signs).

Why so careful with errors: a message that quoted the input would put the private key into
logs. Every failure here says *what* is wrong, never *with which bytes*.
"""

from __future__ import annotations

import base64
import binascii
import os
import re
from dataclasses import dataclass, field
from pathlib import Path

import nacl.signing
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from glasskey.core.errors import KeyMaterialError

SIGNING_KEY_ENV = "GLASSKEY_AUDITOR_SIGNING_KEY"
_PEM_BLOCK = re.compile(rb"-----BEGIN PRIVATE KEY-----\s+.*?-----END PRIVATE KEY-----", re.DOTALL)


@dataclass(frozen=True, eq=False)
class Ed25519Signer:
    """Deterministic RFC 8032 Ed25519 signer; the seed is not part of ``repr``."""

    _key: nacl.signing.SigningKey = field(repr=False)

    @classmethod
    def from_seed(cls, seed: bytes) -> Ed25519Signer:
        if len(seed) != 32:
            raise KeyMaterialError("an Ed25519 seed is 32 bytes")
        return cls(nacl.signing.SigningKey(seed))

    @classmethod
    def generate(cls) -> Ed25519Signer:
        return cls(nacl.signing.SigningKey.generate())

    @property
    def public_key(self) -> bytes:
        return bytes(self._key.verify_key)

    def sign(self, message: bytes) -> bytes:
        return self._key.sign(message).signature

    def to_pkcs8_pem(self) -> bytes:
        """PKCS#8 PEM of this key (for tests and ``glasskey auditor keygen``)."""
        key = Ed25519PrivateKey.from_private_bytes(bytes(self._key))
        return key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )


def signers_from_pem(data: bytes, source: str) -> list[Ed25519Signer]:
    """Every Ed25519 key in a PEM bundle; raises ``KeyMaterialError`` naming only ``source``."""
    blocks = _PEM_BLOCK.findall(data)
    if not blocks:
        raise KeyMaterialError(f"{source}: no PKCS#8 'PRIVATE KEY' PEM block found")
    signers = []
    for index, block in enumerate(blocks, 1):
        try:
            key = serialization.load_pem_private_key(block, password=None)
        except (ValueError, TypeError):
            raise KeyMaterialError(f"{source}: PEM block {index} is not a valid key") from None
        if not isinstance(key, Ed25519PrivateKey):
            raise KeyMaterialError(f"{source}: PEM block {index} is not an Ed25519 key")
        seed = key.private_bytes(
            serialization.Encoding.Raw,
            serialization.PrivateFormat.Raw,
            serialization.NoEncryption(),
        )
        signers.append(Ed25519Signer.from_seed(seed))
    return signers


def load_signers(
    env_var: str = SIGNING_KEY_ENV,
    key_file: str | os.PathLike[str] | None = None,
    *,
    environ: dict[str, str] | None = None,
) -> list[Ed25519Signer]:
    """Signing keys from ``key_file`` if given, else from the environment variable."""
    if key_file is not None:
        try:
            data = Path(key_file).read_bytes()
        except OSError as exc:
            raise KeyMaterialError(f"cannot read key file {key_file}: {exc.strerror}") from None
        return signers_from_pem(data, f"key file {key_file}")
    env = os.environ if environ is None else environ
    value = env.get(env_var)
    if not value:
        raise KeyMaterialError(
            f"no auditor signing key: set {env_var} (base64 of a PKCS#8 PEM) or pass --key-file"
        )
    raw = value.strip().encode()
    if not raw.startswith(b"-----BEGIN"):
        try:
            raw = base64.b64decode(raw, validate=False)
        except (binascii.Error, ValueError):
            raise KeyMaterialError(f"{env_var} is not base64") from None
    return signers_from_pem(raw, env_var)
