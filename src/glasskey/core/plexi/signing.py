"""The bytes a Plexi auditor signs, key ids, key selection and strict Ed25519 verification.

Why hand-written encoders: the signed message is tiny and fixed (spec auditor-compat.md
section 3), and both serialisations must be byte-identical to what prost (protobuf, proto2
``required`` fields, so zero values are *always* emitted) and bincode 2 ``legacy`` (fixed-width
little-endian integers, u64 lengths) produce. A generic library in proto3 mode would silently
drop ``epoch = 0``; hand encoding makes every byte explicit and keeps signing cheap (the
auditor must sign hundreds of epochs per second).

Why PyNaCl for verification: plexi verifies with ed25519-dalek's ``verify_strict``, which
rejects non-canonical ``s`` and small-order public keys or ``R``. libsodium applies the same
checks; OpenSSL does not reject small-order points.
"""

from __future__ import annotations

import struct
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from enum import IntEnum
from typing import Final

import nacl.exceptions
import nacl.signing

from glasskey.core._varint import encode_varint
from glasskey.core.errors import MalformedError, SignatureError

DIGEST_BYTES: Final = 32
PUBLIC_KEY_BYTES: Final = 32
SIGNATURE_BYTES: Final = 64
U32_MAX: Final = 2**32 - 1
U64_MAX: Final = 2**64 - 1

_LE32 = struct.Struct("<I")
_LE64 = struct.Struct("<Q")


class Ciphersuite(IntEnum):
    """Signature serialisation + algorithm; the value itself is inside the signed bytes."""

    PROTOBUF_ED25519 = 0x0001
    BINCODE_ED25519 = 0x0002

    @property
    def display_name(self) -> str:
        """The name plexi's CLI prints (``ed25519(protobuf)`` / ``ed25519(bincode)``)."""
        return "ed25519(protobuf)" if self is Ciphersuite.PROTOBUF_ED25519 else "ed25519(bincode)"


def ciphersuite_display(value: int) -> str:
    """Display name for any u32, including values this implementation cannot verify."""
    try:
        return Ciphersuite(value).display_name
    except ValueError:
        return f"unknown {value}"


@dataclass(frozen=True, slots=True)
class EpochStatement:
    """The five signed fields, in signing order: "at ``timestamp`` (ms) the auditor accepted
    ``digest`` as the only digest of ``epoch`` in ``namespace``"."""

    ciphersuite: int
    namespace: str
    timestamp: int
    epoch: int
    digest: bytes

    def __post_init__(self) -> None:
        if not isinstance(self.ciphersuite, int) or not 0 <= self.ciphersuite <= U32_MAX:
            raise MalformedError(f"ciphersuite {self.ciphersuite!r} is not a u32")
        if not isinstance(self.namespace, str):
            raise MalformedError("namespace must be a string")
        for name in ("timestamp", "epoch"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= U64_MAX:
                raise MalformedError(f"{name} {value!r} is not a u64")
        if not isinstance(self.digest, bytes):
            raise MalformedError("digest must be bytes")


# -- encoders -------------------------------------------------------------------------------


def encode_protobuf(statement: EpochStatement) -> bytes:
    """Ciphersuite 1: prost encoding of ``SignatureMessage`` (proto2, all fields required)."""
    ns = statement.namespace.encode("utf-8")
    epoch_msg = b"\x08" + encode_varint(statement.epoch)
    return b"".join(
        (
            b"\x08",
            encode_varint(statement.ciphersuite),
            b"\x12",
            encode_varint(len(ns)),
            ns,
            b"\x18",
            encode_varint(statement.timestamp),
            b"\x22",
            encode_varint(len(epoch_msg)),
            epoch_msg,
            b"\x2a",
            encode_varint(len(statement.digest)),
            statement.digest,
        )
    )


def encode_bincode(statement: EpochStatement) -> bytes:
    """Ciphersuite 2: bincode 2 ``legacy`` (LE32 ciphersuite, LE64 lengths and integers)."""
    ns = statement.namespace.encode("utf-8")
    return b"".join(
        (
            _LE32.pack(statement.ciphersuite),
            _LE64.pack(len(ns)),
            ns,
            _LE64.pack(statement.timestamp),
            _LE64.pack(statement.epoch),
            _LE64.pack(len(statement.digest)),
            statement.digest,
        )
    )


def signed_bytes(statement: EpochStatement) -> bytes:
    """The exact bytes signed for ``statement`` under its own ciphersuite.

    Raises ``SignatureError`` for a ciphersuite this implementation does not know: an unknown
    suite cannot be verified, and refusing is safer than guessing a layout.
    """
    if statement.ciphersuite == Ciphersuite.PROTOBUF_ED25519:
        return encode_protobuf(statement)
    if statement.ciphersuite == Ciphersuite.BINCODE_ED25519:
        return encode_bincode(statement)
    raise SignatureError(f"unknown ciphersuite {statement.ciphersuite}: cannot build signed bytes")


# -- keys -----------------------------------------------------------------------------------


def key_id(public_key: bytes) -> int:
    """Plexi's key id: the last byte of the 32-byte Ed25519 public key (a hint, not unique)."""
    if not isinstance(public_key, bytes) or len(public_key) != PUBLIC_KEY_BYTES:
        raise MalformedError("an Ed25519 public key is 32 bytes")
    return public_key[-1]


@dataclass(frozen=True, slots=True)
class KeyInfo:
    """One auditor key as listed in ``/info``: valid for signatures made at ``not_before`` ms or
    later. Retired keys stay listed so that old signatures keep verifying."""

    public_key: bytes
    not_before: int

    def __post_init__(self) -> None:
        if not isinstance(self.public_key, bytes) or len(self.public_key) != PUBLIC_KEY_BYTES:
            raise MalformedError("an Ed25519 public key is 32 bytes")
        nb = self.not_before
        if isinstance(nb, bool) or not isinstance(nb, int) or not 0 <= nb <= U64_MAX:
            raise MalformedError(f"not_before {nb!r} is not a u64")

    @property
    def key_id(self) -> int:
        return key_id(self.public_key)


def select_signing_key(keys: Sequence[KeyInfo], now_ms: int) -> int:
    """Index of the key to sign with at ``now_ms``: greatest ``not_before`` that is not in the
    future (ties: the later entry, i.e. the most recently added). Never picks a future key,
    so a successor can be announced in ``/info`` before it takes over."""
    best: int | None = None
    for index, key in enumerate(keys):
        if key.not_before <= now_ms and (best is None or key.not_before >= keys[best].not_before):
            best = index
    if best is None:
        raise SignatureError(f"no auditor key is valid at {now_ms} ms (all are in the future)")
    return best


def candidate_keys(
    keys: Iterable[KeyInfo], timestamp: int, key_id_hint: int | None
) -> list[KeyInfo]:
    """Keys that may have made a signature at ``timestamp``: valid by then and, when the
    response carries a key id, with that last byte. key ids collide (1 in 256), so callers try
    every candidate rather than the first match as plexi does."""
    return [
        k
        for k in keys
        if k.not_before <= timestamp and (key_id_hint is None or k.key_id == key_id_hint)
    ]


def verify_ed25519(public_key: bytes, message: bytes, signature: bytes) -> None:
    """Strict Ed25519 verification (libsodium: canonical ``s``, no small-order key or ``R``)."""
    if not isinstance(public_key, bytes) or len(public_key) != PUBLIC_KEY_BYTES:
        raise SignatureError("auditor public key must be 32 bytes")
    if not isinstance(signature, bytes) or len(signature) != SIGNATURE_BYTES:
        raise SignatureError("signature must be 64 bytes")
    try:
        nacl.signing.VerifyKey(public_key).verify(message, signature)
    except (nacl.exceptions.BadSignatureError, nacl.exceptions.CryptoError, ValueError):
        raise SignatureError("signature does not verify for the auditor key") from None


def verify_statement(statement: EpochStatement, signature: bytes, public_key: bytes) -> None:
    """Verify one signature over ``statement`` with one key; raises ``SignatureError``."""
    verify_ed25519(public_key, signed_bytes(statement), signature)


__all__ = [
    "DIGEST_BYTES",
    "PUBLIC_KEY_BYTES",
    "SIGNATURE_BYTES",
    "Ciphersuite",
    "EpochStatement",
    "KeyInfo",
    "candidate_keys",
    "ciphersuite_display",
    "encode_bincode",
    "encode_protobuf",
    "key_id",
    "select_signing_key",
    "signed_bytes",
    "verify_ed25519",
    "verify_statement",
]
