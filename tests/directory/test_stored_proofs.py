"""Stored VRF proofs: lookups and histories read them instead of evaluating the VRF.

The proofs are derived data, so the contract is strict: every proof served after
``fill_vrf_proofs`` is byte-identical to the one computed on the fly before, epochs published
on top of stored proofs have the same roots, and a database from before the columns existed
is migrated and filled.
"""

from __future__ import annotations

import pytest

from glasskey.core.akd.configuration import get_configuration
from glasskey.core.akd.types import HistoryParams
from glasskey.core.akd.verify import lookup_verify
from glasskey.core.akd.wire import encode_history_proof, encode_lookup_proof
from glasskey.core.ecvrf import VrfSecretKey
from glasskey.core.errors import VerificationError
from glasskey.directory import Directory
from glasskey.storage import _schema as schema
from glasskey.storage import open_store
from tests.vectors import AKD_TEST_VRF_SEED, vector_schedule

CONFIG = get_configuration("whatsapp_v1")


def open_directory(url: str) -> Directory:
    return Directory(open_store(url), CONFIG, VrfSecretKey(AKD_TEST_VRF_SEED), vrf_workers=1)


def _labels(d: Directory) -> list[bytes]:
    with d.store.read() as txn:
        return sorted({label for label, _ in txn.unproven_states(100_000)})


def _served(d: Directory, labels: list[bytes]) -> list[bytes]:
    out = []
    for label in labels:
        out.append(encode_lookup_proof(d.lookup(label)[0]))
        out.append(encode_history_proof(d.key_history(label, HistoryParams.complete())[0]))
    return out


def test_filled_proofs_are_served_byte_identically(store_url: str) -> None:
    with open_directory(store_url) as d:
        for batch in vector_schedule():
            d.publish(batch)
        labels = _labels(d)
        with d.store.read() as txn:
            versions = len(txn.unproven_states(100_000))
        before = _served(d, labels)
        assert d.fill_vrf_proofs(limit=7) == 7  # in several rounds, as the publisher does
        filled = 7
        while (n := d.fill_vrf_proofs(limit=7)) > 0:
            filled += n
        assert filled == versions
        with d.store.read() as txn:
            assert txn.unproven_states(10) == []
        assert _served(d, labels) == before


def test_a_filled_lookup_evaluates_no_vrf(store_url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    with open_directory(store_url) as d:
        d.publish([(b"alice", b"a1"), (b"bob", b"b1")])
        for i in range(2, 6):  # versions 2..5: marker versions 1, 2, 4 are other rows
            d.publish([(b"alice", f"a{i}".encode())])
        d.fill_vrf_proofs()

        def refuse(self: VrfSecretKey, alpha: bytes) -> object:
            raise AssertionError("the VRF was evaluated for a filled version")

        monkeypatch.setattr(VrfSecretKey, "evaluate", refuse)
        epoch = d.get_epoch_hash()
        for label, version in ((b"alice", 5), (b"bob", 1)):
            proof, _ = d.lookup(label)
            result = lookup_verify(
                CONFIG, d.vrf_public_key, epoch.root_hash, epoch.epoch, label, proof
            )
            assert result.version == version


def test_publishing_over_stored_proofs_gives_the_same_roots(tmp_path: object) -> None:
    with open_directory("memory://") as plain, open_directory("memory://") as filled:
        for d in (plain, filled):
            d.publish([(b"alice", b"a1"), (b"bob", b"b1"), (b"carol", b"c1")])
        filled.fill_vrf_proofs()
        for step in range(2, 6):
            batch = [(b"alice", f"a{step}".encode()), (b"dave", f"d{step}".encode())]
            assert plain.publish(batch) == filled.publish(batch)
            filled.fill_vrf_proofs()


def test_a_schema_1_database_is_migrated_and_filled(
    tmp_path: object, monkeypatch: pytest.MonkeyPatch
) -> None:
    url = f"sqlite:///{tmp_path}/old.db"
    with monkeypatch.context() as m:
        m.setattr(schema, "MIGRATIONS", schema.MIGRATIONS[:1])
        m.setattr(schema, "LATEST_VERSION", 1)
        open_store(url).close()
    store = open_store(url)
    with store.read() as txn:  # type: ignore[attr-defined]
        versions = [r[0] for r in txn._conn.execute("SELECT version FROM glasskey_schema")]
    assert versions == [1, 2]
    with Directory(store, CONFIG, VrfSecretKey(AKD_TEST_VRF_SEED), vrf_workers=1) as d:
        d.publish([(b"alice", b"a1")])
        d.publish([(b"alice", b"a2")])
        before = encode_lookup_proof(d.lookup(b"alice")[0])
        assert d.fill_vrf_proofs() == 2
        assert encode_lookup_proof(d.lookup(b"alice")[0]) == before
        d.publish([(b"alice", b"a3")])  # stale label of version 2 from its stored proof
        proof, epoch = d.lookup(b"alice")
        result = lookup_verify(CONFIG, d.vrf_public_key, epoch.root_hash, 3, b"alice", proof)
        assert (result.version, result.value) == (3, b"a3")


@pytest.mark.parametrize("column", ["existence_vrf", "freshness_vrf", "stale_label"])
@pytest.mark.parametrize("position", [0, 31, -1])
def test_a_corrupted_stored_proof_is_served_and_refused(
    tmp_path: object, column: str, position: int
) -> None:
    """The server does not re-check what it stored; a flipped byte in any stored column
    reaches the client, whose verifier refuses it with a typed error."""
    url = f"sqlite:///{tmp_path}/corrupt.db"
    with open_directory(url) as d:
        d.publish([(b"alice", b"a1"), (b"bob", b"b1")])
        d.fill_vrf_proofs()
        epoch = d.get_epoch_hash()
        lookup_verify(CONFIG, d.vrf_public_key, epoch.root_hash, 1, b"alice", d.lookup(b"alice")[0])
        with d.store.write() as txn:
            conn = txn._conn  # type: ignore[attr-defined]
            (stored,) = conn.execute(
                f"SELECT {column} FROM akd_value_states WHERE label = ?", (b"alice",)
            ).fetchone()
            corrupted = bytearray(stored)
            corrupted[position] ^= 0x01
            conn.execute(
                f"UPDATE akd_value_states SET {column} = ? WHERE label = ?",
                (bytes(corrupted), b"alice"),
            )
        with pytest.raises(VerificationError):
            lookup_verify(
                CONFIG, d.vrf_public_key, epoch.root_hash, 1, b"alice", d.lookup(b"alice")[0]
            )
