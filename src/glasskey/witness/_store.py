"""The witness's only state: per log origin, the newest checkpoint it cosigned.

SQLite, one row per origin. Why the check and the update are one transaction
(``BEGIN IMMEDIATE``): tlog-witness requires that two concurrent requests cannot both pass
the old-size check and then store in the wrong order (which would roll the witness back and
let it cosign two incompatible heads). SQLite's write lock makes the compare-and-set atomic
across threads *and* processes sharing the file.
"""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TypeVar

T = TypeVar("T")

_SCHEMA = """CREATE TABLE IF NOT EXISTS witness_heads (
    origin TEXT PRIMARY KEY,
    size INTEGER NOT NULL,
    root_hash BLOB NOT NULL,
    note TEXT NOT NULL,
    cosigned_at INTEGER NOT NULL
)"""


@dataclass(frozen=True, slots=True)
class Head:
    """The newest checkpoint the witness cosigned for one origin (the log-signed note too,
    kept as evidence of what the log claimed)."""

    origin: str
    size: int
    root_hash: bytes
    note: str
    cosigned_at: int


class WitnessStore:
    def __init__(self, path: str | Path) -> None:
        self.path = str(path)
        self._lock = threading.Lock()
        self._db = sqlite3.connect(self.path, isolation_level=None, check_same_thread=False)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA synchronous=FULL")  # a cosigned head must survive a crash
        self._db.execute(_SCHEMA)

    def close(self) -> None:
        with self._lock:
            self._db.close()

    def head(self, origin: str) -> Head | None:
        with self._lock:
            return self._head(origin)

    def _head(self, origin: str) -> Head | None:
        row = self._db.execute(
            "SELECT size, root_hash, note, cosigned_at FROM witness_heads WHERE origin = ?",
            (origin,),
        ).fetchone()
        if row is None:
            return None
        return Head(origin, int(row[0]), bytes(row[1]), str(row[2]), int(row[3]))

    def update(self, origin: str, decide: Callable[[Head | None], Head | T]) -> Head | T:
        """Atomically read the origin's head, let ``decide`` return the new head (stored) or
        anything else (a refusal, returned unchanged, nothing stored)."""
        with self._lock:
            self._db.execute("BEGIN IMMEDIATE")
            try:
                outcome = decide(self._head(origin))
                if isinstance(outcome, Head):
                    self._db.execute(
                        "INSERT INTO witness_heads (origin, size, root_hash, note, cosigned_at) "
                        "VALUES (?, ?, ?, ?, ?) ON CONFLICT (origin) DO UPDATE SET "
                        "size = excluded.size, root_hash = excluded.root_hash, "
                        "note = excluded.note, cosigned_at = excluded.cosigned_at",
                        (origin, outcome.size, outcome.root_hash, outcome.note,
                         outcome.cosigned_at),
                    )  # fmt: skip
                self._db.execute("COMMIT")
            except BaseException:
                self._db.execute("ROLLBACK")
                raise
            return outcome
