"""Proofs of absence and fixed-version proofs: honest ones verify; every single-byte tamper,
truncation, wrong label, wrong version and wrong epoch is refused with a typed error."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from glasskey.core.akd._absence import AbsenceProof, absence_verify, decode_absence_proof
from glasskey.core.akd._version import version_verify
from glasskey.core.akd.types import VerifyResult
from glasskey.core.akd.wire import encode_update_proof
from glasskey.core.errors import (
    AbsenceProofError,
    MalformedError,
    VerificationError,
    VersionProofError,
)
from glasskey.directory import Directory, LabelNotFound
from tests.vectors import AKD_TEST_VRF_SEED

CONFIGS = ["whatsapp_v1", "experimental"]


def _directory(name: str) -> Directory:
    directory = Directory.in_memory(name, vrf_seed=AKD_TEST_VRF_SEED)
    directory.publish([(f"user{i}".encode(), b"key-1") for i in range(40)])
    directory.publish([(b"user3", b"key-2"), (b"user5", b"key-2")])
    directory.publish([(b"user3", b"key-3")])
    return directory


@pytest.fixture(scope="module", params=CONFIGS)
def directory(request: pytest.FixtureRequest) -> Directory:
    return _directory(request.param)


# -- absence -------------------------------------------------------------------------------------


def _absence(directory: Directory, label: bytes) -> tuple[AbsenceProof, bytes]:
    proof, epoch_hash = directory.lookup_or_absence(label)
    assert isinstance(proof, AbsenceProof)
    return proof, epoch_hash.root_hash


def _absence_verifier(directory: Directory, label: bytes, root: bytes) -> Callable[..., None]:
    def verify(vrf_proof: bytes, non_membership: bytes) -> None:
        proof = decode_absence_proof(vrf_proof, non_membership)
        absence_verify(directory.config, directory.vrf_public_key, root, label, proof)

    return verify


def test_honest_absence_verifies_and_present_labels_get_lookups(directory: Directory) -> None:
    proof, root = _absence(directory, b"nobody")
    absence_verify(directory.config, directory.vrf_public_key, root, b"nobody", proof)
    vrf_proof, encoded = proof.encoded()
    assert len(vrf_proof) == 80
    assert decode_absence_proof(vrf_proof, encoded) == proof
    found, _ = directory.lookup_or_absence(b"user3")
    assert not isinstance(found, AbsenceProof)
    assert found.version == 3


def test_absence_of_another_label_is_refused(directory: Directory) -> None:
    proof, root = _absence(directory, b"nobody")
    with pytest.raises(AbsenceProofError, match="not about label"):
        absence_verify(directory.config, directory.vrf_public_key, root, b"nobody2", proof)
    # A present user cannot be "proven" absent with someone else's proof either.
    with pytest.raises(AbsenceProofError):
        absence_verify(directory.config, directory.vrf_public_key, root, b"user3", proof)


def test_absence_against_another_epoch_root_is_refused(directory: Directory) -> None:
    proof, _ = _absence(directory, b"nobody")
    older = directory.epoch_root(2)
    with pytest.raises(AbsenceProofError, match="missing from the tree"):
        absence_verify(directory.config, directory.vrf_public_key, older, b"nobody", proof)


def test_a_later_publication_invalidates_the_absence() -> None:
    directory = _directory("whatsapp_v1")
    proof, _ = _absence(directory, b"late")
    directory.publish([(b"late", b"k")])
    with pytest.raises(AbsenceProofError):
        absence_verify(
            directory.config, directory.vrf_public_key, directory.get_epoch_hash().root_hash,
            b"late", proof,
        )  # fmt: skip


def test_every_bit_flip_and_truncation_of_an_absence_proof_is_refused(
    directory: Directory,
) -> None:
    proof, root = _absence(directory, b"nobody")
    verify = _absence_verifier(directory, b"nobody", root)
    vrf_proof, encoded = proof.encoded()
    for position in range(len(encoded)):
        for bit in (0x01, 0x80):
            tampered = bytearray(encoded)
            tampered[position] ^= bit
            with pytest.raises(VerificationError):
                verify(vrf_proof, bytes(tampered))
    for position in range(len(vrf_proof)):
        tampered = bytearray(vrf_proof)
        tampered[position] ^= 0x01
        with pytest.raises(VerificationError):
            verify(bytes(tampered), encoded)
    for length in range(len(encoded)):
        with pytest.raises(VerificationError):
            verify(vrf_proof, encoded[:length])
    with pytest.raises(MalformedError):
        verify(vrf_proof[:79], encoded)


@settings(
    max_examples=200, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(data=st.data())
def test_random_single_byte_replacement_of_an_absence_proof_is_refused(
    directory: Directory, data: st.DataObject
) -> None:
    proof, root = _absence(directory, b"nobody")
    verify = _absence_verifier(directory, b"nobody", root)
    vrf_proof, encoded = proof.encoded()
    blob = vrf_proof + encoded
    position = data.draw(st.integers(0, len(blob) - 1))
    tampered = bytearray(blob)
    tampered[position] = data.draw(st.integers(0, 255).filter(lambda b: b != blob[position]))
    with pytest.raises(VerificationError):
        verify(bytes(tampered[:80]), bytes(tampered[80:]))


# -- fixed version ---------------------------------------------------------------------------------


def _version(directory: Directory, label: bytes, version: int) -> tuple[bytes, bytes, int]:
    proof, epoch_hash = directory.version_proof(label, version)
    return encode_update_proof(proof), epoch_hash.root_hash, epoch_hash.epoch


def test_every_version_verifies_in_the_current_tree(directory: Directory) -> None:
    for version, (value, epoch) in {1: (b"key-1", 1), 2: (b"key-2", 2), 3: (b"key-3", 3)}.items():
        blob, root, current = _version(directory, b"user3", version)
        result = version_verify(
            directory.config, directory.vrf_public_key, root, current, b"user3", version, blob
        )
        assert result == VerifyResult(epoch=epoch, version=version, value=value)
    with pytest.raises(LabelNotFound):
        directory.version_proof(b"user3", 4)
    with pytest.raises(LabelNotFound):
        directory.version_proof(b"nobody", 1)


def test_another_version_label_or_epoch_is_refused(directory: Directory) -> None:
    blob, root, current = _version(directory, b"user3", 2)
    config, key = directory.config, directory.vrf_public_key
    with pytest.raises(VersionProofError, match="asked for version 1"):
        version_verify(config, key, root, current, b"user3", 1, blob)
    with pytest.raises(VersionProofError, match="not for version 2"):
        version_verify(config, key, root, current, b"user5", 2, blob)
    with pytest.raises(VersionProofError, match="outside"):
        version_verify(config, key, root, 1, b"user3", 2, blob)
    with pytest.raises(VersionProofError, match="not in the tree"):
        version_verify(config, key, directory.epoch_root(2), current, b"user3", 2, blob)


def _version_verifier(directory: Directory) -> tuple[bytes, Callable[[bytes], VerifyResult]]:
    blob, root, current = _version(directory, b"user3", 2)
    return blob, lambda data: version_verify(
        directory.config, directory.vrf_public_key, root, current, b"user3", 2, data
    )


def test_every_bit_flip_and_truncation_of_a_version_proof_is_refused(
    directory: Directory,
) -> None:
    blob, verify = _version_verifier(directory)
    assert verify(blob).value == b"key-2"
    for position in range(len(blob)):
        for bit in (0x01, 0x80):
            tampered = bytearray(blob)
            tampered[position] ^= bit
            with pytest.raises(VerificationError):
                verify(bytes(tampered))
    for length in range(len(blob)):
        with pytest.raises(VerificationError):
            verify(blob[:length])


@settings(
    max_examples=200, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(data=st.data())
def test_random_single_byte_replacement_of_a_version_proof_is_refused(
    directory: Directory, data: st.DataObject
) -> None:
    blob, verify = _version_verifier(directory)
    position = data.draw(st.integers(0, len(blob) - 1))
    tampered = bytearray(blob)
    tampered[position] = data.draw(st.integers(0, 255).filter(lambda b: b != blob[position]))
    with pytest.raises(VerificationError):
        verify(bytes(tampered))
