"""Storage backends behind one protocol: in-memory, SQLite (default) and PostgreSQL."""

from __future__ import annotations

from glasskey.storage._base import NodeRecord, PendingRecord, Store, StoreTransaction, ValueState
from glasskey.storage._urls import Backend, parse_database_url


def open_store(url: str) -> Store:
    """Open a store by URL: ``memory://``, ``sqlite:///path`` or ``postgresql://...``."""
    parsed = parse_database_url(url)
    if parsed.backend is Backend.MEMORY:
        from glasskey.storage._memory import MemoryStore

        return MemoryStore()
    if parsed.backend is Backend.SQLITE:
        from glasskey.storage._sqlite import SqliteStore

        return SqliteStore(parsed)
    # PostgreSQL's driver is an optional dependency: imported only when asked for.
    from glasskey.storage._postgres import PostgresStore

    return PostgresStore(parsed)


__all__ = ["NodeRecord", "PendingRecord", "Store", "StoreTransaction", "ValueState", "open_store"]
