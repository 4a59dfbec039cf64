"""Every single-byte change, truncation or garbage input to a proof is rejected with a typed
error (never accepted, never an IndexError/ValueError/crash)."""

from __future__ import annotations

import contextlib
from collections.abc import Callable

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from glasskey.core.akd import wire
from glasskey.core.akd.audit import verify_single_append_only
from glasskey.core.akd.configuration import get_configuration
from glasskey.core.akd.types import HistoryParams
from glasskey.core.akd.verify import key_history_verify, lookup_verify
from glasskey.core.errors import GlasskeyError, VerificationError
from glasskey.directory import Directory
from tests.vectors import AKD_TEST_VRF_SEED, akd_vector

CONFIGS = ["whatsapp_v1", "experimental"]
Verifier = Callable[[bytes], object]


def _lookup(name: str) -> tuple[bytes, Verifier]:
    v = akd_vector(name)
    config = get_configuration(name)
    return v.lookup_proof, lambda data: lookup_verify(
        config, v.vrf_public_key, v.epoch_hash, v.epoch, v.label, data
    )


def _history(name: str, complete: bool) -> tuple[bytes, Verifier]:
    v = akd_vector(name)
    config = get_configuration(name)
    params = HistoryParams.complete() if complete else HistoryParams.most_recent_n(1)
    blob = v.history_complete if complete else v.history_most_recent_1
    return blob, lambda data: key_history_verify(
        config, v.vrf_public_key, v.epoch_hash, v.epoch, v.label, data, params
    )


def _audit(name: str) -> tuple[bytes, Verifier]:
    directory = Directory.in_memory(name, vrf_seed=AKD_TEST_VRF_SEED)
    directory.publish([(f"user{i}".encode(), b"key-1") for i in range(12)])
    directory.publish([(f"user{i}".encode(), b"key-2") for i in range(0, 12, 3)])
    start = directory.epoch_root(1)
    end = directory.epoch_root(2)
    blob = wire.encode_single_append_only_proof(directory.audit(1, 2).proofs[0])
    config = directory.config
    return blob, lambda data: verify_single_append_only(config, data, start, end, 2)


CASES: dict[str, Callable[[str], tuple[bytes, Verifier]]] = {
    "lookup": _lookup,
    "history_complete": lambda n: _history(n, True),
    "history_most_recent": lambda n: _history(n, False),
    "audit": _audit,
}


@pytest.fixture(scope="module", params=[(c, k) for c in CONFIGS for k in CASES])
def case(request: pytest.FixtureRequest) -> tuple[bytes, Verifier]:
    name, kind = request.param
    return CASES[kind](name)


def test_untampered_proof_verifies(case: tuple[bytes, Verifier]) -> None:
    blob, verify = case
    verify(blob)


def test_every_single_bit_flip_of_every_byte_is_rejected(case: tuple[bytes, Verifier]) -> None:
    blob, verify = case
    for position in range(len(blob)):
        for bit in (0x01, 0x80):
            tampered = bytearray(blob)
            tampered[position] ^= bit
            with pytest.raises(VerificationError):
                verify(bytes(tampered))


def test_every_truncation_is_rejected(case: tuple[bytes, Verifier]) -> None:
    blob, verify = case
    for length in range(0, len(blob), max(1, len(blob) // 200)):
        with pytest.raises(VerificationError):
            verify(blob[:length])


@settings(
    max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(data=st.data())
def test_random_single_byte_replacement_is_rejected(
    case: tuple[bytes, Verifier], data: st.DataObject
) -> None:
    blob, verify = case
    position = data.draw(st.integers(0, len(blob) - 1))
    replacement = data.draw(st.integers(0, 255).filter(lambda b: b != blob[position]))
    tampered = bytearray(blob)
    tampered[position] = replacement
    with pytest.raises(VerificationError):
        verify(bytes(tampered))


@settings(
    max_examples=100, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(extra=st.binary(min_size=1, max_size=64))
def test_trailing_garbage_is_rejected_or_ignored_as_unknown_fields(
    case: tuple[bytes, Verifier], extra: bytes
) -> None:
    """Appended bytes either fail to parse, or parse as protobuf fields: known ones change
    the proof (rejected), unknown ones are skipped as protobuf requires — then the proof
    must still verify to exactly the same result."""
    blob, verify = case
    try:
        result = verify(blob + extra)
    except VerificationError:
        return
    assert result == verify(blob)


DECODERS = [
    wire.decode_lookup_proof,
    wire.decode_history_proof,
    wire.decode_single_append_only_proof,
    wire.decode_append_only_proof,
    wire.decode_membership_proof,
    wire.decode_non_membership_proof,
    wire.decode_update_proof,
]


@settings(max_examples=400, deadline=None)
@given(data=st.binary(max_size=512), index=st.integers(0, len(DECODERS) - 1))
def test_random_bytes_never_crash_the_decoders(data: bytes, index: int) -> None:
    with contextlib.suppress(GlasskeyError):
        DECODERS[index](data)


def test_oversized_input_is_refused_before_parsing() -> None:
    with pytest.raises(VerificationError, match="exceeds the limit"):
        wire.decode_lookup_proof(b"\x00" * (wire.MAX_PROOF_BYTES + 1))


@pytest.mark.parametrize("name", CONFIGS)
def test_field_swap_is_rejected(name: str) -> None:
    """Swapping the marker and existence proofs (both well-formed) must not verify."""
    v = akd_vector(name)
    proof = wire.decode_lookup_proof(v.lookup_proof)
    from dataclasses import replace

    swapped = replace(
        proof,
        existence_proof=proof.marker_proof,
        marker_proof=proof.existence_proof,
        existence_vrf_proof=proof.marker_vrf_proof,
        marker_vrf_proof=proof.existence_vrf_proof,
    )
    with pytest.raises(VerificationError):
        lookup_verify(
            get_configuration(name), v.vrf_public_key, v.epoch_hash, v.epoch, v.label, swapped
        )
