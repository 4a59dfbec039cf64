"""The service's typed answers, without HTTP: what the routes encode."""

from __future__ import annotations

import asyncio

import pytest

from glasskey.core.errors import PermissionDenied, Unavailable, UsageError
from glasskey.directory import InvalidEpoch, LabelNotFound
from glasskey.server._reads import MAX_AUDIT_EPOCHS, public_url
from glasskey.server._results import Bundle, StateProof
from tests.server.conftest import Harness


def _publish_keys(harness: Harness, *users: str) -> None:
    """One epoch per upload; the n-th upload's key is ``key n``."""
    for n, user in enumerate(users, 1):
        harness.service.uploads.submit(user, user, f"key {n}".encode())
        harness.publish()


def test_signed_state_proves_consistency_only_from_a_size_the_log_has(harness: Harness) -> None:
    _publish_keys(harness, "alice", "bob", "carol")
    reads = harness.service.reads
    head = reads.head()
    assert head.epoch_hash.epoch == head.checkpoint.size == 3
    unknown = reads.signed_state(head, None)
    assert (unknown.consistency_from, unknown.log_consistency) == (None, None)
    assert len(unknown.log_inclusion) == 1  # leaf 2 of 3: the hash of leaves 0-1
    assert reads.signed_state(head, 1).log_consistency == harness.service.rootlog.consistency_proof(
        1, 3
    )
    ahead = reads.signed_state(head, 7)  # the client saw more than we serve: no proof exists
    assert (ahead.consistency_from, ahead.log_consistency) == (7, None)


def test_bundle_and_history_carry_the_state_they_were_read_in(harness: Harness) -> None:
    _publish_keys(harness, "alice", "alice")
    reads = harness.service.reads
    bundle = asyncio.run(reads.bundle("alice", None))
    assert (bundle.proof.value, bundle.proof.version, bundle.state.epoch) == (b"key 2", 2, 2)
    history = reads.history("alice", None, 1)
    assert [u.version for u in history.proof.update_proofs] == [2, 1]
    assert history.state.consistency_from == 1
    with pytest.raises(UsageError):
        asyncio.run(reads.bundle("no spaces allowed", None))


def test_inclusion_by_root_by_user_and_neither(harness: Harness) -> None:
    _publish_keys(harness, "alice", "bob")
    reads = harness.service.reads
    first = harness.service.rootlog.epoch_root(1)
    by_root = asyncio.run(reads.inclusion(None, first.hex(), None))
    assert isinstance(by_root, StateProof)
    assert (by_root.epoch, by_root.snapshot.checkpoint.size) == (1, 2)
    by_user = asyncio.run(reads.inclusion("bob", None, None))
    assert isinstance(by_user, Bundle) and by_user.state.epoch == 2
    with pytest.raises(UsageError, match="current epoch root"):
        asyncio.run(reads.inclusion("bob", first.hex(), None))
    with pytest.raises(UsageError, match="give user_id, root or both"):
        asyncio.run(reads.inclusion(None, None, None))
    with pytest.raises(LabelNotFound):
        asyncio.run(reads.inclusion(None, "00" * 32, None))


def test_audit_proof_reads_the_roots_only_when_asked(harness: Harness) -> None:
    _publish_keys(harness, "alice", "bob")
    reads = harness.service.reads
    assert reads.audit_proof(1, 2, with_roots=False).roots == []
    with_roots = reads.audit_proof(1, 2, with_roots=True)
    assert with_roots.roots == [harness.service.directory.epoch_root(e) for e in (1, 2)]
    # A long range is bounded: one page of MAX_AUDIT_EPOCHS, which says where it stopped.
    _publish_keys(harness, *(f"user{i}" for i in range(MAX_AUDIT_EPOCHS)))
    page = reads.audit_proof(0, MAX_AUDIT_EPOCHS + 1, with_roots=False)
    assert (page.start, page.end, page.requested_end) == (0, MAX_AUDIT_EPOCHS, MAX_AUDIT_EPOCHS + 1)
    with pytest.raises(InvalidEpoch, match="greater than the current epoch"):
        reads.audit_proof(0, MAX_AUDIT_EPOCHS + 3, with_roots=False)


def test_upload_then_status_is_owner_only_and_carries_the_bundle(harness: Harness) -> None:
    uploads = harness.service.uploads
    pending = asyncio.run(uploads.upload("alice", "alice", b"k1", 0))
    assert (pending.status, pending.epoch, pending.bundle) == ("pending", None, None)
    with pytest.raises(PermissionDenied):
        asyncio.run(uploads.upload("alice", "bob", b"k1", 0))
    harness.publish()
    published = asyncio.run(uploads.update_status("alice", pending.receipt.update_id))
    assert (published.status, published.epoch) == ("published", 1)
    assert published.bundle is not None and published.bundle.proof.value == b"k1"
    assert published.receipt == pending.receipt
    with pytest.raises(PermissionDenied):
        asyncio.run(uploads.update_status("bob", pending.receipt.update_id))


def test_readiness_and_auditor_info(harness: Harness) -> None:
    service = harness.service
    ready = service.readiness()
    assert (ready.epoch, ready.publisher, ready.queue_depth, ready.auditor) == (0, True, 0, None)
    assert service.reads.auditor_info() is None
    service.ready = False
    with pytest.raises(Unavailable, match="starting or shutting down"):
        service.readiness()


def test_public_url_never_echoes_credentials() -> None:
    assert public_url("https://user:secret@auditor.example:8443/v1?x=1#f") == (
        "https://auditor.example:8443/v1"
    )
