"""The client's memory: pinned keys, the last verified checkpoint, keys seen, own uploads.

Why persistent: rollback and fork detection compare what the server says *now* with what it
said *before*; a client that forgets between runs can be shown a different history each
time. A small SQLite file is enough (one row per server for trust and head, one per
(label, version) seen). Values are stored as SHA-256 digests only: the state file is evidence,
not a key cache.
"""

from __future__ import annotations

import sqlite3
import threading
import time
from dataclasses import dataclass
from pathlib import Path

_SCHEMA = [
    """CREATE TABLE IF NOT EXISTS trust (
        server TEXT PRIMARY KEY,
        origin TEXT NOT NULL,
        log_public_key TEXT NOT NULL,
        vrf_public_key BLOB NOT NULL,
        configuration TEXT NOT NULL,
        domain_label BLOB
    )""",
    """CREATE TABLE IF NOT EXISTS heads (
        origin TEXT PRIMARY KEY,
        size INTEGER NOT NULL,
        log_root BLOB NOT NULL,
        note TEXT NOT NULL,
        signed_at REAL,
        verified_at REAL NOT NULL
    )""",
    """CREATE TABLE IF NOT EXISTS checkpoints_seen (
        origin TEXT NOT NULL,
        size INTEGER NOT NULL,
        log_root BLOB NOT NULL,
        note TEXT NOT NULL,
        PRIMARY KEY (origin, size)
    )""",
    """CREATE TABLE IF NOT EXISTS observations (
        origin TEXT NOT NULL,
        label TEXT NOT NULL,
        version INTEGER NOT NULL,
        epoch INTEGER NOT NULL,
        value_sha256 BLOB NOT NULL,
        seen_at REAL NOT NULL,
        PRIMARY KEY (origin, label, version)
    )""",
    """CREATE TABLE IF NOT EXISTS own_updates (
        origin TEXT NOT NULL,
        label TEXT NOT NULL,
        value_sha256 BLOB NOT NULL,
        update_id INTEGER,
        created_at REAL NOT NULL,
        PRIMARY KEY (origin, label, value_sha256)
    )""",
]


@dataclass(frozen=True, slots=True)
class Trust:
    """The public keys a client pins for one server (first use or configured)."""

    origin: str
    log_public_key: str
    vrf_public_key: bytes
    configuration: str
    domain_label: bytes | None = None


@dataclass(frozen=True, slots=True)
class Head:
    """A verified root-log head: size and RFC 6962 root, with its signed note."""

    origin: str
    size: int
    log_root: bytes
    note: str
    signed_at: float | None = None


class ClientState:
    """SQLite-backed client state (``":memory:"`` for a throwaway client)."""

    def __init__(self, path: str | Path = ":memory:") -> None:
        path = str(path)
        if path != ":memory:":
            Path(path).parent.mkdir(parents=True, exist_ok=True)
        self._conn = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
        self._lock = threading.Lock()
        self._last_stored: dict[str, tuple[int, str]] = {}
        with self._lock:
            for statement in _SCHEMA:
                self._conn.execute(statement)

    def close(self) -> None:
        self._conn.close()

    # -- trust -------------------------------------------------------------------------------------

    def trust(self, server: str) -> Trust | None:
        with self._lock:
            row = self._conn.execute(
                "SELECT origin, log_public_key, vrf_public_key, configuration, domain_label "
                "FROM trust WHERE server = ?",
                (server,),
            ).fetchone()
        if row is None:
            return None
        return Trust(row[0], row[1], bytes(row[2]), row[3], bytes(row[4]) if row[4] else None)

    def pin(self, server: str, trust: Trust) -> None:
        with self._lock:
            self._conn.execute(
                "INSERT OR REPLACE INTO trust VALUES (?, ?, ?, ?, ?, ?)",
                (server, trust.origin, trust.log_public_key, trust.vrf_public_key,
                 trust.configuration, trust.domain_label),
            )  # fmt: skip

    # -- heads -------------------------------------------------------------------------------------

    def head(self, origin: str) -> Head | None:
        with self._lock:
            row = self._conn.execute(
                "SELECT size, log_root, note, signed_at FROM heads WHERE origin = ?", (origin,)
            ).fetchone()
        if row is None:
            return None
        return Head(origin, int(row[0]), bytes(row[1]), row[2], row[3])

    def checkpoint_at(self, origin: str, size: int) -> Head | None:
        with self._lock:
            row = self._conn.execute(
                "SELECT log_root, note FROM checkpoints_seen WHERE origin = ? AND size = ?",
                (origin, size),
            ).fetchone()
        return Head(origin, size, bytes(row[0]), row[1]) if row else None

    def store_head(self, head: Head) -> None:
        """Remember ``head`` as the newest verified state (callers checked it extends the old).

        Storing the head this state file stored last is a no-op (every lookup within an
        epoch verifies the same checkpoint; a write per lookup would be an fsync per lookup).
        """
        with self._lock:
            if self._last_stored.get(head.origin) == (head.size, head.note):
                return
            self._conn.execute("BEGIN IMMEDIATE")
            try:
                current = self._conn.execute(
                    "SELECT size, signed_at FROM heads WHERE origin = ?", (head.origin,)
                ).fetchone()
                newer = (
                    current is None
                    or head.size > current[0]
                    or (head.size == current[0] and (head.signed_at or 0) >= (current[1] or 0))
                )
                if newer:
                    self._conn.execute(
                        "INSERT OR REPLACE INTO heads VALUES (?, ?, ?, ?, ?, ?)",
                        (head.origin, head.size, head.log_root, head.note, head.signed_at,
                         time.time()),
                    )  # fmt: skip
                self._conn.execute(
                    "INSERT OR IGNORE INTO checkpoints_seen VALUES (?, ?, ?, ?)",
                    (head.origin, head.size, head.log_root, head.note),
                )
                self._conn.execute("COMMIT")
            except BaseException:
                self._conn.execute("ROLLBACK")
                raise
            self._last_stored[head.origin] = (head.size, head.note)

    # -- observations ------------------------------------------------------------------------------

    def observation(self, origin: str, label: str, version: int) -> tuple[int, bytes] | None:
        with self._lock:
            row = self._conn.execute(
                "SELECT epoch, value_sha256 FROM observations "
                "WHERE origin = ? AND label = ? AND version = ?",
                (origin, label, version),
            ).fetchone()
        return (int(row[0]), bytes(row[1])) if row else None

    def observations(self, origin: str, label: str) -> list[tuple[int, int, bytes]]:
        """(version, epoch, value digest) seen for ``label``, oldest version first."""
        with self._lock:
            rows = self._conn.execute(
                "SELECT version, epoch, value_sha256 FROM observations "
                "WHERE origin = ? AND label = ? ORDER BY version",
                (origin, label),
            ).fetchall()
        return [(int(v), int(e), bytes(d)) for v, e, d in rows]

    def observe(self, origin: str, label: str, version: int, epoch: int, digest: bytes) -> None:
        with self._lock:
            self._conn.execute(
                "INSERT OR IGNORE INTO observations VALUES (?, ?, ?, ?, ?, ?)",
                (origin, label, version, epoch, digest, time.time()),
            )

    def watched_labels(self, origin: str) -> list[str]:
        with self._lock:
            rows = self._conn.execute(
                "SELECT DISTINCT label FROM observations WHERE origin = ? ORDER BY label",
                (origin,),
            ).fetchall()
        return [r[0] for r in rows]

    # -- own uploads -------------------------------------------------------------------------------

    def record_own_update(
        self, origin: str, label: str, digest: bytes, update_id: int | None
    ) -> None:
        """Remember a key we uploaded (first with no id, before sending; then with the
        server's update id, which is kept: the earlier row only said "we sent this")."""
        with self._lock:
            self._conn.execute(
                "INSERT INTO own_updates VALUES (?, ?, ?, ?, ?) "
                "ON CONFLICT (origin, label, value_sha256) DO UPDATE SET "
                "update_id = COALESCE(excluded.update_id, own_updates.update_id)",
                (origin, label, digest, update_id, time.time()),
            )

    def own_update_ids(self, origin: str, label: str) -> dict[bytes, int | None]:
        """Digest → update id of the keys we uploaded for ``label`` (None: no receipt yet)."""
        with self._lock:
            rows = self._conn.execute(
                "SELECT value_sha256, update_id FROM own_updates WHERE origin = ? AND label = ?",
                (origin, label),
            ).fetchall()
        return {bytes(d): (int(i) if i is not None else None) for d, i in rows}

    def own_digests(self, origin: str, label: str) -> set[bytes]:
        with self._lock:
            rows = self._conn.execute(
                "SELECT value_sha256 FROM own_updates WHERE origin = ? AND label = ?",
                (origin, label),
            ).fetchall()
        return {bytes(r[0]) for r in rows}
