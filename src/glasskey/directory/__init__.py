"""The AKD directory engine: batched epochs, lookup/history/audit proofs, audit blobs."""

from glasskey.directory._blobs import (
    BlobStore,
    FolderBlobStore,
    MemoryBlobStore,
    S3BlobStore,
    open_blob_store,
)
from glasskey.directory._directory import Directory, Limits, ReadOnlyDirectory
from glasskey.directory._errors import (
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
    "S3BlobStore",
    "StoreCorrupted",
    "open_blob_store",
]
