"""The read side of the service: proofs with the signed state they are valid in.

Every answer that carries a proof is tied to the signed root log: the checkpoint whose newest
leaf is the proof's epoch, that leaf's inclusion proof and — when the client says which log
size it saw last (``known_size``) — a consistency proof from there. A client can therefore
verify everything from one answer.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any, TypeVar
from urllib.parse import urlsplit, urlunsplit

from glasskey.core.akd.audit import format_audit_blob_name
from glasskey.core.akd.types import EpochHash, HistoryParams, LookupProof
from glasskey.core.akd.wire import encode_single_append_only_proof, join_append_only_proof
from glasskey.core.errors import MalformedError, Unavailable, UsageError
from glasskey.core.plexi import SignatureResponse
from glasskey.directory import Directory, InvalidEpoch, LabelNotFound
from glasskey.server._countersign import Countersigner, SignatureStore
from glasskey.server._results import (
    Absence,
    AuditLog,
    AuditorInfo,
    AuditProof,
    Bundle,
    Consistency,
    History,
    LogKeys,
    Root,
    RootLogEntry,
    Snapshot,
    StateProof,
    VersionBundle,
)
from glasskey.server._rootlog import RootLog
from glasskey.server._user_ids import UserIdPolicy

T = TypeVar("T")
#: Seconds a read waits for the root log to sign the epoch it just read (the publisher
#: commits the epoch first and signs right after; longer means it is stuck).
SNAPSHOT_WAIT = 2.0
#: Most epochs one audit answer covers; longer ranges continue from the answer's ``end``.
#: 16: big epochs make blobs of hundreds of kilobytes (a 1,269-epoch log averaged 160 KB),
#: so a page stays a few megabytes and tens of milliseconds to serve, while an auditor
#: catching up on a thousand epochs needs only ~60 requests.
MAX_AUDIT_EPOCHS = 16
#: A page stops before the blob that would take it past this (it always has one epoch).
MAX_AUDIT_BYTES = 4 * 1024 * 1024


def public_url(url: str) -> str:
    """``url`` without any user:password part (never echo credentials)."""
    parts = urlsplit(url)
    host = parts.hostname or ""
    if parts.port:
        host = f"{host}:{parts.port}"
    return urlunsplit((parts.scheme, host, parts.path, "", ""))


class DirectoryReads:
    """Answers reads from the directory and the root log.

    ``read_threads`` 0 runs reads on the caller's event loop (local stores); otherwise they go
    to a pool of that size (see ``run_read``).
    """

    def __init__(
        self,
        directory: Directory,
        rootlog: RootLog,
        signatures: SignatureStore,
        countersigner: Countersigner | None,
        *,
        read_threads: int,
        auditor_url: str | None,
        max_publication_delay: float,
        checkpoint_refresh: float,
        user_id_policy: UserIdPolicy = UserIdPolicy.EXACT,
        replica: bool = False,
    ) -> None:
        self.directory = directory
        self.replica = replica
        self.user_ids = user_id_policy
        self.rootlog = rootlog
        self.signatures = signatures
        self.countersigner = countersigner
        self._auditor_url = public_url(auditor_url or "")
        self._max_publication_delay = max_publication_delay
        self._checkpoint_refresh = checkpoint_refresh
        self._read_pool = (
            ThreadPoolExecutor(read_threads, thread_name_prefix="glasskey-read")
            if read_threads
            else None
        )

    def close(self) -> None:
        if self._read_pool is not None:
            self._read_pool.shutdown(wait=True, cancel_futures=True)

    # -- running reads ----------------------------------------------------------------------------

    async def run_read(self, fn: Callable[..., T], *args: Any) -> T:
        """Run a short directory read for an async endpoint.

        Local stores (SQLite, memory) answer a lookup in ~0.3 ms of CPU, so it runs right on
        the event loop: handing it to a thread costs more than the read, and dozens of
        request threads fighting over the GIL cost far more (measured: 460 lookups/s through
        FastAPI's thread pool, 1,400/s inline). Reads that wait on a network (PostgreSQL)
        go to a small dedicated pool so the loop keeps serving meanwhile.
        """
        if self._read_pool is None:
            return fn(*args)
        return await asyncio.get_running_loop().run_in_executor(self._read_pool, fn, *args)

    # -- snapshots: which signed state a proof is served in --------------------------------------

    def snapshot_for(self, epoch_hash: EpochHash) -> Snapshot:
        """The newest checkpoint whose head is ``epoch_hash`` (waits briefly if the log lags).

        Exactly that size, not a later one: clients accept proofs only for the newest leaf of
        the checkpoint they get, which is what stops a server from passing off an old epoch's
        proof (a superseded key) as current.
        """
        deadline = time.monotonic() + SNAPSHOT_WAIT
        while (snapshot := self._try_snapshot(epoch_hash, deadline)) is None:
            time.sleep(0.02)
            self.rootlog.refresh()
        return snapshot

    async def snapshot_for_async(self, epoch_hash: EpochHash) -> Snapshot:
        """``snapshot_for`` that waits for a lagging root log without blocking the loop."""
        deadline = time.monotonic() + SNAPSHOT_WAIT
        while (snapshot := self._try_snapshot(epoch_hash, deadline)) is None:
            await asyncio.sleep(0.02)
            await self.run_read(self.rootlog.refresh)
        return snapshot

    def _try_snapshot(self, epoch_hash: EpochHash, deadline: float) -> Snapshot | None:
        """The snapshot if the log has signed ``epoch_hash``; None to retry; Unavailable once
        ``deadline`` has passed."""
        record = self.rootlog.checkpoint_for(epoch_hash.epoch)
        if record is not None:
            return Snapshot(epoch_hash, record)
        if time.monotonic() > deadline:
            raise Unavailable("the signed root log has not caught up yet; retry shortly")
        return None

    def head(self) -> Snapshot:
        """The newest signed checkpoint and the epoch it commits to (its newest leaf)."""
        self.rootlog.refresh()
        record = self.rootlog.latest_checkpoint()
        if record is None:
            raise Unavailable("no signed checkpoint yet")
        if record.size == 0:
            return Snapshot(EpochHash(0, self.directory.epoch_root(0)), record)
        return Snapshot(EpochHash(record.size, self.rootlog.epoch_root(record.size)), record)

    def signed_state(self, snapshot: Snapshot, known_size: int | None) -> StateProof:
        """The log proofs for ``snapshot``, from ``known_size`` when the client names one."""
        epoch, size = snapshot.epoch_hash.epoch, snapshot.checkpoint.size
        if self.replica and known_size is not None and known_size > size:
            # The client verified a newer head elsewhere (the writer, a replica further
            # ahead): this lagging replica's older checkpoint would look like a rollback to
            # it. Say so instead, so it retries or asks another server — no false alert.
            raise Unavailable(
                f"this read replica is at log size {size}, behind the size {known_size} you "
                "verified; retry shortly or ask another server"
            )
        consistency: list[bytes] | None = None
        if known_size is not None and known_size <= size:
            consistency = self.rootlog.consistency_proof(known_size, size)
        return StateProof(
            snapshot,
            log_inclusion=self.rootlog.inclusion_proof(epoch - 1, size) if epoch >= 1 else [],
            consistency_from=known_size,
            log_consistency=consistency,
            auditor_signature=self.auditor_signature(epoch) if epoch >= 1 else None,
            auditor_latest=self.latest_auditor_signature(),
        )

    def auditor_signature(self, epoch: int) -> SignatureResponse | None:
        """The stored auditor signature of exactly ``epoch``, or None.

        Only the served epoch's own signature is attached to a proof: a client can check it
        against the epoch and root it just verified, with no further proof.
        """
        if self.countersigner is None:
            return None
        return self.signatures.get(self.countersigner.namespace, epoch)

    def latest_auditor_signature(self) -> SignatureResponse | None:
        if self.countersigner is None:
            return None
        return self.signatures.latest(self.countersigner.namespace)

    # -- lookups ----------------------------------------------------------------------------------

    async def bundle(self, user_id: str, known_size: int | None) -> Bundle:
        """``user_id``'s current key with its lookup proof, in the state it was read from."""
        user_id = self.user_ids.normalise(user_id)
        label = user_id.encode("utf-8")
        proof, epoch_hash = await self.run_read(self.directory.lookup, label)
        snapshot = await self.snapshot_for_async(epoch_hash)
        state = self.signed_state(snapshot, known_size)
        return Bundle(user_id, proof, state, self.rootlog.published_at(proof.epoch))

    async def lookup(
        self, user_id: str, known_size: int | None, version: int | None = None
    ) -> Bundle | VersionBundle | Absence:
        """What ``GET /api/crypto/bundles/{user_id}`` answers: the current key (``Bundle``),
        with ``version`` that version (``VersionBundle``), or for a user that never published
        the proof of that (``Absence``; the HTTP layer makes it a 404 that carries it)."""
        user_id = self.user_ids.normalise(user_id)
        label = user_id.encode("utf-8")
        if version is not None:
            vproof, epoch_hash = await self.run_read(self.directory.version_proof, label, version)
            snapshot = await self.snapshot_for_async(epoch_hash)
            return VersionBundle(user_id, vproof, self.signed_state(snapshot, known_size))
        proof, epoch_hash = await self.run_read(self.directory.lookup_or_absence, label)
        state = self.signed_state(await self.snapshot_for_async(epoch_hash), known_size)
        if isinstance(proof, LookupProof):
            return Bundle(user_id, proof, state, self.rootlog.published_at(proof.epoch))
        return Absence(user_id, proof, state)

    def history(self, user_id: str, most_recent: int | None, known_size: int | None) -> History:
        """``user_id``'s key history: ``Complete``, or ``MostRecent(most_recent)``."""
        user_id = self.user_ids.normalise(user_id)
        label = user_id.encode("utf-8")
        proof, epoch_hash = self.directory.key_history(label, HistoryParams(most_recent))
        state = self.signed_state(self.snapshot_for(epoch_hash), known_size)
        times = tuple(self.rootlog.published_at(u.epoch) for u in proof.update_proofs)
        return History(user_id, most_recent, proof, state, times)

    # -- transparency -----------------------------------------------------------------------------

    def root(self, known_size: int | None) -> Root:
        return Root(self.rootlog.origin, self.signed_state(self.head(), known_size))

    def consistency(self, from_size: int, to_size: int) -> Consistency:
        rootlog = self.rootlog
        rootlog.refresh()
        if from_size > to_size:
            raise UsageError(f"from ({from_size}) must not exceed to ({to_size})")
        if to_size > rootlog.size:
            raise UsageError(f"to ({to_size}) exceeds the log size ({rootlog.size})")
        return Consistency(
            from_size,
            to_size,
            rootlog.consistency_proof(from_size, to_size),
            rootlog.root(to_size),
        )

    async def inclusion(
        self, user_id: str | None, root: str | None, known_size: int | None
    ) -> Bundle | StateProof:
        """With ``user_id``: its bundle (lookup proofs are served for the current epoch only,
        so a ``root`` given too must be the current one). With ``root`` alone: the signed state
        of the epoch with that root, in the newest checkpoint."""
        if user_id is not None:
            bundle = await self.bundle(user_id, known_size)
            current = bundle.state.snapshot.epoch_hash.root_hash.hex()
            if root is not None and root.lower() != current:
                raise UsageError(
                    "lookup proofs are only served for the current epoch root "
                    f"({current}); omit root or pass the current one"
                )
            return bundle
        if root is None:
            raise UsageError("give user_id, root or both")
        try:
            root_bytes = bytes.fromhex(root)
        except ValueError:
            raise UsageError("root is not valid hex") from None
        epoch = await self.run_read(self.rootlog.epoch_of_root, root_bytes)
        if epoch is None:
            raise LabelNotFound("no epoch with that root hash is in the root log")
        head = await self.run_read(self.head)
        snapshot = Snapshot(EpochHash(epoch, root_bytes), head.checkpoint)
        return self.signed_state(snapshot, known_size)

    def audit_log(self, limit: int) -> AuditLog:
        rootlog = self.rootlog
        rootlog.refresh()
        record = rootlog.latest_checkpoint()
        entries = [RootLogEntry(e, r, t) for e, r, t in rootlog.recent(limit)]
        return AuditLog(entries, record, self.latest_auditor_signature())

    def audit_proof(self, start: int, end: int, *, with_roots: bool) -> AuditProof:
        """The append-only proof from ``start`` towards ``end``: one page of at most
        ``MAX_AUDIT_EPOCHS`` epochs and about ``MAX_AUDIT_BYTES`` (at least one epoch); the
        answer's ``end`` says where it stopped. The epochs' roots only when asked.

        Served from the stored audit blobs — the single-epoch proofs the directory computed
        when it published each epoch, the same bytes auditors fetch — joined into one
        AppendOnlyProof, instead of recomputing every epoch against the latest tree.
        """
        latest = self.directory.get_epoch_hash().epoch
        if start < 0:
            raise InvalidEpoch(f"start epoch {start} is negative")
        if start >= end:
            raise InvalidEpoch(f"start epoch {start} is greater than or equal the end epoch {end}")
        if end > latest:
            raise InvalidEpoch(f"end epoch {end} is greater than the current epoch {latest}")
        roots = [self.directory.epoch_root(start)]
        singles: list[bytes] = []
        size = 0
        for epoch in range(start + 1, min(end, start + MAX_AUDIT_EPOCHS) + 1):
            root = self.directory.epoch_root(epoch)
            single = self._single_audit(epoch, roots[-1], root)
            if singles and size + len(single) > MAX_AUDIT_BYTES:
                break
            singles.append(single)
            roots.append(root)
            size += len(single)
        page_end = start + len(singles)
        proof = join_append_only_proof(singles, range(start, page_end))
        return AuditProof(start, page_end, proof, roots if with_roots else [], end)

    def _single_audit(self, epoch: int, previous_root: bytes, root: bytes) -> bytes:
        """The stored audit blob of ``epoch``; recomputed only if the store lacks it."""
        store = self.directory.blob_store
        if store is not None:
            try:
                return store.get(format_audit_blob_name(epoch, previous_root, root))
            except MalformedError:
                pass  # lost in a crash and not yet repaired
        _, proof = self.directory.single_audit(epoch)
        return encode_single_append_only_proof(proof)

    def blob_names(self) -> list[str]:
        """Names of the stored audit blobs (``{epoch}/{previous_root}/{root}``)."""
        store = self.directory.blob_store
        return store.list() if store is not None else []

    def blob_size(self, name: str) -> int:
        store = self.directory.blob_store
        size = getattr(store, "size", None)
        if callable(size):
            return int(size(name))
        return len(store.get(name)) if store is not None else 0

    def blob(self, name: str) -> bytes:
        """One audit blob's bytes; a name that is not a stored blob is not found."""
        store = self.directory.blob_store
        if store is None:
            raise LabelNotFound("this server keeps no audit blobs")
        try:
            return store.get(name)
        except MalformedError as exc:
            raise LabelNotFound(str(exc)) from None

    def auditor_info(self) -> AuditorInfo | None:
        """The countersigning auditor, or None when none is configured.

        The keys are the ones the last stored signature verified under, for display and
        debugging: a client must pin the auditor's key from the auditor, never from the log
        it is meant to check.
        """
        signer = self.countersigner
        if signer is None:
            return None
        return AuditorInfo(
            self._auditor_url,
            signer.namespace,
            signer.known_keys,
            self.latest_auditor_signature(),
            signer.status(),
        )

    def log_keys(self) -> LogKeys:
        config = self.directory.config
        return LogKeys(
            self.rootlog.origin,
            self.rootlog.verifier_key(),
            self.directory.vrf_public_key,
            config.name,
            getattr(config, "domain_label", None),
            self._max_publication_delay,
            self._checkpoint_refresh,
            self.user_ids.value,
        )
