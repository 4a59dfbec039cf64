"""How binary values travel in the JSON API: the field types the wire models are built from.

Hashes and public keys are lower-case hex, keys and proofs standard base64 (RFC 4648 with
padding). Each type decodes to ``bytes`` when a response is parsed and encodes back when one
is serialised, so neither side ever handles the text form; in the OpenAPI document each is a
plain ``string``, as it always was.

Why hand-written rather than pydantic's ``Base64Bytes``: that one decodes leniently (it
drops characters outside the alphabet), and a verifying client must refuse such input.
"""

from __future__ import annotations

import base64
import binascii
from typing import Annotated, Any

from pydantic import PlainSerializer, PlainValidator, WithJsonSchema
from pydantic_core import PydanticCustomError

#: The most hashes an RFC 6962 proof can have for any log of up to 2**64 leaves (and some).
MAX_PROOF_HASHES = 128


def decode_hex32(value: Any) -> bytes:
    """32 bytes from 64 hex digits (either case); anything else is refused."""
    if type(value) is not str or len(value) != 64:
        raise PydanticCustomError("hex32", "must be 32 bytes of hex (64 hex digits)")
    try:
        return bytes.fromhex(value)
    except ValueError:
        raise PydanticCustomError("hex32", "must be 32 bytes of hex (64 hex digits)") from None


def decode_proof_hashes(value: Any) -> list[bytes]:
    """A list of at most ``MAX_PROOF_HASHES`` hashes, each 64 hex digits.

    One validator for the whole list, not one per item: a proof response carries dozens of
    hashes, and each call from the validator into Python costs about what decoding one does.
    """
    if type(value) is not list:
        raise PydanticCustomError("proof_hashes", "must be a list of hex hashes")
    if len(value) > MAX_PROOF_HASHES:
        raise PydanticCustomError(
            "proof_hashes", "must have at most {limit} hashes", {"limit": MAX_PROOF_HASHES}
        )
    try:
        hashes = [bytes.fromhex(item) for item in value]
    except (TypeError, ValueError):
        hashes = []
    if len(hashes) != len(value) or any(len(h) != 32 for h in hashes):
        raise PydanticCustomError("proof_hashes", "entries must be 32 bytes of hex each")
    return hashes


def encode_proof_hashes(value: list[bytes]) -> list[str]:
    return [h.hex() for h in value]


def decode_base64(value: Any) -> bytes:
    """Standard, padded base64 with nothing outside its alphabet."""
    if type(value) is not str:
        raise PydanticCustomError("base64", "must be a base64 string")
    try:
        return base64.b64decode(value, validate=True)
    except (binascii.Error, ValueError):
        raise PydanticCustomError("base64", "is not valid base64") from None


def encode_base64(value: bytes) -> str:
    return base64.b64encode(value).decode("ascii")


_STRING = WithJsonSchema({"type": "string"})

#: A SHA-256 hash or a 32-byte public key, as 64 hex digits.
Hex32 = Annotated[
    bytes,
    PlainValidator(decode_hex32),
    PlainSerializer(bytes.hex, return_type=str),
    _STRING,
]

#: Bytes as base64 text (keys, AKD protobuf proofs).
Base64 = Annotated[
    bytes,
    PlainValidator(decode_base64),
    PlainSerializer(encode_base64, return_type=str),
    _STRING,
]

#: The hashes of an RFC 6962 inclusion or consistency proof.
ProofHashes = Annotated[
    list[bytes],
    PlainValidator(decode_proof_hashes),
    PlainSerializer(encode_proof_hashes, return_type=list[str]),
    WithJsonSchema({"items": {"type": "string"}, "maxItems": MAX_PROOF_HASHES, "type": "array"}),
]

__all__ = [
    "MAX_PROOF_HASHES",
    "Base64",
    "Hex32",
    "ProofHashes",
    "decode_base64",
    "decode_hex32",
    "decode_proof_hashes",
    "encode_base64",
    "encode_proof_hashes",
]
