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
from typing import Protocol

from glasskey.storage._errors import DatabaseUnavailable
from glasskey.storage._sql import SessionLock
from glasskey.storage._urls import DatabaseUrl

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


class NeverElector:
    """Read replicas: never the publisher, and never asks the database."""

    def try_acquire(self) -> bool:
        return False

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
    """A session advisory lock on a dedicated connection held for the process lifetime."""

    def __init__(self, url: DatabaseUrl) -> None:
        self._lock = SessionLock(url, ELECTION_LOCK_ID)

    def try_acquire(self) -> bool:
        try:
            return self._lock.try_acquire()
        except DatabaseUnavailable as exc:
            log.warning("publisher election: database error (%s); not publishing", exc)
            return False

    def release(self) -> None:
        self._lock.release()


def elector_for(url: DatabaseUrl) -> Elector:
    """The elector that fits the database: advisory lock, lock file, or none needed."""
    if url.is_postgres:
        return PostgresElector(url)
    if url.path is None or url.path == ":memory:":
        return AlwaysElector()
    return FileElector(url.path + ".publisher.lock")
