"""Storage backends behind one protocol: in-memory, SQLite (default) and PostgreSQL."""

from __future__ import annotations

from glasskey.storage._base import NodeRecord, PendingRecord, Store, StoreTransaction, ValueState
from glasskey.storage._urls import Backend, parse_database_url


def open_store(url: str, *, read_only: bool = False) -> Store:
    """Open a store by URL: ``memory://``, ``sqlite:///path`` or ``postgresql://...``.

    ``read_only``: never migrate (a hot standby refuses every write, DDL included); the
    schema is checked instead and a database this code cannot read is refused.
    """
    parsed = parse_database_url(url)
    if parsed.backend is Backend.MEMORY:
        from glasskey.storage._memory import MemoryStore

        return MemoryStore()
    if parsed.backend is Backend.SQLITE:
        from glasskey.storage._sqlite import SqliteStore

        return SqliteStore(parsed, read_only=read_only)
    # PostgreSQL's driver is an optional dependency: imported only when asked for.
    from glasskey.storage._postgres import PostgresStore

    return PostgresStore(parsed, read_only=read_only)


__all__ = ["NodeRecord", "PendingRecord", "Store", "StoreTransaction", "ValueState", "open_store"]
