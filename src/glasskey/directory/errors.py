"""Errors of the directory engine (all ``GlasskeyError``s with a stable ``code``)."""

from __future__ import annotations

from glasskey.core.errors import GlasskeyError, NotFound, UsageError


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


class StoreCorrupted(DirectoryError):
    """The stored tree is inconsistent; publishing stops rather than building on it."""

    code = "store_corrupted"


class ReadOnly(DirectoryError):
    """A write was attempted on a read-only replica view."""

    code = "read_only"
