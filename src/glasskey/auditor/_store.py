"""Auditor persistence: one small protocol, SQLite (stdlib ``sqlite3``) and PostgreSQL
(psycopg 3) behind it.

Why transactions with a namespace lock rather than "check then insert": the publication
rules (strictly consecutive epochs, unique digests, no republish) are about *sequences*, so
two publishers racing for one epoch must be serialised, not merely caught by a unique index.
SQLite takes the database write lock up front (``BEGIN IMMEDIATE``); PostgreSQL locks the
namespace row (``SELECT ... FOR UPDATE``). The unique indexes stay as a second line.
Connections, transactions and both dialects come from ``glasskey.storage._sql``.

Why a bias on epochs: epochs are u64 but both databases have signed 64-bit integers. Storing
``epoch - 2**63`` keeps the order and the full range.

Signatures are durable before they are returned (SQLite ``synchronous=FULL``): an auditor
that forgot a signature after a crash could be made to sign a second digest for the epoch.
The private key is never stored; only public keys and their ``not_before``.
"""

from __future__ import annotations

import json
from contextlib import AbstractContextManager
from dataclasses import dataclass
from typing import Any, Protocol

from glasskey.core.errors import Conflict, UsageError
from glasskey.core.plexi import (
    KeyInfo,
    LastVerifiedEpoch,
    NamespaceInfo,
    NamespaceStatus,
    SignatureResponse,
)
from glasskey.storage._sql import Database, open_database
from glasskey.storage._urls import Backend, parse_database_url

_BIAS = 2**63


def _enc(epoch: int | None) -> int | None:
    return None if epoch is None else epoch - _BIAS


def _dec(value: int | None) -> int | None:
    return None if value is None else int(value) + _BIAS


# -- records ---------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class NamespaceRow:
    name: str
    ciphersuite: int
    status: NamespaceStatus
    log_directory: str | None = None
    root: str | None = None
    public: bool = True
    owners: tuple[str, ...] = ()
    created_ms: int = 0
    last_epoch: int | None = None
    last_verified: LastVerifiedEpoch | None = None

    def info(self, verification_error: dict[str, Any] | None = None) -> NamespaceInfo:
        return NamespaceInfo(
            name=self.name,
            ciphersuite=self.ciphersuite,
            status=self.status,
            log_directory=self.log_directory,
            root=self.root,
            last_verified_epoch=None if self.last_verified is None else self.last_verified.epoch,
            verification_error=verification_error,
        )


@dataclass(frozen=True, slots=True)
class EpochRecord:
    namespace: str
    epoch: int
    digest: bytes
    timestamp: int
    ciphersuite: int
    signature: bytes
    key_id: int
    serialized_message: bytes

    def response(self) -> SignatureResponse:
        return SignatureResponse(
            ciphersuite=self.ciphersuite,
            namespace=self.namespace,
            timestamp=self.timestamp,
            epoch=self.epoch,
            digest=self.digest,
            signature=self.signature,
            key_id=self.key_id,
            serialized_message=self.serialized_message,
        )


@dataclass(frozen=True, slots=True)
class Evidence:
    """Why the worker stopped: which epoch, which blob, what was wrong (never a 404)."""

    namespace: str
    epoch: int
    blob_name: str
    kind: str  # "invalid_proof" | "malformed" | "equivocation"
    reason: str
    blob_sha256: str | None
    detected_ms: int
    id: int | None = None

    def to_json_dict(self) -> dict[str, Any]:
        return {
            "epoch": self.epoch,
            "blob": self.blob_name,
            "kind": self.kind,
            "reason": self.reason,
            "blob_sha256": self.blob_sha256,
            "detected_at": self.detected_ms,
        }


@dataclass(frozen=True, slots=True)
class EvidenceClearing:
    """An operator cleared a namespace's evidence: who, when, why, and what was cleared.

    Kept forever and served publicly next to the evidence: clearing is the one act that lets
    a stopped namespace be signed again, so it must stay visible."""

    namespace: str
    cleared_ms: int
    actor: str
    reason: str
    evidence: tuple[Evidence, ...]

    def to_json_dict(self) -> dict[str, Any]:
        return {
            "cleared_at": self.cleared_ms,
            "by": self.actor,
            "reason": self.reason,
            "evidence": [e.to_json_dict() for e in self.evidence],
        }


# -- protocol --------------------------------------------------------------------------------


class AuditorTxn(Protocol):
    def get_namespace(self, name: str, *, for_update: bool = False) -> NamespaceRow | None: ...
    def list_namespaces(self) -> list[NamespaceRow]: ...
    def insert_namespace(self, row: NamespaceRow) -> None: ...
    def update_namespace(self, row: NamespaceRow) -> None: ...
    def get_epoch(self, namespace: str, epoch: int) -> EpochRecord | None: ...
    def epoch_of_digest(self, namespace: str, digest: bytes) -> int | None: ...
    def insert_epoch(self, record: EpochRecord) -> None: ...
    def add_evidence(self, evidence: Evidence) -> None: ...
    def list_evidence(self, namespace: str) -> list[Evidence]: ...
    def clear_evidence(self, clearing: EvidenceClearing) -> None: ...
    def list_clearings(self, namespace: str) -> list[EvidenceClearing]: ...
    def list_keys(self) -> list[KeyInfo]: ...
    def add_key(self, key: KeyInfo, added_ms: int) -> None: ...


class AuditorStore(Protocol):
    def read(self) -> AbstractContextManager[AuditorTxn]: ...
    def write(self) -> AbstractContextManager[AuditorTxn]: ...  # serialised writers
    def close(self) -> None: ...


# -- shared SQL ------------------------------------------------------------------------------

_NS_COLUMNS = (
    "name, ciphersuite, status, log_directory, root, public, owners, created_ms, last_epoch, "
    "lve_epoch, lve_job_id, lve_start_hash, lve_end_hash, lve_timestamp"
)
_EPOCH_COLUMNS = (
    "namespace, epoch, digest, timestamp, ciphersuite, signature, key_id, serialized_message"
)


_SCHEMA = [
    """CREATE TABLE IF NOT EXISTS auditor_namespaces (
            name TEXT PRIMARY KEY, ciphersuite BIGINT NOT NULL, status TEXT NOT NULL,
            log_directory TEXT, root TEXT, public BOOLEAN NOT NULL, owners TEXT NOT NULL,
            created_ms BIGINT NOT NULL, last_epoch BIGINT, lve_epoch BIGINT, lve_job_id TEXT,
            lve_start_hash {blob}, lve_end_hash {blob}, lve_timestamp BIGINT)""",
    """CREATE TABLE IF NOT EXISTS auditor_epochs (
            namespace TEXT NOT NULL, epoch BIGINT NOT NULL, digest {blob} NOT NULL,
            timestamp BIGINT NOT NULL, ciphersuite BIGINT NOT NULL, signature {blob} NOT NULL,
            key_id INTEGER NOT NULL, serialized_message {blob} NOT NULL,
            PRIMARY KEY (namespace, epoch), UNIQUE (namespace, digest))""",
    """CREATE TABLE IF NOT EXISTS auditor_keys (
            public_key {blob} PRIMARY KEY, not_before BIGINT NOT NULL, added_ms BIGINT NOT NULL)""",
    """CREATE TABLE IF NOT EXISTS auditor_evidence (
            id {serial_pk}, namespace TEXT NOT NULL, epoch BIGINT NOT NULL,
            blob_name TEXT NOT NULL, kind TEXT NOT NULL, reason TEXT NOT NULL,
            blob_sha256 TEXT, detected_ms BIGINT NOT NULL)""",
    """CREATE TABLE IF NOT EXISTS auditor_evidence_clearings (
            id {serial_pk}, namespace TEXT NOT NULL, cleared_ms BIGINT NOT NULL,
            actor TEXT NOT NULL, reason TEXT NOT NULL, evidence TEXT NOT NULL)""",
]


def _evidence_of(namespace: str, item: dict[str, Any]) -> Evidence:
    """An ``Evidence`` back from its JSON form (as kept in a clearing record)."""
    return Evidence(
        namespace,
        item["epoch"],
        item["blob"],
        item["kind"],
        item["reason"],
        item["blob_sha256"],
        item["detected_at"],
    )


class _SqlTxn:
    """The queries, written once in portable SQL (``?`` placeholders) for both dialects."""

    def __init__(self, db: Database) -> None:
        self._db = db
        self._integrity = db.integrity_errors

    def _q(self, sql: str, params: tuple[Any, ...] = ()) -> Any:
        return self._db.execute(sql, params)

    @staticmethod
    def _ns(row: Any) -> NamespaceRow:
        lve = None
        if row[9] is not None:
            lve = LastVerifiedEpoch(
                row[10], _dec(row[9]) or 0, bytes(row[11]), bytes(row[12]), int(row[13])
            )
        return NamespaceRow(
            name=row[0],
            ciphersuite=int(row[1]),
            status=NamespaceStatus(row[2]),
            log_directory=row[3],
            root=row[4],
            public=bool(row[5]),
            owners=tuple(json.loads(row[6])),
            created_ms=int(row[7]),
            last_epoch=_dec(row[8]),
            last_verified=lve,
        )

    @staticmethod
    def _ns_params(row: NamespaceRow) -> tuple[Any, ...]:
        lve = row.last_verified
        return (
            row.name,
            row.ciphersuite,
            row.status.value,
            row.log_directory,
            row.root,
            row.public,
            json.dumps(list(row.owners)),
            row.created_ms,
            _enc(row.last_epoch),
            None if lve is None else _enc(lve.epoch),
            None if lve is None else lve.job_id,
            None if lve is None else lve.start_hash,
            None if lve is None else lve.end_hash,
            None if lve is None else lve.timestamp,
        )

    def get_namespace(self, name: str, *, for_update: bool = False) -> NamespaceRow | None:
        lock = self._db.dialect.for_update if for_update else ""
        row = self._q(
            f"SELECT {_NS_COLUMNS} FROM auditor_namespaces WHERE name = ?{lock}", (name,)
        ).fetchone()
        return None if row is None else self._ns(row)

    def list_namespaces(self) -> list[NamespaceRow]:
        rows = self._q(f"SELECT {_NS_COLUMNS} FROM auditor_namespaces ORDER BY name").fetchall()
        return [self._ns(r) for r in rows]

    def insert_namespace(self, row: NamespaceRow) -> None:
        try:
            self._q(
                f"INSERT INTO auditor_namespaces ({_NS_COLUMNS}) VALUES "
                "(?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                self._ns_params(row),
            )
        except self._integrity:
            raise Conflict(f"namespace {row.name} already exists") from None

    def update_namespace(self, row: NamespaceRow) -> None:
        params = self._ns_params(row)
        self._q(
            "UPDATE auditor_namespaces SET ciphersuite = ?, status = ?, log_directory = ?, "
            "root = ?, public = ?, owners = ?, created_ms = ?, last_epoch = ?, lve_epoch = ?, "
            "lve_job_id = ?, lve_start_hash = ?, lve_end_hash = ?, lve_timestamp = ? "
            "WHERE name = ?",
            (*params[1:], params[0]),
        )

    @staticmethod
    def _epoch(row: Any) -> EpochRecord:
        return EpochRecord(
            namespace=row[0],
            epoch=_dec(row[1]) or 0,
            digest=bytes(row[2]),
            timestamp=int(row[3]),
            ciphersuite=int(row[4]),
            signature=bytes(row[5]),
            key_id=int(row[6]),
            serialized_message=bytes(row[7]),
        )

    def get_epoch(self, namespace: str, epoch: int) -> EpochRecord | None:
        row = self._q(
            f"SELECT {_EPOCH_COLUMNS} FROM auditor_epochs WHERE namespace = ? AND epoch = ?",
            (namespace, _enc(epoch)),
        ).fetchone()
        return None if row is None else self._epoch(row)

    def epoch_of_digest(self, namespace: str, digest: bytes) -> int | None:
        row = self._q(
            "SELECT epoch FROM auditor_epochs WHERE namespace = ? AND digest = ?",
            (namespace, digest),
        ).fetchone()
        return None if row is None else _dec(row[0])

    def insert_epoch(self, record: EpochRecord) -> None:
        try:
            self._q(
                f"INSERT INTO auditor_epochs ({_EPOCH_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    record.namespace,
                    _enc(record.epoch),
                    record.digest,
                    record.timestamp,
                    record.ciphersuite,
                    record.signature,
                    record.key_id,
                    record.serialized_message,
                ),
            )
        except self._integrity:
            raise Conflict(f"epoch {record.epoch} or its digest is already published") from None

    def add_evidence(self, evidence: Evidence) -> None:
        self._q(
            "INSERT INTO auditor_evidence (namespace, epoch, blob_name, kind, reason, "
            "blob_sha256, detected_ms) VALUES (?, ?, ?, ?, ?, ?, ?)",
            (
                evidence.namespace,
                _enc(evidence.epoch),
                evidence.blob_name,
                evidence.kind,
                evidence.reason,
                evidence.blob_sha256,
                evidence.detected_ms,
            ),
        )

    def list_evidence(self, namespace: str) -> list[Evidence]:
        rows = self._q(
            "SELECT namespace, epoch, blob_name, kind, reason, blob_sha256, detected_ms, id "
            "FROM auditor_evidence WHERE namespace = ? ORDER BY id",
            (namespace,),
        ).fetchall()
        return [
            Evidence(r[0], _dec(r[1]) or 0, r[2], r[3], r[4], r[5], int(r[6]), int(r[7]))
            for r in rows
        ]

    def clear_evidence(self, clearing: EvidenceClearing) -> None:
        """Move ``clearing.evidence`` out of the active table into the clearing record."""
        for evidence in clearing.evidence:
            self._q("DELETE FROM auditor_evidence WHERE id = ?", (evidence.id,))
        self._q(
            "INSERT INTO auditor_evidence_clearings (namespace, cleared_ms, actor, reason, "
            "evidence) VALUES (?, ?, ?, ?, ?)",
            (
                clearing.namespace,
                clearing.cleared_ms,
                clearing.actor,
                clearing.reason,
                json.dumps([e.to_json_dict() for e in clearing.evidence]),
            ),
        )

    def list_clearings(self, namespace: str) -> list[EvidenceClearing]:
        rows = self._q(
            "SELECT cleared_ms, actor, reason, evidence FROM auditor_evidence_clearings "
            "WHERE namespace = ? ORDER BY id",
            (namespace,),
        ).fetchall()
        return [
            EvidenceClearing(
                namespace,
                int(r[0]),
                r[1],
                r[2],
                tuple(_evidence_of(namespace, e) for e in json.loads(r[3])),
            )
            for r in rows
        ]

    def list_keys(self) -> list[KeyInfo]:
        rows = self._q(
            "SELECT public_key, not_before FROM auditor_keys ORDER BY not_before, added_ms"
        ).fetchall()
        return [KeyInfo(bytes(r[0]), int(r[1])) for r in rows]

    def add_key(self, key: KeyInfo, added_ms: int) -> None:
        exists = self._q(
            "SELECT 1 FROM auditor_keys WHERE public_key = ?", (key.public_key,)
        ).fetchone()
        if exists is None:
            self._q(
                "INSERT INTO auditor_keys (public_key, not_before, added_ms) VALUES (?, ?, ?)",
                (key.public_key, key.not_before, added_ms),
            )


# -- the store -------------------------------------------------------------------------------


class SqlAuditorStore:
    """Auditor state in SQLite or PostgreSQL; one connection per thread."""

    def __init__(self, db: Database) -> None:
        self._db = db
        self._txn = _SqlTxn(db)
        db.create_tables(_SCHEMA)

    def read(self) -> AbstractContextManager[AuditorTxn]:
        return self._db.read(self._session)

    def write(self) -> AbstractContextManager[AuditorTxn]:
        return self._db.write(self._session)

    def _session(self, _: object) -> _SqlTxn:
        return self._txn

    def close(self) -> None:
        self._db.close()


def open_auditor_store(url: str) -> SqlAuditorStore:
    """``sqlite:///PATH`` (default) or ``postgresql://...``."""
    parsed = parse_database_url(url)
    if parsed.backend is Backend.MEMORY:
        raise UsageError("the auditor keeps its signatures: use sqlite:///PATH or postgresql://...")
    return SqlAuditorStore(open_database(parsed))


__all__ = [
    "AuditorStore",
    "AuditorTxn",
    "EpochRecord",
    "Evidence",
    "EvidenceClearing",
    "NamespaceRow",
    "SqlAuditorStore",
    "open_auditor_store",
]
