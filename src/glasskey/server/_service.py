"""``DirectoryService``: the directory, root log, signer, authenticator and publisher together.

The HTTP layer (``glasskey.server.http``) is a thin translation of requests into calls on this
object — its ``reads`` (proofs and transparency data), its ``uploads`` (the key owner's side)
and its own lifecycle and readiness — so that everything here can be tested without HTTP and
reused by other front ends.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from typing import Any

from glasskey.auditor._client import AuditorClient
from glasskey.core.akd.configuration import get_configuration
from glasskey.core.akd.types import EpochHash
from glasskey.core.errors import Unavailable
from glasskey.directory import (
    Directory,
    MemoryBlobStore,
    ReadOnlyDirectory,
    open_blob_store,
)
from glasskey.server._auth import Authenticator, TokenAuthenticator, load_authenticator
from glasskey.server._countersign import AuditorApi, Countersigner, SignatureStore
from glasskey.server._db import ServiceDB
from glasskey.server._election import Elector, NeverElector, elector_for
from glasskey.server._gossip import GossipDesk
from glasskey.server._metrics import Metrics
from glasskey.server._publisher import Publisher
from glasskey.server._reads import DirectoryReads
from glasskey.server._replica import ReplicaLag, ReplicaMonitor
from glasskey.server._results import Readiness
from glasskey.server._rootlog import RootLog
from glasskey.server._settings import ServerSettings
from glasskey.server._uploads import Uploads
from glasskey.server._user_ids import UserIdPolicy
from glasskey.server._witnessing import WitnessConfig, WitnessSubmitter
from glasskey.storage import open_store
from glasskey.storage._urls import Backend, parse_database_url

log = logging.getLogger("glasskey.server")


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
        #: Whether this process checked the audit blobs since it became the publisher.
        self._blobs_checked = False
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
        self.replica: ReplicaMonitor | None = None
        if settings.read_only:
            is_postgres = parse_database_url(settings.db_url).is_postgres
            self.replica = ReplicaMonitor(
                db.query if is_postgres else None,
                lambda: self.rootlog.size,
                settings.writer_url,
            )
            replica = self.replica
            m.gauge("glasskey_read_only", "1: a read replica (serves reads, never writes).",
                    lambda: 1.0)  # fmt: skip
            m.gauge("glasskey_replica_lag_seconds",
                    "Seconds this replica's database is behind the writer's (NaN: unknown).",
                    lambda: _or_nan(replica.status().seconds))  # fmt: skip
            m.gauge("glasskey_replica_lag_epochs",
                    "Epochs the writer signed that this replica does not serve yet (NaN: unknown).",
                    lambda: _or_nan(replica.status().epochs))  # fmt: skip
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
        self.witnesses = [
            WitnessSubmitter(
                WitnessConfig.parse(text),
                rootlog,
                is_leader=lambda: self.publisher.is_leader,
                retry_base=settings.witness_retry_base,
                retry_max=settings.witness_retry_max,
            )
            for text in settings.witnesses
        ]
        if self.witnesses:
            m.collectors.append(self._witness_metrics)
        # ``UserIdPolicy(...)``: settings passed to workers as JSON carry the policy's name.
        user_ids = UserIdPolicy(settings.user_id_policy)
        if settings.open_registration:
            log.warning(
                "open registration is on: anyone may claim any unused user id "
                "(user id policy %r). For development only; never in production.",
                user_ids.value,
            )
        self.reads = DirectoryReads(
            directory,
            rootlog,
            self.signatures,
            self.countersigner,
            read_threads=settings.resolved_read_threads(),
            auditor_url=settings.auditor_url,
            max_publication_delay=settings.resolved_max_publication_delay(),
            checkpoint_refresh=settings.checkpoint_refresh,
            user_id_policy=user_ids,
            replica=settings.read_only,
        )
        self.gossip = GossipDesk(rootlog, db, m)
        self.uploads = Uploads(
            directory,
            db,
            authenticator,
            self.reads,
            m,
            wake_publisher=self.publisher.wake,
            open_registration=settings.open_registration,
            user_id_policy=user_ids,
            admin_tokens=TokenAuthenticator(db, settings.admin_token),
        )

    def _witness_metrics(self) -> list[str]:
        statuses = [w.status() for w in self.witnesses]
        out: list[str] = []
        for name, help_text, value in (
            ("glasskey_witness_lag_entries", "Root-log entries the witness has not cosigned.",
             lambda s: s.lag),
            ("glasskey_witness_cosigned_size", "Largest root-log size the witness cosigned.",
             lambda s: s.cosigned_size or 0),
            ("glasskey_witness_consecutive_failures",
             "Submissions to the witness that failed since the last success.",
             lambda s: s.consecutive_failures),
            ("glasskey_witness_failures_total", "Submissions to the witness that failed.",
             lambda s: s.total_failures),
            ("glasskey_witness_latency_seconds", "Duration of the last successful submission.",
             lambda s: s.last_latency if s.last_latency is not None else float("nan")),
        ):  # fmt: skip
            kind = "counter" if name.endswith("_total") else "gauge"
            out += [f"# HELP {name} {help_text}", f"# TYPE {name} {kind}"]
            out += [f'{name}{{witness="{s.name}"}} {float(value(s))}' for s in statuses]
        return out

    def _checkpoint_age(self) -> float:
        record = self.rootlog.latest_checkpoint()
        return time.time() - record.signed_at if record else float("nan")

    # -- lifecycle ------------------------------------------------------------------------------

    def start(self) -> None:
        """Catch up the root log (if we are the publisher) and start publishing.

        A read replica only loads the root log: it never takes part in the election, never
        publishes and never countersigns (its database refuses writes anyway).
        """
        if self.settings.read_only:
            self.refresh_from_db()
            self.ready = True
            return
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
            for witness in self.witnesses:
                witness.start()

    def close(self) -> None:
        self.ready = False
        finished = self.publisher.stop(self.settings.shutdown_timeout)
        if self.countersigner is not None:
            self.countersigner.stop()
        for witness in self.witnesses:
            witness.stop()
        self.uploads.close()  # accepted uploads finish their commit
        self.reads.close()
        if self.replica is not None:
            self.replica.close()
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
            if self.directory.blobs_missing or not self._blobs_checked:
                # No epoch is announced (appended to the signed log) before its audit blob is
                # in the store: retry a blob that failed to store, and — once per election,
                # e.g. after a fail-over — write any the previous publisher did not get to.
                self.directory.repair_audit_blobs()
                self._blobs_checked = True
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
        for witness in self.witnesses:
            witness.wake()  # never waits for a witness either
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
        self._blobs_checked = False  # a follower: check the blobs again once elected
        self.rootlog.refresh()

    # -- operations -------------------------------------------------------------------------------

    def readiness(self) -> Readiness:
        """Ready: started, the database answers and a signed checkpoint exists.

        The auditor's progress is informational: a down auditor never makes the log unready
        (it keeps publishing).
        """
        if not self.ready:
            raise Unavailable("starting or shutting down")
        try:
            depth = self.directory.pending_count()
            record = self.rootlog.latest_checkpoint()
        except Exception as exc:
            log.warning("readiness check failed: %s", exc)
            raise Unavailable("database unavailable") from None
        if record is None:
            raise Unavailable("no signed checkpoint yet")
        lag = self.replica_lag()
        limit = self.settings.max_replica_lag
        if lag is not None and lag.seconds is not None and lag.seconds > limit:
            raise Unavailable(
                f"read replica lags {lag.seconds:.1f}s behind the writer "
                f"(more than --max-replica-lag {limit:g}s); "
                f"serving epoch {lag.local_epoch}, writer at {lag.writer_epoch}"
            )
        signer = self.countersigner
        return Readiness(
            record.size,
            self.publisher.is_leader,
            depth,
            signer.status() if signer is not None else None,
            tuple(w.status() for w in self.witnesses),
            replica=lag,
        )

    def replica_lag(self) -> ReplicaLag | None:
        """How far behind the writer a read replica is (None: this process is no replica)."""
        if self.replica is None:
            return None
        try:
            return self.replica.status()
        except Exception as exc:
            log.warning("replica lag check failed: %s", exc)
            raise Unavailable("database unavailable") from None


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
    if url.backend is Backend.MEMORY and settings.audit_store is None:
        blob_store: Any = MemoryBlobStore()
    else:
        blob_store = open_blob_store(settings.audit_store or settings.resolved_blob_dir())
    if settings.read_only:
        # A replica opens everything without writing: no migration, no table creation, no
        # blob repair — a hot standby would refuse them, and only the writer may change state.
        store = open_store(settings.db_url, read_only=True)
        directory: Directory = ReadOnlyDirectory(store, config, vrf_key, blob_store)
        db = ServiceDB(settings.db_url, create=False)
        elector: Elector = NeverElector()
        auditor = None  # countersigning is the writer's job
    else:
        directory = Directory.open(settings.db_url, config, vrf_key, blob_store)
        db = ServiceDB(settings.db_url)
        elector = elector_for(url)
    rootlog = RootLog(db, signer, settings.origin)
    if authenticator is None and settings.authenticator:
        authenticator = load_authenticator(settings.authenticator, db)
        log.info("users are authenticated by the plug-in %s", settings.authenticator)
    auth = authenticator or TokenAuthenticator(db, settings.admin_token)
    if auditor is None and settings.auditor_url and not settings.read_only:
        auditor = AuditorClient(settings.auditor_url, settings.auditor_token, timeout=30.0)
    return DirectoryService(settings, directory, db, rootlog, auth, elector, auditor)


def _or_nan(value: float | None) -> float:
    return float("nan") if value is None else float(value)
