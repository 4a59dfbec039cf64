"""Storage backends behind one protocol: in-memory, SQLite (default) and PostgreSQL."""

from __future__ import annotations

from glasskey.core.errors import UsageError
from glasskey.storage.base import NodeRecord, PendingRecord, Store, StoreTransaction, ValueState


def open_store(url: str) -> Store:
    """Open a store by URL: ``memory://``, ``sqlite:///path`` or ``postgresql://...``."""
    if url == "memory://":
        from glasskey.storage.memory import MemoryStore

        return MemoryStore()
    if url.startswith("sqlite:///"):
        from glasskey.storage.sqlite import SqliteStore

        path = url[len("sqlite:///") :]
        if not path:
            raise UsageError("sqlite URL needs a path: sqlite:///PATH")
        return SqliteStore(path)
    if url.startswith(("postgresql://", "postgres://")):
        from glasskey.storage.postgres import PostgresStore

        return PostgresStore(url)
    raise UsageError(
        f"unsupported database URL {url.split(':', 1)[0]!r}: use sqlite:///PATH or postgresql://..."
    )


__all__ = ["NodeRecord", "PendingRecord", "Store", "StoreTransaction", "ValueState", "open_store"]
