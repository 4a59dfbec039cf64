"""Checkpoints: exact body format, signing with a Signer, opening with keys and witnesses."""

from __future__ import annotations

import pytest

from glasskey.core.errors import SignatureError, UsageError
from glasskey.core.signing import Ed25519Signer
from glasskey.log.checkpoint import Checkpoint, open_checkpoint, parse_checkpoint, sign_checkpoint
from glasskey.log.leaf import EpochRoot
from glasskey.log.note import (
    CosignatureV1Verifier,
    cosign_note,
    note_verifier_for,
    parse_note,
)
from glasskey.log.rfc6962 import EMPTY_ROOT, CompactRange

LOG = Ed25519Signer.from_seed(b"\x01" * 32)
W1 = Ed25519Signer.from_seed(b"\x02" * 32)
W2 = Ed25519Signer.from_seed(b"\x03" * 32)
ORIGIN = "glasskey.local/log"


def test_body_exact() -> None:
    cp = Checkpoint(ORIGIN, 0, EMPTY_ROOT)
    assert cp.body() == ("glasskey.local/log\n0\n47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=\n")
    with_ext = Checkpoint(ORIGIN, 12, EMPTY_ROOT, ("ext one", "two"))
    assert with_ext.body().endswith("=\next one\ntwo\n")
    assert Checkpoint.parse(with_ext.body()) == with_ext


def test_sign_and_open_round_trip() -> None:
    tree = CompactRange()
    for epoch in range(1, 6):
        tree.append(EpochRoot(epoch, bytes([epoch]) * 32).leaf_hash())
    cp = Checkpoint(ORIGIN, tree.size, tree.root())
    wire = sign_checkpoint(cp, LOG)
    opened = open_checkpoint(wire, [note_verifier_for(LOG, ORIGIN)], origin=ORIGIN)
    assert opened.checkpoint == cp and opened.size == 5 and opened.root_hash == tree.root()
    assert parse_checkpoint(wire)[0] == cp
    # A different key name than the origin is allowed (though not recommended).
    wire2 = sign_checkpoint(cp, LOG, name="keys.example/log-2026")
    assert open_checkpoint(wire2, [note_verifier_for(LOG, "keys.example/log-2026")]).size == 5


def test_witness_quorum() -> None:
    cp = Checkpoint(ORIGIN, 1, b"\x07" * 32)
    note = parse_note(sign_checkpoint(cp, LOG))
    w1 = CosignatureV1Verifier("w1.example", W1.public_key)
    w2 = CosignatureV1Verifier("w2.example", W2.public_key)
    log_key = [note_verifier_for(LOG, ORIGIN)]

    once = cosign_note(note, W1, "w1.example", 1_700_000_000)
    twice = cosign_note(once, W2, "w2.example", 1_700_000_005)

    opened = open_checkpoint(twice.to_text(), log_key, cosigners=[w1, w2], cosigner_quorum=2)
    assert [c.timestamp for c in opened.cosignatures] == [1_700_000_000, 1_700_000_005]
    assert len(open_checkpoint(once.to_text(), log_key, cosigners=[w1, w2]).cosignatures) == 1
    with pytest.raises(SignatureError, match="1 valid cosignatures, quorum is 2"):
        open_checkpoint(once.to_text(), log_key, cosigners=[w1, w2], cosigner_quorum=2)
    # The same witness twice still counts once.
    doubled = cosign_note(once, W1, "w1.example", 1_700_000_009)
    with pytest.raises(SignatureError, match="1 valid cosignatures, quorum is 2"):
        open_checkpoint(doubled.to_text(), log_key, cosigners=[w1, w2], cosigner_quorum=2)
    # Cosignatures never stand in for the log's own signature.
    with pytest.raises(SignatureError, match="no signature from a known key"):
        open_checkpoint(twice.to_text(), [note_verifier_for(W1, ORIGIN)], cosigners=[w1, w2])
    with pytest.raises(UsageError, match=r"quorum 3 is not in 0..2"):
        open_checkpoint(twice.to_text(), log_key, cosigners=[w1, w2], cosigner_quorum=3)


def test_bad_witness_signature_rejects() -> None:
    cp = Checkpoint(ORIGIN, 1, b"\x07" * 32)
    note = parse_note(sign_checkpoint(cp, LOG))
    # A genuine w1 cosignature, but of another checkpoint, pasted under this one.
    other_body = parse_note(sign_checkpoint(Checkpoint(ORIGIN, 2, b"\x07" * 32), LOG))
    stolen = cosign_note(other_body, W1, "w1.example", 5).signatures[-1]
    forged = note.with_signature(stolen)
    w1 = CosignatureV1Verifier("w1.example", W1.public_key)
    with pytest.raises(SignatureError, match=r"w1.example.* does not verify"):
        open_checkpoint(forged.to_text(), [note_verifier_for(LOG, ORIGIN)], cosigners=[w1])


def test_invalid_checkpoint_values() -> None:
    with pytest.raises(UsageError, match="origin"):
        Checkpoint("", 1, EMPTY_ROOT)
    with pytest.raises(UsageError, match="origin"):
        Checkpoint("two\nlines", 1, EMPTY_ROOT)
    with pytest.raises(UsageError, match="uint64"):
        Checkpoint(ORIGIN, -1, EMPTY_ROOT)
    with pytest.raises(UsageError, match="32 bytes"):
        Checkpoint(ORIGIN, 1, b"")
    with pytest.raises(UsageError, match="extension"):
        Checkpoint(ORIGIN, 1, EMPTY_ROOT, ("",))
