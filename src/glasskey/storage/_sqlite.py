"""SQLite backend: the embedded default (one file, no setup).

Connections, transactions and the file's settings (WAL, ``synchronous=FULL``) come from
``glasskey.storage._sql``; this module holds the directory's queries in SQLite's dialect.
"""

from __future__ import annotations

import sqlite3
import time
from collections.abc import Collection, Iterable, Iterator, Sequence
from contextlib import AbstractContextManager
from typing import Any

from glasskey.storage import _schema as schema
from glasskey.storage._base import (
    NodeRecord,
    NodeRow,
    PendingRecord,
    StoredProofs,
    ValueState,
)
from glasskey.storage._sql import SqliteDatabase
from glasskey.storage._urls import DatabaseUrl

_CHUNK = 30_000

# Python's sqlite3 binds int, float, str and bytearray parameters directly and sends every
# other one, bytes and None included, through its adapter registry first: measured ~350 ns
# a parameter, more than SQLite's own work for a node row (6 of its 8 parameters are bytes
# or None; 38k rows cost 161 ms, 108 ms bound as below). A bytearray binds the same BLOB
# without that detour; NULLIF(?, x'') stores an empty one as NULL, for the columns that may
# be NULL and are never empty when set.
_NULL_BLOB = bytearray()
_NULLABLE = "NULLIF(?, x'')"
_NODE_COLUMNS = "key, value, last_epoch, min_epoch, left_key, left_hash, right_key, right_hash"
_STATE_COLUMNS = (
    "label, version, epoch, value, node_label, existence_vrf, freshness_vrf, stale_label"
)


class _SqliteTransaction:
    def __init__(self, conn: sqlite3.Connection) -> None:
        self._conn = conn

    def _in(self, sql: str, items: list[bytearray]) -> Iterator[tuple[Any, ...]]:
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
        # The hottest read (every tree level of publish, proofs and audits): rows go straight
        # from the cursor into the dict, without _in's generator (a frame resume per row).
        items = keys if isinstance(keys, list) else list(keys)
        found: dict[bytes, NodeRecord] = {}
        execute, record = self._conn.execute, NodeRecord
        for start in range(0, len(items), _CHUNK):
            chunk = [bytearray(key) for key in items[start : start + _CHUNK]]
            sql = (
                f"SELECT {_NODE_COLUMNS} FROM akd_nodes WHERE key IN ({','.join('?' * len(chunk))})"
            )
            found.update({row[0]: record(*row) for row in execute(sql, chunk)})
        return found

    def nodes_changed_after(self, epoch: int, expected_reads: int) -> dict[bytes, NodeRow] | None:
        # A pass over every row of akd_nodes costs about one read by key per page of the
        # file (measured at 100k labels: 26 ms for 230k rows, 12.7k pages of nodes, against
        # 1.9 us per key read), so the file's page count bounds the pass from above.
        (pages,) = self._conn.execute("PRAGMA page_count").fetchone()
        if expected_reads < pages:
            return None
        rows = self._conn.execute(
            f"SELECT {_NODE_COLUMNS} FROM akd_nodes WHERE last_epoch > ?", (epoch,)
        )
        return {row[0]: row for row in rows}

    def latest_states(self, labels: Collection[bytes]) -> dict[bytes, ValueState]:
        sql = (
            f"SELECT {_STATE_COLUMNS} FROM akd_value_states WHERE label IN ({{marks}}) "
            "ORDER BY version"
        )
        found: dict[bytes, ValueState] = {}
        for row in self._in(sql, [bytearray(label) for label in labels]):
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
            # A join, not ``(label, version) IN (VALUES ...)``: SQLite answers that one with a
            # scan of the whole table, the join with one primary-key search per pair.
            rows = self._conn.execute(
                f"SELECT {_STATE_COLUMNS} FROM (VALUES {','.join(['(?,?)'] * len(chunk))}) AS k "
                "JOIN akd_value_states ON label = k.column1 AND version = k.column2",
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
        null, blob = _NULL_BLOB, bytearray
        self._conn.executemany(
            f"INSERT OR REPLACE INTO akd_nodes ({_NODE_COLUMNS}) "
            f"VALUES (?,?,?,?,{_NULLABLE},{_NULLABLE},{_NULLABLE},{_NULLABLE})",
            (
                (blob(n.key), blob(n.value), n.last_epoch, n.min_epoch,
                 null if n.left_key is None else blob(n.left_key),
                 null if n.left_hash is None else blob(n.left_hash),
                 null if n.right_key is None else blob(n.right_key),
                 null if n.right_hash is None else blob(n.right_hash))
                for n in nodes
            ),
        )  # fmt: skip

    def put_states(self, states: Iterable[ValueState]) -> None:
        null, blob = _NULL_BLOB, bytearray
        self._conn.executemany(
            f"INSERT INTO akd_value_states ({_STATE_COLUMNS}) "
            f"VALUES (?,?,?,?,?,{_NULLABLE},{_NULLABLE},{_NULLABLE})",
            (
                (blob(s.label), s.version, s.epoch, blob(s.value), blob(s.node_label),
                 null if s.existence_vrf is None else blob(s.existence_vrf),
                 null if s.freshness_vrf is None else blob(s.freshness_vrf),
                 null if s.stale_label is None else blob(s.stale_label))
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

    def executemany(self, sql: str, rows: Iterable[Sequence[Any]]) -> None:
        self._conn.executemany(sql, (tuple(row) for row in rows))


class SqliteStore:
    """A directory store in one SQLite file (or ``:memory:`` for a single connection)."""

    def __init__(self, url: DatabaseUrl, *, read_only: bool = False) -> None:
        self.url = url.url
        self._db = SqliteDatabase(url)
        if read_only:
            schema.check(self._db)
        else:
            self.migrate()

    def migrate(self) -> int:
        """Bring the schema to the latest version; returns the version found before."""
        return schema.migrate(self._db)

    def read(self) -> AbstractContextManager[_SqliteTransaction]:
        return self._db.read(_SqliteTransaction)

    def write(self, publisher: bool = True) -> AbstractContextManager[_SqliteTransaction]:
        """A write transaction (SQLite serialises all writers, publisher or not)."""
        return self._db.write(_SqliteTransaction)

    def close(self) -> None:
        self._db.close()
