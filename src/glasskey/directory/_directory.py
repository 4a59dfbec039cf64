"""``Directory``: the AKD directory engine — publish epochs, serve proofs (spec section 11).

Semantics follow akd 0.12 exactly where a client could tell the difference: versions start at
1, a new version inserts a fresh leaf and a stale marker for the previous version in the same
epoch, republishing the current value is a silent no-op, a batch with a repeated label is
rejected whole, and an all-no-op batch creates no epoch. Beyond akd: input limits with typed
errors, a durable pending queue, and audit blobs written for every epoch.

Everything one epoch changes — tree nodes, value states, the epoch's root, the drained queue
entries — is written in one storage transaction, so a crash at any point leaves either the
old epoch or the new one, never a mixture. Audit blobs are derived data: written after the
commit, and regenerated on start-up if a crash lost them.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Final, NoReturn

from glasskey.core.akd._absence import FIRST_VERSION, AbsenceProof
from glasskey.core.akd._markers import marker_version, marker_versions
from glasskey.core.akd.audit import format_audit_blob_name
from glasskey.core.akd.configuration import Configuration, get_configuration
from glasskey.core.akd.types import (
    AppendOnlyProof,
    EpochHash,
    HistoryParams,
    HistoryProof,
    LookupProof,
    SingleAppendOnlyProof,
    UpdateProof,
)
from glasskey.core.akd.wire import encode_single_append_only_proof
from glasskey.core.ecvrf import VrfSecretKey, proof_to_hash
from glasskey.directory._blobs import BlobStore
from glasskey.directory._errors import InvalidEpoch, InvalidUpdate, LabelNotFound, ReadOnly
from glasskey.directory.akd._audit import append_only_proof, single_append_only_proof
from glasskey.directory.akd._labels import LabelComputer
from glasskey.directory.akd._tree import AkdTree
from glasskey.storage import open_store
from glasskey.storage._base import Store, StoreTransaction, ValueState
from glasskey.storage._memory import MemoryStore

log = logging.getLogger("glasskey.directory.directory")

#: Default input limits: generous for phone numbers / user ids and for key bundles.
MAX_LABEL_BYTES: Final = 1024
MAX_VALUE_BYTES: Final = 64 * 1024


@dataclass(frozen=True, slots=True)
class Limits:
    max_label_bytes: int = MAX_LABEL_BYTES
    max_value_bytes: int = MAX_VALUE_BYTES
    max_batch: int = 1_000_000


class Directory:
    """An AKD directory over a ``Store``; thread-safe for readers, one publisher at a time."""

    def __init__(
        self,
        store: Store,
        config: Configuration,
        vrf_key: VrfSecretKey,
        blob_store: BlobStore | None = None,
        *,
        limits: Limits | None = None,
        vrf_workers: int | None = None,
    ) -> None:
        self.store = store
        self.config = config
        self.limits = limits or Limits()
        self.blob_store = blob_store
        #: An epoch was committed whose audit blob could not be written (the object store
        #: failed): ``repair_audit_blobs`` must succeed before any later epoch is announced.
        self.blobs_missing = False
        self._vrf = vrf_key
        self._commitment_key = config.commitment_key(vrf_key.seed_bytes())
        self._tree = AkdTree(config)
        self._labels = LabelComputer(vrf_key, vrf_workers)

    # -- construction -------------------------------------------------------------------------

    @classmethod
    def open(
        cls,
        db_url: str,
        config: Configuration,
        vrf_key: VrfSecretKey,
        blob_store: BlobStore | None = None,
        **kwargs: object,
    ) -> Directory:
        """Open (creating or migrating) the store at ``db_url`` and repair missing blobs."""
        directory = cls(open_store(db_url), config, vrf_key, blob_store, **kwargs)  # type: ignore[arg-type]
        directory.repair_audit_blobs()
        return directory

    @classmethod
    def in_memory(
        cls,
        config_name: str = "whatsapp_v1",
        vrf_seed: bytes | None = None,
        domain_label: bytes | None = None,
        blob_store: BlobStore | None = None,
        **kwargs: object,
    ) -> Directory:
        key = VrfSecretKey(vrf_seed) if vrf_seed is not None else VrfSecretKey.generate()
        config = get_configuration(config_name, domain_label)
        return cls(MemoryStore(), config, key, blob_store, **kwargs)  # type: ignore[arg-type]

    def close(self) -> None:
        self._labels.close()
        self.store.close()

    def __enter__(self) -> Directory:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    @property
    def vrf_public_key(self) -> bytes:
        return self._vrf.public_key

    # -- input validation ---------------------------------------------------------------------

    def _validate(self, label: object, value: object) -> tuple[bytes, bytes]:
        if not isinstance(label, bytes | bytearray) or not isinstance(value, bytes | bytearray):
            raise InvalidUpdate("labels and values must be bytes")
        if not label:
            raise InvalidUpdate("label must not be empty")
        if not value:
            raise InvalidUpdate(
                "value must not be empty (keys are never deleted; publish a new one)"
            )
        if len(label) > self.limits.max_label_bytes:
            raise InvalidUpdate(
                f"label is {len(label)} bytes, over the limit of {self.limits.max_label_bytes}"
            )
        if len(value) > self.limits.max_value_bytes:
            raise InvalidUpdate(
                f"value is {len(value)} bytes, over the limit of {self.limits.max_value_bytes}"
            )
        return bytes(label), bytes(value)

    # -- publishing ---------------------------------------------------------------------------

    def publish(self, updates: Sequence[tuple[bytes, bytes]]) -> EpochHash:
        """Publish a batch as one epoch; see the module docstring for the semantics."""
        if isinstance(updates, bytes | str) or not isinstance(updates, Sequence):
            raise InvalidUpdate("updates must be a sequence of (label, value) pairs")
        if len(updates) > self.limits.max_batch:
            raise InvalidUpdate(f"batch of {len(updates)} exceeds {self.limits.max_batch}")
        checked: list[tuple[bytes, bytes]] = []
        for item in updates:
            if not isinstance(item, tuple | list) or len(item) != 2:
                raise InvalidUpdate("each update must be a (label, value) pair")
            checked.append(self._validate(item[0], item[1]))
        if len({label for label, _ in checked}) != len(checked):
            raise InvalidUpdate(
                "cannot publish with a set of entries that contain duplicate labels"
            )
        with self.store.write() as txn:
            result, blob = self._publish_in(txn, checked)
        self._write_blob(blob)
        return result

    def enqueue(self, label: bytes, value: bytes) -> int:
        """Accept an update into the durable pending queue; returns its id."""
        return self.enqueue_many([(label, value)])[0]

    def enqueue_many(
        self,
        updates: Sequence[tuple[bytes, bytes]],
        alongside: Callable[[list[int], StoreTransaction], None] | None = None,
    ) -> list[int]:
        """Accept several updates in one transaction (one durable commit); their ids in order.

        All are validated first: one invalid update rejects the call and nothing is queued.
        ``alongside(ids, txn)`` runs inside that transaction before it commits: the service
        writes its receipts there, so an update is never queued without its receipt (nor a
        receipt stored for an update that is not queued) whatever moment the process dies.
        """
        checked = [self._validate(label, value) for label, value in updates]
        with self.store.write(publisher=False) as txn:
            ids = [txn.enqueue(label, value) for label, value in checked]
            if alongside is not None:
                alongside(ids, txn)
            return ids

    def check_update(self, label: bytes, value: bytes) -> None:
        """Raise ``InvalidUpdate`` exactly when ``enqueue`` would refuse this update."""
        self._validate(label, value)

    def pending_count(self) -> int:
        with self.store.read() as txn:
            return txn.pending_count()

    def update_status(self, update_id: int) -> tuple[str, int | None]:
        with self.store.read() as txn:
            status = txn.update_status(update_id)
        if status is None:
            raise LabelNotFound(f"no update with id {update_id}")
        return status

    def publish_pending(self, max_batch: int = 100_000) -> EpochHash | None:
        """Drain up to ``max_batch`` queued updates into one epoch (last write per label wins).

        Returns None when the queue was empty. The queue entries leave the queue in the same
        transaction that publishes them.
        """
        with self.store.write() as txn:
            pending = txn.pending(max_batch)
            if not pending:
                return None
            latest: dict[bytes, bytes] = {}
            for record in pending:
                latest[record.label] = record.value
            result, blob = self._publish_in(txn, list(latest.items()))
            txn.mark_published([r.update_id for r in pending], result.epoch)
        self._write_blob(blob)
        return result

    def _publish_in(
        self, txn: StoreTransaction, updates: list[tuple[bytes, bytes]]
    ) -> tuple[EpochHash, tuple[str, bytes] | None]:
        config = self.config
        current = txn.latest_epoch()
        epoch = current + 1
        states = txn.latest_states([label for label, _ in updates])
        plan: list[tuple[bytes, bytes, int]] = []
        for label, value in updates:
            state = states.get(label)
            if state is not None and state.value == value:
                continue
            plan.append((label, value, state.version + 1 if state else 1))
        if not plan:
            return EpochHash(current, self._root_hash(txn, current)), None
        alphas = [config.vrf_alpha(label, True, version) for label, _, version in plan]
        # The previous version's stale label: stored by the filler when it has been there,
        # else evaluated with the rest (~110 us).
        stored_stale: list[bytes] = []
        for label, _, version in plan:
            previous = states.get(label)
            if previous is None:
                continue
            if previous.stale_label is not None:
                stored_stale.append(previous.stale_label)
            elif previous.freshness_vrf is not None:
                stored_stale.append(proof_to_hash(previous.freshness_vrf)[:32])
            else:
                alphas.append(config.vrf_alpha(label, False, version - 1))
        node_labels = self._labels.labels(alphas) + stored_stale
        commitments = config.leaf_commitments(
            self._commitment_key,
            [(node_label, version, value)
             for (_, value, version), node_label in zip(plan, node_labels, strict=False)],
        )  # fmt: skip
        leaves: list[tuple[int, bytes]] = []
        new_states: list[ValueState] = []
        for (label, value, version), node_label, commitment in zip(
            plan, node_labels, commitments, strict=False
        ):
            leaves.append((int.from_bytes(node_label, "big"), commitment))
            new_states.append(ValueState(label, version, epoch, value, node_label))
        stale_value = config.stale_azks_value
        for node_label in node_labels[len(plan) :]:
            leaves.append((int.from_bytes(node_label, "big"), stale_value))
        previous_root = self._root_hash(txn, current)
        root_hash, _ = self._tree.insert(txn, leaves, epoch)
        txn.put_states(new_states)
        txn.add_epoch(epoch, root_hash)
        blob = None
        if self.blob_store is not None:
            proof = single_append_only_proof(txn, current)
            blob = (
                format_audit_blob_name(epoch, previous_root, root_hash),
                encode_single_append_only_proof(proof),
            )
        log.info("published epoch %d with %d leaves", epoch, len(leaves))
        return EpochHash(epoch, root_hash), blob

    def _write_blob(self, blob: tuple[str, bytes] | None) -> None:
        if blob is not None and self.blob_store is not None:
            try:
                self.blob_store.put(*blob)
            except BaseException:
                self.blobs_missing = True
                raise

    def repair_audit_blobs(self) -> int:
        """Write any audit blob a crash lost (they are derivable from the tree); returns count."""
        if self.blob_store is None:
            return 0
        self.blobs_missing = True  # until every blob is known to be stored
        present = self.blob_store.epochs()
        written = 0
        with self.store.read() as txn:
            latest = txn.latest_epoch()
            for epoch in range(1, latest + 1):
                if epoch in present:
                    continue
                previous, current = self._root_hash(txn, epoch - 1), self._root_hash(txn, epoch)
                proof = single_append_only_proof(txn, epoch - 1)
                self.blob_store.put(
                    format_audit_blob_name(epoch, previous, current),
                    encode_single_append_only_proof(proof),
                )
                written += 1
        self.blobs_missing = False
        if written:
            log.warning("regenerated %d missing audit blob(s)", written)
        return written

    # -- reads ----------------------------------------------------------------------------------

    def _root_hash(self, txn: StoreTransaction, epoch: int) -> bytes:
        if epoch == 0:
            return self.config.root_hash_from_value(self.config.empty_root_value)
        root = txn.epoch_root(epoch)
        if root is None:
            raise InvalidEpoch(f"epoch {epoch} has not been published")
        return root

    def get_epoch_hash(self) -> EpochHash:
        with self.store.read() as txn:
            epoch = txn.latest_epoch()
            return EpochHash(epoch, self._root_hash(txn, epoch))

    def epoch_root(self, epoch: int) -> bytes:
        with self.store.read() as txn:
            if epoch < 0 or epoch > txn.latest_epoch():
                raise InvalidEpoch(f"epoch {epoch} has not been published")
            return self._root_hash(txn, epoch)

    def _prove(
        self,
        label: bytes,
        fresh: bool,
        version: int,
        stored: bytes | None = None,
        node_label: bytes | None = None,
    ) -> tuple[bytes, bytes]:
        """(VRF proof, 32-byte node label) for one (label, freshness, version).

        ``stored`` is the proof the filler saved for it (and ``node_label`` its label when the
        caller has that too): reading them costs nothing, evaluating costs ~0.2 ms.
        """
        if stored is not None:
            return stored, node_label or proof_to_hash(stored)[:32]
        proof, beta = self._vrf.evaluate(self.config.vrf_alpha(label, fresh, version))
        return proof, beta[:32]

    def _existence(
        self, label: bytes, version: int, state: ValueState | None
    ) -> tuple[bytes, bytes]:
        """``_prove(label, fresh, version)``, from ``state`` (that version's row) if stored."""
        if state is None:
            return self._prove(label, True, version)
        return self._prove(label, True, version, state.existence_vrf, state.node_label)

    def _freshness(
        self, label: bytes, version: int, state: ValueState | None
    ) -> tuple[bytes, bytes]:
        """``_prove(label, stale, version)``, from ``state`` (that version's row) if stored."""
        if state is None:
            return self._prove(label, False, version)
        return self._prove(label, False, version, state.freshness_vrf, state.stale_label)

    def fill_vrf_proofs(self, limit: int = 2_000) -> int:
        """Store the VRF proofs of up to ``limit`` published versions that lack them.

        Lookups and histories then read their existence, marker, freshness and previous-
        version proofs instead of evaluating the VRF for each request. Publishing leaves the
        proofs out so an epoch is not delayed by them; the publisher calls this after each
        epoch and while idle. Returns how many versions were filled (0: none was missing).
        The proofs are derived data: losing them (a crash between the two transactions)
        only means they are computed again.
        """
        with self.store.read() as txn:
            missing = txn.unproven_states(limit)
        if not missing:
            return 0
        alpha = self.config.vrf_alpha
        existence = self._labels.proofs([alpha(label, True, v) for label, v in missing])
        stale = self._labels.evaluations([alpha(label, False, v) for label, v in missing])
        with self.store.write(publisher=False) as txn:
            txn.put_vrf_proofs(
                (label, version, existence[i], *stale[i])
                for i, (label, version) in enumerate(missing)
            )
        return len(missing)

    def _nonce(self, state: ValueState) -> bytes:
        return self.config.leaf_nonce(
            self._commitment_key, state.node_label, state.version, state.value
        )

    def lookup(self, label: bytes) -> tuple[LookupProof, EpochHash]:
        proofs, epoch_hash = self.batch_lookup([label])
        return proofs[0], epoch_hash

    def batch_lookup(self, labels: Sequence[bytes]) -> tuple[list[LookupProof], EpochHash]:
        """Lookup proofs for several labels against one epoch hash (one read transaction)."""
        with self.store.read() as txn:
            epoch = txn.latest_epoch()
            epoch_hash = EpochHash(epoch, self._root_hash(txn, epoch))
            states = txn.latest_states(list(labels))
            missing = [label for label in labels if label not in states]
            if missing:
                raise LabelNotFound(f"{_label_text(missing[0])} has no published key")
            marker_keys = {
                (label, marker_version(s.version))
                for label, s in states.items()
                if marker_version(s.version) != s.version
            }
            markers = txn.states_at(marker_keys) if marker_keys else {}
            plans = []
            for label in labels:
                state = states[label]
                version = state.version
                existence = self._existence(label, version, state)
                m = marker_version(version)
                marker = self._existence(
                    label, m, state if m == version else markers.get((label, m))
                )
                freshness = self._freshness(label, version, state)
                plans.append((state, existence, marker, freshness))
            members = [t for _, e, m, _ in plans for t in (e[1], m[1])]
            absent = [f[1] for *_, f in plans]
            membership, non_membership = self._tree.proofs(txn, members, absent, epoch_hash)
        out = []
        for i, (state, existence, marker, freshness) in enumerate(plans):
            out.append(
                LookupProof(
                    epoch=state.epoch,
                    value=state.value,
                    version=state.version,
                    existence_vrf_proof=existence[0],
                    existence_proof=membership[2 * i],
                    marker_vrf_proof=marker[0],
                    marker_proof=membership[2 * i + 1],
                    freshness_vrf_proof=freshness[0],
                    freshness_proof=non_membership[i],
                    commitment_nonce=self._nonce(state),
                )
            )
        return out, epoch_hash

    def lookup_or_absence(self, label: bytes) -> tuple[LookupProof | AbsenceProof, EpochHash]:
        """The lookup proof of ``label``, or — when it never had a version — the proof of
        that (``AbsenceProof``: its first version's node is not in the tree), both against
        the same epoch hash. A label published between two reads is simply looked up."""
        try:
            return self.lookup(label)
        except LabelNotFound:
            pass
        with self.store.read() as txn:
            epoch = txn.latest_epoch()
            epoch_hash = EpochHash(epoch, self._root_hash(txn, epoch))
            if not txn.latest_states([label]):
                vrf_proof, node_label = self._prove(label, True, FIRST_VERSION)
                _, (non_membership,) = self._tree.proofs(txn, [], [node_label], epoch_hash)
                return AbsenceProof(vrf_proof, non_membership), epoch_hash
        return self.lookup(label)

    def version_proof(self, label: bytes, version: int) -> tuple[UpdateProof, EpochHash]:
        """Version ``version`` of ``label`` with its existence proof in the current tree
        (akd's ``UpdateProof`` without the previous-version fields): fixed-version search."""
        with self.store.read() as txn:
            epoch = txn.latest_epoch()
            epoch_hash = EpochHash(epoch, self._root_hash(txn, epoch))
            state = txn.states_at({(label, version)}).get((label, version))
            if state is None or state.epoch > epoch:
                raise LabelNotFound(
                    f"label {label!r} has no published version {version} at epoch {epoch}"
                )
            existence = self._existence(label, version, state)
            (membership,), _ = self._tree.proofs(txn, [existence[1]], [], epoch_hash)
        proof = UpdateProof(
            epoch=state.epoch,
            value=state.value,
            version=version,
            existence_vrf_proof=existence[0],
            existence_proof=membership,
            previous_version_vrf_proof=None,
            previous_version_proof=None,
            commitment_nonce=self._nonce(state),
        )
        return proof, epoch_hash

    def key_history(
        self, label: bytes, params: HistoryParams | None = None
    ) -> tuple[HistoryProof, EpochHash]:
        """All (``Complete``) or the newest n (``MostRecent(n)``) versions, with markers."""
        params = params or HistoryParams.complete()
        with self.store.read() as txn:
            epoch = txn.latest_epoch()
            epoch_hash = EpochHash(epoch, self._root_hash(txn, epoch))
            published = [s for s in txn.label_states(label) if s.epoch <= epoch]
            by_version = {s.version: s for s in published}
            states = sorted(published, key=lambda s: s.epoch, reverse=True)
            if params.most_recent is not None:
                states = states[: params.most_recent]
            if not states:
                raise LabelNotFound(f"{_label_text(label)} has no published key")
            start, end = states[-1].version, states[0].version
            past, future = marker_versions(start, end, epoch)
            updates = []
            members: list[bytes] = []
            for state in states:
                existence = self._existence(label, state.version, state)
                previous = (
                    self._freshness(label, state.version - 1, by_version.get(state.version - 1))
                    if state.version > 1
                    else None
                )
                updates.append((state, existence, previous))
                members.append(existence[1])
                if previous is not None:
                    members.append(previous[1])
            past_proofs = [self._existence(label, v, by_version.get(v)) for v in past]
            future_proofs = [self._prove(label, True, v) for v in future]
            members.extend(p[1] for p in past_proofs)
            membership, non_membership = self._tree.proofs(
                txn, members, [p[1] for p in future_proofs], epoch_hash
            )
        cursor = iter(membership)
        update_proofs = []
        for state, existence, previous in updates:
            existence_proof = next(cursor)
            previous_proof = next(cursor) if previous is not None else None
            update_proofs.append(
                UpdateProof(
                    epoch=state.epoch,
                    value=state.value,
                    version=state.version,
                    existence_vrf_proof=existence[0],
                    existence_proof=existence_proof,
                    previous_version_vrf_proof=previous[0] if previous else None,
                    previous_version_proof=previous_proof,
                    commitment_nonce=self._nonce(state),
                )
            )
        return (
            HistoryProof(
                update_proofs=tuple(update_proofs),
                past_marker_vrf_proofs=tuple(p[0] for p in past_proofs),
                existence_of_past_marker_proofs=tuple(cursor),
                future_marker_vrf_proofs=tuple(p[0] for p in future_proofs),
                non_existence_of_future_marker_proofs=tuple(non_membership),
            ),
            epoch_hash,
        )

    def audit(self, start_epoch: int, end_epoch: int) -> AppendOnlyProof:
        """Append-only proof from ``start_epoch`` to ``end_epoch`` (one single proof per epoch)."""
        with self.store.read() as txn:
            latest = txn.latest_epoch()
            if start_epoch < 0:
                raise InvalidEpoch(f"start epoch {start_epoch} is negative")
            if start_epoch >= end_epoch:
                raise InvalidEpoch(
                    f"start epoch {start_epoch} is greater than or equal the end epoch {end_epoch}"
                )
            if end_epoch > latest:
                raise InvalidEpoch(
                    f"end epoch {end_epoch} is greater than the current epoch {latest}"
                )
            return append_only_proof(txn, start_epoch, end_epoch)

    def single_audit(self, end_epoch: int) -> tuple[str, SingleAppendOnlyProof]:
        """The audit blob (name, proof) for ``end_epoch - 1 -> end_epoch``."""
        with self.store.read() as txn:
            latest = txn.latest_epoch()
            if not 1 <= end_epoch <= latest:
                raise InvalidEpoch(f"epoch {end_epoch} is not in 1..{latest}")
            name = format_audit_blob_name(
                end_epoch, self._root_hash(txn, end_epoch - 1), self._root_hash(txn, end_epoch)
            )
            return name, single_append_only_proof(txn, end_epoch - 1)

    def stats(self) -> dict[str, int]:
        with self.store.read() as txn:
            return txn.stats()


class ReadOnlyDirectory(Directory):
    """A directory view for read replicas: serves proofs, never writes.

    Every read starts from the store's latest committed epoch, so a replica follows the
    publisher with no cache to invalidate; ``wait_for_epoch`` lets a caller block until a
    given epoch is visible (e.g. to answer read-your-writes requests).
    """

    def _refuse(self, *args: object, **kwargs: object) -> NoReturn:
        raise ReadOnly("this directory is a read-only replica view; publish on the primary")

    publish = _refuse
    enqueue = _refuse
    enqueue_many = _refuse
    publish_pending = _refuse
    fill_vrf_proofs = _refuse

    def repair_audit_blobs(self) -> int:
        return 0

    def wait_for_epoch(self, epoch: int, timeout: float = 30.0, interval: float = 0.2) -> EpochHash:
        """Block until ``epoch`` is published (returns it) or raise ``InvalidEpoch``."""
        deadline = time.monotonic() + timeout
        while True:
            current = self.get_epoch_hash()
            if current.epoch >= epoch:
                return current
            if time.monotonic() >= deadline:
                raise InvalidEpoch(
                    f"epoch {epoch} not visible after {timeout}s (at {current.epoch})"
                )
            time.sleep(interval)


def _label_text(label: bytes) -> str:
    """A label as its user id in messages (labels are UTF-8 user ids): never a bytes repr."""
    return label.decode("utf-8", "backslashreplace")
