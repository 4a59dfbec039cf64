"""The native append-only rebuild against the pure-Python one (glasskey.core.akd.audit).

Same verdict for every proof — accepted, or refused with the same message: honest audits of
real directories (both configurations, decoded and as blobs), random antichains, and every
kind of element set akd <= 0.12 silently dropped (duplicates, prefixes, zero-length and
non-canonical labels), plus tampered values and wrong epochs.
"""

from __future__ import annotations

from collections.abc import Callable
from contextlib import AbstractContextManager
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from glasskey.core.akd import audit as audit_module
from glasskey.core.akd import wire
from glasskey.core.akd._node_label import NodeLabel
from glasskey.core.akd.audit import verify_single_append_only
from glasskey.core.akd.configuration import EXPERIMENTAL_EXAMPLE, WHATSAPP_V1, Configuration
from glasskey.core.akd.types import AzksElement, SingleAppendOnlyProof
from glasskey.core.errors import AppendOnlyProofError
from glasskey.directory import Directory
from tests.native import needs_native, without_native
from tests.vectors import AKD_TEST_VRF_SEED

pytestmark = needs_native
CONFIGS = [WHATSAPP_V1, EXPERIMENTAL_EXAMPLE]


def pure_python() -> AbstractContextManager[Any]:
    return without_native(audit_module, "_native")


def outcome(run: Callable[[], None]) -> str:
    try:
        run()
    except AppendOnlyProofError as exc:
        return f"refused: {exc}"
    return "accepted"


def both(
    config: Configuration,
    proof: SingleAppendOnlyProof | bytes,
    start: bytes,
    end: bytes,
    epoch: int,
) -> str:
    """The verdict, asserted equal on both paths."""

    def run() -> None:
        verify_single_append_only(config, proof, start, end, epoch)

    with pure_python():
        pure = outcome(run)
    native = outcome(run)
    assert native == pure
    return native


def audits(config: Configuration) -> list[tuple[SingleAppendOnlyProof, bytes, bytes, int]]:
    """(proof, start root, end root, end epoch) for a few epochs of a real directory."""
    domain = None if config.is_whatsapp else config.domain_label
    d = Directory.in_memory(config.name, AKD_TEST_VRF_SEED, domain, vrf_workers=1)
    d.publish([(b"user-%d" % i, b"k1") for i in range(300)])
    d.publish([(b"user-%d" % i, b"k2") for i in range(0, 300, 4)] + [(b"new", b"v")])
    d.publish([(b"user-7", b"k3")])
    d.publish([(b"other-%d" % i, b"v") for i in range(40)])
    out = []
    with d.store.read() as txn:
        roots = [txn.epoch_root(e) for e in range(0, 5)]
    for end in range(2, 5):
        proof = d.audit(end - 1, end).proofs[0]
        start_root, end_root = roots[end - 1], roots[end]
        assert start_root is not None and end_root is not None
        out.append((proof, start_root, end_root, end))
    d.close()
    return out


@pytest.mark.parametrize("config", CONFIGS, ids=lambda c: c.name)
def test_honest_audits_decoded_and_as_blobs(config: Configuration) -> None:
    for proof, start, end, epoch in audits(config):
        assert both(config, proof, start, end, epoch) == "accepted"
        blob = wire.encode_single_append_only_proof(proof)
        assert both(config, blob, start, end, epoch) == "accepted"
        assert both(config, proof, start, end, epoch + 1).startswith("refused: epoch")
        assert both(config, proof, end, start, epoch).startswith("refused: epoch")


@pytest.mark.parametrize("config", CONFIGS, ids=lambda c: c.name)
def test_every_element_tampered(config: Configuration) -> None:
    proof, start, end, epoch = audits(config)[0]
    for field in ("inserted", "unchanged_nodes"):
        elements = list(getattr(proof, field))
        for i in range(0, len(elements), max(1, len(elements) // 25)):
            e = elements[i]
            flipped = bytes([e.value[0] ^ 1]) + e.value[1:]
            changed = [*elements[:i], AzksElement(e.label, flipped), *elements[i + 1 :]]
            tampered = SingleAppendOnlyProof(
                **{
                    "inserted": proof.inserted,
                    "unchanged_nodes": proof.unchanged_nodes,
                    field: tuple(changed),
                }
            )
            verdict = both(config, tampered, start, end, epoch)
            assert verdict.startswith("refused: epoch"), verdict


def _element(value: int, length: int, content: bytes = b"\x07" * 32) -> AzksElement:
    return AzksElement(NodeLabel.from_int(value, length), content)


def test_the_element_sets_akd_dropped_are_refused_alike() -> None:
    top = 1 << 255
    a, b = _element(top, 1), _element(0, 2)
    cases = {
        "duplicate": (a, b, a),
        "prefix": (a, b, _element(top | (1 << 250), 8)),
        "zero length": (a, _element(0, 0)),
        "non-canonical": (a, _element(1 << 200, 3)),
    }
    expected = {
        "duplicate": "duplicate labels of another",
        "prefix": "a label that is a prefix of another",
        "zero length": "zero-length label",
        "non-canonical": "non-canonical label",
    }
    for name, elements in cases.items():
        for config in CONFIGS:
            for split in range(len(elements) + 1):
                proof = SingleAppendOnlyProof(elements[:split], elements[split:])
                verdict = both(config, proof, bytes(32), bytes(32), 5)
                assert expected[name] in verdict, (name, verdict)


def test_empty_trees() -> None:
    for config in CONFIGS:
        empty = config.root_hash_from_value(config.empty_root_value)
        leaf = SingleAppendOnlyProof((_element(5, 256),), ())
        assert both(config, SingleAppendOnlyProof((), ()), empty, empty, 1) == "accepted"
        assert both(config, leaf, empty, empty, 1).startswith("refused: epoch 1:")


_labels = st.tuples(st.integers(min_value=0, max_value=(1 << 256) - 1), st.integers(1, 256))


@settings(max_examples=150)
@given(
    st.lists(_labels, max_size=40),
    st.lists(st.booleans(), min_size=40, max_size=40),
    st.sampled_from(CONFIGS),
    st.integers(min_value=1, max_value=2**64 - 1),
)
def test_random_element_sets(
    labels: list[tuple[int, int]], inserted: list[bool], config: Configuration, epoch: int
) -> None:
    """Random canonical labels (often prefixes of each other): the same roots or the same
    refusal. The Python roots are used as the claimed ones, so an accepted verdict means the
    native fold computed them exactly."""
    elements = [
        _element(value & ~((1 << (256 - length)) - 1), length, bytes([i % 256]) * 32)
        for i, (value, length) in enumerate(labels)
    ]
    new = tuple(e for e, flag in zip(elements, inserted, strict=False) if flag)
    old = tuple(e for e, flag in zip(elements, inserted, strict=False) if not flag)
    proof = SingleAppendOnlyProof(new, old)
    epoch_bytes = epoch.to_bytes(8, "big")
    try:
        with pure_python():
            start_set = audit_module._elements(config, old, None)
            end_set = audit_module._sorted_antichain(
                start_set + audit_module._elements(config, new, epoch_bytes)
            )
            start = audit_module.root_hash_of(config, sorted(start_set, key=lambda e: e[:2]))
            end = audit_module.root_hash_of(config, end_set)
    except AppendOnlyProofError:
        start = end = bytes(32)
    verdict = both(config, proof, start, end, epoch)
    if start != bytes(32):
        assert verdict == "accepted"
