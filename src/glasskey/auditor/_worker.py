"""Asynchronous audit-proof verification: advance ``last_verified_epoch``, keep evidence.

The auditor signs first and verifies later (spec auditor-compat.md 4.3). For every namespace
with a ``log_directory`` this worker walks epochs in order from ``last_verified_epoch + 1``:
it fetches the blob ``{E}/{digest[E-1]}/{digest[E]}`` (both digests are the auditor's own
signed records, so no listing is needed), verifies the append-only proof with the strict
rebuild, and advances ``last_verified_epoch`` one contiguous step at a time.

Failure policy, and why:

* A missing blob or a network error is *absence, not evidence* (CDNs serve stale 404s): the
  worker logs it and retries on the next round, never records it.
* A proof that does not decode or does not connect the two roots is evidence: the worker
  records (epoch, blob name, reason, SHA-256 of the bytes), stops advancing that namespace
  and exposes the record (``verification_error`` in NamespaceInfo, ``/evidence``). Signatures
  already issued are untouched: they attest sequence and uniqueness, not proof validity.
* A log directory that holds a blob for epoch E naming a different digest than the one the
  auditor signed is equivocation (two digests for one epoch): recorded the same way.

State lives in the database, so a restarted worker resumes at ``last_verified_epoch + 1``;
advancing is a compare-and-set, so two workers never move it backwards or skip.

Memory: a blob is streamed to a temporary file in chunks and read back once, so a 300 MB
proof costs one in-memory copy plus the decoded proof, not several.
"""

from __future__ import annotations

import contextlib
import hashlib
import logging
import os
import re
import tempfile
import threading
import uuid
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Protocol
from urllib.parse import urlparse

import httpx

from glasskey.auditor._store import AuditorStore, Evidence, NamespaceRow
from glasskey.core.akd.audit import format_audit_blob_name, parse_audit_blob_name
from glasskey.core.akd.wire import MAX_AUDIT_PROOF_BYTES
from glasskey.core.errors import GlasskeyError, MalformedError, VerificationError
from glasskey.core.plexi import LastVerifiedEpoch, parse_root

log = logging.getLogger("glasskey.auditor.worker")

USER_AGENT = "glasskey-auditor/0.1"
CHUNK = 1 << 20

VerifyBlob = Callable[[str, bytes], None]
"""``verify_blob(name, data)``: return if the blob proves ``name``'s transition, else raise a
``VerificationError`` (``MalformedError`` / ``AppendOnlyProofError``)."""


def default_verify_blob(config_name: str = "whatsapp_v1") -> VerifyBlob:
    """The real check: decode the SingleAppendOnlyProof and run the strict rebuild."""
    from glasskey.core.akd.audit import verify_audit_blob
    from glasskey.core.akd.configuration import get_configuration

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
        """S3 ListObjectsV2 for the epoch's prefix; None when the server does not list."""
        try:
            response = self.client.get(self.base, params={"list-type": "2", "prefix": f"{epoch}/"})
        except httpx.HTTPError:
            return None
        if response.status_code != 200 or "ListBucketResult" not in response.text:
            return None
        return _KEY_RE.findall(response.text)

    def close(self) -> None:
        self.client.close()


def source_for(log_directory: str) -> BlobSource:
    """An HTTP(S) URL or a folder (path or ``file://`` URL)."""
    parsed = urlparse(log_directory)
    if parsed.scheme in ("http", "https"):
        return HttpSource(log_directory)
    if parsed.scheme == "file":
        return FolderSource(parsed.path)
    return FolderSource(log_directory)


@dataclass
class NamespaceProgress:
    namespace: str
    verified: int = 0
    waiting_for: str | None = None  # blob name we could not fetch yet
    stopped: bool = False


class VerificationWorker:
    """Walks every namespace with a log directory; see the module docstring."""

    def __init__(
        self,
        store: AuditorStore,
        *,
        verify_blob: VerifyBlob | None = None,
        source_factory: Callable[[str], BlobSource] = source_for,
        clock: Callable[[], int] | None = None,
        poll_interval: float = 5.0,
    ) -> None:
        from glasskey.auditor._service import now_ms

        self.store = store
        self.verify_blob = verify_blob or default_verify_blob()
        self.source_factory = source_factory
        self.clock = clock or now_ms
        self.poll_interval = poll_interval
        self._wake = threading.Event()
        self._sources: dict[str, BlobSource] = {}

    def wake(self) -> None:
        """Called after a publication so that verification starts without waiting a poll."""
        self._wake.set()

    def _source(self, log_directory: str) -> BlobSource:
        if log_directory not in self._sources:
            self._sources[log_directory] = self.source_factory(log_directory)
        return self._sources[log_directory]

    def close(self) -> None:
        for source in self._sources.values():
            source.close()
        self._sources.clear()

    # -- one pass ------------------------------------------------------------------------

    def run_once(self, max_epochs: int | None = None) -> dict[str, NamespaceProgress]:
        """Verify as far as possible in every namespace; returns progress per namespace."""
        with self.store.read() as txn:
            rows = [r for r in txn.list_namespaces() if r.log_directory and r.root]
        return {row.name: self.verify_namespace(row.name, max_epochs) for row in rows}

    def verify_namespace(self, name: str, max_epochs: int | None = None) -> NamespaceProgress:
        progress = NamespaceProgress(name)
        job_id = str(uuid.uuid4())
        batch_start: bytes | None = None
        with self.store.read() as txn:
            row = txn.get_namespace(name)
            blocked = bool(txn.list_evidence(name))
        if row is None or not row.log_directory or not row.root or row.last_epoch is None:
            return progress
        if blocked:
            progress.stopped = True
            return progress
        root_epoch, root_digest = parse_root(row.root)
        if row.last_verified is None:
            # The root is the anchor: valid iff it is the digest the auditor signed there.
            row = self._advance(row, root_epoch, root_digest, root_digest, job_id)
            if row is None:
                return progress
        source = self._source(row.log_directory or "")
        assert row.last_verified is not None
        epoch = row.last_verified.epoch + 1
        while row.last_epoch is not None and epoch <= row.last_epoch:
            if max_epochs is not None and progress.verified >= max_epochs:
                break
            with self.store.read() as txn:
                previous = txn.get_epoch(name, epoch - 1)
                current = txn.get_epoch(name, epoch)
            if previous is None or current is None:
                break
            blob = format_audit_blob_name(epoch, previous.digest, current.digest)
            if self._equivocation(source, name, epoch, blob):
                progress.stopped = True
                return progress
            try:
                data = source.fetch(blob)
            except BlobMissing as exc:
                log.info("namespace %s: audit blob %s not available yet (%s)", name, blob, exc)
                progress.waiting_for = blob
                break
            except MalformedError as exc:
                self._record(name, epoch, blob, exc, None)
                progress.stopped = True
                return progress
            try:
                self.verify_blob(blob, data)
            except VerificationError as exc:
                self._record(name, epoch, blob, exc, hashlib.sha256(data).hexdigest())
                progress.stopped = True
                return progress
            except GlasskeyError as exc:  # e.g. a malformed name: still a failed proof
                self._record(name, epoch, blob, exc, hashlib.sha256(data).hexdigest())
                progress.stopped = True
                return progress
            finally:
                del data
            if batch_start is None:
                batch_start = previous.digest
            advanced = self._advance(row, epoch, batch_start, current.digest, job_id)
            if advanced is None:  # another worker moved it; resync next round
                break
            row = advanced
            progress.verified += 1
            epoch += 1
            with self.store.read() as txn:
                latest = txn.get_namespace(name)
            if latest is not None:
                row = replace(row, last_epoch=latest.last_epoch)
        return progress

    def _equivocation(self, source: BlobSource, name: str, epoch: int, expected: str) -> bool:
        names = source.names_for_epoch(epoch)
        if not names:
            return False
        others = [n for n in names if n.lower() != expected]
        if not others:
            return False
        reason = (
            f"equivocation: the log directory holds {', '.join(others)} for epoch {epoch}, "
            f"but the auditor signed {expected}"
        )
        self._store_evidence(Evidence(name, epoch, others[0], "equivocation", reason, None, 0))
        log.error("namespace %s: %s", name, reason)
        return True

    def _record(
        self, name: str, epoch: int, blob: str, exc: GlasskeyError, sha256: str | None
    ) -> None:
        kind = "malformed" if isinstance(exc, MalformedError) else "invalid_proof"
        self._store_evidence(Evidence(name, epoch, blob, kind, str(exc), sha256, 0))
        log.error("namespace %s: audit blob %s failed verification: %s", name, blob, exc)

    def _store_evidence(self, evidence: Evidence) -> None:
        with self.store.write() as txn:
            txn.add_evidence(replace(evidence, detected_ms=self.clock()))

    def _advance(
        self, row: NamespaceRow, epoch: int, start: bytes, end: bytes, job_id: str
    ) -> NamespaceRow | None:
        """Compare-and-set ``last_verified`` from ``row``'s value to ``epoch``."""
        expected = None if row.last_verified is None else row.last_verified.epoch
        with self.store.write() as txn:
            current = txn.get_namespace(row.name, for_update=True)
            if current is None:
                return None
            now = None if current.last_verified is None else current.last_verified.epoch
            if now != expected:
                return None
            updated = replace(
                current,
                last_verified=LastVerifiedEpoch(job_id, epoch, start, end, self.clock()),
            )
            txn.update_namespace(updated)
        return updated

    # -- loops ---------------------------------------------------------------------------

    def run_forever(self, stop: threading.Event) -> None:
        while not stop.is_set():
            try:
                self.run_once()
            except Exception:  # keep the worker alive; the next round retries
                log.exception("verification round failed")
            self._wake.wait(self.poll_interval)
            self._wake.clear()
        self.close()

    @contextlib.asynccontextmanager
    async def running(self) -> AsyncIterator[None]:
        """Run in a daemon thread for the lifetime of an ASGI app."""
        stop = threading.Event()
        thread = threading.Thread(
            target=self.run_forever, args=(stop,), name="glasskey-verifier", daemon=True
        )
        thread.start()
        try:
            yield
        finally:
            stop.set()
            self._wake.set()
            thread.join(timeout=10)


__all__ = [
    "BlobMissing",
    "BlobSource",
    "FolderSource",
    "HttpSource",
    "NamespaceProgress",
    "VerificationWorker",
    "VerifyBlob",
    "default_verify_blob",
    "source_for",
]
