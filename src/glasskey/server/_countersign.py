"""Countersigning: ask a Plexi-compatible auditor to sign every published epoch, in order.

Why a separate background thread rather than a call inside the publisher: the auditor is a
third party on the network. A slow or unreachable auditor must never delay or fail an epoch,
so the publisher only *wakes* this thread; the thread catches up every epoch the auditor has
not countersigned yet, strictly in order (the auditor accepts epoch E only after E-1), and
retries failures with exponential back-off.

Why every signature is verified before it is stored: the server serves these signatures to
clients next to its own proofs. Storing one that does not verify against the auditor's
``/info`` keys, or that covers another namespace, epoch or digest than ours, would hand clients
an alert they cannot act on. ``AuditorClient.publish`` does that check.

Where the sequence starts (spec auditor-compat.md 2.5): a namespace created without ``root``
accepts epoch 1 first; one created with ``root = "E/hex"`` accepts epoch E first (a log that
was already running when the auditor joined). When nothing is stored locally the thread asks
the auditor what it already has (``latest``), else reads the namespace's ``root``. An epoch the
auditor reports as "already published" (we crashed after it signed, before we stored) is
fetched back and stored if it carries our digest; a different digest is a fork at the auditor
and is reported, never papered over.

What each answer of the auditor's sign request means here (glasskey's auditor verifies the
epoch's audit proof before it signs, so some answers are "not yet"):

* 200: the signature, checked and stored.
* 503 (``Unavailable``: the proof is not published yet, or being verified): expected right
  after an epoch; retried with the usual back-off and logged at INFO, not as a failure
  worth a warning.
* 400 "already published": fetched back (above). Any other 400 (the proof was found wrong,
  the namespace has unresolved evidence or is disabled), 401/403 (our credential is not an
  owner of the namespace): retried with back-off and logged as a WARNING — an operator must
  act, and signing resumes by itself once they have.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

from glasskey.core.errors import (
    ConstraintViolation,
    GlasskeyError,
    NotFound,
    SignatureError,
    Unavailable,
)
from glasskey.core.plexi import KeyInfo, NamespaceInfo, SignatureResponse, parse_root
from glasskey.core.plexi.messages import loads
from glasskey.server._db import ServiceDB
from glasskey.server._rootlog import RootLog

log = logging.getLogger("glasskey.server.countersign")


class AuditorApi(Protocol):
    """What the countersigner needs from ``glasskey.auditor.AuditorClient`` (tests fake it)."""

    def publish(self, namespace: str, epoch: int, digest: bytes | str) -> SignatureResponse: ...
    def audit(self, namespace: str, epoch: int) -> SignatureResponse: ...
    def latest(self, namespace: str) -> SignatureResponse: ...
    def namespace(self, namespace: str) -> NamespaceInfo: ...
    def keys(self) -> Sequence[KeyInfo]: ...
    def close(self) -> None: ...


class CountersignError(GlasskeyError):
    """The auditor refused an epoch or answered something we cannot store."""

    code = "countersign_failed"


@dataclass(frozen=True, slots=True)
class CountersignStatus:
    """What ``/readyz`` and ``/api/transparency/auditor`` report about the auditor."""

    namespace: str
    countersigned_epoch: int | None
    published_epoch: int
    consecutive_failures: int
    last_error: str | None
    next_retry_in: float | None

    @property
    def lag(self) -> int:
        return self.published_epoch - (self.countersigned_epoch or 0)

    def to_json_dict(self) -> dict[str, Any]:
        return {
            "namespace": self.namespace,
            "countersigned_epoch": self.countersigned_epoch,
            "published_epoch": self.published_epoch,
            "lag": self.lag,
            "consecutive_failures": self.consecutive_failures,
            "last_error": self.last_error,
            "next_retry_in": self.next_retry_in,
        }


class SignatureStore:
    """``glasskey_auditor_signatures``: one verified SignatureResponse per (namespace, epoch)."""

    #: How long "no signature yet" is believed before asking the database again.
    MISS_TTL = 0.5
    #: Signatures kept in memory (they never change once stored; every lookup attaches one).
    CACHE_SIZE = 256

    def __init__(self, db: ServiceDB) -> None:
        self.db = db
        self._lock = threading.Lock()
        self._found: dict[tuple[str, int], SignatureResponse] = {}
        self._missing: dict[tuple[str, int], float] = {}

    def put(self, response: SignatureResponse) -> None:
        with self.db.transaction():
            self.db.execute(
                "INSERT INTO glasskey_auditor_signatures "
                "(namespace, epoch, digest, response, stored_at) VALUES (?, ?, ?, ?, ?) "
                "ON CONFLICT (namespace, epoch) DO NOTHING",
                (response.namespace, response.epoch, response.digest, response.to_json(),
                 time.time()),
            )  # fmt: skip
        with self._lock:
            self._missing.pop((response.namespace, response.epoch), None)

    def get(self, namespace: str, epoch: int) -> SignatureResponse | None:
        """The stored signature of ``epoch``; served from memory after the first read (a
        stored signature is immutable), and a miss is re-checked after ``MISS_TTL``."""
        key = (namespace, epoch)
        now = time.monotonic()
        with self._lock:
            if key in self._found:
                return self._found[key]
            if now - self._missing.get(key, -self.MISS_TTL) < self.MISS_TTL:
                return None
        rows = self.db.query(
            "SELECT response FROM glasskey_auditor_signatures WHERE namespace = ? AND epoch = ?",
            (namespace, epoch),
        )
        response = SignatureResponse.from_json_obj(loads(rows[0][0])) if rows else None
        with self._lock:
            if response is None:
                if len(self._missing) >= self.CACHE_SIZE:
                    self._missing.clear()
                self._missing[key] = now
            else:
                if len(self._found) >= self.CACHE_SIZE:
                    self._found.pop(min(self._found, key=lambda k: k[1]))
                self._found[key] = response
                self._missing.pop(key, None)
        return response

    def latest_epoch(self, namespace: str) -> int | None:
        rows = self.db.query(
            "SELECT MAX(epoch) FROM glasskey_auditor_signatures WHERE namespace = ?",
            (namespace,),
        )
        return None if not rows or rows[0][0] is None else int(rows[0][0])

    def latest(self, namespace: str) -> SignatureResponse | None:
        epoch = self.latest_epoch(namespace)
        return None if epoch is None else self.get(namespace, epoch)


class Countersigner:
    """Keeps the auditor's signatures caught up with the root log (see the module docstring).

    ``is_leader`` says whether this process publishes (only the elected publisher talks to
    the auditor, so several server processes never race for one epoch).
    """

    def __init__(
        self,
        api: AuditorApi,
        namespace: str,
        rootlog: RootLog,
        store: SignatureStore,
        *,
        is_leader: Callable[[], bool] = lambda: True,
        retry_base: float = 1.0,
        retry_max: float = 60.0,
        on_signed: Callable[[], None] = lambda: None,
        on_failure: Callable[[], None] = lambda: None,
    ) -> None:
        self.api = api
        self.namespace = namespace
        self.rootlog = rootlog
        self.store = store
        self.is_leader = is_leader
        self.retry_base = max(0.01, retry_base)
        self.retry_max = max(self.retry_base, retry_max)
        self.on_signed = on_signed
        self.on_failure = on_failure
        self.failures = 0
        self.last_error: str | None = None
        self._retry_at = 0.0
        self._next: int | None = None  # next epoch to ask for, once known
        #: The auditor's keys as of the last verified signature (served without a network call).
        self.known_keys: tuple[KeyInfo, ...] = ()
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._wake = threading.Event()
        self._thread: threading.Thread | None = None

    # -- status -------------------------------------------------------------------------------

    def status(self) -> CountersignStatus:
        retry = self._retry_at - time.monotonic() if self.failures else None
        return CountersignStatus(
            namespace=self.namespace,
            countersigned_epoch=self.store.latest_epoch(self.namespace),
            published_epoch=self.rootlog.size,
            consecutive_failures=self.failures,
            last_error=self.last_error,
            next_retry_in=None if retry is None else max(0.0, round(retry, 3)),
        )

    # -- one round ------------------------------------------------------------------------------

    def run_once(self) -> int:
        """Countersign every published epoch the auditor has not signed yet; return how many.

        Never raises for auditor trouble: a failure is recorded (``last_error``, back-off)
        and the round stops at the failing epoch, so order is kept.
        """
        with self._lock:
            signed = 0
            try:
                self.rootlog.refresh()
                if self._next is None:
                    self._next = self._starting_epoch()
                while self._next is not None and self._next <= self.rootlog.size:
                    self._countersign(self._next)
                    self._next += 1
                    signed += 1
            except Exception as exc:  # network, auditor refusal, bad signature: retry later
                self._failed(exc)
                return signed
            if self.failures:
                log.info("auditor reachable again; countersigned up to epoch %s", self._next)
            self.failures = 0
            self.last_error = None
            return signed

    def _starting_epoch(self) -> int | None:
        """The first epoch to publish: after our newest stored signature, else ask the auditor."""
        stored = self.store.latest_epoch(self.namespace)
        if stored is not None:
            return stored + 1
        try:
            latest = self.api.latest(self.namespace)
        except NotFound:
            latest = None
        if latest is not None:
            self._store_checked(latest, latest.epoch)
            return latest.epoch + 1
        info = self.api.namespace(self.namespace)  # NotFound: the operator must create it
        if info.root is None:
            return 1
        root_epoch, root_digest = parse_root(info.root)
        if root_epoch <= self.rootlog.size and self._root_of(root_epoch) != root_digest:
            raise CountersignError(
                f"the auditor namespace {self.namespace!r} is anchored at epoch {root_epoch} "
                "with a digest that is not this log's root for that epoch"
            )
        return max(1, root_epoch)

    def _root_of(self, epoch: int) -> bytes:
        return self.rootlog.epoch_root(epoch)

    def _countersign(self, epoch: int) -> None:
        digest = self._root_of(epoch)
        try:
            response = self.api.publish(self.namespace, epoch, digest)
        except ConstraintViolation as exc:
            text = str(exc).lower()  # glasskey: "Epoch N already published"; others may vary
            if "already published" not in text or "digest" in text:
                raise
            # We crashed after the auditor signed and before we stored: fetch it back.
            response = self.api.audit(self.namespace, epoch)
            self._store_checked(response, epoch)
            return
        self._store_checked(response, epoch)

    def _store_checked(self, response: SignatureResponse, epoch: int) -> None:
        """Store ``response`` only if it is for our namespace/epoch/root and verifies."""
        if epoch > self.rootlog.size:
            raise CountersignError(
                f"the auditor has signed epoch {epoch} of {self.namespace!r}, beyond this "
                f"log's {self.rootlog.size} epochs: another log publishes to this namespace"
            )
        ours = self._root_of(epoch)
        if (response.namespace, response.epoch, response.digest) != (self.namespace, epoch, ours):
            raise CountersignError(
                f"the auditor's signature for epoch {epoch} covers digest "
                f"{response.digest.hex()[:16]}…, not this log's root {ours.hex()[:16]}…: "
                "the auditor saw a different history (fork)"
            )
        keys = tuple(self.api.keys())
        try:
            response.verify(keys)
        except SignatureError as exc:
            raise CountersignError(f"auditor signature for epoch {epoch}: {exc}") from None
        self.known_keys = keys
        self.store.put(response)
        self.on_signed()

    def _failed(self, exc: Exception) -> None:
        self.failures += 1
        delay = min(self.retry_max, self.retry_base * 2 ** min(self.failures - 1, 20))
        self._retry_at = time.monotonic() + delay
        message = str(exc) or type(exc).__name__
        self.last_error = f"{type(exc).__name__}: {message}"[:500]
        self.on_failure()
        if not isinstance(exc, GlasskeyError):
            self._next = None  # unexpected: re-derive the start from scratch next time
        level = logging.INFO if isinstance(exc, Unavailable) else logging.WARNING
        log.log(
            level, "auditor countersignature not obtained (%d in a row; retry in %.1fs): %s",
            self.failures, delay, self.last_error,
        )  # fmt: skip

    # -- background thread ------------------------------------------------------------------------

    def wake(self) -> None:
        """Called by the publisher after each epoch (ignored while backing off)."""
        self._wake.set()

    def start(self) -> None:
        if self._thread is not None:
            return
        self._thread = threading.Thread(target=self._run, name="glasskey-countersign", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while not self._stop.is_set():
            if self.failures and time.monotonic() < self._retry_at:
                self._stop.wait(min(1.0, self._retry_at - time.monotonic()))
                continue
            if self.is_leader():
                self.run_once()
            if self.failures:
                continue
            self._wake.wait(5.0)
            self._wake.clear()

    def stop(self, timeout: float = 10.0) -> None:
        self._stop.set()
        self._wake.set()
        if self._thread is not None:
            self._thread.join(timeout)
            self._thread = None
        self.api.close()


__all__ = [
    "AuditorApi",
    "CountersignError",
    "CountersignStatus",
    "Countersigner",
    "SignatureStore",
]
