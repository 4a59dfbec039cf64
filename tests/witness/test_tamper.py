"""Property tests: any single-byte tamper of a cosigned checkpoint or of fork evidence is
refused with a typed error — or changes nothing that was vouched for."""

from __future__ import annotations

import contextlib

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from glasskey.core.errors import GlasskeyError
from glasskey.core.signing import Ed25519Signer
from glasskey.log.forkevidence import ForkEvidence, PrefixProof, verify_fork_evidence
from glasskey.log.note import CosignatureV1Verifier, cosign_note, parse_note
from glasskey.log.profile import open_witnessed, sign_checkpoint, verifier_key
from glasskey.log.rfc6962 import MemoryHashStore, prove_consistency
from glasskey.log.witness import parse_add_checkpoint

ORIGIN = "glasskey.local/log"
LOG = Ed25519Signer.from_seed(bytes(range(32)))
WITNESS = Ed25519Signer.from_seed(bytes(range(5, 37)))
W_VKEY = CosignatureV1Verifier("w.test", WITNESS.public_key).vkey()
VKEY = verifier_key(ORIGIN, LOG.public_key)


def trees() -> tuple[MemoryHashStore, MemoryHashStore]:
    a, b = MemoryHashStore(), MemoryHashStore()
    for i in range(7):
        a.append(bytes([i]) * 32)
        b.append(bytes([i if i < 3 else i + 50]) * 32)
    return a, b


A, B = trees()


def cosigned(size: int, tree: MemoryHashStore = A) -> str:
    note = sign_checkpoint(LOG, ORIGIN, size, tree.root(size), 1_767_000_000)
    return cosign_note(parse_note(note), WITNESS, "w.test", 1_767_000_100).to_text()


NOTE = cosigned(5)
ORIGINAL = open_witnessed(NOTE, ORIGIN, VKEY, (W_VKEY,), 1)


def tamper(data: bytes, index: int, value: int) -> bytes:
    i = index % len(data)
    new = (data[i] + 1 + value % 255) % 256  # never the same byte
    return data[:i] + bytes([new]) + data[i + 1 :]


def test_original_is_witnessed() -> None:
    assert ORIGINAL.witnesses == ("w.test",)
    assert ORIGINAL.witnessed_at == 1_767_000_100


@settings(max_examples=400, deadline=None)
@given(st.integers(min_value=0), st.integers(min_value=0))
def test_tampered_cosigned_note(index: int, value: int) -> None:
    data = tamper(NOTE.encode(), index, value)
    text = data.decode("utf-8", errors="surrogateescape")
    try:
        opened = open_witnessed(text, ORIGIN, VKEY, (W_VKEY,), 1)
    except GlasskeyError:
        return  # refused with a typed error
    # Accepted at all: then nothing vouched for changed (a tamper of an ignorable line, e.g.
    # the key name of a signature nobody pinned) — and it is never still 1-of-1 witnessed
    # with another body.
    assert opened.checkpoint.size == 5 and opened.checkpoint.root == A.root(5)
    assert parse_note(text).text == parse_note(NOTE).text
    if opened.witnesses:
        assert opened.witnessed_at == 1_767_000_100


SAME = ForkEvidence(ORIGIN, VKEY, (cosigned(5), cosigned(5, B))).to_json()
proof = tuple(prove_consistency(B, 5, 7))
PREFIXED = ForkEvidence(
    ORIGIN, VKEY, (cosigned(5), cosigned(7, B)), PrefixProof(5, 7, B.root(5), proof)
).to_json()


@pytest.mark.parametrize("evidence", [SAME, PREFIXED])
def test_evidence_proves(evidence: str) -> None:
    fork = verify_fork_evidence(evidence)
    assert fork.first.root == A.root(5) and fork.second.root in (B.root(5), B.root(7))


@settings(max_examples=300, deadline=None)
@given(st.sampled_from([SAME, PREFIXED]), st.integers(min_value=0), st.integers(min_value=0))
def test_tampered_fork_evidence(evidence: str, index: int, value: int) -> None:
    data = tamper(evidence.encode(), index, value)
    original = verify_fork_evidence(evidence)
    try:
        fork = verify_fork_evidence(data)
    except GlasskeyError:
        return
    # Still a proof: then of the very same two signed heads (JSON whitespace, an ignorable
    # signature line's name...), never of something else.
    assert (fork.first.size, fork.first.root, fork.second.size, fork.second.root) == (
        original.first.size,
        original.first.root,
        original.second.size,
        original.second.root,
    )


@settings(max_examples=200, deadline=None)
@given(st.binary(max_size=300))
def test_add_checkpoint_parser_only_raises_typed_errors(data: bytes) -> None:
    with contextlib.suppress(GlasskeyError):
        parse_add_checkpoint(b"old 3\n" + data)


def test_consistent_heads_are_not_a_fork() -> None:
    from glasskey.core.errors import ConsistencyError, SignatureError
    from glasskey.log.forkevidence import implied_prefix_root

    good = tuple(prove_consistency(A, 5, 7))
    assert implied_prefix_root(5, 7, good, A.root(7)) == A.root(5)
    assert implied_prefix_root(4, 7, tuple(prove_consistency(A, 4, 7)), A.root(7)) is None
    assert implied_prefix_root(5, 7, proof, B.root(7)) == B.root(5)
    consistent = ForkEvidence(
        ORIGIN, VKEY, (cosigned(5), cosigned(7)), PrefixProof(5, 7, A.root(5), good)
    )
    with pytest.raises(ConsistencyError, match="extends"):
        verify_fork_evidence(consistent.to_json())
    with pytest.raises(ConsistencyError, match="same size and root"):
        verify_fork_evidence(ForkEvidence(ORIGIN, VKEY, (cosigned(5), cosigned(5))).to_json())
    with pytest.raises(ConsistencyError, match="need a consistency proof"):
        verify_fork_evidence(ForkEvidence(ORIGIN, VKEY, (cosigned(5), cosigned(7, B))).to_json())
    other = verifier_key(ORIGIN, WITNESS.public_key)  # evidence under a key that signed nothing
    with pytest.raises(SignatureError):
        verify_fork_evidence(ForkEvidence(ORIGIN, other, (cosigned(5), cosigned(5, B))).to_json())
