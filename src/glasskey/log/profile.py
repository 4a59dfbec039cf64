"""glasskey's checkpoint profile: how the log signs a checkpoint and how a client opens it.

Both sides of the wire need exactly these bytes — the server (``glasskey.server._rootlog``)
to sign, every client to verify — so they live here, below both, rather than in either.

A *checkpoint* is a C2SP tlog-checkpoint (``origin``, tree size, base64 root) signed as a
C2SP note by the log key under the key name ``origin`` (signature type 0x01, Ed25519), plus a
``cosignature/v1`` (type 0x04) by the *same* key carrying the signing time. Why the second
signature: clients must reject a stale head (a server freezing their view), which needs a
signed time; the cosignature format signs ``cosignature/v1\\ntime T\\n`` + checkpoint, so the
checkpoint body stays a plain three-line tlog-checkpoint that any C2SP tool can read, and the
timestamp is as verifiable as the head itself.

Root-log leaves are ``glasskey.log.leaf`` epoch-root leaves.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

from glasskey.core.errors import MalformedError, SignatureError, UsageError
from glasskey.core.signing import Signer
from glasskey.log import checkpoint as checkpoints
from glasskey.log import note as notes
from glasskey.log.leaf import epoch_root_leaf_hash
from glasskey.log.witness import witnessed_time

__all__ = [
    "OpenedCheckpoint",
    "WitnessedCheckpoint",
    "epoch_leaf_hash",
    "open_checkpoint",
    "open_witnessed",
    "sign_checkpoint",
    "verifier_key",
]


def epoch_leaf_hash(epoch: int, root_hash: bytes) -> bytes:
    """RFC 6962 leaf hash of the root-log leaf for ``(epoch, root_hash)``."""
    try:
        return epoch_root_leaf_hash(epoch, root_hash)
    except UsageError as exc:
        raise MalformedError(str(exc)) from None


@dataclass(frozen=True, slots=True)
class OpenedCheckpoint:
    """A checkpoint verified under the profile: its head and newest signed time (Unix s)."""

    origin: str
    size: int
    root: bytes
    timestamp: int | None


def sign_checkpoint(signer: Signer, origin: str, size: int, root: bytes, timestamp: int) -> str:
    """The signed checkpoint note (Ed25519 signature + timestamped cosignature) as text."""
    body = checkpoints.Checkpoint(origin, size, root).body()
    note = notes.sign_note(body, signer, origin)
    note = notes.cosign_note(note, signer, origin, timestamp)
    return note.to_text()


def verifier_key(origin: str, public_key: bytes) -> str:
    """The vkey clients pin: ``<origin>+<key id>+<base64(0x01 || key)>``."""
    return notes.vkey_string(origin, notes.SIG_ED25519, public_key)


@lru_cache(maxsize=64)
def open_checkpoint(note_text: str, origin: str, vkey: str) -> OpenedCheckpoint:
    """Verify a checkpoint note against the pinned vkey and origin; return its contents.

    Raises ``SignatureError`` when the log key did not sign it (or a signature by it fails),
    ``MalformedError`` when the note or body does not parse. Successful openings are
    remembered by their exact text (failures are not): every lookup within an epoch carries
    the same checkpoint, whose two Ed25519 signatures need checking only once.
    """
    try:
        verifier = notes.parse_vkey(vkey)
    except UsageError as exc:
        raise SignatureError(f"pinned log key is unusable: {exc}") from None
    if not isinstance(verifier, notes.Ed25519NoteVerifier):
        raise SignatureError("pinned log key must be an Ed25519 (type 0x01) note key")
    if verifier.name != origin:
        raise SignatureError(f"pinned log key is named {verifier.name!r}, not {origin!r}")
    cosigner = notes.CosignatureV1Verifier(verifier.name, verifier.public_key)
    opened = checkpoints.open_checkpoint(
        note_text, [verifier], origin=origin, cosigners=[cosigner], cosigner_quorum=0
    )
    stamps = [s.timestamp for s in opened.cosignatures if s.timestamp is not None]
    return OpenedCheckpoint(opened.origin, opened.size, opened.root_hash,
                            max(stamps) if stamps else None)  # fmt: skip


@dataclass(frozen=True, slots=True)
class WitnessedCheckpoint:
    """A checkpoint opened under the profile and counted against pinned witness keys.

    ``witnesses``: the names of the pinned witnesses whose cosignature verified (each once).
    ``witnessed_at``: the ``threshold``-th newest of their timestamps (None below threshold).
    """

    checkpoint: OpenedCheckpoint
    witnesses: tuple[str, ...]
    witnessed_at: int | None


@lru_cache(maxsize=64)
def open_witnessed(
    note_text: str, origin: str, vkey: str, witness_vkeys: tuple[str, ...], threshold: int
) -> WitnessedCheckpoint:
    """``open_checkpoint`` plus the pinned witnesses' cosignatures, counted.

    Cosignatures by keys not in ``witness_vkeys`` are ignored; one by a pinned key that does
    not verify rejects the note (``SignatureError``), as the signed-note rules say. Fewer than
    ``threshold`` valid ones is *not* an error here: the caller decides (the client raises
    ``unwitnessed_head``). A witness key equal to the log key is refused (``UsageError``):
    the log's own timestamped signature would otherwise count as a witness.
    """
    opened = open_checkpoint(note_text, origin, vkey)
    log_key = notes.parse_vkey(vkey).public_key
    witnesses: list[notes.CosignatureV1Verifier] = []
    for text in witness_vkeys:
        witness = notes.parse_vkey(text)
        if not isinstance(witness, notes.CosignatureV1Verifier):
            raise UsageError(f"witness key {witness.name!r} is not a cosignature/v1 (0x04) key")
        if witness.public_key == log_key:
            raise UsageError("a witness key cannot be the log's own key")
        witnesses.append(witness)
    if not witnesses:
        return WitnessedCheckpoint(opened, (), None)
    distinct: dict[tuple[str, int], notes.VerifiedSignature] = {}
    for sig in notes.verify_signatures(notes.parse_note(note_text), witnesses):
        distinct.setdefault((sig.verifier.name, sig.verifier.key_id), sig)
    cosigned = tuple(distinct.values())
    at = witnessed_time(cosigned, threshold)
    return WitnessedCheckpoint(opened, tuple(s.verifier.name for s in cosigned), at)
