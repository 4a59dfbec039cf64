"""C2SP signed notes (https://c2sp.org/signed-note): parse, serialise, sign, verify.

A signed note is a UTF-8 text ending in a newline, a blank line, and one or more signature
lines ``— <key name> base64(key ID[4] || signature)``. The text is separated from the
signatures by the *last* blank line, so the text itself may contain blank lines. glasskey's
checkpoints (:mod:`glasskey.log.checkpoint`) are signed notes, and so are witness
cosignatures, which is why this is a separate, general module.

Verification follows the spec's rules exactly:

* a signature is matched to a verifier by the pair (key name, key ID); signatures from
  unknown keys are ignored, even if they share the name *or* the ID of a known key;
* a signature from a known key that fails to verify rejects the whole note;
* at least one signature from a known key must verify.

Supported signature types: ``0x01`` Ed25519 (:class:`Ed25519NoteVerifier`) and ``0x04``
timestamped Ed25519 witness cosignatures, c2sp.org/tlog-cosignature ``cosignature/v1``
(:class:`CosignatureV1Verifier`). Other types (ECDSA ``0x02``, RFC 6962 ``0x05``, ML-DSA) are
parsed like any signature line and ignored, because no verifier of theirs can be configured.

Key IDs: ``SHA-256(key name || 0x0A || type || public key)[:4]``, big-endian ``uint32``.
Verifier keys ("vkeys"): ``<name>+<hex key ID>+<base64(type || public key)>``.

Parsing is strict (valid UTF-8, no ASCII control characters but newline, canonical base64,
valid names, size and signature-count limits) and every refusal is a
:class:`~glasskey.core.errors.MalformedError` with a one-line reason.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import struct
from collections.abc import Iterable
from dataclasses import dataclass
from typing import ClassVar, Protocol

from glasskey.core.errors import MalformedError, SignatureError, UsageError
from glasskey.core.signing import ED25519, Signer, verify_ed25519

SIG_ED25519 = 0x01
SIG_ECDSA = 0x02
SIG_COSIGNATURE_V1 = 0x04
SIG_RFC6962_TREE_HEAD = 0x05

MAX_NOTE_SIZE = 1 << 20
"""Refuse notes above 1 MiB before looking at them (the spec asks for *some* limit)."""

MAX_SIGNATURES = 100
"""Refuse notes with more signature lines than this (the spec requires accepting 16)."""

_SIG_PREFIX = "— "  # U+2014 EM DASH, U+0020 SPACE
_MAX_TIMESTAMP = (1 << 63) - 1


# --------------------------------------------------------------------------------------------
# Small helpers


def b64decode_strict(text: str, what: str) -> bytes:
    """Strict standard base64: right alphabet, padding, and canonical (re-encodes equal)."""
    try:
        raw = base64.b64decode(text.encode("ascii"), validate=True)
    except (UnicodeEncodeError, binascii.Error, ValueError):
        raise MalformedError(f"{what} is not valid base64") from None
    if base64.b64encode(raw).decode("ascii") != text:
        raise MalformedError(f"{what} is not canonical base64")
    return raw


def is_valid_key_name(name: str) -> bool:
    """Key names: non-empty, no Unicode spaces, no ``+`` (and, in a note, no controls)."""
    return (
        isinstance(name, str)
        and bool(name)
        and "+" not in name
        and not any(ch.isspace() or ord(ch) < 0x20 for ch in name)
    )


def _check_key_name(name: str) -> None:
    if not is_valid_key_name(name):
        raise UsageError(f"invalid note key name {name!r}: must be non-empty, no spaces, no '+'")


def key_id(name: str, sig_type: int, public_key: bytes) -> int:
    """The recommended C2SP key ID: ``SHA-256(name || 0x0A || type || public key)[:4]``."""
    if not 0 <= sig_type <= 0xFF:
        raise UsageError(f"signature type {sig_type} is not a byte")
    digest = hashlib.sha256(
        name.encode("utf-8") + b"\n" + bytes([sig_type]) + bytes(public_key)
    ).digest()
    return int.from_bytes(digest[:4], "big")


def _check_text(text: str) -> None:
    """The note-text rules shared by parsing and signing."""
    if not text:
        raise MalformedError("note text is empty")
    if not text.endswith("\n"):
        raise MalformedError("note text does not end with a newline")
    if text.endswith("\n\n") or text == "\n":
        raise MalformedError("note text ends with an empty line")
    for ch in text:
        if ord(ch) < 0x20 and ch != "\n":
            raise MalformedError(f"note contains control character U+{ord(ch):04X}")


# --------------------------------------------------------------------------------------------
# The data model


@dataclass(frozen=True, slots=True)
class NoteSignature:
    """One signature line: key name, 32-bit key ID and the signature bytes after the ID."""

    name: str
    key_id: int
    signature: bytes

    def __post_init__(self) -> None:
        _check_key_name(self.name)
        if not 0 <= self.key_id <= 0xFFFFFFFF:
            raise UsageError(f"key ID {self.key_id} is not a uint32")
        if not self.signature:
            raise UsageError("a note signature cannot be empty")

    def to_line(self) -> str:
        """``— <name> <base64(key ID || signature)>`` followed by a newline."""
        blob = struct.pack(">I", self.key_id) + self.signature
        return f"{_SIG_PREFIX}{self.name} {base64.b64encode(blob).decode('ascii')}\n"

    @classmethod
    def from_line(cls, line: str) -> NoteSignature:
        """Parse one signature line (without its newline)."""
        if not line.startswith(_SIG_PREFIX):
            raise MalformedError("note signature line does not start with an em dash and space")
        rest = line[len(_SIG_PREFIX) :]
        name, sep, blob_b64 = rest.partition(" ")
        if not sep:
            raise MalformedError("note signature line has no space between name and signature")
        if not is_valid_key_name(name):
            raise MalformedError(f"note signature has an invalid key name {name!r}")
        blob = b64decode_strict(blob_b64, f"signature of {name!r}")
        if len(blob) < 5:
            raise MalformedError(
                f"signature of {name!r} is {len(blob)} bytes, shorter than key ID + 1"
            )
        (kid,) = struct.unpack_from(">I", blob)
        return cls(name, kid, blob[4:])


@dataclass(frozen=True, slots=True)
class Note:
    """A parsed note: the signed text (ending in a newline) and its signatures in order."""

    text: str
    signatures: tuple[NoteSignature, ...] = ()

    def __post_init__(self) -> None:
        _check_text(self.text)
        object.__setattr__(self, "signatures", tuple(self.signatures))

    def to_text(self) -> str:
        """The note in wire form. Needs at least one signature (an unsigned note is no note)."""
        if not self.signatures:
            raise UsageError("a signed note needs at least one signature")
        return self.text + "\n" + "".join(sig.to_line() for sig in self.signatures)

    def to_bytes(self) -> bytes:
        return self.to_text().encode("utf-8")

    def with_signature(self, signature: NoteSignature) -> Note:
        """A copy with one more signature line appended."""
        return Note(self.text, (*self.signatures, signature))


def parse_note(data: bytes | str) -> Note:
    """Parse a signed note strictly; raise :class:`MalformedError` with the reason."""
    if isinstance(data, bytes | bytearray | memoryview):
        raw = bytes(data)
        if len(raw) > MAX_NOTE_SIZE:
            raise MalformedError(f"note is {len(raw)} bytes, more than the {MAX_NOTE_SIZE} limit")
        try:
            text = raw.decode("utf-8")
        except UnicodeDecodeError:
            raise MalformedError("note is not valid UTF-8") from None
    elif isinstance(data, str):
        text = data
        if len(text) > MAX_NOTE_SIZE:
            raise MalformedError(f"note is longer than the {MAX_NOTE_SIZE} limit")
        try:
            text.encode("utf-8")
        except UnicodeEncodeError:
            raise MalformedError("note is not valid UTF-8 (lone surrogate)") from None
    else:
        raise UsageError(f"a note is bytes or str, not {type(data).__name__}")

    for ch in text:
        if ord(ch) < 0x20 and ch != "\n":
            raise MalformedError(f"note contains control character U+{ord(ch):04X}")
    if not text.endswith("\n"):
        raise MalformedError("note does not end with a newline")
    split = text.rfind("\n\n")
    if split < 0:
        raise MalformedError("note has no blank line before its signatures")
    body, sig_block = text[: split + 1], text[split + 2 :]
    if not sig_block:
        raise MalformedError("note has no signature lines after its last blank line")
    lines = sig_block[:-1].split("\n")
    if len(lines) > MAX_SIGNATURES:
        raise MalformedError(f"note has {len(lines)} signatures, more than {MAX_SIGNATURES}")
    signatures = tuple(NoteSignature.from_line(line) for line in lines)
    _check_text(body)
    return Note(body, signatures)


# --------------------------------------------------------------------------------------------
# Verifiers


class NoteVerifier(Protocol):
    """A known key: matched to signature lines by ``(name, key_id)``.

    ``verify`` returns ``None`` or raises :class:`SignatureError`.
    """

    @property
    def name(self) -> str: ...

    @property
    def key_id(self) -> int: ...

    def verify(self, text: bytes, signature: bytes) -> None: ...


@dataclass(frozen=True, slots=True)
class Ed25519NoteVerifier:
    """Signature type ``0x01``: plain Ed25519 over the note text."""

    name: str
    public_key: bytes
    sig_type: ClassVar[int] = SIG_ED25519

    def __post_init__(self) -> None:
        _check_key_name(self.name)
        if len(self.public_key) != 32:
            raise UsageError(f"an Ed25519 public key is 32 bytes, got {len(self.public_key)}")

    @property
    def key_id(self) -> int:
        return key_id(self.name, self.sig_type, self.public_key)

    def verify(self, text: bytes, signature: bytes) -> None:
        verify_ed25519(self.public_key, text, signature)

    def vkey(self) -> str:
        return vkey_string(self.name, self.sig_type, self.public_key)


def cosignature_v1_message(text: bytes, timestamp: int) -> bytes:
    """What a ``cosignature/v1`` witness signs: two header lines, then the note text."""
    return b"cosignature/v1\ntime %d\n" % timestamp + bytes(text)


@dataclass(frozen=True, slots=True)
class CosignatureV1Verifier:
    """Signature type ``0x04``: c2sp.org/tlog-cosignature Ed25519 witness cosignatures.

    The signature is ``BE64(timestamp) || Ed25519(cosignature_v1_message(text, timestamp))``.
    """

    name: str
    public_key: bytes
    sig_type: ClassVar[int] = SIG_COSIGNATURE_V1

    def __post_init__(self) -> None:
        _check_key_name(self.name)
        if len(self.public_key) != 32:
            raise UsageError(f"an Ed25519 public key is 32 bytes, got {len(self.public_key)}")

    @property
    def key_id(self) -> int:
        return key_id(self.name, self.sig_type, self.public_key)

    @staticmethod
    def timestamp_of(signature: bytes) -> int:
        """The POSIX timestamp carried in a cosignature (checked for shape, not verified)."""
        if len(signature) != 72:
            raise SignatureError(f"a cosignature/v1 is 72 bytes, got {len(signature)}")
        (timestamp,) = struct.unpack_from(">Q", signature)
        if timestamp > _MAX_TIMESTAMP:
            raise SignatureError("cosignature timestamp exceeds 2^63-1")
        return int(timestamp)

    def verify(self, text: bytes, signature: bytes) -> None:
        timestamp = self.timestamp_of(signature)
        verify_ed25519(self.public_key, cosignature_v1_message(text, timestamp), signature[8:])

    def vkey(self) -> str:
        return vkey_string(self.name, self.sig_type, self.public_key)


def vkey_string(name: str, sig_type: int, public_key: bytes) -> str:
    """Encode a verifier key: ``<name>+<hex key ID>+<base64(type || public key)>``."""
    _check_key_name(name)
    kid = key_id(name, sig_type, public_key)
    blob = bytes([sig_type]) + bytes(public_key)
    return f"{name}+{kid:08x}+{base64.b64encode(blob).decode('ascii')}"


def parse_vkey(vkey: str) -> Ed25519NoteVerifier | CosignatureV1Verifier:
    """Parse a verifier key of type ``0x01`` or ``0x04`` and check its key ID.

    Raises :class:`MalformedError` for a vkey that does not decode or whose ID does not match
    its key, and :class:`UsageError` for a signature type glasskey cannot verify.
    """
    if not isinstance(vkey, str):
        raise UsageError(f"a verifier key is a str, not {type(vkey).__name__}")
    parts = vkey.strip().split("+", 2)
    if len(parts) != 3:
        raise MalformedError("verifier key is not <name>+<hex key ID>+<base64 key>")
    name, hex_id, key_b64 = parts
    if not is_valid_key_name(name):
        raise MalformedError(f"verifier key has an invalid name {name!r}")
    if len(hex_id) != 8 or any(c not in "0123456789abcdef" for c in hex_id):
        raise MalformedError("verifier key ID is not 8 lowercase hex digits")
    blob = b64decode_strict(key_b64, "verifier key")
    if len(blob) < 2:
        raise MalformedError("verifier key has no key bytes after its type")
    sig_type, public_key = blob[0], blob[1:]
    if int(hex_id, 16) != key_id(name, sig_type, public_key):
        raise MalformedError(f"verifier key ID {hex_id} does not match its name and key")
    if sig_type not in (SIG_ED25519, SIG_COSIGNATURE_V1):
        raise UsageError(f"verifier key type 0x{sig_type:02x} is not supported (0x01, 0x04 are)")
    if len(public_key) != 32:
        raise MalformedError(f"verifier key has a {len(public_key)}-byte Ed25519 key, not 32")
    if sig_type == SIG_ED25519:
        return Ed25519NoteVerifier(name, public_key)
    return CosignatureV1Verifier(name, public_key)


# --------------------------------------------------------------------------------------------
# Verifying


@dataclass(frozen=True, slots=True)
class VerifiedSignature:
    """A signature line that verified, with the verifier that accepted it."""

    verifier: NoteVerifier
    signature: NoteSignature

    @property
    def timestamp(self) -> int | None:
        """The cosignature time for ``cosignature/v1`` signatures, else ``None``."""
        if isinstance(self.verifier, CosignatureV1Verifier):
            return CosignatureV1Verifier.timestamp_of(self.signature.signature)
        return None


@dataclass(frozen=True, slots=True)
class VerifiedNote:
    """A note whose text can be trusted, with the signatures that made it so."""

    note: Note
    verified: tuple[VerifiedSignature, ...]

    @property
    def text(self) -> str:
        return self.note.text

    def verified_by(self, verifier: NoteVerifier) -> bool:
        return any(
            v.verifier.name == verifier.name and v.verifier.key_id == verifier.key_id
            for v in self.verified
        )


def _index_verifiers(verifiers: Iterable[NoteVerifier]) -> dict[tuple[str, int], NoteVerifier]:
    known: dict[tuple[str, int], NoteVerifier] = {}
    for verifier in verifiers:
        slot = (verifier.name, verifier.key_id)
        if slot in known and known[slot] != verifier:
            raise UsageError(
                f"two different verifiers share name {verifier.name!r} and key ID "
                f"{verifier.key_id:08x}"
            )
        known[slot] = verifier
    return known


def verify_signatures(
    note: Note, verifiers: Iterable[NoteVerifier]
) -> tuple[VerifiedSignature, ...]:
    """The signatures of ``note`` made by known keys, all checked; possibly none.

    Unknown signatures are skipped; a known key's signature that fails raises
    :class:`SignatureError`. Use :func:`verify_note` unless "nobody signed" is acceptable
    (as it is when counting optional witness cosignatures).
    """
    known = _index_verifiers(verifiers)
    text = note.text.encode("utf-8")
    verified: list[VerifiedSignature] = []
    for sig in note.signatures:
        verifier = known.get((sig.name, sig.key_id))
        if verifier is None:
            continue
        try:
            verifier.verify(text, sig.signature)
        except SignatureError as err:
            raise SignatureError(
                f"note signature by {sig.name}+{sig.key_id:08x} does not verify ({err})"
            ) from None
        verified.append(VerifiedSignature(verifier, sig))
    return tuple(verified)


def verify_note(note: Note, verifiers: Iterable[NoteVerifier]) -> VerifiedNote:
    """Verify a parsed note against known keys (rules in the module docstring)."""
    known = _index_verifiers(verifiers)
    if not known:
        raise UsageError("no verifier keys given: a note can only be trusted against known keys")
    verified = verify_signatures(note, known.values())
    if not verified:
        names = ", ".join(sorted({f"{n}+{k:08x}" for n, k in known}))
        raise SignatureError(f"note has no signature from a known key (known: {names})")
    return VerifiedNote(note, verified)


def open_note(data: bytes | str, verifiers: Iterable[NoteVerifier]) -> VerifiedNote:
    """Parse and verify a signed note in one step; the usual entry point."""
    return verify_note(parse_note(data), verifiers)


# --------------------------------------------------------------------------------------------
# Signing


def _require_ed25519(signer: Signer) -> None:
    if signer.algorithm != ED25519:
        raise UsageError(f"note signing needs an Ed25519 signer, not {signer.algorithm!r}")


def note_verifier_for(signer: Signer, name: str) -> Ed25519NoteVerifier:
    """The ``0x01`` verifier matching notes that :func:`sign_note` makes with ``signer``."""
    _require_ed25519(signer)
    return Ed25519NoteVerifier(name, signer.public_key)


def note_signature(text: str, signer: Signer, name: str) -> NoteSignature:
    """A type ``0x01`` Ed25519 signature line for ``text`` under key name ``name``."""
    _require_ed25519(signer)
    _check_key_name(name)
    try:
        _check_text(text)
    except MalformedError as err:
        raise UsageError(f"cannot sign: {err}") from None
    sig = signer.sign(text.encode("utf-8"))
    return NoteSignature(name, key_id(name, SIG_ED25519, signer.public_key), sig)


def sign_note(text: str | Note, signer: Signer, name: str) -> Note:
    """Sign ``text`` (or add a signature to an existing note) as ``name`` with ``signer``."""
    if isinstance(text, Note):
        return text.with_signature(note_signature(text.text, signer, name))
    return Note(text, (note_signature(text, signer, name),))


def cosign_note(note: Note, signer: Signer, name: str, timestamp: int) -> Note:
    """Add a ``cosignature/v1`` (type ``0x04``) witness cosignature made at ``timestamp``."""
    _require_ed25519(signer)
    _check_key_name(name)
    if not isinstance(timestamp, int) or not 0 <= timestamp <= _MAX_TIMESTAMP:
        raise UsageError("cosignature timestamp must be an integer in 0..2^63-1")
    message = cosignature_v1_message(note.text.encode("utf-8"), timestamp)
    blob = struct.pack(">Q", timestamp) + signer.sign(message)
    kid = key_id(name, SIG_COSIGNATURE_V1, signer.public_key)
    return note.with_signature(NoteSignature(name, kid, blob))


__all__ = [
    "MAX_NOTE_SIZE",
    "MAX_SIGNATURES",
    "SIG_COSIGNATURE_V1",
    "SIG_ECDSA",
    "SIG_ED25519",
    "SIG_RFC6962_TREE_HEAD",
    "CosignatureV1Verifier",
    "Ed25519NoteVerifier",
    "Note",
    "NoteSignature",
    "NoteVerifier",
    "VerifiedNote",
    "VerifiedSignature",
    "b64decode_strict",
    "cosign_note",
    "cosignature_v1_message",
    "is_valid_key_name",
    "key_id",
    "note_signature",
    "note_verifier_for",
    "open_note",
    "parse_note",
    "parse_vkey",
    "sign_note",
    "verify_note",
    "verify_signatures",
    "vkey_string",
]
