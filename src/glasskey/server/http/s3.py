"""The S3 ListObjectsV2 wire format, so the audit-blob listing can be an S3 bucket's.

Auditors that read WhatsApp's S3/CloudFront proof buckets (glasskey's worker, akd's auditor)
list a bucket with ``?list-type=2`` and page with continuation tokens; answering in that
format lets the server's blob URL be a namespace's ``log_directory``.
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Callable
from xml.sax.saxutils import escape as xml_escape

from glasskey.core.errors import UsageError


def encode_continuation(key: str) -> str:
    """The continuation token that resumes a listing after ``key`` (opaque to clients)."""
    return base64.urlsafe_b64encode(key.encode("utf-8")).decode("ascii")


def decode_continuation(token: str) -> str:
    """The key a continuation token resumes after; UsageError for a token we never issued."""
    try:
        raw = base64.b64decode(token.encode("ascii"), altchars=b"-_", validate=True)
        return raw.decode("utf-8")
    except (binascii.Error, UnicodeError, ValueError):
        raise UsageError("continuation-token is not one this server issued") from None


def list_objects_v2(
    names: list[str],
    prefix: str,
    after: str | None,
    start_after: str | None,
    continuation_token: str | None,
    max_keys: int,
    *,
    sizes: Callable[[str], int] | None = None,
    bucket: str = "glasskey-audit",
) -> bytes:
    """An S3 ListObjectsV2 ``ListBucketResult`` for ``names`` (keys in S3's byte order).

    ``after``: list keys strictly greater than this (``start-after`` or the decoded
    continuation token); ``IsTruncated`` and ``NextContinuationToken`` page through the rest.
    """
    selected = sorted((n for n in names if n.startswith(prefix)), key=lambda n: n.encode("utf-8"))
    if after is not None:
        floor = after.encode("utf-8")
        selected = [n for n in selected if n.encode("utf-8") > floor]
    page, rest = selected[:max_keys], selected[max_keys:]
    truncated = bool(rest) and bool(page)
    parts = [
        '<?xml version="1.0" encoding="UTF-8"?>',
        '<ListBucketResult xmlns="http://s3.amazonaws.com/doc/2006-03-01/">',
        f"<Name>{xml_escape(bucket)}</Name>",
        f"<Prefix>{xml_escape(prefix)}</Prefix>",
    ]
    if start_after is not None:
        parts.append(f"<StartAfter>{xml_escape(start_after)}</StartAfter>")
    if continuation_token is not None:
        parts.append(f"<ContinuationToken>{xml_escape(continuation_token)}</ContinuationToken>")
    parts += [
        f"<KeyCount>{len(page)}</KeyCount>",
        f"<MaxKeys>{max_keys}</MaxKeys>",
        f"<IsTruncated>{'true' if truncated else 'false'}</IsTruncated>",
    ]
    if truncated:
        token = encode_continuation(page[-1])
        parts.append(f"<NextContinuationToken>{token}</NextContinuationToken>")
    for name in page:
        size = f"<Size>{sizes(name)}</Size>" if sizes is not None else ""
        parts.append(
            f"<Contents><Key>{xml_escape(name)}</Key>{size}"
            "<StorageClass>STANDARD</StorageClass></Contents>"
        )
    parts.append("</ListBucketResult>")
    return "".join(parts).encode("utf-8")
