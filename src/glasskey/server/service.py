"""``DirectoryService``: the directory, root log, signer, authenticator and publisher together.

The HTTP layer (``app.py``) is a thin translation of requests into calls on this object, so
that everything here can be tested without HTTP and reused by other front ends.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
import threading
import time
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any, TypeVar

from glasskey.core.akd.configuration import get_configuration
from glasskey.core.akd.types import EpochHash, HistoryParams, HistoryProof, LookupProof
from glasskey.core.errors import GlasskeyError
from glasskey.directory import Directory, FolderBlobStore, LabelNotFound, MemoryBlobStore
from glasskey.server.auth import Authenticator, PermissionDenied, TokenAuthenticator
from glasskey.server.batching import GroupCommitter
from glasskey.server.countersign import AuditorApi, Countersigner, SignatureStore
from glasskey.server.db import ServiceDB
from glasskey.server.metrics import Metrics
from glasskey.server.publisher import (
    AlwaysElector,
    Elector,
    FileElector,
    PostgresElector,
    Publisher,
)
from glasskey.server.rootlog import CheckpointRecord, RootLog
from glasskey.server.settings import ServerSettings
from glasskey.storage.urls import Backend, DatabaseUrl, parse_database_url

log = logging.getLogger("glasskey.server")


T = TypeVar("T")
#: Seconds a read waits for the root log to sign the epoch it just read (the publisher
#: commits the epoch first and signs right after; longer means it is stuck).
SNAPSHOT_WAIT = 2.0


class Unavailable(GlasskeyError):
    """The server cannot answer right now (HTTP 503): not ready, or the root log lags."""

    code = "unavailable"


@dataclass(frozen=True, slots=True)
class Snapshot:
    """A proof with the signed state it is valid in: epoch hash and covering checkpoint."""

    epoch_hash: EpochHash
    checkpoint: CheckpointRecord


class DirectoryService:
    def __init__(
        self,
        settings: ServerSettings,
        directory: Directory,
        db: ServiceDB,
        rootlog: RootLog,
        authenticator: Authenticator,
        elector: Elector,
        auditor: AuditorApi | None = None,
    ) -> None:
        self.settings = settings
        self.directory = directory
        self.db = db
        self.rootlog = rootlog
        self.authenticator = authenticator
        self.metrics = Metrics()
        self.publisher = Publisher(self, settings.epoch_interval, elector)
        self._publish_lock = threading.Lock()
        self._enqueuer: GroupCommitter[tuple[str, bytes], tuple[int, bytes, float]] = (
            GroupCommitter(self._enqueue_batch)
        )
        # Uploads wait in GroupCommitter.submit (a blocking call) on these threads; the one
        # that writes takes everything queued behind it. Blocked threads cost no CPU.
        self._write_pool = ThreadPoolExecutor(32, thread_name_prefix="glasskey-write")
        threads = settings.resolved_read_threads()
        self._read_pool = (
            ThreadPoolExecutor(threads, thread_name_prefix="glasskey-read") if threads else None
        )
        self.started_at = time.time()
        self.ready = False
        m = self.metrics
        m.gauge("glasskey_queue_depth", "Updates accepted but not yet published.",
                self.directory.pending_count)  # fmt: skip
        m.gauge("glasskey_epoch", "Latest published epoch.", lambda: self.rootlog.size)
        m.gauge("glasskey_is_publisher", "1 if this process holds the publisher lock.",
                lambda: 1.0 if self.publisher.is_leader else 0.0)  # fmt: skip
        m.gauge("glasskey_checkpoint_age_seconds", "Age of the newest signed checkpoint.",
                self._checkpoint_age)  # fmt: skip
        self.signatures = SignatureStore(db)
        self.countersigner: Countersigner | None = None
        if auditor is not None:
            self.countersigner = Countersigner(
                auditor, settings.resolved_auditor_namespace(), rootlog, self.signatures,
                is_leader=lambda: self.publisher.is_leader,
                retry_base=settings.auditor_retry_base, retry_max=settings.auditor_retry_max,
                on_signed=lambda: m.inc("auditor_signatures"),
                on_failure=lambda: m.inc("auditor_failures"),
            )  # fmt: skip
            signer = self.countersigner
            m.gauge("glasskey_auditor_countersigned_epoch",
                    "Newest epoch with a stored, verified auditor signature (0: none).",
                    lambda: float(signer.status().countersigned_epoch or 0))  # fmt: skip
            m.gauge("glasskey_auditor_lag_epochs",
                    "Published epochs the auditor has not countersigned yet.",
                    lambda: float(signer.status().lag))  # fmt: skip
            m.gauge("glasskey_auditor_consecutive_failures",
                    "Countersign attempts that failed since the last success.",
                    lambda: float(signer.failures))  # fmt: skip

    def auditor_signature(self, epoch: int) -> dict[str, Any] | None:
        """The stored auditor signature of exactly ``epoch`` as SignatureResponse JSON, or None.

        Only the served epoch's own signature is attached to a proof: a client can check it
        against the epoch and root it just verified, with no further proof.
        """
        if self.countersigner is None:
            return None
        response = self.signatures.get(self.countersigner.namespace, epoch)
        return None if response is None else response.to_json_dict()

    def _checkpoint_age(self) -> float:
        record = self.rootlog.latest_checkpoint()
        return time.time() - record.signed_at if record else float("nan")

    # -- lifecycle ------------------------------------------------------------------------------

    def start(self) -> None:
        """Catch up the root log (if we are the publisher) and start publishing."""
        if self.publisher.elector.try_acquire():
            self.publisher.is_leader = True
            self.publish_once(drain=False)
        else:
            self.refresh_from_db()
        self.ready = True
        if self.settings.run_publisher:
            self.publisher.start()
            if self.countersigner is not None:
                self.countersigner.start()

    def close(self) -> None:
        self.ready = False
        finished = self.publisher.stop(self.settings.shutdown_timeout)
        if self.countersigner is not None:
            self.countersigner.stop()
        self._write_pool.shutdown(wait=True)  # accepted uploads finish their commit
        if self._read_pool is not None:
            self._read_pool.shutdown(wait=True, cancel_futures=True)
        self.directory.close()
        self.db.close()
        log.info(
            "glasskey stopped: %s",
            "publisher finished cleanly" if finished else "epoch in progress abandoned",
        )

    # -- publishing -----------------------------------------------------------------------------

    def publish_once(self, drain: bool = True) -> EpochHash | None:
        """One publisher tick: drain the queue into an epoch, extend the root log, sign.

        Returns the new epoch hash, or None when nothing was published. The root log is caught
        up even when nothing new was published, which repairs a crash between the directory's
        commit and the root-log append.
        """
        with self._publish_lock:
            published: EpochHash | None = None
            if drain:
                pending = self.directory.pending_count()
                if pending:
                    started = time.perf_counter()
                    published = self.directory.publish_pending(self.settings.max_batch)
                    elapsed = time.perf_counter() - started
                    if published is not None:
                        self.metrics.observe_publish(elapsed, pending)
                        log.info(
                            "published epoch %d (%d queued updates) in %.3fs",
                            published.epoch, pending, elapsed,
                        )  # fmt: skip
            appended = self.rootlog.catch_up(self.directory)
            latest = self.rootlog.latest_checkpoint()
            if (
                appended
                or latest is None
                or latest.size != self.rootlog.size
                or time.time() - latest.signed_at >= self.settings.checkpoint_refresh
            ):
                self.rootlog.sign_checkpoint()
        if self.countersigner is not None and (published is not None or appended):
            self.countersigner.wake()  # never waits for the auditor
        return published

    def fill_vrf_proofs(self, deadline: float, interrupted: Callable[[], bool]) -> int:
        """Store lookup VRF proofs for published versions until none is missing, ``deadline``
        (a ``time.monotonic()`` value) passes or ``interrupted()`` says the publisher has work.

        Lookups of versions without stored proofs still work (they evaluate the VRF), so this
        only decides how soon lookups get cheap; batches are small to keep ticks on time.
        """
        filled = 0
        while time.monotonic() < deadline and not interrupted():
            count = self.directory.fill_vrf_proofs(self.settings.vrf_fill_batch)
            if count == 0:
                break
            filled += count
            self.metrics.inc("vrf_proofs_filled", count)
        return filled

    def refresh_from_db(self) -> None:
        self.rootlog.refresh()

    # -- reads ------------------------------------------------------------------------------------

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

    def _try_snapshot(self, epoch_hash: EpochHash, deadline: float) -> Snapshot | None:
        """The snapshot if the log has signed ``epoch_hash``; None to retry; Unavailable once
        ``deadline`` has passed."""
        record = self.rootlog.checkpoint_for(epoch_hash.epoch)
        if record is not None:
            return Snapshot(epoch_hash, record)
        if time.monotonic() > deadline:
            raise Unavailable("the signed root log has not caught up yet; retry shortly")
        return None

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

    async def snapshot_for_async(self, epoch_hash: EpochHash) -> Snapshot:
        """``snapshot_for`` that waits for a lagging root log without blocking the loop."""
        deadline = time.monotonic() + SNAPSHOT_WAIT
        while (snapshot := self._try_snapshot(epoch_hash, deadline)) is None:
            await asyncio.sleep(0.02)
            await self.run_read(self.rootlog.refresh)
        return snapshot

    async def lookup_async(self, label: bytes) -> tuple[LookupProof, Snapshot]:
        proof, epoch_hash = await self.run_read(self.directory.lookup, label)
        return proof, await self.snapshot_for_async(epoch_hash)

    def history(self, label: bytes, params: HistoryParams) -> tuple[HistoryProof, Snapshot]:
        proof, epoch_hash = self.directory.key_history(label, params)
        return proof, self.snapshot_for(epoch_hash)

    # -- writes -----------------------------------------------------------------------------------

    def submit(self, principal: str, user_id: str, value: bytes) -> dict[str, Any]:
        """Queue ``value`` as the new key of ``user_id`` on behalf of ``principal``."""
        if principal != user_id:
            raise PermissionDenied(
                f"you are authenticated as {principal!r} and may only change your own label"
            )
        label = user_id.encode("utf-8")
        self.directory.check_update(label, value)  # a bad update must not fail its batch
        update_id, digest, accepted_at = self._enqueuer.submit((user_id, value))
        self.metrics.inc("updates_accepted")
        return {
            "update_id": update_id,
            "user_id": user_id,
            "value_sha256": digest.hex(),
            "accepted_at": accepted_at,
        }

    async def submit_async(self, principal: str, user_id: str, value: bytes) -> dict[str, Any]:
        """``submit`` for async endpoints: the blocking group commit runs on a write thread."""
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self._write_pool, self.submit, principal, user_id, value)

    def _enqueue_batch(
        self, updates: Sequence[tuple[str, bytes]]
    ) -> list[tuple[int, bytes, float]]:
        """Queue concurrent submissions together: one queue commit and one receipt commit
        for the whole batch instead of two per update (``GroupCommitter``)."""
        ids = self.directory.enqueue_many([(u.encode("utf-8"), v) for u, v in updates])
        accepted_at = time.time()
        receipts = [
            (update_id, user_id, hashlib.sha256(value).digest(), accepted_at)
            for update_id, (user_id, value) in zip(ids, updates, strict=True)
        ]
        with self.db.transaction():
            self.db.executemany(
                "INSERT INTO glasskey_updates (update_id, user_id, value_sha256, accepted_at) "
                "VALUES (?, ?, ?, ?) ON CONFLICT (update_id) DO UPDATE SET "
                "user_id = excluded.user_id, value_sha256 = excluded.value_sha256, "
                "accepted_at = excluded.accepted_at",
                receipts,
            )
        return [(update_id, digest, at) for update_id, _, digest, at in receipts]

    def update_record(self, update_id: int) -> tuple[str, str, float]:
        rows = self.db.query(
            "SELECT user_id, value_sha256, accepted_at FROM glasskey_updates WHERE update_id = ?",
            (update_id,),
        )
        if not rows:
            raise LabelNotFound(f"no update with id {update_id}")
        user_id, digest, accepted_at = rows[0]
        return str(user_id), bytes(digest).hex(), float(accepted_at)


def _elector_for(url: DatabaseUrl) -> Elector:
    if url.is_postgres:
        return PostgresElector(url)
    if url.path is None or url.path == ":memory:":
        return AlwaysElector()
    return FileElector(url.path + ".publisher.lock")


def create_service(
    settings: ServerSettings,
    signer: Any,
    vrf_key: Any,
    authenticator: Authenticator | None = None,
    auditor: AuditorApi | None = None,
) -> DirectoryService:
    """Open the directory and the service tables named by ``settings`` (creating them).

    ``signer`` signs checkpoints (a ``glasskey.core.signing.Signer``); ``vrf_key`` is the
    directory's VRF secret key. Neither is stored or logged. ``auditor`` overrides the
    ``AuditorClient`` built from ``settings.auditor_url`` (tests pass an in-process one).
    """
    config = get_configuration(settings.configuration, settings.domain_label)
    url = parse_database_url(settings.db_url)
    if url.backend is Backend.MEMORY:
        blob_store: Any = MemoryBlobStore()
    else:
        blob_store = FolderBlobStore(settings.resolved_blob_dir())
    directory = Directory.open(settings.db_url, config, vrf_key, blob_store)
    db = ServiceDB(settings.db_url)
    rootlog = RootLog(db, signer, settings.origin)
    auth = authenticator or TokenAuthenticator(db, settings.admin_token)
    if auditor is None and settings.auditor_url:
        from glasskey.auditor.client import AuditorClient

        auditor = AuditorClient(settings.auditor_url, settings.auditor_token, timeout=30.0)
    return DirectoryService(settings, directory, db, rootlog, auth, _elector_for(url), auditor)
