"""Signing keys behind one small protocol, and strict Ed25519 verification.

Why a protocol: the log signs checkpoints and the auditor countersigns epochs, but neither
should care where the private key lives. Today it is an Ed25519 key from an environment
variable or a file (see :mod:`glasskey.keys`, the I/O side); tomorrow a KMS or HSM backend
implements the same three members and plugs in unchanged.

This module is pure (no I/O, no environment access) so that :mod:`glasskey.core` stays
importable by clients that must never touch a key store.

Key hygiene: nothing here puts private key bytes into an exception message, a ``repr`` or a
log line. Errors say *what* is wrong ("not 32 bytes", "not an Ed25519 key"), never the value.

Verification uses libsodium (PyNaCl), which rejects non-canonical encodings and small-order
public keys and signature points; OpenSSL's Ed25519 is more permissive, and a verifier that
is more permissive than its peers is how transparency systems get split views.
"""

from __future__ import annotations

from typing import Protocol, runtime_checkable

import nacl.exceptions
import nacl.signing
from cryptography.exceptions import UnsupportedAlgorithm
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from glasskey.core.errors import KeyMaterialError, SignatureError

ED25519 = "ed25519"
"""The ``algorithm`` string of :class:`Ed25519Signer`."""

ED25519_PUBLIC_KEY_SIZE = 32
ED25519_SEED_SIZE = 32
ED25519_SIGNATURE_SIZE = 64


@runtime_checkable
class Signer(Protocol):
    """Anything that can sign bytes with a key whose public half is known.

    ``public_key`` is the raw public key (32 bytes for Ed25519) and ``algorithm`` names the
    scheme (``"ed25519"``), so that callers can derive key ids (C2SP note key ids, Plexi's
    last-byte hint) without knowing the backend.
    """

    @property
    def public_key(self) -> bytes: ...

    @property
    def algorithm(self) -> str: ...

    def sign(self, message: bytes) -> bytes: ...


class Ed25519Signer:
    """An in-process Ed25519 signing key (RFC 8032, pure Ed25519: no pre-hash, no context).

    Build it with :meth:`from_seed` (32 raw bytes), :meth:`from_pem` (PKCS#8 PEM, as written
    by ``openssl genpkey -algorithm Ed25519``) or :meth:`generate`. Signing is deterministic.
    """

    __slots__ = ("_key", "_public")

    def __init__(self, private_key: Ed25519PrivateKey) -> None:
        if not isinstance(private_key, Ed25519PrivateKey):
            raise KeyMaterialError("Ed25519Signer needs an Ed25519 private key")
        self._key = private_key
        self._public = private_key.public_key().public_bytes(
            serialization.Encoding.Raw, serialization.PublicFormat.Raw
        )

    @classmethod
    def generate(cls) -> Ed25519Signer:
        """A fresh random key (for tests and throwaway dev keys)."""
        return cls(Ed25519PrivateKey.generate())

    @classmethod
    def from_seed(cls, seed: bytes) -> Ed25519Signer:
        """From the 32-byte RFC 8032 private key (the "seed")."""
        if not isinstance(seed, bytes | bytearray) or len(seed) != ED25519_SEED_SIZE:
            size = len(seed) if isinstance(seed, bytes | bytearray) else "non-bytes"
            raise KeyMaterialError(
                f"an Ed25519 private key is {ED25519_SEED_SIZE} raw bytes, got {size}"
            )
        return cls(Ed25519PrivateKey.from_private_bytes(bytes(seed)))

    @classmethod
    def from_pem(cls, pem: bytes) -> Ed25519Signer:
        """From an unencrypted PKCS#8 PEM (``-----BEGIN PRIVATE KEY-----``)."""
        if not isinstance(pem, bytes | bytearray):
            raise KeyMaterialError("a PEM key must be given as bytes")
        try:
            key = serialization.load_pem_private_key(bytes(pem), password=None)
        except TypeError:
            # cryptography raises TypeError when the PEM is encrypted and no password given.
            raise KeyMaterialError(
                "the PEM key is encrypted; glasskey needs an unencrypted PKCS#8 Ed25519 key"
            ) from None
        except (ValueError, UnsupportedAlgorithm):
            raise KeyMaterialError("not a PKCS#8 PEM private key") from None
        if not isinstance(key, Ed25519PrivateKey):
            raise KeyMaterialError(f"the PEM key type is {_key_kind(key)}, not Ed25519") from None
        return cls(key)

    @property
    def public_key(self) -> bytes:
        return self._public

    @property
    def algorithm(self) -> str:
        return ED25519

    def sign(self, message: bytes) -> bytes:
        return self._key.sign(bytes(message))

    def private_pem(self) -> bytes:
        """The key as an unencrypted PKCS#8 PEM (for writing a key file; handle with care)."""
        return self._key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )

    def __repr__(self) -> str:
        return f"Ed25519Signer(public_key={self._public.hex()})"

    def __reduce__(self) -> tuple[object, ...]:
        # Pickling would copy the private key into wherever the pickle goes (caches, task
        # queues, crash dumps). Refuse instead of leaking quietly.
        raise TypeError("Ed25519Signer cannot be pickled (it holds a private key)")


def _key_kind(key: object) -> str:
    """A short, non-secret name for a key object's type (``RSA``, ``EC``, ``Ed448``)."""
    name = type(key).__name__
    for prefix in ("_", "Rust"):
        name = name.removeprefix(prefix)
    return name.removesuffix("PrivateKey") or "non-Ed25519"


def verify_ed25519(public_key: bytes, message: bytes, signature: bytes) -> None:
    """Check a pure Ed25519 signature; return ``None`` or raise :class:`SignatureError`.

    Wrong lengths, an invalid or small-order public key and a signature that does not verify
    all raise :class:`SignatureError`, so callers need only one ``except``.
    """
    if len(public_key) != ED25519_PUBLIC_KEY_SIZE:
        raise SignatureError(
            f"Ed25519 public key must be {ED25519_PUBLIC_KEY_SIZE} bytes, got {len(public_key)}"
        )
    if len(signature) != ED25519_SIGNATURE_SIZE:
        raise SignatureError(
            f"Ed25519 signature must be {ED25519_SIGNATURE_SIZE} bytes, got {len(signature)}"
        )
    try:
        nacl.signing.VerifyKey(bytes(public_key)).verify(bytes(message), bytes(signature))
    except nacl.exceptions.BadSignatureError:
        raise SignatureError("Ed25519 signature does not verify") from None
    except (nacl.exceptions.CryptoError, ValueError, TypeError):
        raise SignatureError("Ed25519 public key is not a valid curve point") from None


__all__ = [
    "ED25519",
    "ED25519_PUBLIC_KEY_SIZE",
    "ED25519_SEED_SIZE",
    "ED25519_SIGNATURE_SIZE",
    "Ed25519Signer",
    "Signer",
    "verify_ed25519",
]
