"""Where audit proofs come from: a log directory over HTTP(S) (S3/CloudFront), an S3 bucket
(``s3://``, with credentials) or a folder.

Both digests of a transition are the auditor's own records, so a proof is fetched by name,
``{E}/{digest[E-1]}/{digest[E]}``, without listing (spec auditor-compat.md 4.1); the listing
(S3 ``ListObjectsV2``) is used only to look for a *second* blob for the same epoch.

A missing blob or a network error is ``BlobMissing``: absence, not evidence (CDNs serve stale
404s). Memory: a blob is streamed to a temporary file in chunks and read back once, so a
300 MB proof costs one in-memory copy plus the decoded proof, not several.
"""

from __future__ import annotations

import os
import re
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Protocol
from urllib.parse import urlparse

import httpx

from glasskey.core.akd.audit import parse_audit_blob_name, verify_audit_blob
from glasskey.core.akd.configuration import get_configuration
from glasskey.core.akd.wire import MAX_AUDIT_PROOF_BYTES
from glasskey.core.errors import GlasskeyError, MalformedError
from glasskey.storage._objects import ObjectStore, is_s3_url

USER_AGENT = "glasskey-auditor/0.1"
CHUNK = 1 << 20

VerifyBlob = Callable[[str, bytes], None]
"""``verify_blob(name, data)``: return if the blob proves ``name``'s transition, else raise a
``VerificationError`` (``MalformedError`` / ``AppendOnlyProofError``)."""


def default_verify_blob(config_name: str = "whatsapp_v1") -> VerifyBlob:
    """The real check: decode the SingleAppendOnlyProof and run the strict rebuild."""
    config = get_configuration(config_name)

    def verify(name: str, data: bytes) -> None:
        verify_audit_blob(config, name, data)

    return verify


class BlobMissing(Exception):
    """The blob could not be fetched now (404, network, 5xx): retry later, not evidence."""


class BlobSource(Protocol):
    def fetch(self, name: str) -> bytes: ...
    def names_for_epoch(self, epoch: int) -> list[str] | None: ...
    def close(self) -> None: ...


class FolderSource:
    """Blobs as files ``root/{epoch}/{prev}/{cur}`` (a path or ``file://`` URL)."""

    def __init__(self, root: str | os.PathLike[str]) -> None:
        self.root = Path(root)

    def fetch(self, name: str) -> bytes:
        path = self.root / str(parse_audit_blob_name(name))
        try:
            with path.open("rb") as handle:
                return handle.read(MAX_AUDIT_PROOF_BYTES + 1)
        except OSError as exc:
            raise BlobMissing(f"{path}: {exc.strerror}") from None

    def names_for_epoch(self, epoch: int) -> list[str]:
        folder = self.root / str(epoch)
        if not folder.is_dir():
            return []
        return sorted(
            p.relative_to(self.root).as_posix()
            for p in folder.glob("*/*")
            if p.is_file() and not p.name.startswith(".")
        )

    def close(self) -> None:
        pass


_KEY_RE = re.compile(r"<Key>([^<]*)</Key>")


class HttpSource:
    """Blobs under an HTTP(S) base URL (S3/CloudFront as WhatsApp publishes them)."""

    def __init__(
        self,
        base_url: str,
        *,
        timeout: float = 120.0,
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        self.base = base_url.rstrip("/")
        # No total deadline: a 300 MB proof on a slow link must not time out (spec 4.1);
        # ``timeout`` bounds each read, so a stalled transfer still fails.
        self.client = httpx.Client(
            headers={"User-Agent": USER_AGENT},
            timeout=httpx.Timeout(timeout, connect=30.0),
            follow_redirects=True,
            transport=transport,
        )

    def fetch(self, name: str) -> bytes:
        url = f"{self.base}/{parse_audit_blob_name(name)}"
        try:
            with self.client.stream("GET", url) as response:
                if response.status_code != 200:
                    raise BlobMissing(f"GET {url}: HTTP {response.status_code}")
                with tempfile.TemporaryFile(prefix="glasskey-blob-") as spool:
                    size = 0
                    for chunk in response.iter_bytes(CHUNK):
                        size += len(chunk)
                        if size > MAX_AUDIT_PROOF_BYTES:
                            raise MalformedError(
                                f"audit blob {name} exceeds {MAX_AUDIT_PROOF_BYTES} bytes"
                            )
                        spool.write(chunk)
                    spool.seek(0)
                    return spool.read()
        except httpx.HTTPError as exc:
            raise BlobMissing(f"GET {url}: {type(exc).__name__}") from None

    def names_for_epoch(self, epoch: int) -> list[str] | None:
        """S3 ListObjectsV2 for the epoch's prefix; None when the server does not list.

        The base URL is the listing itself (glasskey's blob endpoint, a bucket's root), or a
        key prefix inside a path-style bucket URL (``http://host/BUCKET/PREFIX``): S3 lists
        only at the bucket, so that one is listed at ``http://host/BUCKET`` with the prefix
        in ``prefix=`` and the prefix taken off the keys it returns.
        """
        found = self._list(self.base, f"{epoch}/")
        if found is not None:
            return found
        parsed = urlparse(self.base)
        bucket, _, key_prefix = parsed.path.strip("/").partition("/")
        if not key_prefix:
            return None
        bucket_url = parsed._replace(path=f"/{bucket}", query="", fragment="").geturl()
        keys = self._list(bucket_url, f"{key_prefix}/{epoch}/")
        if keys is None:
            return None
        return [k[len(key_prefix) + 1 :] for k in keys if k.startswith(key_prefix + "/")]

    def _list(self, url: str, prefix: str) -> list[str] | None:
        try:
            response = self.client.get(url, params={"list-type": "2", "prefix": prefix})
        except httpx.HTTPError:
            return None
        if response.status_code != 200 or "ListBucketResult" not in response.text:
            return None
        keys: list[str] = _KEY_RE.findall(response.text)
        return keys

    def close(self) -> None:
        self.client.close()


class S3Source:
    """Blobs in an S3-compatible bucket, ``s3://BUCKET/PREFIX``, read with the credentials
    and endpoint of the environment (``AWS_*``, see ``glasskey.storage._objects``): a
    private bucket the log writes to, listed with ListObjectsV2."""

    def __init__(self, url: str, client: object | None = None) -> None:
        self.objects = ObjectStore(url, client)

    def fetch(self, name: str) -> bytes:
        key = str(parse_audit_blob_name(name))
        try:
            data = self.objects.get(key)
        except Exception as exc:  # botocore's errors: absence for now, not evidence
            raise BlobMissing(f"{self.objects.location}/{key}: {type(exc).__name__}") from None
        if data is None:
            raise BlobMissing(f"{self.objects.location}/{key}: no such object")
        if len(data) > MAX_AUDIT_PROOF_BYTES:
            raise MalformedError(f"audit blob {name} exceeds {MAX_AUDIT_PROOF_BYTES} bytes")
        return data

    def names_for_epoch(self, epoch: int) -> list[str] | None:
        try:
            return [name for name, _ in self.objects.list(f"{epoch}/")]
        except GlasskeyError:
            raise
        except Exception:
            return None

    def close(self) -> None:
        pass


def source_for(log_directory: str) -> BlobSource:
    """An HTTP(S) URL, an ``s3://bucket/prefix`` or a folder (path or ``file://`` URL)."""
    if is_s3_url(log_directory):
        return S3Source(log_directory)
    parsed = urlparse(log_directory)
    if parsed.scheme in ("http", "https"):
        return HttpSource(log_directory)
    if parsed.scheme == "file":
        return FolderSource(parsed.path)
    return FolderSource(log_directory)


__all__ = [
    "BlobMissing",
    "BlobSource",
    "FolderSource",
    "HttpSource",
    "S3Source",
    "VerifyBlob",
    "default_verify_blob",
    "source_for",
]
