"""The same directory behaviour on every storage backend, persistence and corruption."""

from __future__ import annotations

import pytest

from glasskey.core.akd.audit import audit_verify
from glasskey.core.akd.configuration import get_configuration
from glasskey.core.akd.types import HistoryParams, VerifyResult
from glasskey.core.akd.verify import key_history_verify, lookup_verify
from glasskey.core.ecvrf import VrfSecretKey
from glasskey.core.errors import VerificationError
from glasskey.directory import Directory, LabelNotFound
from glasskey.storage import open_store
from tests.vectors import AKD_TEST_VRF_SEED, akd_vector, vector_schedule

CONFIG = get_configuration("whatsapp_v1")


def open_directory(url: str) -> Directory:
    return Directory(open_store(url), CONFIG, VrfSecretKey(AKD_TEST_VRF_SEED), vrf_workers=1)


def test_vector_schedule_on_every_backend(store_url: str) -> None:
    v = akd_vector("whatsapp_v1")
    with open_directory(store_url) as d:
        for batch in vector_schedule():
            d.publish(batch)
        epoch_hash = d.get_epoch_hash()
        assert (epoch_hash.epoch, epoch_hash.root_hash) == (49, v.epoch_hash)
        proof, _ = d.lookup(v.label)
        assert lookup_verify(CONFIG, d.vrf_public_key, v.epoch_hash, 49, v.label, proof) == (
            VerifyResult(48, 3, b"16,48")
        )
        history, _ = d.key_history(v.label, HistoryParams.complete())
        assert (
            len(key_history_verify(CONFIG, d.vrf_public_key, v.epoch_hash, 49, v.label, history))
            == 3
        )
        roots = [d.epoch_root(e) for e in range(0, 50)]
        audit_verify(CONFIG, roots, d.audit(0, 49))


def test_state_survives_reopen(tmp_path: object) -> None:
    url = f"sqlite:///{tmp_path}/persist.db"
    with open_directory(url) as d:
        d.publish([(b"alice", b"k1")])
        update = d.enqueue(b"bob", b"b1")
        root = d.get_epoch_hash()
    with open_directory(url) as d:
        assert d.get_epoch_hash() == root
        assert d.update_status(update) == ("pending", None)
        assert d.publish_pending() is not None
        assert d.update_status(update) == ("published", 2)


def test_postgres_state_survives_reopen(postgres_url: str) -> None:
    with open_directory(postgres_url) as d:
        d.publish([(b"alice", b"k1")])
        update = d.enqueue(b"bob", b"b1")
        root = d.get_epoch_hash()
    with open_directory(postgres_url) as d:
        assert d.get_epoch_hash() == root
        assert d.publish_pending() is not None
        assert d.update_status(update) == ("published", 2)


def test_tampering_a_stored_node_breaks_verification(store_url: str) -> None:
    """A storage attacker who edits a node cannot produce proofs that still verify."""
    with open_directory(store_url) as d:
        for i in range(4):
            d.publish([(f"user{j}".encode(), f"v{i}".encode()) for j in range(8)])
        good = d.get_epoch_hash()
        proof, _ = d.lookup(b"user3")
        target = proof.existence_proof.label
        from glasskey.directory.akd._keys import node_key

        key = node_key(target.as_int(), 256)
        with d.store.write() as txn:
            record = txn.get_nodes([key])[key]
            record.value = bytes(32)
            txn.put_nodes([record])
        tampered, _ = d.lookup(b"user3")
        with pytest.raises(VerificationError):
            lookup_verify(CONFIG, d.vrf_public_key, good.root_hash, good.epoch, b"user3", tampered)
        # The audit proof for the last epoch now contradicts the published roots too.
        roots = [d.epoch_root(e) for e in range(0, good.epoch + 1)]
        with pytest.raises(VerificationError):
            audit_verify(CONFIG, roots, d.audit(0, good.epoch))


def test_unsupported_url_is_a_usage_error() -> None:
    from glasskey.core.errors import UsageError

    with pytest.raises(UsageError, match="unsupported database URL 'mysql'"):
        open_store("mysql://x")
    with pytest.raises(UsageError, match="needs a path"):
        open_store("sqlite:///")


def test_read_only_replica_follows_the_primary(tmp_path: object) -> None:
    from glasskey.directory import ReadOnly, ReadOnlyDirectory

    url = f"sqlite:///{tmp_path}/replica.db"
    primary = open_directory(url)
    replica = ReadOnlyDirectory(open_store(url), CONFIG, VrfSecretKey(AKD_TEST_VRF_SEED))
    try:
        primary.publish([(b"alice", b"k1")])
        assert replica.get_epoch_hash() == primary.get_epoch_hash()
        primary.publish([(b"alice", b"k2")])
        epoch_hash = replica.wait_for_epoch(2, timeout=5)
        proof, served = replica.lookup(b"alice")
        assert served == epoch_hash == primary.get_epoch_hash()
        assert lookup_verify(
            CONFIG, replica.vrf_public_key, served.root_hash, 2, b"alice", proof
        ) == VerifyResult(2, 2, b"k2")
        with pytest.raises(ReadOnly):
            replica.publish([(b"bob", b"b")])
        with pytest.raises(ReadOnly):
            replica.enqueue(b"bob", b"b")
        assert primary.get_epoch_hash().epoch == 2
    finally:
        replica.close()
        primary.close()


def test_publishing_on_a_corrupted_store_fails_without_state_change(store_url: str) -> None:
    from glasskey.directory import StoreCorrupted
    from glasskey.directory.akd._keys import ROOT_KEY

    with open_directory(store_url) as d:
        for i in range(3):
            d.publish([(f"user{j}".encode(), f"v{i}".encode()) for j in range(6)])
        before = d.get_epoch_hash()
        with d.store.write() as txn:
            root = txn.get_nodes([ROOT_KEY])[ROOT_KEY]
            root.left_key = b"\x00\x07\x7e"  # children that do not exist
            root.right_key = b"\x00\x07\xfe"
            txn.put_nodes([root])
        with pytest.raises(StoreCorrupted, match="referenced but missing"):
            d.publish([(b"\x00fresh", b"v")])
        assert d.get_epoch_hash() == before
        with pytest.raises(LabelNotFound):
            d.lookup(b"\x00fresh")


def test_update_ids_are_never_reused_after_the_queue_drains(store_url: str) -> None:
    """Receipts are polled by id: a drained entry's id must not be handed out again."""
    with open_directory(store_url) as d:
        first = d.enqueue(b"alice", b"k1")
        d.publish_pending()
        second = d.enqueue(b"bob", b"b1")
        assert second != first
        assert d.update_status(first) == ("published", 1)
        assert d.update_status(second) == ("pending", None)


def test_a_database_newer_than_the_code_is_refused(tmp_path: object) -> None:
    import sqlite3

    from glasskey.directory import StoreCorrupted

    path = f"{tmp_path}/future.db"
    open_store(f"sqlite:///{path}").close()
    with sqlite3.connect(path) as conn:
        conn.execute("INSERT INTO glasskey_schema VALUES (99, 'from the future', 0)")
    with pytest.raises(StoreCorrupted, match="schema version 99 is newer than this glasskey"):
        open_store(f"sqlite:///{path}")


def test_bulk_writes_round_trip_exactly_on_every_backend(store_url: str) -> None:
    """put_nodes/put_states as the publisher uses them (PostgreSQL: one statement over column
    arrays, and COPY): a key written twice in one batch keeps the last record, as a statement
    per row did; missing children stay NULL; every byte and number comes back."""
    from glasskey.storage._base import NodeRecord, ValueState

    first = NodeRecord(b"\x00\x08\x01", b"a" * 32, 3, 1, None, None, b"\x00\x09\x02", b"h" * 32)
    second = NodeRecord(b"\x00\x08\x01", b"b" * 32, 4, 1, b"\x00\x09\x00", b"g" * 32, None, None)
    other = NodeRecord(b"\x00\x08\x02", b"c" * 32, 2**40, 2**40, None, None, None, None)
    states = [
        ValueState(b"alice", 1, 7, b"k1", b"n" * 32, None, None, None),
        ValueState(b"alice", 2, 2**40, b"", b"m" * 32, b"e" * 80, b"f" * 80, b"s" * 32),
    ]
    store = open_store(store_url)
    try:
        with store.write() as txn:
            txn.put_nodes([first, other, second])
            txn.put_states(states)
        with store.read() as txn:
            assert txn.get_nodes([first.key, other.key, b"\x00\x08\x03"]) == {
                second.key: second, other.key: other,
            }  # fmt: skip
            assert txn.label_states(b"alice") == states
    finally:
        store.close()
