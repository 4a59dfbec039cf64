"""The service layer's own tables (root log, checkpoints, tokens, auditor signatures).

Why a separate module instead of the directory's ``Store``: the directory owns the AKD state
and its schema; the service keeps a few small tables next to it in the *same* database (so an
operator backs up one thing) but never inside the directory's transactions. Everything here
is derivable or append-only, which is what makes that safe: the root log is rebuilt from the
directory's epoch roots after a crash (see ``rootlog.RootLog.catch_up``). The one exception
is an upload's receipt (``glasskey_updates``, ``glasskey_upload_ids``): it is written inside
the directory's enqueue transaction (``_uploads.Uploads``), because an update queued without
its receipt would be published while its client never got an answer.

Connections, transactions and the two dialects' differences come from
``glasskey.storage._sql``: statements here use ``?`` placeholders and ``{blob}``/``{bigint}``.
"""

from __future__ import annotations

from collections.abc import Sequence
from contextlib import AbstractContextManager
from typing import Any

from glasskey.storage._sql import open_database

_TABLES = [
    """CREATE TABLE IF NOT EXISTS glasskey_root_log (
        idx {bigint} PRIMARY KEY,
        epoch {bigint} NOT NULL UNIQUE,
        root_hash {blob} NOT NULL,
        appended_at DOUBLE PRECISION NOT NULL
    )""",
    """CREATE TABLE IF NOT EXISTS glasskey_checkpoints (
        size {bigint} NOT NULL,
        signed_at DOUBLE PRECISION NOT NULL,
        note TEXT NOT NULL,
        PRIMARY KEY (size, signed_at)
    )""",
    """CREATE TABLE IF NOT EXISTS glasskey_tokens (
        token_hash {blob} PRIMARY KEY,
        user_id TEXT NOT NULL,
        created_at DOUBLE PRECISION NOT NULL
    )""",
    "CREATE INDEX IF NOT EXISTS glasskey_tokens_user ON glasskey_tokens (user_id)",
    # Service credentials (backend mode): a named credential that uploads for any user.
    """CREATE TABLE IF NOT EXISTS glasskey_service_tokens (
        name TEXT PRIMARY KEY,
        token_hash {blob} NOT NULL UNIQUE,
        scope TEXT NOT NULL,
        created_at DOUBLE PRECISION NOT NULL
    )""",
    """CREATE TABLE IF NOT EXISTS glasskey_updates (
        update_id {bigint} PRIMARY KEY,
        user_id TEXT NOT NULL,
        value_sha256 {blob} NOT NULL,
        accepted_at DOUBLE PRECISION NOT NULL
    )""",
    "CREATE INDEX IF NOT EXISTS glasskey_updates_user ON glasskey_updates (user_id, update_id)",
    # The client's id of each accepted upload: a repeat is a retry or a replay, never a
    # second version (``_uploads.Uploads``).
    """CREATE TABLE IF NOT EXISTS glasskey_upload_ids (
        user_id TEXT NOT NULL,
        upload_id TEXT NOT NULL,
        update_id {bigint} NOT NULL,
        PRIMARY KEY (user_id, upload_id)
    )""",
    # Verified witness cosignatures (note signature lines) of each root-log size, newest
    # per witness (``_witnessing.WitnessSubmitter``); attached to served checkpoints.
    """CREATE TABLE IF NOT EXISTS glasskey_cosignatures (
        size {bigint} NOT NULL,
        witness TEXT NOT NULL,
        line TEXT NOT NULL,
        stored_at DOUBLE PRECISION NOT NULL,
        PRIMARY KEY (size, witness)
    )""",
    # Checkpoints signed by this log's key that clients gossiped and that are not in its tree.
    """CREATE TABLE IF NOT EXISTS glasskey_gossip (
        note_sha256 {blob} PRIMARY KEY,
        note TEXT NOT NULL,
        size {bigint} NOT NULL,
        status TEXT NOT NULL,
        received_at DOUBLE PRECISION NOT NULL
    )""",
    # Verified auditor countersignatures (SignatureResponse JSON), see ``countersign.py``.
    """CREATE TABLE IF NOT EXISTS glasskey_auditor_signatures (
        namespace TEXT NOT NULL,
        epoch {bigint} NOT NULL,
        digest {blob} NOT NULL,
        response TEXT NOT NULL,
        stored_at DOUBLE PRECISION NOT NULL,
        PRIMARY KEY (namespace, epoch)
    )""",
]


class ServiceDB:
    """The service tables over SQLite or PostgreSQL (``memory://``: an in-memory SQLite)."""

    def __init__(self, db_url: str, *, create: bool = True) -> None:
        """``create`` False: a read replica, whose database (a hot standby) refuses DDL."""
        self.url = db_url
        self._db = open_database(db_url)
        if create:
            self._db.create_tables(_TABLES)

    def transaction(self) -> AbstractContextManager[None]:
        """One write transaction (nesting is not supported; keep them short)."""
        return self._db.transaction()

    def execute(self, sql: str, params: Sequence[Any] = ()) -> None:
        self._db.execute(sql, params)

    def executemany(self, sql: str, rows: Sequence[Sequence[Any]]) -> None:
        self._db.executemany(sql, rows)

    def query(self, sql: str, params: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
        return self._db.execute(sql, params).fetchall()

    def close(self) -> None:
        self._db.close()
