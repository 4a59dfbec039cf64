"""Errors of the storage layer (all ``GlasskeyError``s with a stable ``code``).

They live here, below the directory engine, because the storage layer raises them itself (a
schema newer than the code, a database it cannot reach); ``glasskey.directory`` re-exports
``StoreCorrupted`` since its tree checks raise the same condition.
"""

from __future__ import annotations

from glasskey.core.errors import GlasskeyError, Unavailable


class StorageError(GlasskeyError):
    code = "storage_error"


class StoreCorrupted(StorageError):
    """The stored state is inconsistent (or too new); nothing is built on it."""

    code = "store_corrupted"


class DatabaseUnavailable(StorageError, Unavailable):
    """The database could not be reached or dropped the connection: retry (HTTP 503)."""

    code = "database_unavailable"


__all__ = ["DatabaseUnavailable", "StorageError", "StoreCorrupted"]
