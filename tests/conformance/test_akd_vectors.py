"""facebook/akd 0.12 test vectors: decode, re-encode byte-identically, and verify."""

from __future__ import annotations

import pytest

from glasskey.core.akd import wire
from glasskey.core.akd.configuration import get_configuration
from glasskey.core.akd.types import HistoryParams, VerifyResult
from glasskey.core.akd.verify import key_history_verify, lookup_verify, membership_root
from tests.vectors import akd_vector

CONFIGS = ["whatsapp_v1", "experimental"]
EXPECTED_HISTORY = [
    VerifyResult(48, 3, b"16,48"),
    VerifyResult(32, 2, b"16,32"),
    VerifyResult(16, 1, b"16,16"),
]


@pytest.mark.parametrize("name", CONFIGS)
def test_vectors_reencode_byte_identically(name: str) -> None:
    v = akd_vector(name)
    assert wire.encode_lookup_proof(wire.decode_lookup_proof(v.lookup_proof)) == v.lookup_proof
    for blob in (v.history_most_recent_1, v.history_complete):
        assert wire.encode_history_proof(wire.decode_history_proof(blob)) == blob


@pytest.mark.parametrize("name", CONFIGS)
def test_lookup_vector_verifies(name: str) -> None:
    v = akd_vector(name)
    config = get_configuration(name)
    result = lookup_verify(config, v.vrf_public_key, v.epoch_hash, v.epoch, v.label, v.lookup_proof)
    assert result == VerifyResult(48, 3, b"16,48")


@pytest.mark.parametrize("name", CONFIGS)
def test_history_vectors_verify(name: str) -> None:
    v = akd_vector(name)
    config = get_configuration(name)
    complete = key_history_verify(
        config, v.vrf_public_key, v.epoch_hash, v.epoch, v.label, v.history_complete,
        HistoryParams.complete(),
    )  # fmt: skip
    assert complete == EXPECTED_HISTORY
    recent = key_history_verify(
        config, v.vrf_public_key, v.epoch_hash, v.epoch, v.label, v.history_most_recent_1,
        HistoryParams.most_recent_n(1),
    )  # fmt: skip
    assert recent == EXPECTED_HISTORY[:1]


@pytest.mark.parametrize(("name", "depth"), [("whatsapp_v1", 8), ("experimental", 6)])
def test_existence_path_reaches_epoch_hash(name: str, depth: int) -> None:
    """The spec's section 15 numbers: path depth and the published epoch-49 hash."""
    v = akd_vector(name)
    proof = wire.decode_lookup_proof(v.lookup_proof)
    assert len(proof.existence_proof.sibling_proofs) == depth
    assert membership_root(get_configuration(name), proof.existence_proof) == v.epoch_hash


@pytest.mark.parametrize("name", CONFIGS)
def test_history_params_must_match(name: str) -> None:
    """MostRecent(1) bytes checked as Complete fail: the counts are part of the contract."""
    from glasskey.core.errors import HistoryProofError

    v = akd_vector(name)
    with pytest.raises(HistoryProofError, match="must start at version 1"):
        key_history_verify(
            get_configuration(name), v.vrf_public_key, v.epoch_hash, v.epoch, v.label,
            v.history_most_recent_1, HistoryParams.complete(),
        )  # fmt: skip
