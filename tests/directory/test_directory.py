"""Directory semantics (akd 0.12) and the invariant that every proof it makes verifies."""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from glasskey.core.akd import wire
from glasskey.core.akd.audit import audit_verify, verify_audit_blob
from glasskey.core.akd.types import HistoryParams, VerifyResult
from glasskey.core.akd.verify import key_history_verify, lookup_verify
from glasskey.core.errors import AppendOnlyProofError, VerificationError
from glasskey.directory import (
    Directory,
    InvalidEpoch,
    InvalidUpdate,
    LabelNotFound,
    MemoryBlobStore,
)
from tests.vectors import AKD_TEST_VRF_SEED

CONFIGS = ["whatsapp_v1", "experimental"]


def make(name: str = "whatsapp_v1", **kwargs: object) -> Directory:
    return Directory.in_memory(name, vrf_seed=AKD_TEST_VRF_SEED, **kwargs)  # type: ignore[arg-type]


def check_lookup(d: Directory, label: bytes) -> VerifyResult:
    proof, epoch_hash = d.lookup(label)
    return lookup_verify(
        d.config, d.vrf_public_key, epoch_hash.root_hash, epoch_hash.epoch, label, proof
    )


def check_history(d: Directory, label: bytes, params: HistoryParams) -> list[VerifyResult]:
    proof, epoch_hash = d.key_history(label, params)
    return key_history_verify(
        d.config, d.vrf_public_key, epoch_hash.root_hash, epoch_hash.epoch, label, proof, params
    )


@pytest.mark.parametrize("name", CONFIGS)
def test_versions_and_lookup(name: str) -> None:
    d = make(name)
    assert d.publish([(b"alice", b"k1"), (b"bob", b"b1")]).epoch == 1
    assert d.publish([(b"alice", b"k2")]).epoch == 2
    assert d.publish([(b"carol", b"c1")]).epoch == 3
    assert check_lookup(d, b"alice") == VerifyResult(2, 2, b"k2")
    assert check_lookup(d, b"bob") == VerifyResult(1, 1, b"b1")
    assert check_history(d, b"alice", HistoryParams.complete()) == [
        VerifyResult(2, 2, b"k2"),
        VerifyResult(1, 1, b"k1"),
    ]


def test_unchanged_value_is_skipped_and_all_noop_batch_makes_no_epoch() -> None:
    d = make()
    first = d.publish([(b"alice", b"k1")])
    again = d.publish([(b"alice", b"k1")])
    assert again == first
    assert d.publish([]) == first
    mixed = d.publish([(b"alice", b"k1"), (b"bob", b"b1")])
    assert mixed.epoch == 2
    assert check_lookup(d, b"alice") == VerifyResult(1, 1, b"k1")


def test_duplicate_labels_reject_the_whole_batch_without_state_change() -> None:
    d = make()
    d.publish([(b"alice", b"k1")])
    before = d.get_epoch_hash()
    with pytest.raises(InvalidUpdate, match="duplicate labels"):
        d.publish([(b"bob", b"1"), (b"bob", b"2")])
    assert d.get_epoch_hash() == before
    with pytest.raises(LabelNotFound):
        d.lookup(b"bob")


@pytest.mark.parametrize(
    ("updates", "message"),
    [
        ([(b"", b"v")], "label must not be empty"),
        ([(b"a", b"")], "value must not be empty"),
        ([(b"a" * 2000, b"v")], "over the limit"),
        ([(b"a", b"v" * 70000)], "over the limit"),
        ([("a", b"v")], "must be bytes"),
        ([(b"a",)], "pair"),
        (b"ab", "sequence"),
    ],
)
def test_bad_updates_are_typed_errors(updates: object, message: str) -> None:
    d = make()
    with pytest.raises(InvalidUpdate, match=message):
        d.publish(updates)  # type: ignore[arg-type]
    assert d.get_epoch_hash().epoch == 0


def test_unknown_label_and_bad_epochs() -> None:
    d = make()
    with pytest.raises(LabelNotFound):
        d.lookup(b"nobody")
    d.publish([(b"a", b"1")])
    with pytest.raises(InvalidEpoch, match="greater than or equal"):
        d.audit(1, 1)
    with pytest.raises(InvalidEpoch, match="greater than the current epoch"):
        d.audit(0, 2)
    with pytest.raises(LabelNotFound):
        d.key_history(b"nobody")


def test_pending_queue_dedups_last_write_wins() -> None:
    d = make()
    ids = [d.enqueue(b"alice", b"k1"), d.enqueue(b"bob", b"b1"), d.enqueue(b"alice", b"k2")]
    assert d.pending_count() == 3
    assert [d.update_status(i) for i in ids] == [("pending", None)] * 3
    result = d.publish_pending()
    assert result is not None and result.epoch == 1
    assert d.pending_count() == 0
    assert [d.update_status(i) for i in ids] == [("published", 1)] * 3
    assert check_lookup(d, b"alice") == VerifyResult(1, 1, b"k2")
    assert d.publish_pending() is None


def test_audit_blobs_written_per_epoch_and_verify() -> None:
    blobs = MemoryBlobStore()
    d = make(blob_store=blobs)
    for i in range(5):
        d.publish([(f"u{j}".encode(), f"v{i}".encode()) for j in range(i + 1)])
    names = blobs.list()
    assert [int(n.split("/")[0]) for n in names] == [1, 2, 3, 4, 5]
    for name in names:
        verify_audit_blob(d.config, name, blobs.get(name))
    hashes = [d.epoch_root(e) for e in range(0, 6)]
    audit_verify(d.config, hashes, d.audit(0, 5))
    with pytest.raises(AppendOnlyProofError):
        audit_verify(d.config, [hashes[0], hashes[2], *hashes[2:]], d.audit(0, 5))


def test_repair_regenerates_lost_blobs() -> None:
    blobs = MemoryBlobStore()
    d = make(blob_store=blobs)
    for i in range(3):
        d.publish([(b"a", f"{i}".encode())])
    lost = blobs.list()[1]
    original = blobs.blobs.pop(lost)
    assert d.repair_audit_blobs() == 1
    assert blobs.get(lost) == original


def test_lookup_proof_from_one_epoch_fails_against_another_root() -> None:
    d = make()
    d.publish([(b"a", b"1")])
    proof, _ = d.lookup(b"a")
    second = d.publish([(b"b", b"2")])
    with pytest.raises(VerificationError):
        lookup_verify(d.config, d.vrf_public_key, second.root_hash, second.epoch, b"a", proof)


labels = st.sampled_from(
    [b"alice", b"bob", b"carol", b"dave", b"erin", b"frank", b"\x00", b"\xff" * 3]
)
values = st.binary(min_size=1, max_size=8)
batches = st.dictionaries(labels, values, max_size=5).map(lambda d: list(d.items()))


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(schedule=st.lists(batches, min_size=1, max_size=8), name=st.sampled_from(CONFIGS))
def test_random_schedules_keep_every_proof_valid(
    schedule: list[list[tuple[bytes, bytes]]], name: str
) -> None:
    blobs = MemoryBlobStore()
    d = make(name, blob_store=blobs)
    model: dict[bytes, list[bytes]] = {}
    roots = [d.get_epoch_hash().root_hash]
    for batch in schedule:
        before = d.get_epoch_hash()
        result = d.publish(batch)
        changed = False
        for label, value in batch:
            history = model.setdefault(label, [])
            if not history or history[-1] != value:
                history.append(value)
                changed = True
        assert result.epoch == before.epoch + (1 if changed else 0)
        if changed:
            roots.append(result.root_hash)
    for label, history in model.items():
        if not history:
            continue
        result = check_lookup(d, label)
        assert (result.version, result.value) == (len(history), history[-1])
        full = check_history(d, label, HistoryParams.complete())
        assert [r.value for r in full] == history[::-1]
        recent = check_history(d, label, HistoryParams.most_recent_n(2))
        assert [r.value for r in recent] == history[::-1][:2]
    latest = d.get_epoch_hash().epoch
    assert latest == len(roots) - 1
    if latest >= 1:
        audit_verify(d.config, roots, d.audit(0, latest))
        for name_ in blobs.list():
            verify_audit_blob(d.config, name_, blobs.get(name_))
        encoded = wire.encode_append_only_proof(d.audit(0, latest))
        audit_verify(d.config, roots, encoded)
