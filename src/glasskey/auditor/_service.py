"""The auditor's rules, independent of HTTP: namespaces, publication constraints, signing.

Why separate from the web app: the rules are the security contract ("one digest per epoch,
epochs strictly consecutive, nothing republished") and must hold the same whether they are
reached through HTTP, the CLI or a test. The app only translates JSON and status codes.

Every rule violation raises a typed error *before* anything is written; publication runs in
one serialised transaction, so a rejected request changes nothing and two racing publishers
for one epoch produce exactly one signature.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any

from glasskey.auditor._store import AuditorStore, AuditorTxn, EpochRecord, Evidence, NamespaceRow
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


@dataclass(frozen=True, slots=True)
class Identity:
    """Who is writing: the operator (admin token or operator certificate) or a certificate
    identified by the SHA-256 of its SubjectPublicKeyInfo."""

    operator: bool
    cert_spki_sha256: str | None = None


def _check_owner(identity: Identity | None, row: NamespaceRow | None) -> None:
    if identity is None:
        raise Unauthorized("authentication required (client certificate or bearer token)")
    if identity.operator:
        return
    if row is None or identity.cert_spki_sha256 not in row.owners:
        raise PermissionDenied("this client certificate may not write to this namespace")


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
        on_published: Callable[[str, int], None] | None = None,
    ) -> None:
        self.store = store
        self.keyring = keyring
        self.clock = clock
        self.logs = tuple(logs)
        self.on_published = on_published
        keyring.register(store, clock)

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

    def evidence(self, name: str) -> list[Evidence]:
        with self.store.read() as txn:
            self._require_namespace(txn, name)
            return txn.list_evidence(name)

    # writes ----------------------------------------------------------------------------

    def create_namespace(self, body: Any, identity: Identity | None) -> NamespaceInfo:
        if identity is None:
            raise Unauthorized("authentication required (client certificate or bearer token)")
        if not identity.operator:
            raise PermissionDenied("only the auditor operator may create namespaces")
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
            raise MalformedError("invalid parameter `owners` (SHA-256 hex of certificate SPKI)")
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
            _check_owner(identity, row)
            if row is None:
                raise NotFound(f"namespace {name} does not exist")
            if row.status is NamespaceStatus.DISABLED:
                raise NamespaceDisabled()
            row = replace(row, status=NamespaceStatus.DISABLED)
            txn.update_namespace(row)
            info = self._info_of(txn, row)
        log.warning("namespace %s disabled", name)
        return info

    def publish(self, name: str, body: Any, identity: Identity | None) -> SignatureResponse:
        """Countersign one epoch (spec 2.5, steps 1-9), atomically per namespace."""
        if identity is None:
            raise Unauthorized("authentication required (client certificate or bearer token)")
        if not isinstance(body, Mapping):
            raise MalformedError("request body must be a JSON object")
        with self.store.write() as txn:
            row = txn.get_namespace(name, for_update=True)
            _check_owner(identity, row)
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
            new_root = row.root
            if row.last_epoch is None:
                if row.root is not None:
                    if format_root(epoch, digest) != row.root:
                        raise ConstraintViolation("Root is not valid")
                elif epoch != FIRST_EPOCH:
                    raise ConstraintViolation(f"Epoch must be {FIRST_EPOCH}")
                else:
                    new_root = format_root(epoch, digest)
            elif epoch != row.last_epoch + 1:
                raise ConstraintViolation(f"Epoch must be {row.last_epoch + 1}")
            if txn.epoch_of_digest(name, digest) is not None:
                raise ConstraintViolation("Digest already published")
            timestamp = self.clock()
            signer, key = self.keyring.signer_at(timestamp)
            statement = EpochStatement(row.ciphersuite, name, timestamp, epoch, digest)
            message = signed_bytes(statement)
            record = EpochRecord(
                namespace=name,
                epoch=epoch,
                digest=digest,
                timestamp=timestamp,
                ciphersuite=row.ciphersuite,
                signature=signer.sign(message),
                key_id=key.key_id,
                serialized_message=message,
            )
            try:
                txn.insert_epoch(record)
            except Conflict:
                raise ConstraintViolation(f"Epoch {epoch} already published") from None
            txn.update_namespace(
                replace(row, last_epoch=epoch, root=new_root, status=NamespaceStatus.ONLINE)
            )
        if self.on_published is not None:
            self.on_published(name, epoch)
        return record.response()


__all__ = [
    "DISABLED_MESSAGE",
    "Auditor",
    "Identity",
    "Keyring",
    "NamespaceDisabled",
    "Unauthorized",
    "now_ms",
]
