"""S3-compatible object storage (AWS S3, SeaweedFS, MinIO, R2...) through boto3.

Why here, below the directory and the auditor: the log writes its audit blobs to a bucket
(``glasskey.directory``'s ``S3BlobStore``) and an auditor reads them back from the same
bucket (``glasskey.auditor``'s ``S3Source``); both layers may use ``storage`` but not each
other. This module only knows keys and bytes; the blob naming stays with its users.

Location: ``s3://BUCKET/PREFIX`` (the prefix optional). Credentials, region and endpoint
come from boto3's usual sources — ``AWS_ACCESS_KEY_ID``, ``AWS_SECRET_ACCESS_KEY``,
``AWS_REGION``/``AWS_DEFAULT_REGION`` (default ``us-east-1``) and ``AWS_ENDPOINT_URL`` for a
store other than AWS, which then gets path-style addressing (``http://host/bucket/key``, what
self-hosted stores serve). Nothing secret is ever logged or put in an error message.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any, Final
from urllib.parse import urlsplit

from glasskey.core.errors import ConfigurationError, UsageError

#: Per-request deadlines and retries: a stalled store fails the publish tick (which retries)
#: instead of hanging the publisher.
CONNECT_TIMEOUT: Final = 5.0
READ_TIMEOUT: Final = 60.0
MAX_ATTEMPTS: Final = 5


@dataclass(frozen=True, slots=True)
class S3Location:
    """``s3://bucket/prefix``: the bucket and the key prefix (no leading/trailing ``/``)."""

    bucket: str
    prefix: str

    def key(self, name: str) -> str:
        return f"{self.prefix}/{name}" if self.prefix else name

    def name(self, key: str) -> str | None:
        """The name under the prefix that ``key`` stores (None: outside the prefix)."""
        if not self.prefix:
            return key
        head = self.prefix + "/"
        return key[len(head) :] if key.startswith(head) else None

    def __str__(self) -> str:
        return f"s3://{self.bucket}/{self.prefix}" if self.prefix else f"s3://{self.bucket}"


def parse_s3_url(url: str) -> S3Location:
    parts = urlsplit(url)
    if parts.scheme != "s3" or not parts.netloc:
        raise UsageError(f"not an S3 location (s3://bucket/prefix): {url!r}")
    if parts.query or parts.fragment:
        raise UsageError("an S3 location has no query or fragment: s3://bucket/prefix")
    return S3Location(parts.netloc, parts.path.strip("/"))


def is_s3_url(url: str) -> bool:
    return url.startswith("s3://")


def s3_client() -> Any:
    """A boto3 S3 client from the environment (boto3 is the optional ``s3`` extra)."""
    try:
        import boto3
        from botocore.config import Config
    except ImportError:
        raise ConfigurationError("S3 audit stores need boto3: pip install 'glasskey[s3]'") from None
    endpoint = os.environ.get("AWS_ENDPOINT_URL_S3") or os.environ.get("AWS_ENDPOINT_URL")
    region = os.environ.get("AWS_REGION") or os.environ.get("AWS_DEFAULT_REGION") or "us-east-1"
    config = Config(
        connect_timeout=CONNECT_TIMEOUT,
        read_timeout=READ_TIMEOUT,
        retries={"max_attempts": MAX_ATTEMPTS, "mode": "standard"},
        s3={"addressing_style": "path" if endpoint else "auto"},
    )
    return boto3.client("s3", endpoint_url=endpoint or None, region_name=region, config=config)


class ObjectStore:
    """Objects under one ``s3://bucket/prefix``: put, get, list (ListObjectsV2) and size."""

    def __init__(self, url: str, client: Any | None = None) -> None:
        self.location = parse_s3_url(url)
        self._client = client if client is not None else s3_client()
        self._errors: Any = self._client.exceptions

    def put(self, name: str, data: bytes) -> None:
        """One PUT: S3 objects appear whole or not at all, so no temporary name is needed."""
        self._client.put_object(
            Bucket=self.location.bucket,
            Key=self.location.key(name),
            Body=data,
            ContentType="application/octet-stream",
        )

    def get(self, name: str) -> bytes | None:
        """The object's bytes, or None when there is none of that name."""
        try:
            answer = self._client.get_object(
                Bucket=self.location.bucket, Key=self.location.key(name)
            )
        except self._errors.NoSuchKey:
            return None
        except self._errors.ClientError as exc:
            if _status(exc) == 404:
                return None
            raise
        body: bytes = answer["Body"].read()
        return body

    def list(self, under: str = "") -> Iterator[tuple[str, int]]:
        """(name, size) of every object whose name starts with ``under``, in key order."""
        paginator = self._client.get_paginator("list_objects_v2")
        prefix = self.location.key(under) if self.location.prefix else under
        for page in paginator.paginate(Bucket=self.location.bucket, Prefix=prefix):
            for item in page.get("Contents", ()):
                name = self.location.name(str(item["Key"]))
                if name is not None:
                    yield name, int(item.get("Size", 0))

    def ensure_bucket(self) -> None:
        """Create the bucket if it does not exist (tests and first start-up)."""
        try:
            self._client.head_bucket(Bucket=self.location.bucket)
        except self._errors.ClientError as exc:
            if _status(exc) not in (404, 400):
                raise
            self._client.create_bucket(Bucket=self.location.bucket)


def _status(exc: Any) -> int | None:
    meta = getattr(exc, "response", {}).get("ResponseMetadata", {})
    code = meta.get("HTTPStatusCode")
    return int(code) if code is not None else None


__all__ = ["ObjectStore", "S3Location", "is_s3_url", "parse_s3_url", "s3_client"]
