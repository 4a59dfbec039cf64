"""Where audit blobs go: a tiny blob-store interface and its folder implementation.

Auditors (WhatsApp's, Plexi's, glasskey's) read one protobuf ``SingleAppendOnlyProof`` per
epoch, named ``{epoch}/{previous_root_hex}/{root_hex}``. A folder keeps that name as a
relative path, so serving the folder over HTTP (or syncing it to an object store prefix)
publishes the blobs with no translation.
"""

from __future__ import annotations

import os
import tempfile
import threading
from pathlib import Path
from typing import Any, Protocol

from glasskey.core.akd.audit import parse_audit_blob_name
from glasskey.core.errors import MalformedError
from glasskey.storage._objects import ObjectStore, is_s3_url


class BlobStore(Protocol):
    def put(self, name: str, data: bytes) -> None: ...
    def get(self, name: str) -> bytes: ...
    def list(self) -> list[str]: ...
    def epochs(self) -> set[int]: ...


class FolderBlobStore:
    """Audit blobs as files ``root/{epoch}/{prev}/{cur}``, written atomically."""

    def __init__(self, root: str | os.PathLike[str]) -> None:
        self.root = Path(root)
        self.root.mkdir(parents=True, exist_ok=True)

    def _path(self, name: str) -> Path:
        parsed = parse_audit_blob_name(name)  # also rejects path tricks: only digits and hex
        return self.root / str(parsed)

    def put(self, name: str, data: bytes) -> None:
        path = self._path(name)
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".tmp-")
        try:
            with os.fdopen(fd, "wb") as handle:
                handle.write(data)
                handle.flush()
                os.fsync(handle.fileno())
            os.replace(tmp, path)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise

    def get(self, name: str) -> bytes:
        try:
            return self._path(name).read_bytes()
        except FileNotFoundError:
            raise MalformedError(f"no audit blob named {name!r}") from None

    def list(self) -> list[str]:
        names = []
        for path in self.root.glob("*/*/*"):
            if path.is_file() and not path.name.startswith(".tmp-"):
                names.append(path.relative_to(self.root).as_posix())
        return sorted(names, key=lambda n: int(n.split("/", 1)[0]))

    def epochs(self) -> set[int]:
        return {int(name.split("/", 1)[0]) for name in self.list()}

    def size(self, name: str) -> int:
        """Bytes of one blob without reading it (S3-style listings report sizes)."""
        try:
            return self._path(name).stat().st_size
        except OSError:
            return 0


class S3BlobStore:
    """Audit blobs as objects ``{prefix}/{epoch}/{prev}/{cur}`` in an S3-compatible bucket.

    The same names as a folder, so a public-read bucket (or a CDN in front of it) is a
    namespace's ``log_directory`` as it stands: plexi GETs ``{log_directory}/{name}`` and
    auditors list it with ListObjectsV2. A PUT is atomic, and ``Directory`` writes an epoch's
    blob before the epoch is appended to the signed root log, so no announced epoch lacks
    its proof. Sizes seen by ``list`` are remembered, so an S3-style listing of the blobs
    costs one ListObjectsV2 pass rather than a HEAD per blob.
    """

    def __init__(self, url: str, client: Any | None = None) -> None:
        self.objects = ObjectStore(url, client)
        self._sizes: dict[str, int] = {}
        self._lock = threading.Lock()

    def put(self, name: str, data: bytes) -> None:
        canonical = str(parse_audit_blob_name(name))
        self.objects.put(canonical, data)
        with self._lock:
            self._sizes[canonical] = len(data)

    def get(self, name: str) -> bytes:
        data = self.objects.get(str(parse_audit_blob_name(name)))
        if data is None:
            raise MalformedError(f"no audit blob named {name!r}")
        return data

    def list(self) -> list[str]:
        found: dict[str, int] = {}
        for name, size in self.objects.list():
            try:
                parse_audit_blob_name(name)
            except MalformedError:
                continue  # not an audit blob (another tool's object under the prefix)
            found[name] = size
        with self._lock:
            self._sizes.update(found)
        return sorted(found, key=lambda n: int(n.split("/", 1)[0]))

    def epochs(self) -> set[int]:
        return {int(name.split("/", 1)[0]) for name in self.list()}

    def size(self, name: str) -> int:
        with self._lock:
            known = self._sizes.get(name)
        if known is not None:
            return known
        data = self.objects.get(name)
        return 0 if data is None else len(data)


def open_blob_store(location: str) -> BlobStore:
    """``s3://bucket/prefix`` (an S3-compatible store) or a folder path."""
    if is_s3_url(location):
        return S3BlobStore(location)
    return FolderBlobStore(location)


class MemoryBlobStore:
    """Blob store in a dict, for tests."""

    def __init__(self) -> None:
        self.blobs: dict[str, bytes] = {}

    def put(self, name: str, data: bytes) -> None:
        self.blobs[str(parse_audit_blob_name(name))] = data

    def get(self, name: str) -> bytes:
        try:
            return self.blobs[name]
        except KeyError:
            raise MalformedError(f"no audit blob named {name!r}") from None

    def list(self) -> list[str]:
        return sorted(self.blobs, key=lambda n: int(n.split("/", 1)[0]))

    def epochs(self) -> set[int]:
        return {int(name.split("/", 1)[0]) for name in self.blobs}

    def size(self, name: str) -> int:
        return len(self.blobs.get(name, b""))
