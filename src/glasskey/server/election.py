"""Publisher election: which one of several server processes may write epochs.

Epochs must form one linear history, so exactly one process publishes. With SQLite (one
machine) an exclusive file lock elects it; with PostgreSQL a session-level advisory lock does,
so several server processes can share one database. If the publisher dies its lock is
released by the OS / database and another process takes over at its next tick.
"""

from __future__ import annotations

import fcntl
import logging
import os
from pathlib import Path
from typing import Any, Protocol

from glasskey.server.db import is_postgres, sqlite_path_of

# Election news is publisher news: keep the logger operators already filter on.
log = logging.getLogger("glasskey.server.publisher")

#: Session advisory lock id for publisher election ("gkpublsh" as a 63-bit integer);
#: distinct from the storage layer's per-transaction lock.
ELECTION_LOCK_ID = int.from_bytes(b"gkpublsh", "big") & 0x7FFF_FFFF_FFFF_FFFF


class Elector(Protocol):
    """Decides whether this process may publish; ``try_acquire`` is called every tick."""

    def try_acquire(self) -> bool: ...
    def release(self) -> None: ...


class AlwaysElector:
    """Single-process stores (``memory://``): always the publisher."""

    def try_acquire(self) -> bool:
        return True

    def release(self) -> None:
        return None


class FileElector:
    """An exclusive ``flock`` on ``PATH.publisher.lock`` (released by the OS if we die)."""

    def __init__(self, path: str) -> None:
        self.path = path
        self._fd: int | None = None

    def try_acquire(self) -> bool:
        if self._fd is not None:
            return True
        Path(self.path).parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            os.close(fd)
            return False
        self._fd = fd
        return True

    def release(self) -> None:
        if self._fd is not None:
            try:
                fcntl.flock(self._fd, fcntl.LOCK_UN)
            finally:
                os.close(self._fd)
                self._fd = None


class PostgresElector:
    """``pg_try_advisory_lock`` on a dedicated connection held for the process lifetime."""

    def __init__(self, url: str) -> None:
        self.url = url
        self._conn: Any = None

    def try_acquire(self) -> bool:
        import psycopg

        try:
            if self._conn is not None and not self._conn.closed:
                self._conn.execute("SELECT 1")  # still alive → still holding the lock
                return True
            self._conn = psycopg.connect(self.url, autocommit=True)
            row = self._conn.execute(
                "SELECT pg_try_advisory_lock(%s)", (ELECTION_LOCK_ID,)
            ).fetchone()
            if row and row[0]:
                return True
            self._conn.close()
            self._conn = None
            return False
        except psycopg.Error as exc:
            log.warning("publisher election: database error (%s); not publishing", exc)
            if self._conn is not None:
                self._conn.close()
            self._conn = None
            return False

    def release(self) -> None:
        if self._conn is not None and not self._conn.closed:
            try:
                self._conn.execute("SELECT pg_advisory_unlock(%s)", (ELECTION_LOCK_ID,))
            finally:
                self._conn.close()
        self._conn = None


def elector_for(db_url: str) -> Elector:
    """The elector that fits the database: advisory lock, lock file, or none needed."""
    if is_postgres(db_url):
        return PostgresElector(db_url)
    path = sqlite_path_of(db_url)
    if path == ":memory:":
        return AlwaysElector()
    return FileElector(path + ".publisher.lock")
