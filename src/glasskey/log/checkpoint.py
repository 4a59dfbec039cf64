"""C2SP tlog-checkpoint (https://c2sp.org/tlog-checkpoint): the signed tree head of a log.

A checkpoint is a signed note whose text is exactly::

    <origin>\\n
    <tree size, ASCII decimal, no leading zeros>\\n
    <base64 of the 32-byte RFC 6962 root hash>\\n
    [<non-empty extension line>\\n ...]

glasskey signs one after every epoch it appends to the epoch-root log; clients verify it
with the log's Ed25519 verifier key, optionally demand a quorum of witness cosignatures,
and then check inclusion and consistency proofs against its root. Using the C2SP format
(rather than a home-grown one) means existing witnesses and tools can cosign and inspect
glasskey's log without knowing anything about glasskey.
"""

from __future__ import annotations

import base64
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from glasskey.core.errors import MalformedError, SignatureError, UsageError
from glasskey.core.signing import Signer
from glasskey.log.note import (
    Note,
    NoteVerifier,
    VerifiedNote,
    VerifiedSignature,
    b64decode_strict,
    parse_note,
    sign_note,
    verify_note,
    verify_signatures,
)
from glasskey.log.rfc6962 import HASH_SIZE, MAX_TREE_SIZE

_SIZE_RE = re.compile(r"0|[1-9][0-9]*", re.ASCII)


@dataclass(frozen=True, slots=True)
class Checkpoint:
    """An unsigned checkpoint body: origin, tree size, root hash and extension lines."""

    origin: str
    size: int
    root_hash: bytes
    extensions: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        if not isinstance(self.origin, str) or not self.origin or "\n" in self.origin:
            raise UsageError("checkpoint origin must be one non-empty line")
        if any(ord(ch) < 0x20 for ch in self.origin):
            raise UsageError("checkpoint origin contains a control character")
        if not isinstance(self.size, int) or not 0 <= self.size <= MAX_TREE_SIZE:
            raise UsageError(f"checkpoint size {self.size!r} is not a uint64")
        if not isinstance(self.root_hash, bytes) or len(self.root_hash) != HASH_SIZE:
            raise UsageError(f"checkpoint root hash must be {HASH_SIZE} bytes")
        object.__setattr__(self, "extensions", tuple(self.extensions))
        for line in self.extensions:
            if not line or "\n" in line or any(ord(ch) < 0x20 for ch in line):
                raise UsageError("checkpoint extension lines must be non-empty single lines")

    def body(self) -> str:
        """The note text this checkpoint signs (ends with a newline)."""
        root = base64.b64encode(self.root_hash).decode("ascii")
        lines = [self.origin, str(self.size), root, *self.extensions]
        return "\n".join(lines) + "\n"

    @classmethod
    def parse(cls, text: str) -> Checkpoint:
        """Parse a checkpoint body strictly; raise :class:`MalformedError` with the reason."""
        if not isinstance(text, str):
            raise UsageError(f"a checkpoint body is a str, not {type(text).__name__}")
        if not text.endswith("\n"):
            raise MalformedError("checkpoint body does not end with a newline")
        lines = text[:-1].split("\n")
        if len(lines) < 3:
            raise MalformedError(f"checkpoint body has {len(lines)} lines, needs at least 3")
        origin, size_text, root_text, *extensions = lines
        if not origin:
            raise MalformedError("checkpoint origin line is empty")
        if any(ord(ch) < 0x20 for ch in text if ch != "\n"):
            raise MalformedError("checkpoint body contains a control character")
        if not _SIZE_RE.fullmatch(size_text):
            raise MalformedError(
                f"checkpoint size {size_text[:40]!r} is not a decimal without leading zeros"
            )
        size = int(size_text)
        if size > MAX_TREE_SIZE:
            raise MalformedError("checkpoint size does not fit in 64 bits")
        root = b64decode_strict(root_text, "checkpoint root hash")
        if len(root) != HASH_SIZE:
            raise MalformedError(f"checkpoint root hash is {len(root)} bytes, not {HASH_SIZE}")
        for i, line in enumerate(extensions):
            if not line:
                raise MalformedError(f"checkpoint extension line {i + 1} is empty")
        return cls(origin, size, root, tuple(extensions))


@dataclass(frozen=True, slots=True)
class VerifiedCheckpoint:
    """A checkpoint whose signature (and cosignature quorum, if asked) checked out."""

    checkpoint: Checkpoint
    note: VerifiedNote
    cosignatures: tuple[VerifiedSignature, ...] = ()

    @property
    def origin(self) -> str:
        return self.checkpoint.origin

    @property
    def size(self) -> int:
        return self.checkpoint.size

    @property
    def root_hash(self) -> bytes:
        return self.checkpoint.root_hash


def sign_checkpoint(checkpoint: Checkpoint, signer: Signer, name: str | None = None) -> str:
    """The signed checkpoint note (wire text). The key name defaults to the origin."""
    return sign_note(checkpoint.body(), signer, name or checkpoint.origin).to_text()


def parse_checkpoint(data: bytes | str) -> tuple[Checkpoint, Note]:
    """Parse a signed checkpoint *without* verifying it (for display and debugging only)."""
    note = parse_note(data)
    return Checkpoint.parse(note.text), note


def open_checkpoint(
    data: bytes | str,
    verifiers: Iterable[NoteVerifier],
    *,
    origin: str | None = None,
    cosigners: Sequence[NoteVerifier] = (),
    cosigner_quorum: int = 0,
) -> VerifiedCheckpoint:
    """Parse and verify a signed checkpoint.

    ``verifiers`` are the log's own keys: at least one must have signed (note rules: unknown
    signatures are ignored, a bad signature from a known key rejects the note). ``origin``, if
    given, must equal the checkpoint's origin line, so a checkpoint of another log signed with
    a shared key cannot be substituted. ``cosigners`` are witness keys (typically
    :class:`~glasskey.log.note.CosignatureV1Verifier`); at least ``cosigner_quorum`` distinct
    ones must have cosigned.
    """
    if cosigner_quorum < 0 or cosigner_quorum > len(cosigners):
        raise UsageError(f"cosigner quorum {cosigner_quorum} is not in 0..{len(cosigners)}")
    note = parse_note(data)
    checkpoint = Checkpoint.parse(note.text)
    log_keys = list(verifiers)
    verified = verify_note(note, log_keys)
    if origin is not None and checkpoint.origin != origin:
        raise SignatureError(f"checkpoint is for log {checkpoint.origin!r}, expected {origin!r}")
    # Witness keys that are also log keys would count the log's own signature as a witness.
    log_slots = {(v.name, v.key_id) for v in log_keys}
    witnesses = [c for c in cosigners if (c.name, c.key_id) not in log_slots]
    distinct: dict[tuple[str, int], VerifiedSignature] = {}
    for sig in verify_signatures(note, witnesses):
        distinct.setdefault((sig.verifier.name, sig.verifier.key_id), sig)
    cosigned = tuple(distinct.values())
    if len(cosigned) < cosigner_quorum:
        raise SignatureError(
            f"checkpoint has {len(cosigned)} valid cosignatures, quorum is {cosigner_quorum}"
        )
    return VerifiedCheckpoint(checkpoint, verified, cosigned)


__all__ = [
    "Checkpoint",
    "VerifiedCheckpoint",
    "open_checkpoint",
    "parse_checkpoint",
    "sign_checkpoint",
]
