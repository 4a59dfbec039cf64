"""The publisher: one writer turns the pending queue into epochs on a fixed cadence.

Why a single elected writer: epochs must form one linear history, and the root log and its
signed checkpoints must follow it. With SQLite (one machine) a file lock elects the writer;
with PostgreSQL a session-level advisory lock does, so several server processes can share
one database — the one holding the lock publishes, all of them serve reads and accept
updates into the queue. If the publisher dies its lock is released by the OS / database and
another process takes over at its next tick.

Crash safety comes from the layers below: ``Directory.publish_pending`` drains the queue and
writes the epoch in one transaction, so a kill mid-publish leaves the queue intact; the root
log and checkpoint are derived from the directory's epoch roots and are caught up at the next
tick (``RootLog.catch_up``), so a kill between the two loses nothing either.
"""

from __future__ import annotations

import fcntl
import logging
import os
import threading
import time
from pathlib import Path
from typing import TYPE_CHECKING, Protocol

from glasskey.storage.errors import DatabaseUnavailable
from glasskey.storage.sql import SessionLock
from glasskey.storage.urls import DatabaseUrl

if TYPE_CHECKING:
    from glasskey.server.service import DirectoryService

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


class Publisher:
    """Runs ``service.publish_once()`` every ``interval`` seconds while elected."""

    def __init__(self, service: DirectoryService, interval: float, elector: Elector) -> None:
        self.service = service
        self.interval = max(0.01, float(interval))
        self.elector = elector
        self.is_leader = False
        self._stop = threading.Event()
        self._wake = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        if self._thread is not None:
            return
        self._thread = threading.Thread(target=self._run, name="glasskey-publisher", daemon=True)
        self._thread.start()

    def wake(self) -> None:
        """Publish now instead of waiting for the next tick (used by tests and the demo)."""
        self._wake.set()

    def _run(self) -> None:
        while not self._stop.is_set():
            started = time.monotonic()
            try:
                self.is_leader = self.elector.try_acquire()
                if self.is_leader:
                    self.service.publish_once()
                    # The rest of the tick stores the VRF proofs lookups will serve.
                    self.service.fill_vrf_proofs(
                        started + self.interval, lambda: self._wake.is_set() or self._stop.is_set()
                    )
                else:
                    self.service.refresh_from_db()
            except Exception:
                self.service.metrics.inc("publish_failures")
                log.exception("publish tick failed; retrying at the next tick")
            remaining = self.interval - (time.monotonic() - started)
            if remaining > 0:
                self._wake.wait(remaining)
            self._wake.clear()

    def stop(self, timeout: float = 30.0) -> bool:
        """Stop after the epoch in progress (if any) commits; True if it finished in time.

        If it does not finish within ``timeout`` the caller exits anyway: the database rolls
        the open transaction back, so the epoch is abandoned whole and its updates stay queued.
        """
        self._stop.set()
        self._wake.set()
        finished = True
        if self._thread is not None:
            self._thread.join(timeout)
            finished = not self._thread.is_alive()
            if not finished:
                log.warning("publisher did not finish within %.0fs; abandoning the epoch", timeout)
        if finished:
            self.elector.release()
        self.is_leader = False
        return finished
