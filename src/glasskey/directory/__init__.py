"""The AKD directory engine: batched epochs, lookup/history/audit proofs, audit blobs."""

from glasskey.directory.blobs import BlobStore, FolderBlobStore, MemoryBlobStore
from glasskey.directory.directory import Directory, Limits, ReadOnlyDirectory
from glasskey.directory.errors import (
    DirectoryError,
    InvalidEpoch,
    InvalidUpdate,
    LabelNotFound,
    ReadOnly,
    StoreCorrupted,
)

__all__ = [
    "BlobStore",
    "Directory",
    "DirectoryError",
    "FolderBlobStore",
    "InvalidEpoch",
    "InvalidUpdate",
    "LabelNotFound",
    "Limits",
    "MemoryBlobStore",
    "ReadOnly",
    "ReadOnlyDirectory",
    "StoreCorrupted",
]
