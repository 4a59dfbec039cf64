"""Verify before signing: the auditor checks an epoch's audit proof before it signs the epoch.

Why, and why stricter than Plexi: Plexi (and the spec's section 4.3) signs first and verifies
asynchronously, so its signature only attests order and uniqueness. glasskey's clients treat
an auditor countersignature as "a third party checked this epoch only appended to the last
one", so here a signature is issued only after the append-only proof from the previously
signed epoch (the empty tree for a namespace's first epoch) has verified. The wire is
unchanged: same requests, same signed bytes; some requests Plexi would answer with a
signature are answered with an error instead (503 until the proof is published, 400 once it
was found wrong).

Cost, bounded per request: the caller runs ``check`` in a worker thread (never on the event
loop); a verified transition is remembered per (namespace, epoch, previous digest, digest), so
a log cannot make the auditor verify the same huge blob again and again; and at most one
verification runs per namespace at a time — a concurrent request for the same namespace is
told to retry (503) instead of queueing a thread behind it.
"""

from __future__ import annotations

import hashlib
import threading
from collections import OrderedDict
from collections.abc import Callable

from glasskey.auditor._sources import BlobMissing, BlobSource, VerifyBlob, default_verify_blob
from glasskey.auditor._sources import source_for as default_source_for
from glasskey.auditor._stalls import DEFAULT_WARN_EVERY, StallWatch
from glasskey.auditor._store import Evidence
from glasskey.core.akd.audit import format_audit_blob_name
from glasskey.core.akd.configuration import get_configuration
from glasskey.core.errors import ConstraintViolation, GlasskeyError, MalformedError, Unavailable

Transition = tuple[str, int, bytes, bytes]
"""(namespace, end epoch, previous digest, digest): one append-only step of a log."""


class ProofUnavailable(Unavailable):
    """The log has not published the proof (yet): nothing signed, the log retries later.

    ``waiting_for``: the blob and where it was looked for, for the auditor's own log."""

    code = "proof_unavailable"

    def __init__(self, message: str, *, waiting_for: str = "the audit proof") -> None:
        super().__init__(message)
        self.waiting_for = waiting_for


class VerificationBusy(Unavailable):
    """Another request's verification for this namespace is running: retry shortly."""

    code = "verification_in_progress"


class ProofGate:
    """Fetches and verifies the proof of one transition; remembers the ones that verified."""

    #: Verified transitions remembered (a few bytes each; old ones are never asked again).
    CACHE_SIZE = 4096

    def __init__(
        self,
        verify_blob: VerifyBlob,
        empty_root: bytes,
        *,
        source_for: Callable[[str], BlobSource] = default_source_for,
        stalls: StallWatch | None = None,
    ) -> None:
        self.verify_blob = verify_blob
        #: What each namespace's epoch waits for, logged while it lasts (``_stalls``).
        self.stalls = stalls or StallWatch()
        self.empty_root = empty_root
        self._source_for = source_for
        self._sources: dict[str, BlobSource] = {}
        self._verified: OrderedDict[Transition, None] = OrderedDict()
        self._busy: set[str] = set()
        self._lock = threading.Lock()

    @classmethod
    def for_configuration(
        cls, name: str = "whatsapp_v1", stall_warning: float = DEFAULT_WARN_EVERY
    ) -> ProofGate:
        """The real check under AKD configuration ``name`` (the audited logs' configuration);
        a stall is logged every ``stall_warning`` seconds while it lasts."""
        config = get_configuration(name)
        empty_root = config.root_hash_from_value(config.empty_root_value)
        return cls(default_verify_blob(name), empty_root, stalls=StallWatch(stall_warning))

    def check(self, log_directory: str | None, transition: Transition) -> Evidence | None:
        """None once ``transition``'s proof has verified; the evidence if the log published
        something wrong. Raises ``ProofUnavailable`` / ``VerificationBusy`` (retry later)."""
        namespace = transition[0]
        if log_directory is None:
            raise ConstraintViolation(
                f"namespace {namespace} has no log_directory: the auditor signs an epoch only "
                "after verifying its audit proof"
            )
        with self._lock:
            if transition in self._verified:
                return None
            if namespace in self._busy:
                raise VerificationBusy(
                    f"a proof of namespace {namespace} is being verified; retry shortly"
                )
            self._busy.add(namespace)
            source = self._sources.get(log_directory)
            if source is None:
                source = self._sources[log_directory] = self._source_for(log_directory)
        epoch = transition[1]
        try:
            with self.stalls.running(namespace, epoch) as step:
                evidence = find_evidence(source, self.verify_blob, transition, step, log_directory)
        except ProofUnavailable as exc:
            self.stalls.waiting(namespace, epoch, exc.waiting_for)
            raise
        finally:
            with self._lock:
                self._busy.discard(namespace)
        self.stalls.resolved(namespace, epoch)
        if evidence is None:
            with self._lock:
                self._verified[transition] = None
                while len(self._verified) > self.CACHE_SIZE:
                    self._verified.popitem(last=False)
        return evidence

    def close(self) -> None:
        self.stalls.close()
        with self._lock:
            for source in self._sources.values():
                source.close()
            self._sources.clear()


def find_evidence(
    source: BlobSource,
    verify_blob: VerifyBlob,
    transition: Transition,
    step: Callable[[str], None] = lambda _: None,
    where: str = "the log directory",
) -> Evidence | None:
    """Verify ``transition``'s blob; return evidence (``detected_ms`` 0) if it is wrong.

    Evidence: the log directory holds another blob for the same epoch (two histories), or
    the proof is too large, does not decode, or does not connect the two digests. A blob that
    is not there is ``ProofUnavailable`` — absence is never evidence (CDNs serve stale 404s).
    """
    namespace, epoch, previous, current = transition
    blob = format_audit_blob_name(epoch, previous, current)
    step(f"listing epoch {epoch}'s blobs in {where}")
    others = [n for n in source.names_for_epoch(epoch) or () if n.lower() != blob]
    if others:
        reason = (
            f"equivocation: the log directory holds {', '.join(others)} for epoch {epoch}, "
            f"besides {blob}"
        )
        return Evidence(namespace, epoch, others[0], "equivocation", reason, None, 0)
    step(f"fetching the audit proof {blob} from {where}")
    try:
        data = source.fetch(blob)
    except BlobMissing as exc:
        raise ProofUnavailable(
            f"the audit proof {blob} is not available yet ({exc}); nothing was signed, retry later",
            waiting_for=f"the audit proof {blob} from {where} ({exc})",
        ) from None
    except MalformedError as exc:  # larger than any proof may be
        return Evidence(namespace, epoch, blob, "malformed", str(exc), None, 0)
    step(f"verifying the audit proof {blob} ({len(data)} bytes)")
    try:
        verify_blob(blob, data)
    except GlasskeyError as exc:
        kind = "malformed" if isinstance(exc, MalformedError) else "invalid_proof"
        return Evidence(namespace, epoch, blob, kind, str(exc), hashlib.sha256(data).hexdigest(), 0)
    return None


__all__ = ["ProofGate", "ProofUnavailable", "Transition", "VerificationBusy", "find_evidence"]
