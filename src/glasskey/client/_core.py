"""The client's decisions, written once for both drivers (sync and async).

``ClientCore`` holds every decision as a generator that yields the HTTP requests it needs
(``Request``) and receives the decoded JSON; nothing is returned before it is verified (see
``glasskey.client._verify``) against the client's ``VerificationPolicy``, and every verified
checkpoint is remembered in the client state so that the next answer must extend it."""

from __future__ import annotations

import hashlib
import secrets
import time
from collections.abc import Generator, Mapping
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from glasskey.api.encoding import encode_base64
from glasskey.api.wire import (
    BundleResponse,
    ConsistencyResponse,
    KeysResponse,
    KeyUpload,
    RegisterRequest,
    RegisterResponse,
    RootResponse,
    UpdateReceipt,
    parse,
)
from glasskey.client._absence import (
    AbsenceClaim,
    UserNotFound,
    verify_absence,
    verify_version_bundle,
)
from glasskey.client._alerts import (
    Alert,
    ContactHistoryInconsistent,
    GossipUnverified,
    KeyChanged,
    RollbackDetected,
    TrustMismatch,
    UpdateNotPublished,
    VrfKeyMismatch,
    WrongLabel,
)
from glasskey.client._contacts import ContactList, ContactReport, failure_alert, history_alerts
from glasskey.client._gossip import GOSSIP_RETRIES, GossipResult, open_gossip, same_size, with_proof
from glasskey.client._owner import own_history_alerts
from glasskey.client._policy import VerificationPolicy
from glasskey.client._state import ClientState, Head, Trust
from glasskey.client._transport import Request
from glasskey.client._verify import (
    VerifiedHistory,
    VerifiedKey,
    verify_bundle,
    verify_countersignature,
    verify_history,
)
from glasskey.core.akd.types import HistoryParams
from glasskey.core.errors import (
    GlasskeyError,
    MalformedError,
    NotFound,
    RequestError,
    SignatureError,
    UsageError,
    VerificationError,
    VrfError,
)
from glasskey.core.plexi import LastVerifiedEpoch
from glasskey.log._credential import Credential, encode_credential
from glasskey.log.profile import open_checkpoint


@dataclass(frozen=True, slots=True)
class UploadReceipt:
    """The server's answer to an upload, and the verified key once it is published."""

    update_id: int
    user_id: str
    value_sha256: str
    status: str  # "pending" until an epoch includes it, then "published"
    epoch: int | None
    key: VerifiedKey | None  # set when the upload was published and its proof verified


@dataclass(frozen=True, slots=True)
class MonitorReport:
    """Result of monitoring one label: the verified history and every alert found."""

    user_id: str
    history: VerifiedHistory
    alerts: tuple[Alert, ...]

    @property
    def ok(self) -> bool:
        """True when monitoring found nothing to report."""
        return not self.alerts


def _trust_of(keys: KeysResponse) -> Trust:
    """What a log's key document asks a client to pin."""
    return Trust(
        origin=keys.origin,
        log_public_key=keys.log_public_key,
        vrf_public_key=keys.vrf_public_key,
        configuration=keys.configuration,
        domain_label=keys.domain_label.encode("utf-8") if keys.domain_label else None,
        max_publication_delay=keys.max_publication_delay,
        checkpoint_refresh=keys.checkpoint_refresh,
        user_id_policy=keys.user_id_policy,
    )


#: What a log promises in its key document besides its keys, pinned at first contact: raising
#: the publication delay would hide a dropped upload for longer, raising the re-signing
#: interval would stretch the default ``max_age`` and let an old head be replayed for longer.
_DECLARED_PROMISES = (
    ("max_publication_delay", "maximum publication delay of {}s"),
    ("checkpoint_refresh", "checkpoint re-signing interval of {}s"),
    # Another policy would make one id name another user's label.
    ("user_id_policy", "user id policy {!r}"),
)


def _trust_mismatch() -> TrustMismatch:
    return TrustMismatch(
        "the configured keys differ from the ones pinned earlier for this server; "
        "use a fresh state file if the server legitimately rotated its keys"
    )


def _key_changed(user_id: str, version: int) -> KeyChanged:
    return KeyChanged(
        f"version {version} of {user_id!r} now has a different key than the one "
        "verified earlier: the server rewrote history"
    )


class KeyTypeError(UsageError, TypeError):
    """``upload`` was given a key that is not bytes (a ``TypeError`` and a ``UsageError``)."""


def _check_key(key: object) -> bytes:
    """Refuse a non-bytes key at once, in words, before anything is recorded or sent."""
    if isinstance(key, bytes | bytearray | memoryview):
        return bytes(key)
    raise KeyTypeError(
        f"key must be bytes (the raw public key), not {type(key).__name__}: encode it first, "
        "e.g. key.encode() or base64.b64decode(key)"
    )


class ClientCore:
    """All client logic, written as generators that yield requests and receive JSON."""

    def __init__(
        self, server: str, state: str | Path | ClientState, policy: VerificationPolicy
    ) -> None:
        if not isinstance(policy, VerificationPolicy):
            raise UsageError("policy must be a glasskey.client.VerificationPolicy")
        self.server = server.rstrip("/")
        self.state = state if isinstance(state, ClientState) else ClientState(state)
        self.policy = policy
        #: Labels watched by contact monitoring (stored in the state file).
        self.contacts = ContactList(self.state)

    def trust(self) -> Generator[Request, Any, Trust]:
        stored = self.state.trust(self.server)
        wanted = self.policy.trust
        if stored is not None:
            if wanted is not None and not (
                wanted.same_keys(stored)
                and wanted.max_publication_delay in (None, stored.max_publication_delay)
                and wanted.checkpoint_refresh in (None, stored.checkpoint_refresh)
                and wanted.user_id_policy in (None, stored.user_id_policy)
            ):
                raise _trust_mismatch()
            return stored
        if wanted is None:
            wanted = _trust_of((yield from self._key_document()))
        self.state.pin(self.server, wanted)
        return wanted

    def _key_document(self) -> Generator[Request, Any, KeysResponse]:
        body = yield Request("GET", "/api/transparency/keys")
        return parse(KeysResponse, body, "the server's key document")

    def _declared_trust(self, pinned: Trust) -> Generator[Request, Any, Trust]:
        """``pinned``, checked against what the log declares now (owner monitoring).

        A log that now declares other keys, or another publication delay or re-signing
        interval than the one pinned (``_DECLARED_PROMISES``), is a ``TrustMismatch``. A
        configured trust that left one to the log takes the declared value, once.
        """
        declared = _trust_of((yield from self._key_document()))
        if not declared.same_keys(pinned):
            raise _trust_mismatch()
        for name, what in _DECLARED_PROMISES:
            promised, now = getattr(pinned, name), getattr(declared, name)
            if promised is None and now is not None:
                pinned = replace(pinned, **{name: now})
                self.state.pin(self.server, pinned)
            elif now != promised:
                raise TrustMismatch(
                    f"the log now declares a {what.format(now)}, not {promised!r} as pinned "
                    "at first contact: a log may not change its promise"
                )
        return pinned

    def _explain(
        self, trust: Trust, exc: VerificationError
    ) -> Generator[Request, Any, VerificationError]:
        """What a checkpoint signature or VRF proof failing under the pinned keys means.

        The server's key document says whether it now presents other keys: another log key
        is a ``TrustMismatch`` (a re-created server, another server at this URL, or an
        attacker — the docs' promise for a changed key, not a forged signature); the same log
        key with another VRF key a ``VrfKeyMismatch`` (a wrongly pinned VRF key). With the
        pinned keys declared, the failure stays what it was: a forged answer. Only plain
        signature failures are explained (auditor signatures have pins of their own).
        """
        if type(exc) not in (SignatureError, VrfError):
            return exc
        try:
            declared = _trust_of((yield from self._key_document()))
        except GlasskeyError:
            return exc  # no key document: the failure speaks for itself
        if (declared.origin, declared.log_public_key) != (trust.origin, trust.log_public_key):
            return TrustMismatch(
                f"{self.server} now presents log key {declared.log_public_key}, not "
                f"{trust.log_public_key} pinned for it: a re-created server, another server "
                "at this URL, or an attacker. Use a fresh state file only if the operator "
                "confirms the new keys"
            )
        if declared.vrf_public_key != trust.vrf_public_key:
            return VrfKeyMismatch(
                f"the pinned VRF key {trust.vrf_public_key.hex()} is not the one "
                f"{self.server} declares ({declared.vrf_public_key.hex()}): check the "
                "configured --vrf-key / Trust (or the server changed its VRF key)"
            )
        if isinstance(exc, VrfError):
            # The pinned VRF key is the server's own: the proof is for another label.
            return WrongLabel(f"{exc}; the server declares that very key, so the proof is "
                              "for another label (or forged)")  # fmt: skip
        return exc

    def _auditor_epoch(self) -> Generator[Request, Any, int]:
        """The newest epoch the pinned auditor is known to have countersigned (0: none).

        From the client state, and — when the pin names the auditor's URL and the last answer
        is older than ``check_interval`` — from the auditor itself: its last verified epoch,
        then that epoch's countersignature, verified under the pinned keys (an unverified
        number from the network could only be used to make the client refuse honest heads).
        The stored epoch only grows. An unreachable auditor fails the lookup (``network``):
        a client that pinned it chose not to verify without it.
        """
        pin = self.policy.auditor
        if pin is None:
            return 0
        known, checked_at = self.state.auditor_epoch(pin.namespace)
        if pin.url is None or (
            checked_at is not None and time.time() - checked_at < pin.check_interval
        ):
            return known
        base = f"{pin.url}/namespaces/{pin.namespace}"
        try:
            body = yield Request("GET", f"{base}/last-verified-epoch")
        except NotFound:  # nothing countersigned yet
            self.state.raise_auditor_epoch(pin.namespace, known, asked=True)
            return known
        epoch = LastVerifiedEpoch.from_json_obj(body).epoch
        if epoch > known:
            raw = yield Request("GET", f"{base}/audits/{epoch}")
            signature = verify_countersignature(
                raw, pin.keys, pin.namespace, "the auditor's newest signature"
            )
            known = max(known, signature.epoch)
        self.state.raise_auditor_epoch(pin.namespace, known, asked=True)
        return known

    def _remember_auditor_epoch(self, epoch: int) -> None:
        if self.policy.auditor is not None and epoch:
            self.state.raise_auditor_epoch(self.policy.auditor.namespace, epoch)

    def _check_observed(self, trust: Trust, user_id: str, version: int, digest: bytes) -> None:
        seen = self.state.observation(trust.log_id, user_id, version)
        if seen is not None and seen[1] != digest:
            raise _key_changed(user_id, version)

    def lookup(
        self, user_id: str, version: int | None = None, watch: bool = True
    ) -> Generator[Request, Any, VerifiedKey]:
        key, _ = yield from self.lookup_with_body(user_id, version)
        if not watch:
            trust = yield from self.trust()
            self.contacts.unwatch(trust.log_id, key.user_id)
        return key

    def _absent(
        self, trust: Trust, user_id: str, claim: NotFound, previous: Head | None, auditor_epoch: int
    ) -> UserNotFound:
        """The verified ``UserNotFound`` for a bundle 404, else ``UnprovenAbsence`` (raised)."""
        absence = verify_absence(
            self.policy.with_trust(trust), user_id,
            claim.absence if isinstance(claim, AbsenceClaim) else None, previous,
            auditor_epoch=auditor_epoch,
        )  # fmt: skip
        self._remember_auditor_epoch(absence.auditor_epoch)
        seen = self.state.observations(trust.log_id, user_id)
        if seen:
            raise ContactHistoryInconsistent(
                f"the server proves {user_id!r} has no key, but this client verified version "
                f"{seen[-1][0]} of it before: a rewritten directory"
            )
        self.state.store_head(absence.head, trust.log_id)
        return UserNotFound(
            f"{user_id} has no published key (proven absent in epoch {absence.epoch})", absence
        )

    def lookup_with_body(
        self, user_id: str, version: int | None = None
    ) -> Generator[Request, Any, tuple[VerifiedKey, Mapping[str, Any]]]:
        """``lookup``, also returning the verified response body (for credentials)."""
        trust = yield from self.trust()
        user_id = trust.canonical_user_id(user_id)
        previous = self.state.head(trust.log_id)
        params: dict[str, int | float] = {"known_size": previous.size} if previous else {}
        if version is not None:
            params["version"] = version
        auditor_epoch = yield from self._auditor_epoch()
        try:
            body = yield Request("GET", f"/api/crypto/bundles/{user_id}", params)
        except NotFound as claim:
            if version is not None:
                raise
            raise self._absent(trust, user_id, claim, previous, auditor_epoch) from None
        policy = self.policy.with_trust(trust)
        try:
            if version is not None:
                key = verify_version_bundle(
                    policy, user_id, version, body, previous, auditor_epoch=auditor_epoch
                )
            else:
                key = verify_bundle(policy, user_id, body, previous, auditor_epoch=auditor_epoch)
        except (SignatureError, VrfError) as exc:
            explained = yield from self._explain(trust, exc)
            raise explained from None
        if version is not None:
            self._remember_auditor_epoch(key.auditor_epoch)
            self._check_observed(trust, user_id, key.version, key.key_sha256)
            self.state.store_head(key.head, trust.log_id)
            self.state.observe(
                trust.log_id, user_id, key.version, key.published_epoch, key.key_sha256
            )
            return key, body
        self._remember_auditor_epoch(key.auditor_epoch)
        observed = self.state.observations(trust.log_id, user_id)
        if observed and key.version < observed[-1][0]:
            raise RollbackDetected(
                f"{user_id!r} is served at version {key.version}, but version "
                f"{observed[-1][0]} was verified earlier"
            )
        seen = {version: digest for version, _, digest in observed}.get(key.version)
        if seen is not None and seen != key.key_sha256:
            raise _key_changed(user_id, key.version)
        self.state.store_head(key.head, trust.log_id)
        if seen is None:
            self.state.observe(
                trust.log_id, user_id, key.version, key.published_epoch, key.key_sha256
            )
        return key, body

    def credential(self, user_id: str) -> Generator[Request, Any, bytes]:
        """A verified lookup of ``user_id`` as offline-verifiable credential bytes."""
        trust = yield from self.trust()
        key, body = yield from self.lookup_with_body(user_id)
        bundle = parse(BundleResponse, body, "the bundle response")
        return encode_credential(
            Credential(
                origin=trust.origin,
                user_id=key.user_id,
                key=key.key,
                version=key.version,
                published_epoch=key.published_epoch,
                epoch=key.epoch,
                root_hash=key.root_hash,
                checkpoint=bundle.checkpoint,
                log_inclusion=tuple(bundle.log_inclusion),
                proof=bundle.proof,
                auditor_signature=(
                    key.auditor_signature.to_json_dict() if key.auditor_signature else None
                ),
            )
        )

    def monitor_contacts(self) -> Generator[Request, Any, ContactReport]:
        """Re-verify every watched label (one complete history request each); see
        ``glasskey.client._contacts`` for the alerts."""
        trust = yield from self.trust()
        checked: list[str] = []
        alerts: list[Alert] = []
        for contact in self.contacts.watched(trust.log_id):
            label = contact.label
            seen = self.state.observations(trust.log_id, label)
            try:
                history = yield from self.history(label, HistoryParams.complete())
            except (VerificationError, NotFound) as exc:
                if seen or not isinstance(exc, NotFound):  # watched before any key: no news
                    alerts.append(failure_alert(label, exc))
                checked.append(label)
                continue
            digests = {r.version: hashlib.sha256(r.value).digest() for r in history.versions}
            alerts.extend(history_alerts(label, seen, history.versions, digests))
            self.contacts.checked(trust.log_id, label, history.head.size)
            checked.append(label)
        return ContactReport(tuple(checked), tuple(alerts))

    def history(
        self, user_id: str, params: HistoryParams
    ) -> Generator[Request, Any, VerifiedHistory]:
        trust = yield from self.trust()
        user_id = trust.canonical_user_id(user_id)
        previous = self.state.head(trust.log_id)
        query = {"known_size": previous.size} if previous else {}
        if params.most_recent is not None:
            query["most_recent"] = params.most_recent
        auditor_epoch = yield from self._auditor_epoch()
        body = yield Request("GET", f"/api/crypto/history/{user_id}", query)
        try:
            history = verify_history(
                self.policy.with_trust(trust), user_id, body, previous, params,
                auditor_epoch=auditor_epoch,
            )  # fmt: skip
        except (SignatureError, VrfError) as exc:
            explained = yield from self._explain(trust, exc)
            raise explained from None
        self._remember_auditor_epoch(history.auditor_epoch)
        for result in history.versions:
            self._check_observed(
                trust, user_id, result.version, hashlib.sha256(result.value).digest()
            )
        self.state.store_head(history.head, trust.log_id)
        for result in history.versions:
            self.state.observe(
                trust.log_id, user_id, result.version, result.epoch,
                hashlib.sha256(result.value).digest(),
            )  # fmt: skip
        return history

    def monitor(self, user_id: str, own: bool) -> Generator[Request, Any, MonitorReport]:
        """Complete history, verified; alerts for versions we did not make, changed values
        and (own label) our uploads the log has not published within its promised delay."""
        trust = yield from self.trust()
        user_id = trust.canonical_user_id(user_id)
        if own:
            trust = yield from self._declared_trust(trust)
        alerts: list[Alert] = []
        seen_before = {v: d for v, _, d in self.state.observations(trust.log_id, user_id)}
        uploads = self.state.own_uploads(trust.log_id, user_id) if own else []
        try:
            history = yield from self.history(user_id, HistoryParams.complete())
        except NotFound:
            # No version at all: nothing to report but our uploads that should be there.
            overdue = own_history_alerts(
                user_id, (), uploads, trust.publication_deadline, time.time()
            )
            if overdue:
                raise UpdateNotPublished(overdue[0].message) from None
            raise
        if own:
            alerts.extend(
                own_history_alerts(
                    user_id, history.versions, uploads, trust.publication_deadline, time.time()
                )
            )
        proven = {r.version for r in history.versions}
        for version in seen_before:
            if version not in proven:
                missing = RollbackDetected(
                    f"version {version} of {user_id!r}, verified earlier, is missing from the "
                    "complete history"
                )
                alerts.append(Alert.from_error(missing, user_id, version))
        return MonitorReport(user_id, history, tuple(alerts))

    def upload(
        self, user_id: str, key: bytes, token: str, wait: float
    ) -> Generator[Request, Any, UploadReceipt]:
        key = _check_key(key)
        trust = yield from self.trust()
        user_id = trust.canonical_user_id(user_id)
        digest = hashlib.sha256(key).digest()
        upload_id = self._upload_id(trust, user_id, digest)
        # Recorded *before* sending: a crash after the server accepted it must not make our
        # own key look foreign to the owner monitor, nor its loss go unnoticed.
        self.state.record_upload(trust.log_id, user_id, upload_id, digest)
        # Built, not validated: limits are the server's to enforce and to answer for.
        upload = KeyUpload.model_construct(
            user_id=user_id, key=encode_base64(key), upload_id=upload_id
        )
        body = yield Request(
            "POST", "/api/crypto/keys/identity", {"wait": wait} if wait else {},
            upload.model_dump(), token,
        )  # fmt: skip
        receipt = parse(UpdateReceipt, body, "the server's upload receipt")
        self.state.confirm_upload(upload_id, receipt.update_id)
        verified: VerifiedKey | None = None
        if receipt.status == "published":
            # Never trust the embedded bundle blindly: fetch and verify like any lookup.
            verified = yield from self.lookup(user_id)
        return UploadReceipt(
            receipt.update_id, user_id, digest.hex(), receipt.status, receipt.epoch, verified
        )

    def _upload_id(self, trust: Trust, user_id: str, digest: bytes) -> str:
        """A fresh random id; or, when our newest upload of this label is the same key and
        never got its receipt, that upload's id again: a retry after a lost answer, which the
        server answers with the original receipt instead of a second version."""
        uploads = self.state.own_uploads(trust.log_id, user_id)
        if uploads and uploads[-1].update_id is None and uploads[-1].value_sha256 == digest:
            return uploads[-1].upload_id
        return secrets.token_hex(16)

    def gossip(self, note: str, evidence_dir: Path | None) -> Generator[Request, Any, GossipResult]:
        """``GlasskeyClient.gossip``: compare ``note`` with this client's verified view."""
        trust = yield from self.trust()
        theirs = open_gossip(trust, note)
        mine = self.state.head(trust.log_id)
        if mine is None:  # no view of our own yet: take the server's current (signed) head
            body = yield Request("GET", "/api/transparency/root")
            root = parse(RootResponse, body, "the root response")
            opened = open_checkpoint(root.checkpoint, trust.origin, trust.log_public_key)
            mine = Head(trust.origin, opened.size, opened.root, root.checkpoint, opened.timestamp)
        if theirs.size == mine.size:
            return same_size(trust, mine, theirs, note, evidence_dir)
        low, high = sorted((mine.size, theirs.size))
        if low == 0:  # every tree extends the empty tree
            return GossipResult(mine.size, theirs.size, theirs)
        last_problem = "no answer"
        for _ in range(GOSSIP_RETRIES):
            try:
                body = yield Request(
                    "GET", "/api/transparency/consistency", {"from": low, "to": high}
                )
                proof = tuple(parse(ConsistencyResponse, body, "the consistency proof").proof)
            except (RequestError, MalformedError) as exc:
                last_problem = str(exc)
                continue
            result = with_proof(trust, mine, theirs, note, proof, evidence_dir)
            if result is not None:
                return result
            last_problem = "the proof does not verify between the two checkpoints"
        raise GossipUnverified(
            f"the other party's checkpoint (size {theirs.size}) and ours (size {mine.size}) "
            f"could not be proven consistent after {GOSSIP_RETRIES} tries: {last_problem}"
        )

    def register(self, user_id: str, admin_token: str | None) -> Generator[Request, Any, str]:
        request = RegisterRequest.model_construct(user_id=user_id)
        body = yield Request(
            "POST", "/api/auth/register", json=request.model_dump(), token=admin_token
        )
        return parse(RegisterResponse, body, "the server's registration answer").token
