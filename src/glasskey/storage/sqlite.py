"""SQLite backend: the embedded default (one file, no setup).

WAL mode lets readers keep serving proofs from a consistent snapshot while the publisher
writes the next epoch; ``synchronous=FULL`` makes every committed epoch and every accepted
update durable before the call returns. Each thread gets its own connection (sqlite3
connections must not be shared across threads).
"""

from __future__ import annotations

import contextlib
import sqlite3
import threading
import time
from collections.abc import Collection, Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from glasskey.storage.base import NodeRecord, PendingRecord, StoredProofs, ValueState
from glasskey.storage.schema import SQLITE_TYPES, apply_migrations

_CHUNK = 30_000
_NODE_COLUMNS = "key, value, last_epoch, min_epoch, left_key, left_hash, right_key, right_hash"
_STATE_COLUMNS = (
    "label, version, epoch, value, node_label, existence_vrf, freshness_vrf, stale_label"
)


class _SqliteTransaction:
    def __init__(self, conn: sqlite3.Connection) -> None:
        self._conn = conn

    def _in(self, sql: str, items: list[bytes]) -> Iterator[tuple[Any, ...]]:
        for start in range(0, len(items), _CHUNK):
            chunk = items[start : start + _CHUNK]
            marks = ",".join("?" * len(chunk))
            yield from self._conn.execute(sql.format(marks=marks), chunk)

    def latest_epoch(self) -> int:
        row = self._conn.execute("SELECT MAX(epoch) FROM akd_epochs").fetchone()
        return int(row[0]) if row and row[0] is not None else 0

    def epoch_root(self, epoch: int) -> bytes | None:
        row = self._conn.execute(
            "SELECT root_hash FROM akd_epochs WHERE epoch = ?", (epoch,)
        ).fetchone()
        return bytes(row[0]) if row else None

    def get_nodes(self, keys: Collection[bytes]) -> dict[bytes, NodeRecord]:
        sql = f"SELECT {_NODE_COLUMNS} FROM akd_nodes WHERE key IN ({{marks}})"
        return {row[0]: NodeRecord(*row) for row in self._in(sql, list(keys))}

    def latest_states(self, labels: Collection[bytes]) -> dict[bytes, ValueState]:
        sql = (
            f"SELECT {_STATE_COLUMNS} FROM akd_value_states WHERE label IN ({{marks}}) "
            "ORDER BY version"
        )
        found: dict[bytes, ValueState] = {}
        for row in self._in(sql, list(labels)):
            found[row[0]] = ValueState(*row)
        return found

    def label_states(self, label: bytes) -> list[ValueState]:
        rows = self._conn.execute(
            f"SELECT {_STATE_COLUMNS} FROM akd_value_states WHERE label = ? ORDER BY version",
            (label,),
        )
        return [ValueState(*row) for row in rows]

    def states_at(self, keys: Collection[tuple[bytes, int]]) -> dict[tuple[bytes, int], ValueState]:
        found: dict[tuple[bytes, int], ValueState] = {}
        items = list(keys)
        for start in range(0, len(items), _CHUNK // 2):
            chunk = items[start : start + _CHUNK // 2]
            rows = self._conn.execute(
                f"SELECT {_STATE_COLUMNS} FROM akd_value_states WHERE (label, version) IN "
                f"(VALUES {','.join(['(?,?)'] * len(chunk))})",
                [x for key in chunk for x in key],
            )
            for row in rows:
                found[(row[0], row[1])] = ValueState(*row)
        return found

    def unproven_states(self, limit: int) -> list[tuple[bytes, int]]:
        rows = self._conn.execute(
            "SELECT label, version FROM akd_value_states WHERE existence_vrf IS NULL "
            "ORDER BY label, version LIMIT ?",
            (limit,),
        )
        return [(bytes(label), int(version)) for label, version in rows]

    def pending(self, limit: int) -> list[PendingRecord]:
        rows = self._conn.execute(
            "SELECT id, label, value FROM pending_updates ORDER BY id LIMIT ?", (limit,)
        )
        return [PendingRecord(*row) for row in rows]

    def pending_count(self) -> int:
        return int(self._conn.execute("SELECT COUNT(*) FROM pending_updates").fetchone()[0])

    def update_status(self, update_id: int) -> tuple[str, int | None] | None:
        row = self._conn.execute(
            "SELECT epoch FROM published_updates WHERE id = ?", (update_id,)
        ).fetchone()
        if row:
            return ("published", int(row[0]))
        row = self._conn.execute(
            "SELECT 1 FROM pending_updates WHERE id = ?", (update_id,)
        ).fetchone()
        return ("pending", None) if row else None

    def stats(self) -> dict[str, int]:
        count = self._conn.execute
        return {
            "nodes": int(count("SELECT COUNT(*) FROM akd_nodes").fetchone()[0]),
            "labels": int(
                count("SELECT COUNT(DISTINCT label) FROM akd_value_states").fetchone()[0]
            ),
            "epochs": int(count("SELECT COUNT(*) FROM akd_epochs").fetchone()[0]),
        }

    def put_nodes(self, nodes: Iterable[NodeRecord]) -> None:
        self._conn.executemany(
            f"INSERT OR REPLACE INTO akd_nodes ({_NODE_COLUMNS}) VALUES (?,?,?,?,?,?,?,?)",
            (
                (n.key, n.value, n.last_epoch, n.min_epoch, n.left_key, n.left_hash,
                 n.right_key, n.right_hash)
                for n in nodes
            ),
        )  # fmt: skip

    def put_states(self, states: Iterable[ValueState]) -> None:
        self._conn.executemany(
            f"INSERT INTO akd_value_states ({_STATE_COLUMNS}) VALUES (?,?,?,?,?,?,?,?)",
            (
                (s.label, s.version, s.epoch, s.value, s.node_label, s.existence_vrf,
                 s.freshness_vrf, s.stale_label)
                for s in states
            ),
        )  # fmt: skip

    def put_vrf_proofs(self, proofs: Iterable[StoredProofs]) -> None:
        self._conn.executemany(
            "UPDATE akd_value_states SET existence_vrf = ?, freshness_vrf = ?, stale_label = ? "
            "WHERE label = ? AND version = ?",
            ((existence, freshness, stale, label, version)
             for label, version, existence, freshness, stale in proofs),
        )  # fmt: skip

    def add_epoch(self, epoch: int, root_hash: bytes) -> None:
        self._conn.execute(
            "INSERT INTO akd_epochs (epoch, root_hash, published_at) VALUES (?,?,?)",
            (epoch, root_hash, time.time()),
        )

    def enqueue(self, label: bytes, value: bytes) -> int:
        cursor = self._conn.execute(
            "INSERT INTO pending_updates (label, value, accepted_at) VALUES (?,?,?)",
            (label, value, time.time()),
        )
        assert cursor.lastrowid is not None
        return int(cursor.lastrowid)

    def mark_published(self, update_ids: Collection[int], epoch: int) -> None:
        ids = list(update_ids)
        self._conn.executemany(
            "INSERT INTO published_updates (id, epoch) VALUES (?, ?)", ((i, epoch) for i in ids)
        )
        self._conn.executemany("DELETE FROM pending_updates WHERE id = ?", ((i,) for i in ids))


class SqliteStore:
    """A directory store in one SQLite file (or ``:memory:`` for a single connection)."""

    def __init__(self, path: str) -> None:
        self.path = path
        self.url = f"sqlite:///{path}"
        if path != ":memory:":
            Path(path).parent.mkdir(parents=True, exist_ok=True)
        self._local = threading.local()
        self._write_lock = threading.Lock()
        self._all: list[sqlite3.Connection] = []
        self._all_lock = threading.Lock()
        self._shared: sqlite3.Connection | None = None
        self.migrate()

    def _connection(self) -> sqlite3.Connection:
        if self.path == ":memory:":
            if self._shared is None:
                self._shared = self._connect()
            return self._shared
        conn: sqlite3.Connection | None = getattr(self._local, "conn", None)
        if conn is None:
            conn = self._connect()
            self._local.conn = conn
        return conn

    def _connect(self) -> sqlite3.Connection:
        conn = sqlite3.connect(
            self.path, isolation_level=None, check_same_thread=False, timeout=30.0
        )
        conn.execute("PRAGMA journal_mode=WAL")
        conn.execute("PRAGMA synchronous=FULL")
        conn.execute("PRAGMA busy_timeout=30000")
        # Reads map the file instead of copying pages into each connection's own cache: every
        # request thread then shares the OS page cache, warm from the first request on.
        conn.execute("PRAGMA mmap_size=2147483648")
        conn.execute("PRAGMA cache_size=-65536")  # 64 MiB page cache (writes, WAL pages)
        with self._all_lock:
            self._all.append(conn)
        return conn

    def migrate(self) -> int:
        """Bring the schema to the latest version; returns the version found before."""
        conn = self._connection()
        with self._write_lock:
            conn.execute("BEGIN IMMEDIATE")
            try:
                found = apply_migrations(conn, SQLITE_TYPES, "?")
                conn.execute("COMMIT")
            except BaseException:
                conn.execute("ROLLBACK")
                raise
        return found

    @contextmanager
    def read(self) -> Iterator[_SqliteTransaction]:
        conn = self._connection()
        if self.path == ":memory:":
            with self._write_lock:
                yield _SqliteTransaction(conn)
            return
        conn.execute("BEGIN")
        try:
            yield _SqliteTransaction(conn)
        finally:
            conn.execute("COMMIT")

    @contextmanager
    def write(self, publisher: bool = True) -> Iterator[_SqliteTransaction]:
        """A write transaction (SQLite serialises all writers, publisher or not)."""
        conn = self._connection()
        with self._write_lock:
            conn.execute("BEGIN IMMEDIATE")
            try:
                yield _SqliteTransaction(conn)
            except BaseException:
                conn.execute("ROLLBACK")
                raise
            conn.execute("COMMIT")

    def close(self) -> None:
        with self._all_lock:
            for conn in self._all:
                with contextlib.suppress(sqlite3.Error):
                    conn.close()
            self._all.clear()
        self._local = threading.local()
        self._shared = None
