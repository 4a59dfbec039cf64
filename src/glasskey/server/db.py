"""The service layer's own tables (root log, checkpoints, tokens, auditor signatures).

Why a separate module instead of the directory's ``Store``: the directory owns the AKD state
and its schema; the service keeps a few small tables next to it in the *same* database (so an
operator backs up one thing) but never inside the directory's transactions. Everything here
is derivable or append-only, which is what makes that safe: the root log is rebuilt from the
directory's epoch roots after a crash (see ``rootlog.RootLog.catch_up``).

The wrapper hides the two backends' differences (``?`` vs ``%s`` placeholders, BLOB vs BYTEA)
behind ``execute``/``query`` with ``?`` placeholders.
"""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Iterator, Sequence
from contextlib import contextmanager, suppress
from pathlib import Path
from typing import Any

from glasskey.core.errors import UsageError

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
    """CREATE TABLE IF NOT EXISTS glasskey_updates (
        update_id {bigint} PRIMARY KEY,
        user_id TEXT NOT NULL,
        value_sha256 {blob} NOT NULL,
        accepted_at DOUBLE PRECISION NOT NULL
    )""",
    "CREATE INDEX IF NOT EXISTS glasskey_updates_user ON glasskey_updates (user_id, update_id)",
    # The client's id of each accepted upload: a repeat is a retry or a replay, never a
    # second version (``uploads.Uploads``).
    """CREATE TABLE IF NOT EXISTS glasskey_upload_ids (
        user_id TEXT NOT NULL,
        upload_id TEXT NOT NULL,
        update_id {bigint} NOT NULL,
        PRIMARY KEY (user_id, upload_id)
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


def sqlite_path_of(db_url: str) -> str:
    """``sqlite:///PATH`` → ``PATH``; ``memory://`` → ``:memory:``."""
    if db_url == "memory://":
        return ":memory:"
    if db_url.startswith("sqlite:///"):
        path = db_url[len("sqlite:///") :]
        if not path:
            raise UsageError("sqlite URL needs a path: sqlite:///PATH")
        return path
    raise UsageError(f"not a SQLite URL: {db_url.split(':', 1)[0]!r}")


def is_postgres(db_url: str) -> bool:
    return db_url.startswith(("postgresql://", "postgres://"))


class ServiceDB:
    """A tiny thread-safe SQL helper over SQLite or PostgreSQL (one connection per thread)."""

    def __init__(self, db_url: str) -> None:
        self.url = db_url
        self.postgres = is_postgres(db_url)
        self._local = threading.local()
        self._lock = threading.Lock()
        self._all: list[Any] = []
        self._shared: sqlite3.Connection | None = None
        if self.postgres:
            types = {"blob": "BYTEA", "bigint": "BIGINT"}
        else:
            self._path = sqlite_path_of(db_url)
            if self._path != ":memory:":
                Path(self._path).parent.mkdir(parents=True, exist_ok=True)
            types = {"blob": "BLOB", "bigint": "INTEGER"}
        with self.transaction():
            for statement in _TABLES:
                self.execute(statement.format(**types))

    def _connect(self) -> Any:
        if self.postgres:
            import psycopg

            conn: Any = psycopg.connect(self.url, autocommit=True)
        else:
            conn = sqlite3.connect(
                self._path, isolation_level=None, check_same_thread=False, timeout=30.0
            )
            conn.execute("PRAGMA busy_timeout=30000")
            if self._path != ":memory:":
                conn.execute("PRAGMA journal_mode=WAL")
        with self._lock:
            self._all.append(conn)
        return conn

    def _conn(self) -> Any:
        if not self.postgres and self._path == ":memory:":
            if self._shared is None:
                self._shared = self._connect()
            return self._shared
        conn = getattr(self._local, "conn", None)
        if conn is None or (self.postgres and conn.closed):
            conn = self._connect()
            self._local.conn = conn
        return conn

    def _sql(self, sql: str) -> str:
        return sql.replace("?", "%s") if self.postgres else sql

    @contextmanager
    def transaction(self) -> Iterator[None]:
        """One write transaction (nesting is not supported; keep them short)."""
        conn = self._conn()
        if self.postgres:
            with conn.transaction():
                yield
            return
        with self._lock if self._path == ":memory:" else _NULL:
            conn.execute("BEGIN IMMEDIATE")
            try:
                yield
            except BaseException:
                conn.execute("ROLLBACK")
                raise
            conn.execute("COMMIT")

    def execute(self, sql: str, params: Sequence[Any] = ()) -> None:
        self._conn().execute(self._sql(sql), tuple(params))

    def executemany(self, sql: str, rows: Sequence[Sequence[Any]]) -> None:
        conn = self._conn()
        if self.postgres:
            with conn.cursor() as cur:
                cur.executemany(self._sql(sql), [tuple(r) for r in rows])
        else:
            conn.executemany(sql, [tuple(r) for r in rows])

    def query(self, sql: str, params: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
        cur = self._conn().execute(self._sql(sql), tuple(params))
        rows = cur.fetchall()
        return [tuple(bytes(v) if isinstance(v, memoryview) else v for v in r) for r in rows]

    def close(self) -> None:
        with self._lock:
            for conn in self._all:
                with suppress(Exception):
                    conn.close()
            self._all.clear()
        self._local = threading.local()
        self._shared = None


class _NullLock:
    def __enter__(self) -> None:
        return None

    def __exit__(self, *exc: object) -> None:
        return None


_NULL = _NullLock()
