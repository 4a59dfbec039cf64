"""The auditor's rules, independent of HTTP: namespaces, publication constraints, signing.

Why separate from the web app: the rules are the security contract ("one digest per epoch,
epochs strictly consecutive, nothing republished, nothing signed unverified") and must hold
the same whether they are reached through HTTP, the CLI or a test. The app only translates
JSON and status codes.

Every rule violation raises a typed error *before* anything is written. Publication checks
the rules, verifies the epoch's audit proof outside any transaction (``proofs.ProofGate``: a
proof can take seconds), then checks the rules again and signs in one serialised
transaction, so a rejected request changes nothing and two racing publishers for one epoch
produce exactly one signature. A namespace with evidence is not signed again until its
operator clears the evidence (``clear_evidence``, recorded for everyone to see).

Who may do what: the auditor's operator (admin token or operator certificate) creates
namespaces and clears evidence; a namespace's owners — the log — publish to it and may
disable it. An owner is a SHA-256 identity: of a client certificate's SPKI (mTLS) or of a
bearer token (``owner_token_id``), so the log never needs the operator's credential.
"""

from __future__ import annotations

import hashlib
import logging
import time
import uuid
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any, NoReturn

from glasskey.auditor._proofs import ProofGate, Transition
from glasskey.auditor._store import (
    AuditorStore,
    AuditorTxn,
    EpochRecord,
    Evidence,
    EvidenceClearing,
    NamespaceRow,
)
from glasskey.core.errors import (
    Conflict,
    ConstraintViolation,
    GlasskeyError,
    MalformedError,
    NotFound,
    PermissionDenied,
    Unauthenticated,
    Unavailable,
    UsageError,
)
from glasskey.core.plexi import (
    AuditorConfiguration,
    Ciphersuite,
    EpochStatement,
    KeyInfo,
    LastVerifiedEpoch,
    NamespaceInfo,
    NamespaceStatus,
    SignatureResponse,
    format_root,
    parse_root,
    select_signing_key,
    signed_bytes,
    validate_namespace_name,
)
from glasskey.core.plexi.messages import read_hex, read_uint
from glasskey.core.signing import Signer

log = logging.getLogger("glasskey.auditor.service")

DISABLED_MESSAGE = "Namespace is disabled and read-only."
FIRST_EPOCH = 1


# -- errors (the request outcomes are glasskey.core.errors'; these two are Plexi's own) ------


class NamespaceDisabled(ConstraintViolation):
    code = "namespace_disabled"

    def __init__(self) -> None:
        super().__init__(DISABLED_MESSAGE)


class Unauthorized(Unauthenticated):
    """No valid credential (Plexi's code for it is ``unauthorized``)."""

    code = "unauthorized"


class EvidenceRecorded(ConstraintViolation):
    """The epoch's audit proof is wrong: recorded as evidence, nothing signed."""

    code = "evidence_recorded"


class EvidenceUnresolved(ConstraintViolation):
    """The namespace has evidence its operator has not cleared: nothing is signed."""

    code = "evidence_unresolved"


MAX_REASON_CHARS = 1000


def now_ms() -> int:
    return time.time_ns() // 1_000_000


# -- keys ------------------------------------------------------------------------------------


class Keyring:
    """The private keys this process holds plus every public key the auditor ever used.

    Rotation without invalidating anything: public keys are recorded in the database with
    their ``not_before`` on first use and are listed in ``/info`` forever; the private keys
    live only in memory. The signing key is the loaded key with the greatest ``not_before``
    that is not in the future (spec 3.6), so a successor can be announced ahead of time with
    ``not_before`` set later.
    """

    def __init__(self, signers: Sequence[Signer], not_before: int | None = None) -> None:
        if not signers:
            raise UsageError("the auditor needs at least one signing key")
        self._signers = {s.public_key: s for s in signers}
        self._not_before = not_before
        self._keys: list[KeyInfo] = []
        self._loaded: list[KeyInfo] = []

    def register(self, store: AuditorStore, clock: Callable[[], int]) -> None:
        """Record new public keys (``not_before`` = configured value or now) and load all."""
        with store.write() as txn:
            known = {k.public_key for k in txn.list_keys()}
            stamp = clock()
            for public in self._signers:
                if public not in known:
                    nb = self._not_before if self._not_before is not None else stamp
                    txn.add_key(KeyInfo(public, nb), stamp)
            self._keys = txn.list_keys()
        self._loaded = [k for k in self._keys if k.public_key in self._signers]

    @property
    def keys(self) -> list[KeyInfo]:
        return list(self._keys)

    def signer_at(self, timestamp: int) -> tuple[Signer, KeyInfo]:
        try:
            index = select_signing_key(self._loaded, timestamp)
        except GlasskeyError:
            raise Unavailable(
                "no loaded auditor key is valid yet (not_before in the future)"
            ) from None
        key = self._loaded[index]
        return self._signers[key.public_key], key


# -- identities ------------------------------------------------------------------------------


OWNER_TOKEN_CONTEXT = b"glasskey-auditor-owner-token:"


def owner_token_id(token: str) -> str:
    """The owner identity of a bearer token: what a namespace's ``owners`` lists for it.

    Domain-separated from certificate identities (SHA-256 of an SPKI, which is public), so
    nobody can present a certificate's public key bytes as a token."""
    return hashlib.sha256(OWNER_TOKEN_CONTEXT + token.encode("utf-8")).hexdigest()


@dataclass(frozen=True, slots=True)
class Identity:
    """Who is writing: the operator (admin token or operator certificate), or a possible
    namespace owner — a certificate (SHA-256 of its SubjectPublicKeyInfo) or a bearer token
    (``owner_token_id``)."""

    operator: bool
    cert_spki_sha256: str | None = None
    token_sha256: str | None = None

    @property
    def owner_id(self) -> str | None:
        return self.cert_spki_sha256 or self.token_sha256

    def describe(self) -> str:
        """For the record of an operator action (never a secret: hashes only)."""
        if self.cert_spki_sha256 is not None:
            role = "operator" if self.operator else "owner"
            return f"{role} certificate {self.cert_spki_sha256}"
        return "operator token" if self.operator else f"owner token {self.token_sha256}"


def _require_operator(txn: AuditorTxn, identity: Identity | None, what: str) -> Identity:
    if identity is None:
        raise Unauthorized("authentication required (client certificate or bearer token)")
    if identity.operator:
        return identity
    _refuse(txn, identity, f"only the auditor operator may {what}")


def _check_owner(txn: AuditorTxn, identity: Identity | None, row: NamespaceRow | None) -> None:
    if identity is None:
        raise Unauthorized("authentication required (client certificate or bearer token)")
    if identity.operator or (row is not None and identity.owner_id in row.owners):
        return
    credential = "client certificate" if identity.cert_spki_sha256 else "token"
    _refuse(txn, identity, f"this {credential} may not write to this namespace")


def _refuse(txn: AuditorTxn, identity: Identity, message: str) -> NoReturn:
    """403, except for a token that owns nothing at all: that is a wrong token (401)."""
    token = identity.token_sha256
    if token is not None and not any(token in row.owners for row in txn.list_namespaces()):
        raise Unauthorized("invalid credentials")
    raise PermissionDenied(message)


@dataclass(frozen=True, slots=True)
class _Step:
    """What publishing an epoch would do, as the rules allow it now."""

    epoch: int
    digest: bytes
    #: The signed digest the epoch must extend (the empty tree's for a first epoch), or None
    #: for the operator's anchor (``root``), which is trusted as configured.
    previous: bytes | None
    new_root: str | None


# -- the service -----------------------------------------------------------------------------


class Auditor:
    """Plexi-compatible auditor: namespaces, epoch countersignatures, verification state."""

    def __init__(
        self,
        store: AuditorStore,
        keyring: Keyring,
        *,
        clock: Callable[[], int] = now_ms,
        logs: Sequence[str] = (),
        proofs: ProofGate | None = None,
    ) -> None:
        self.store = store
        self.keyring = keyring
        self.clock = clock
        self.logs = tuple(logs)
        self.proofs = proofs or ProofGate.for_configuration()
        keyring.register(store, clock)

    def close(self) -> None:
        self.proofs.close()

    # reads -----------------------------------------------------------------------------

    def info(self) -> AuditorConfiguration:
        """Every key ever recorded (read from the database: another process may have
        registered a successor since this one started)."""
        with self.store.read() as txn:
            keys = txn.list_keys()
        return AuditorConfiguration(tuple(keys), self.logs)

    def _info_of(self, txn: AuditorTxn, row: NamespaceRow) -> NamespaceInfo:
        error = None
        evidence = txn.list_evidence(row.name)
        if evidence:
            error = evidence[0].to_json_dict()
        return row.info(error)

    def list_namespaces(self, *, include_private: bool = False) -> list[NamespaceInfo]:
        with self.store.read() as txn:
            return [
                self._info_of(txn, row)
                for row in txn.list_namespaces()
                if row.public or include_private
            ]

    def _require_namespace(
        self, txn: AuditorTxn, name: str, for_update: bool = False
    ) -> NamespaceRow:
        row = txn.get_namespace(name, for_update=for_update)
        if row is None:
            raise NotFound(f"namespace {name} does not exist")
        return row

    def get_namespace(self, name: str) -> NamespaceInfo:
        with self.store.read() as txn:
            return self._info_of(txn, self._require_namespace(txn, name))

    def namespace_row(self, name: str) -> NamespaceRow:
        with self.store.read() as txn:
            return self._require_namespace(txn, name)

    def get_audit(self, name: str, epoch: int) -> SignatureResponse:
        with self.store.read() as txn:
            self._require_namespace(txn, name)
            record = txn.get_epoch(name, epoch)
        if record is None:
            raise NotFound(f"Signature not found for {name} at epoch {epoch}")
        return record.response()

    def latest_audit(self, name: str) -> SignatureResponse:
        with self.store.read() as txn:
            row = self._require_namespace(txn, name)
            record = None if row.last_epoch is None else txn.get_epoch(name, row.last_epoch)
        if record is None:
            raise NotFound(f"namespace {name} has no published epoch")
        return record.response()

    def last_verified(self, name: str) -> LastVerifiedEpoch:
        row = self.namespace_row(name)
        if row.last_verified is None:
            raise NotFound(f"namespace {name} does not have a verified epoch yet")
        return row.last_verified

    def evidence(self, name: str) -> tuple[list[Evidence], list[EvidenceClearing]]:
        """The namespace's unresolved evidence, and every clearing of evidence so far."""
        with self.store.read() as txn:
            self._require_namespace(txn, name)
            return txn.list_evidence(name), txn.list_clearings(name)

    # writes ----------------------------------------------------------------------------

    def create_namespace(self, body: Any, identity: Identity | None) -> NamespaceInfo:
        with self.store.read() as txn:
            _require_operator(txn, identity, "create namespaces")
        if not isinstance(body, Mapping):
            raise MalformedError("request body must be a JSON object")
        name = validate_namespace_name(body.get("name"))
        suite_value = body.get("signature_version", body.get("ciphersuite"))
        if suite_value is None:
            raise MalformedError("invalid parameter `signature_version`")
        try:
            suite = Ciphersuite(read_uint(suite_value, "signature_version", 2**32 - 1))
        except ValueError:
            raise MalformedError("invalid parameter `signature_version`") from None
        root = body.get("root")
        if root is not None:
            epoch, digest = parse_root(root)
            root = format_root(epoch, digest)  # lower-cased, canonical
        log_directory = body.get("log_directory")
        if log_directory is not None and (
            not isinstance(log_directory, str) or not log_directory or len(log_directory) > 2048
        ):
            raise MalformedError("invalid parameter `log_directory`")
        public = body.get("public", True)
        if not isinstance(public, bool):
            raise MalformedError("invalid parameter `public`")
        owners = body.get("owners", [])
        if not isinstance(owners, list) or not all(
            isinstance(o, str) and len(o) == 64 for o in owners
        ):
            raise MalformedError(
                "invalid parameter `owners` (SHA-256 hex of a certificate SPKI, or a token's "
                "owner id)"
            )
        owners_norm = tuple(read_hex(o, "owners", 32).hex() for o in owners)
        row = NamespaceRow(
            name=name,
            ciphersuite=int(suite),
            status=NamespaceStatus.INITIALIZATION,
            log_directory=log_directory,
            root=root,
            public=public,
            owners=owners_norm,
            created_ms=self.clock(),
        )
        with self.store.write() as txn:
            txn.insert_namespace(row)  # Conflict if the name is taken
        log.info("created namespace %s (ciphersuite %d)", name, suite)
        return row.info()

    def disable_namespace(self, name: str, body: Any, identity: Identity | None) -> NamespaceInfo:
        if identity is None:
            raise Unauthorized("authentication required (client certificate or bearer token)")
        if not isinstance(body, Mapping) or body.get("status") != NamespaceStatus.DISABLED.value:
            raise MalformedError('invalid parameter `status` (only "Disabled" is accepted)')
        with self.store.write() as txn:
            row = txn.get_namespace(name, for_update=True)
            _check_owner(txn, identity, row)
            if row is None:
                raise NotFound(f"namespace {name} does not exist")
            if row.status is NamespaceStatus.DISABLED:
                raise NamespaceDisabled()
            row = replace(row, status=NamespaceStatus.DISABLED)
            txn.update_namespace(row)
            info = self._info_of(txn, row)
        log.warning("namespace %s disabled", name)
        return info

    def clear_evidence(self, name: str, body: Any, identity: Identity | None) -> EvidenceClearing:
        """The operator resumes a stopped namespace: the evidence moves to a public record
        of who cleared it, when and why. Never the log's to do: it is the suspect."""
        if not isinstance(body, Mapping):
            raise MalformedError("request body must be a JSON object")
        reason = body.get("reason")
        if not isinstance(reason, str) or not reason.strip() or len(reason) > MAX_REASON_CHARS:
            raise MalformedError(
                f"invalid parameter `reason` (why the evidence is cleared, 1-{MAX_REASON_CHARS} "
                "characters)"
            )
        with self.store.write() as txn:
            operator = _require_operator(txn, identity, "clear evidence")
            self._require_namespace(txn, name, for_update=True)
            evidence = txn.list_evidence(name)
            if not evidence:
                raise NotFound(f"namespace {name} has no evidence to clear")
            clearing = EvidenceClearing(
                name, self.clock(), operator.describe(), reason.strip(), tuple(evidence)
            )
            txn.clear_evidence(clearing)
        log.warning(
            "namespace %s: %s cleared %d evidence record(s) (epochs %s): %s",
            name, clearing.actor, len(evidence), ", ".join(str(e.epoch) for e in evidence),
            clearing.reason,
        )  # fmt: skip
        return clearing

    def _next_step(self, txn: AuditorTxn, row: NamespaceRow | None, name: str, body: Any) -> _Step:
        """The publication rules (spec 2.5) for ``body`` against the namespace as it is now."""
        if row is None:
            raise NotFound(f"namespace {name} does not exist")
        if row.status is NamespaceStatus.DISABLED:
            raise NamespaceDisabled()
        epoch = read_uint(body.get("epoch"), "epoch")
        digest_text = body.get("digest")
        if not isinstance(digest_text, str) or len(digest_text) != 64:
            raise MalformedError("invalid parameter `digest`")
        digest = read_hex(digest_text, "digest", 32)
        if txn.get_epoch(name, epoch) is not None:
            raise ConstraintViolation(f"Epoch {epoch} already published")
        if txn.list_evidence(name):
            raise EvidenceUnresolved(
                f"namespace {name} has unresolved evidence: nothing is signed until the "
                "auditor's operator clears it"
            )
        new_root = row.root
        previous: bytes | None
        if row.last_epoch is None:
            if row.root is not None:
                if format_root(epoch, digest) != row.root:
                    raise ConstraintViolation("Root is not valid")
                previous = None
            elif epoch != FIRST_EPOCH:
                raise ConstraintViolation(f"Epoch must be {FIRST_EPOCH}")
            else:
                new_root = format_root(epoch, digest)
                previous = self.proofs.empty_root
        elif epoch != row.last_epoch + 1:
            raise ConstraintViolation(f"Epoch must be {row.last_epoch + 1}")
        else:
            last = txn.get_epoch(name, row.last_epoch)
            if last is None:
                raise Unavailable(f"namespace {name}: epoch {row.last_epoch} record is missing")
            previous = last.digest
        if txn.epoch_of_digest(name, digest) is not None:
            raise ConstraintViolation("Digest already published")
        return _Step(epoch, digest, previous, new_root)

    def _verify_step(self, row: NamespaceRow, step: _Step) -> None:
        """Verify the epoch's proof (outside any transaction); evidence stops the namespace."""
        if step.previous is None:
            return
        transition: Transition = (row.name, step.epoch, step.previous, step.digest)
        evidence = self.proofs.check(row.log_directory, transition)
        if evidence is None:
            return
        with self.store.write() as txn:
            txn.add_evidence(replace(evidence, detected_ms=self.clock()))
        log.error(
            "namespace %s: the audit proof of epoch %d failed verification, nothing signed: %s",
            row.name, step.epoch, evidence.reason,
        )  # fmt: skip
        raise EvidenceRecorded(
            f"the audit proof of epoch {step.epoch} failed verification ({evidence.kind}: "
            f"{evidence.reason}); nothing was signed, and namespace {row.name} stays stopped "
            "until the auditor's operator clears the evidence"
        )

    def publish(self, name: str, body: Any, identity: Identity | None) -> SignatureResponse:
        """Countersign one epoch (spec 2.5) once its audit proof has verified.

        Blocking (fetches and verifies a proof): call it from a worker thread."""
        if identity is None:
            raise Unauthorized("authentication required (client certificate or bearer token)")
        if not isinstance(body, Mapping):
            raise MalformedError("request body must be a JSON object")
        with self.store.read() as txn:
            row = txn.get_namespace(name)
            _check_owner(txn, identity, row)
            step = self._next_step(txn, row, name, body)
        assert row is not None
        self._verify_step(row, step)
        with self.store.write() as txn:
            row = txn.get_namespace(name, for_update=True)
            _check_owner(txn, identity, row)
            if self._next_step(txn, row, name, body) != step:
                raise ConstraintViolation(
                    f"namespace {name} changed while epoch {step.epoch} was verified; retry"
                )
            assert row is not None
            timestamp = self.clock()
            signer, key = self.keyring.signer_at(timestamp)
            statement = EpochStatement(row.ciphersuite, name, timestamp, step.epoch, step.digest)
            message = signed_bytes(statement)
            record = EpochRecord(
                namespace=name,
                epoch=step.epoch,
                digest=step.digest,
                timestamp=timestamp,
                ciphersuite=row.ciphersuite,
                signature=signer.sign(message),
                key_id=key.key_id,
                serialized_message=message,
            )
            try:
                txn.insert_epoch(record)
            except Conflict:
                raise ConstraintViolation(f"Epoch {step.epoch} already published") from None
            txn.update_namespace(
                replace(
                    row,
                    last_epoch=step.epoch,
                    root=step.new_root,
                    status=NamespaceStatus.ONLINE,
                    last_verified=self._verified_through(row, step, timestamp),
                )
            )
        return record.response()

    @staticmethod
    def _verified_through(
        row: NamespaceRow, step: _Step, timestamp: int
    ) -> LastVerifiedEpoch | None:
        """``last_verified_epoch`` after signing ``step``: this epoch, when every epoch before
        it is verified too (a namespace signed by an older, sign-first auditor may have a gap,
        which stays visible)."""
        contiguous = row.last_epoch is None or (
            row.last_verified is not None and row.last_verified.epoch == row.last_epoch
        )
        if not contiguous:
            return row.last_verified
        start = step.digest if step.previous is None else step.previous
        return LastVerifiedEpoch(str(uuid.uuid4()), step.epoch, start, step.digest, timestamp)


__all__ = [
    "DISABLED_MESSAGE",
    "Auditor",
    "EvidenceRecorded",
    "EvidenceUnresolved",
    "Identity",
    "Keyring",
    "NamespaceDisabled",
    "Unauthorized",
    "now_ms",
    "owner_token_id",
]
