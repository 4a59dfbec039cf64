"""Specific verification rules of akd 0.12 (spec 9.4–9.6), each with the exact error."""

from __future__ import annotations

from dataclasses import replace

import pytest

from glasskey.core.akd import wire
from glasskey.core.akd.configuration import get_configuration
from glasskey.core.akd.types import HistoryParams, HistoryVerification, VerifyResult
from glasskey.core.akd.verify import key_history_verify, lookup_verify
from glasskey.core.errors import HistoryProofError, LookupProofError, MalformedError
from tests.vectors import akd_vector

NAME = "whatsapp_v1"
CONFIG = get_configuration(NAME)
V = akd_vector(NAME)


def _history(proof: object, params: HistoryParams, **kw: object) -> list[VerifyResult]:
    return key_history_verify(
        CONFIG,
        V.vrf_public_key,
        V.epoch_hash,
        V.epoch,
        V.label,
        proof,
        params,
        **kw,  # type: ignore[arg-type]
    )


def test_tombstoned_values_pass_only_with_allow_missing_values() -> None:
    proof = wire.decode_history_proof(V.history_complete)
    updates = list(proof.update_proofs)
    updates[1] = replace(updates[1], value=b"")  # version 2 tombstoned
    tombstoned = replace(proof, update_proofs=tuple(updates))
    with pytest.raises(HistoryProofError, match="hash of plaintext value did not match"):
        _history(tombstoned, HistoryParams.complete())
    results = _history(
        tombstoned, HistoryParams.complete(), verification=HistoryVerification.ALLOW_MISSING_VALUES
    )
    assert results == [
        VerifyResult(48, 3, b"16,48"),
        VerifyResult(32, 2, b""),
        VerifyResult(16, 1, b"16,16"),
    ]


def test_history_most_recent_counts() -> None:
    with pytest.raises(HistoryProofError, match=r"more than MostRecent\(2\)"):
        _history(V.history_complete, HistoryParams.most_recent_n(2))
    # Complete proof (3 updates) is also a valid MostRecent(3) and MostRecent(4) proof.
    assert len(_history(V.history_complete, HistoryParams.most_recent_n(3))) == 3
    assert len(_history(V.history_complete, HistoryParams.most_recent_n(4))) == 3
    with pytest.raises(
        HistoryProofError, match="fewer than 2 updates but does not reach version 1"
    ):
        _history(V.history_most_recent_1, HistoryParams.most_recent_n(2))


def test_history_needs_updates_and_consecutive_versions() -> None:
    proof = wire.decode_history_proof(V.history_complete)
    with pytest.raises(HistoryProofError, match="no update proofs"):
        _history(replace(proof, update_proofs=()), HistoryParams.complete())
    gap = (proof.update_proofs[0], proof.update_proofs[2])
    with pytest.raises(HistoryProofError, match="not consecutive"):
        _history(replace(proof, update_proofs=gap), HistoryParams.complete())
    with pytest.raises(HistoryProofError, match="greater than current epoch"):
        key_history_verify(
            CONFIG, V.vrf_public_key, V.epoch_hash, 2, V.label, proof, HistoryParams.complete()
        )


def test_lookup_version_rules() -> None:
    proof = wire.decode_lookup_proof(V.lookup_proof)
    with pytest.raises(LookupProofError, match="proof version 3 is greater than current epoch 2"):
        lookup_verify(CONFIG, V.vrf_public_key, V.epoch_hash, 2, V.label, proof)
    with pytest.raises(LookupProofError, match="version 0 is invalid"):
        lookup_verify(
            CONFIG, V.vrf_public_key, V.epoch_hash, 49, V.label, replace(proof, version=0)
        )


@pytest.mark.parametrize("root", [b"", b"\x00" * 31, b"\x00" * 33])
def test_root_hash_must_be_32_bytes(root: bytes) -> None:
    with pytest.raises(MalformedError, match="root hash must be 32 bytes"):
        lookup_verify(CONFIG, V.vrf_public_key, root, 49, V.label, V.lookup_proof)


def test_wrong_vrf_key_is_rejected() -> None:
    from glasskey.core.ecvrf import VrfSecretKey
    from glasskey.core.errors import VrfError

    other = VrfSecretKey(b"\x01" * 32).public_key
    with pytest.raises(VrfError):
        lookup_verify(CONFIG, other, V.epoch_hash, 49, V.label, V.lookup_proof)
