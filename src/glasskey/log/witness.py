"""C2SP tlog-witness wire formats and witness cosignature quorums (https://c2sp.org/tlog-witness).

Pure (no I/O), shared by the three parties that speak it: the log (``glasskey serve``
submits each checkpoint to its witnesses), glasskey's own witness (``glasskey witness
serve``) and the verifying client (which counts valid cosignatures against a threshold).

* ``add-checkpoint`` request body: ``old <size>\\n``, up to 63 base64 consistency-proof lines,
  an empty line, then the signed checkpoint note (:class:`AddCheckpoint`).
* ``200`` answer: one or more note signature lines (:func:`parse_signature_lines`), which the
  log appends to its own note (:func:`attach_signatures`): one checkpoint, every cosignature.
* ``409`` answer: ``text/x.tlog.size``, the witness's latest cosigned size and a newline
  (:func:`parse_size_body`).

Why the witness timestamp matters to clients (:func:`witnessed_time`): a witness only ever
cosigns a checkpoint at least as large as, and consistent with, the last one it cosigned, so a
cosignature made at time T says "at T, this was the newest head I knew". The k-th newest
timestamp among k required witnesses bounds how stale a head can be without the log's
cooperation — which the log's own timestamp cannot do, since the log signs it itself.
"""

from __future__ import annotations

import base64
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from glasskey.core.errors import MalformedError, UsageError
from glasskey.log.checkpoint import Checkpoint
from glasskey.log.note import (
    CosignatureV1Verifier,
    Note,
    NoteSignature,
    VerifiedSignature,
    b64decode_strict,
    parse_note,
    parse_vkey,
)
from glasskey.log.rfc6962 import HASH_SIZE, MAX_TREE_SIZE

#: The spec's limit on consistency-proof lines in one request.
MAX_PROOF_LINES = 63
#: Largest ``add-checkpoint`` body a witness reads (a checkpoint plus 63 hashes is ~4 KiB;
#: many signature lines fit too). Anything larger is refused before parsing.
MAX_REQUEST_BYTES = 64 * 1024
#: Largest answer (signature lines) a log reads from a witness.
MAX_RESPONSE_BYTES = 16 * 1024
#: The ``Content-Type`` of a 409 answer.
SIZE_CONTENT_TYPE = "text/x.tlog.size"

_SIZE_RE = re.compile(r"0|[1-9][0-9]{0,19}", re.ASCII)


def _parse_size(text: str, what: str) -> int:
    if not _SIZE_RE.fullmatch(text) or int(text) > MAX_TREE_SIZE:
        raise MalformedError(f"{what} {text[:24]!r} is not a decimal size without leading zeros")
    return int(text)


def parse_witness_vkey(vkey: str) -> CosignatureV1Verifier:
    """A witness verifier key: ``<name>+<hex id>+base64(0x04 || Ed25519 key)``.

    Only ``cosignature/v1`` (type 0x04) keys are witness keys: a plain Ed25519 (0x01) key
    signs the note itself, without a time, and would let a log key pass as a witness.
    Raises :class:`UsageError` for another type, :class:`MalformedError` for a bad vkey.
    """
    verifier = parse_vkey(vkey)
    if not isinstance(verifier, CosignatureV1Verifier):
        raise UsageError(
            f"witness key {verifier.name!r} is a type 0x01 key; witness keys are cosignature/v1 "
            "(type 0x04) verifier keys"
        )
    return verifier


@dataclass(frozen=True, slots=True)
class AddCheckpoint:
    """One ``add-checkpoint`` request: the size the witness is believed to know, the
    consistency proof from it, and the signed checkpoint note (wire text)."""

    old_size: int
    proof: tuple[bytes, ...]
    note: str

    def __post_init__(self) -> None:
        if not isinstance(self.old_size, int) or not 0 <= self.old_size <= MAX_TREE_SIZE:
            raise UsageError(f"old size {self.old_size!r} is not a uint64")
        object.__setattr__(self, "proof", tuple(self.proof))
        if len(self.proof) > MAX_PROOF_LINES:
            raise UsageError(f"a consistency proof has at most {MAX_PROOF_LINES} hashes")
        if any(len(h) != HASH_SIZE for h in self.proof):
            raise UsageError(f"consistency proof hashes are {HASH_SIZE} bytes")

    def to_bytes(self) -> bytes:
        lines = [f"old {self.old_size}\n"]
        lines += [base64.b64encode(h).decode("ascii") + "\n" for h in self.proof]
        return ("".join(lines) + "\n" + self.note).encode("utf-8")

    def checkpoint(self) -> tuple[Checkpoint, Note]:
        """The parsed (not verified) checkpoint and its note."""
        note = parse_note(self.note)
        return Checkpoint.parse(note.text), note


def parse_add_checkpoint(body: bytes) -> AddCheckpoint:
    """Parse an ``add-checkpoint`` body strictly; :class:`MalformedError` with the reason.

    The checkpoint note is parsed too (a witness answers 400 for a body it cannot read), but
    its signatures are not verified here.
    """
    if len(body) > MAX_REQUEST_BYTES:
        raise MalformedError(f"request is {len(body)} bytes, more than {MAX_REQUEST_BYTES}")
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError:
        raise MalformedError("request is not valid UTF-8") from None
    head, sep, note = text.partition("\n\n")
    if not sep:
        raise MalformedError("request has no empty line before the checkpoint")
    lines = head.split("\n")
    first, proof_lines = lines[0], lines[1:]
    if not first.startswith("old "):
        raise MalformedError("request does not start with an 'old <size>' line")
    old_size = _parse_size(first[4:], "old size")
    if len(proof_lines) > MAX_PROOF_LINES:
        raise MalformedError(f"request has {len(proof_lines)} proof lines, at most 63 allowed")
    proof = []
    for i, line in enumerate(proof_lines):
        raw = b64decode_strict(line, f"consistency proof line {i + 1}")
        if len(raw) != HASH_SIZE:
            raise MalformedError(f"consistency proof line {i + 1} is not a {HASH_SIZE}-byte hash")
        proof.append(raw)
    request = AddCheckpoint(old_size, tuple(proof), note)
    request.checkpoint()  # refuses an unreadable checkpoint now
    return request


def parse_size_body(body: bytes) -> int:
    """The size in a 409 ``text/x.tlog.size`` answer: a decimal and a newline."""
    try:
        text = body.decode("ascii")
    except UnicodeDecodeError:
        raise MalformedError("size answer is not ASCII") from None
    if not text.endswith("\n"):
        raise MalformedError("size answer does not end with a newline")
    return _parse_size(text[:-1], "size answer")


def parse_signature_lines(body: bytes) -> tuple[NoteSignature, ...]:
    """The note signature lines of a witness's ``200`` answer (at least one)."""
    if len(body) > MAX_RESPONSE_BYTES:
        raise MalformedError(f"witness answer is more than {MAX_RESPONSE_BYTES} bytes")
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError:
        raise MalformedError("witness answer is not valid UTF-8") from None
    if not text.endswith("\n") or text == "\n":
        raise MalformedError("witness answer is not newline-terminated signature lines")
    return tuple(NoteSignature.from_line(line) for line in text[:-1].split("\n"))


def signature_lines(signatures: Iterable[NoteSignature]) -> bytes:
    """What a witness answers: the signature lines, each ending in a newline."""
    return "".join(sig.to_line() for sig in signatures).encode("utf-8")


def attach_signatures(note_text: str, signatures: Iterable[NoteSignature]) -> str:
    """``note_text`` with ``signatures`` added: one note, every signature line.

    A signature whose (key name, key ID) the note already has replaces the old one (a
    witness's newer cosignature of the same checkpoint carries a newer time); the log's own
    lines keep their place and order.
    """
    note = parse_note(note_text)
    lines = list(note.signatures)
    slots = {(sig.name, sig.key_id): i for i, sig in enumerate(lines)}
    for sig in signatures:
        slot = (sig.name, sig.key_id)
        if slot in slots:
            lines[slots[slot]] = sig
        else:
            slots[slot] = len(lines)
            lines.append(sig)
    return Note(note.text, tuple(lines)).to_text()


def witnessed_time(cosignatures: Sequence[VerifiedSignature], threshold: int) -> int | None:
    """The newest time at which ``threshold`` distinct witnesses had all cosigned: the
    ``threshold``-th newest cosignature timestamp (None when fewer cosigned, or threshold 0)."""
    if threshold <= 0:
        return None
    stamps = sorted((s.timestamp for s in cosignatures if s.timestamp is not None), reverse=True)
    return stamps[threshold - 1] if len(stamps) >= threshold else None


__all__ = [
    "MAX_PROOF_LINES",
    "MAX_REQUEST_BYTES",
    "MAX_RESPONSE_BYTES",
    "SIZE_CONTENT_TYPE",
    "AddCheckpoint",
    "attach_signatures",
    "parse_add_checkpoint",
    "parse_signature_lines",
    "parse_size_body",
    "parse_witness_vkey",
    "signature_lines",
    "witnessed_time",
]
