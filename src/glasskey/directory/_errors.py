"""Errors of the directory engine (all ``GlasskeyError``s with a stable ``code``).

``StoreCorrupted`` is the storage layer's (it raises it too); it is re-exported here because
the tree checks raise it and callers know it as a directory error.
"""

from __future__ import annotations

from glasskey.core.errors import GlasskeyError, NotFound, UsageError
from glasskey.storage._errors import StoreCorrupted


class DirectoryError(GlasskeyError):
    code = "directory_error"


class LabelNotFound(DirectoryError, NotFound):
    """The label has no published version (at the requested epoch)."""

    code = "not_found"


class InvalidEpoch(UsageError):
    code = "invalid_epoch"


class InvalidUpdate(UsageError):
    """An update is malformed: empty or oversized label/value, wrong type, duplicates."""

    code = "invalid_update"


class ReadOnly(DirectoryError):
    """A write was attempted on a read-only replica view."""

    code = "read_only"


__all__ = [
    "DirectoryError",
    "InvalidEpoch",
    "InvalidUpdate",
    "LabelNotFound",
    "ReadOnly",
    "StoreCorrupted",
]
