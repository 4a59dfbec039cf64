"""The verifying client, sync (``GlasskeyClient``) and async (``AsyncGlasskeyClient``).

Nothing is returned before it is verified (see ``glasskey.client._verify``) against the
client's ``VerificationPolicy``, and every verified checkpoint is remembered in the client
state so the next answer must extend it.

Trust: the log's note key and the VRF key are *pinned*. Put them in the policy (the safe way,
e.g. shipped with the app) or let the first contact pin them (trust on first use); afterwards
a server presenting other keys is refused with ``TrustMismatch``.

Both clients share ``_Core``, which holds all decisions as generators that yield the HTTP
requests they need (``_Request``) and receive the decoded JSON; a client is only a driver that
makes those requests, synchronously or with ``await``.
"""

from __future__ import annotations

import hashlib
import secrets
import time
from collections.abc import Callable, Generator, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, Generic, TypeVar

import httpx

from glasskey.api.encoding import encode_base64
from glasskey.api.errors import error_from_http, error_of_body, server_error_text
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
    UnexpectedKeyVersion,
    UpdateNotPublished,
    VrfKeyMismatch,
    WrongLabel,
)
from glasskey.client._contacts import (
    ContactList,
    ContactReport,
    failure_alert,
    history_alerts,
)
from glasskey.client._gossip import (
    GOSSIP_RETRIES,
    GossipResult,
    open_gossip,
    same_size,
    with_proof,
)
from glasskey.client._policy import DEFAULT_POLICY, VerificationPolicy
from glasskey.client._state import ClientState, Head, OwnUpload, Trust
from glasskey.client._verify import (
    VerifiedHistory,
    VerifiedKey,
    verify_bundle,
    verify_countersignature,
    verify_history,
)
from glasskey.core.akd.types import HistoryParams, VerifyResult
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

DEFAULT_TIMEOUT = 10.0

T = TypeVar("T")

#: The server answered with an error: ``status``, and ``server_code`` from its JSON body. The
#: subclasses say which outcome (``NotFound``, ``Conflict``, ``Unauthenticated``, ...).
ServerError = RequestError


class NetworkError(GlasskeyError):
    """The server could not be reached or did not answer in time."""

    code = "network"


class WrongServer(GlasskeyError):
    """The base URL does not lead to a glasskey API: a 404 that is not glasskey's "no such
    user or key" (``not_found``) — a wrong path prefix, port or host. Not ``NotFound``: a
    wrong URL must never read as "this user has no key"."""

    code = "wrong_server"


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


def _own_history_alerts(
    user_id: str,
    versions: Sequence[VerifyResult],
    uploads: Sequence[OwnUpload],
    deadline: float,
    now: float,
) -> list[Alert]:
    """Owner monitoring: the versions of our label against our uploads, both in order.

    Versions must be our uploads, in the order we sent them; an upload skipped over was
    superseded within one epoch (only the last upload per label in an epoch becomes a
    version). So the versions are matched to a subsequence of the uploads, as many as
    possible and, among those matchings, ending as late as possible. A version left over
    holds a key we never uploaded, or one we uploaded *before* an upload already published
    (an old request replayed): ``unexpected_version``. The uploads after the last matched one
    are pending, and ``update_not_published`` once older than the log's ``deadline``.
    """
    ordered = sorted(versions, key=lambda r: r.version)
    digests = [hashlib.sha256(r.value).digest() for r in ordered]
    # best[i][j]: (matched, index of the last matched upload) for the first i versions and
    # the first j uploads; tuples compare as wanted: more matches first, then a later end.
    best = [[(0, -1)] * (len(uploads) + 1) for _ in range(len(ordered) + 1)]
    for i, digest in enumerate(digests, 1):
        for j, upload in enumerate(uploads, 1):
            options = [best[i - 1][j], best[i][j - 1]]
            if upload.value_sha256 == digest:
                options.append((best[i - 1][j - 1][0] + 1, j - 1))
            best[i][j] = max(options)
    unmatched: list[int] = []
    i, j = len(ordered), len(uploads)
    while i > 0:
        if j > 0 and uploads[j - 1].value_sha256 == digests[i - 1] and best[i][j] == (
            best[i - 1][j - 1][0] + 1, j - 1,
        ):  # fmt: skip
            i, j = i - 1, j - 1
        elif best[i - 1][j] == best[i][j] or j == 0:
            unmatched.append(i - 1)
            i -= 1
        else:
            j -= 1
    last = best[len(ordered)][len(uploads)][1]
    alerts: list[Alert] = []
    for index in reversed(unmatched):
        result = ordered[index]
        if digests[index] in {u.value_sha256 for u in uploads[: last + 1]}:
            what = (
                "holds a key this client uploaded before a newer upload that is already "
                "published: an old upload was published again (a replay reverting your key)"
            )
        else:
            what = "holds a key this client did not upload"
        err = UnexpectedKeyVersion(
            f"version {result.version} of your label {user_id!r} (epoch {result.epoch}) {what}"
        )
        alerts.append(Alert.from_error(err, user_id, result.version))
    for upload in uploads[last + 1 :]:
        age = now - upload.sent_at
        if age > deadline:
            alerts.append(Alert.from_error(_not_published(user_id, upload, age, deadline), user_id))
    return alerts


def _not_published(
    user_id: str, upload: OwnUpload, age: float, deadline: float
) -> UpdateNotPublished:
    receipt = (
        f"update {upload.update_id}"
        if upload.update_id is not None
        else "no receipt: it may not have reached the server, upload it again"
    )
    return UpdateNotPublished(
        f"your upload {upload.upload_id} for {user_id!r} ({receipt}; key sha256 "
        f"{upload.value_sha256.hex()[:16]}…) was sent {age:.0f}s ago and is not in the log, "
        f"which promises publication within {deadline:g}s: the server froze its head or "
        "dropped the upload"
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


@dataclass(frozen=True, slots=True)
class _Request:
    """One HTTP request the core wants made; the driver answers with its decoded JSON body."""

    method: str
    path: str
    params: Mapping[str, int | float] = field(default_factory=dict)
    json: Mapping[str, str] | None = None
    token: str | None = None  # sent as a bearer token


class _Core:
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

    def trust(self) -> Generator[_Request, Any, Trust]:
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

    def _key_document(self) -> Generator[_Request, Any, KeysResponse]:
        body = yield _Request("GET", "/api/transparency/keys")
        return parse(KeysResponse, body, "the server's key document")

    def _declared_trust(self, pinned: Trust) -> Generator[_Request, Any, Trust]:
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
    ) -> Generator[_Request, Any, VerificationError]:
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

    def _auditor_epoch(self) -> Generator[_Request, Any, int]:
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
            body = yield _Request("GET", f"{base}/last-verified-epoch")
        except NotFound:  # nothing countersigned yet
            self.state.raise_auditor_epoch(pin.namespace, known, asked=True)
            return known
        epoch = LastVerifiedEpoch.from_json_obj(body).epoch
        if epoch > known:
            raw = yield _Request("GET", f"{base}/audits/{epoch}")
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
    ) -> Generator[_Request, Any, VerifiedKey]:
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
    ) -> Generator[_Request, Any, tuple[VerifiedKey, Mapping[str, Any]]]:
        """``lookup``, also returning the verified response body (for credentials)."""
        trust = yield from self.trust()
        user_id = trust.canonical_user_id(user_id)
        previous = self.state.head(trust.log_id)
        params: dict[str, int | float] = {"known_size": previous.size} if previous else {}
        if version is not None:
            params["version"] = version
        auditor_epoch = yield from self._auditor_epoch()
        try:
            body = yield _Request("GET", f"/api/crypto/bundles/{user_id}", params)
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

    def credential(self, user_id: str) -> Generator[_Request, Any, bytes]:
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

    def monitor_contacts(self) -> Generator[_Request, Any, ContactReport]:
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
    ) -> Generator[_Request, Any, VerifiedHistory]:
        trust = yield from self.trust()
        user_id = trust.canonical_user_id(user_id)
        previous = self.state.head(trust.log_id)
        query = {"known_size": previous.size} if previous else {}
        if params.most_recent is not None:
            query["most_recent"] = params.most_recent
        auditor_epoch = yield from self._auditor_epoch()
        body = yield _Request("GET", f"/api/crypto/history/{user_id}", query)
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

    def monitor(self, user_id: str, own: bool) -> Generator[_Request, Any, MonitorReport]:
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
            overdue = _own_history_alerts(
                user_id, (), uploads, trust.publication_deadline, time.time()
            )
            if overdue:
                raise UpdateNotPublished(overdue[0].message) from None
            raise
        if own:
            alerts.extend(
                _own_history_alerts(
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
    ) -> Generator[_Request, Any, UploadReceipt]:
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
        body = yield _Request(
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

    def gossip(
        self, note: str, evidence_dir: Path | None
    ) -> Generator[_Request, Any, GossipResult]:
        """``GlasskeyClient.gossip``: compare ``note`` with this client's verified view."""
        trust = yield from self.trust()
        theirs = open_gossip(trust, note)
        mine = self.state.head(trust.log_id)
        if mine is None:  # no view of our own yet: take the server's current (signed) head
            body = yield _Request("GET", "/api/transparency/root")
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
                body = yield _Request(
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

    def register(self, user_id: str, admin_token: str | None) -> Generator[_Request, Any, str]:
        request = RegisterRequest.model_construct(user_id=user_id)
        body = yield _Request(
            "POST", "/api/auth/register", json=request.model_dump(), token=admin_token
        )
        return parse(RegisterResponse, body, "the server's registration answer").token


def _describe(status: int, code: str, message: str) -> str:
    """glasskey's own "no such user or key" in its own words; other errors with their status."""
    if status == 404 and code == "not_found":
        return message
    return server_error_text(status, code, message)


def _decode(response: httpx.Response) -> Any:
    if response.status_code == 404 and error_of_body(response.content)[0] != "not_found":
        request = response.request
        url = str(request.url).split("?", 1)[0]
        raise WrongServer(
            f"{_base_of(url)} does not look like a glasskey server: "
            f"{request.method} {url} answered 404 (no such endpoint); check --server"
        )
    if response.status_code >= 400:
        error = error_from_http(response.status_code, response.content, _describe)
        if isinstance(error, NotFound):
            try:
                body = response.json()
            except ValueError:
                body = None
            if isinstance(body, dict) and isinstance(body.get("absence"), dict):
                raise AbsenceClaim(error, body["absence"])
        raise error
    try:
        return response.json()
    except ValueError:
        raise MalformedError("the server's response is not JSON") from None


#: Where the paths the clients request start (their base URL is what comes before).
_API_PATHS = ("/api/transparency/", "/api/crypto/", "/api/auth/", "/api/admin/", "/namespaces/")


def _base_of(url: str) -> str:
    """The base URL a request went to: ``url`` without the API path the client added."""
    index = max(url.rfind(api) for api in _API_PATHS)
    return url[:index] if index > 0 else url


class _Exchange(Generic[T]):
    """One core call being driven: the request it wants next, then its typed result.

    Both drivers use it, so the stepping is written once and a driver only does the I/O
    between ``request`` and ``answer``. The generator runs under ``yield from``, which hands
    its return value back with its type (a bare ``StopIteration.value`` is untyped).
    """

    def __init__(self, steps: Generator[_Request, Any, T]) -> None:
        self._result: list[T] = []
        self._running = self._collect(steps)
        #: The request to make next; None once the call has returned.
        self.request: _Request | None = next(self._running, None)

    def _collect(self, steps: Generator[_Request, Any, T]) -> Generator[_Request, Any, None]:
        self._result.append((yield from steps))

    def answer(self, response: httpx.Response) -> None:
        """Give the core the answer (it raises here if the answer does not verify).

        An error answer is raised inside the core, at the request that got it, so that the
        core may handle it (owner monitoring turns a missing history into its own finding).
        """
        error: RequestError | None = None
        try:
            body = _decode(response)
        except RequestError as exc:
            error = exc
        if error is not None:
            self._step(lambda: self._running.throw(error))
        else:
            self._step(lambda: self._running.send(body))

    def _step(self, advance: Callable[[], _Request]) -> None:
        try:
            self.request = advance()
        except StopIteration:
            self.request = None

    def result(self) -> T:
        (value,) = self._result
        return value


def _outgoing(http: httpx.Client | httpx.AsyncClient, request: _Request) -> httpx.Request:
    headers = {"Authorization": f"Bearer {request.token}"} if request.token else {}
    return http.build_request(
        request.method, request.path, params=request.params, json=request.json, headers=headers
    )


@contextmanager
def _reaching(server: str) -> Iterator[None]:
    """Transport failures become ``NetworkError`` (not alerts: nothing was verified)."""
    try:
        yield
    except httpx.HTTPError as exc:
        raise NetworkError(f"cannot reach {server}: {exc}") from None


class _ClientBase:
    """What both clients hold: the core (every decision), its state file and its policy."""

    def __init__(
        self, server: str, policy: VerificationPolicy, state: str | Path | ClientState
    ) -> None:
        self._core = _Core(server, state, policy)
        #: The client's memory (pinned keys, verified heads, keys seen): evidence, keep it.
        self.state: ClientState = self._core.state
        #: What this client requires of every answer before it returns anything.
        self.policy: VerificationPolicy = policy


class GlasskeyClient(_ClientBase):
    """Synchronous verifying client: returns keys only after ``policy`` is satisfied.

    ``server``: base URL. ``policy``: a ``VerificationPolicy`` — pinned keys (default: trust on
    first use), maximum checkpoint age (default: a few of the log's re-signing intervals)
    and an optional auditor pin.
    ``state``: path of the SQLite state file, or a ``ClientState`` (default in memory — fine
    for one-off checks, but rollback/fork detection across runs needs a file). ``timeout``:
    HTTP timeout in seconds. ``transport``: an httpx transport (tests, proxies).

    Every method raises ``NetworkError`` when the server cannot be reached and
    ``ServerError`` (``NotFound`` for 404) when it answers with an error; a
    ``VerificationError`` (an alert, with a stable ``.code``) means: do not use the answer.
    """

    def __init__(
        self,
        server: str,
        *,
        policy: VerificationPolicy = DEFAULT_POLICY,
        state: str | Path | ClientState = ":memory:",
        timeout: float = DEFAULT_TIMEOUT,
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        super().__init__(server, policy, state)
        self._http = httpx.Client(base_url=self._core.server, timeout=timeout, transport=transport)

    def close(self) -> None:
        """Close the HTTP connections (the state file stays open; it may be shared)."""
        self._http.close()

    def __enter__(self) -> GlasskeyClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _drive(self, steps: Generator[_Request, Any, T]) -> T:
        exchange = _Exchange(steps)
        while exchange.request is not None:
            with _reaching(self._core.server):
                response = self._http.send(_outgoing(self._http, exchange.request))
            exchange.answer(response)
        return exchange.result()

    def trust(self) -> Trust:
        """The server's keys this client verifies against, pinning them on first use.

        Returns the keys pinned in the state file, else the policy's, else (trust on first
        use) the server's key document, and pins them. Raises ``TrustMismatch``
        (``trust_mismatch``) when the policy's keys differ from those pinned earlier, and
        ``MalformedError`` (``malformed``) for an unreadable key document.
        """
        return self._drive(self._core.trust())

    def lookup(
        self, user_id: str, *, version: int | None = None, watch: bool = True
    ) -> VerifiedKey:
        """The current key of ``user_id`` (or its ``version``), returned only if verified.

        Checks, in order: the checkpoint signature (``invalid_signature``), that the proof is
        for the newest signed epoch (``invalid_inclusion_proof``), consistency with the last
        verified head (``rollback_detected``, ``fork_detected``), freshness
        (``stale_head``), the AKD lookup proof for this label (``invalid_lookup_proof``,
        ``wrong_label``, ``invalid_vrf``), the auditor countersignature when the policy pins
        one (``auditor_signature_invalid``, ``auditor_signature_missing``), and that the
        version is not older than (``rollback_detected``) or different from (``key_changed``)
        one verified before. Unreadable answers are ``malformed``; keys as in ``trust``.
        Then stores the head and the observation, which makes the user one of the contacts
        ``monitor_contacts`` re-verifies; ``watch=False`` opts the user out (as ``unwatch``;
        an opt-out stays until ``watch``).

        A user with no key: ``UserNotFound`` (a ``NotFound``) only once the server's proof
        of absence verified; a 404 without a valid one is the ``UnprovenAbsence`` alert
        (``unproven_absence``). ``version=N``: fixed-version search, version N proven in
        the current tree (``invalid_version_proof`` for another version or label; a plain
        ``NotFound`` if it does not exist).
        """
        return self._drive(self._core.lookup(user_id, version, watch))

    def watch(self, user_id: str) -> None:
        """Add ``user_id`` to the contacts ``monitor_contacts`` re-verifies."""
        trust = self.trust()
        self._core.contacts.watch(trust.log_id, trust.canonical_user_id(user_id))

    def unwatch(self, user_id: str) -> None:
        """Stop monitoring ``user_id`` (its observations stay: evidence)."""
        trust = self.trust()
        self._core.contacts.unwatch(trust.log_id, trust.canonical_user_id(user_id))

    def watched(self) -> list[str]:
        """The watched contacts of this server, sorted."""
        trust = self.trust()
        return [c.label for c in self._core.contacts.watched(trust.log_id)]

    def monitor_contacts(self) -> ContactReport:
        """Re-verify every watched contact since the last check: one complete history
        request per contact. Reports (does not raise) ``contact_key_changed`` and
        ``contact_history_inconsistent``, and the code of any other verification failure
        (``fork_detected``, ``stale_head``, ...) per contact."""
        return self._drive(self._core.monitor_contacts())

    def credential(self, user_id: str) -> bytes:
        """A verified lookup of ``user_id`` as an offline credential (see
        ``glasskey.log.verify_credential``); raises as ``lookup``."""
        return self._drive(self._core.credential(user_id))

    def history(self, user_id: str, most_recent: int | None = None) -> VerifiedHistory:
        """The verified key versions of ``user_id``, newest first (all, or ``most_recent``).

        Same checks and alerts as ``lookup``, with the history proof
        (``invalid_history_proof``) instead of the lookup proof, and ``key_changed`` when a
        version verified before now holds another key. Stores the head and each version.
        """
        return self._drive(self._core.history(user_id, HistoryParams(most_recent)))

    def monitor(self, user_id: str, *, own: bool = False) -> MonitorReport:
        """Verify the complete history of ``user_id`` and report what is wrong with it.

        Raises as ``history`` when the history itself does not verify. Otherwise *reports*
        (``MonitorReport.alerts``): ``rollback_detected`` for a version verified earlier that
        is missing, and with ``own=True`` (your own label) ``unexpected_version`` for each
        version holding a key this state file did not upload.
        """
        return self._drive(self._core.monitor(user_id, own))

    def upload(self, user_id: str, key: bytes, token: str, *, wait: float = 0) -> UploadReceipt:
        """Publish ``key`` as the new key of ``user_id`` (bearer ``token``).

        The key's digest is recorded as this device's own *before* sending, so owner
        monitoring never mistakes it for a foreign key. ``wait``: ask the server to wait up
        to that many seconds for the epoch; when it was published, the key is fetched and
        verified like any ``lookup`` (same alerts) into ``receipt.key``.
        """
        return self._drive(self._core.upload(user_id, key, token, wait))

    def register(self, user_id: str, admin_token: str | None = None) -> str:
        """Register ``user_id`` (open registration or admin token); returns its bearer token."""
        return self._drive(self._core.register(user_id, admin_token))

    def gossip(self, note: str, *, evidence_dir: str | Path | None = None) -> GossipResult:
        """Compare a checkpoint another party saw (the verbatim signed note) with ours.

        Our view is the last head this client verified (else the server's current head).
        Returns a ``GossipResult`` when both are one tree. Raises ``InvalidGossip``
        (``invalid_gossip``) for a note not signed by the pinned log key, ``GossipFork``
        (``fork_detected``) for a proven fork — its ``evidence`` is also written to a new
        file in ``evidence_dir`` when given (``glasskey verify fork-evidence`` re-checks it
        offline) — and ``GossipUnverified`` (``gossip_unverified``) when the sizes differ
        and the server gives no consistency proof that verifies, after retries.
        """
        directory = None if evidence_dir is None else Path(evidence_dir)
        return self._drive(self._core.gossip(note, directory))


class AsyncGlasskeyClient(_ClientBase):
    """Asynchronous verifying client: the ``GlasskeyClient`` API, awaited.

    Same constructor (with an ``httpx.AsyncBaseTransport``), same policy, same checks and
    alerts: both run the same core; one client may run many calls concurrently.
    """

    def __init__(
        self,
        server: str,
        *,
        policy: VerificationPolicy = DEFAULT_POLICY,
        state: str | Path | ClientState = ":memory:",
        timeout: float = DEFAULT_TIMEOUT,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        super().__init__(server, policy, state)
        self._http = httpx.AsyncClient(
            base_url=self._core.server, timeout=timeout, transport=transport
        )

    async def aclose(self) -> None:
        """Close the HTTP connections (the state file stays open; it may be shared)."""
        await self._http.aclose()

    async def __aenter__(self) -> AsyncGlasskeyClient:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()

    async def _drive(self, steps: Generator[_Request, Any, T]) -> T:
        exchange = _Exchange(steps)
        while exchange.request is not None:
            with _reaching(self._core.server):
                response = await self._http.send(_outgoing(self._http, exchange.request))
            exchange.answer(response)
        return exchange.result()

    async def trust(self) -> Trust:
        """``GlasskeyClient.trust``: the pinned keys (pinning on first use); ``trust_mismatch``."""
        return await self._drive(self._core.trust())

    async def lookup(
        self, user_id: str, *, version: int | None = None, watch: bool = True
    ) -> VerifiedKey:
        """``GlasskeyClient.lookup``: the current key, only if the whole policy verified."""
        return await self._drive(self._core.lookup(user_id, version, watch))

    async def monitor_contacts(self) -> ContactReport:
        """``GlasskeyClient.monitor_contacts``: re-verify every watched contact."""
        return await self._drive(self._core.monitor_contacts())

    async def credential(self, user_id: str) -> bytes:
        """``GlasskeyClient.credential``: a verified lookup as offline credential bytes."""
        return await self._drive(self._core.credential(user_id))

    async def history(self, user_id: str, most_recent: int | None = None) -> VerifiedHistory:
        """``GlasskeyClient.history``: the verified versions, newest first."""
        return await self._drive(self._core.history(user_id, HistoryParams(most_recent)))

    async def monitor(self, user_id: str, *, own: bool = False) -> MonitorReport:
        """``GlasskeyClient.monitor``: the verified complete history and its alerts."""
        return await self._drive(self._core.monitor(user_id, own))

    async def upload(
        self, user_id: str, key: bytes, token: str, *, wait: float = 0
    ) -> UploadReceipt:
        """``GlasskeyClient.upload``: publish a key (recorded as our own before sending)."""
        return await self._drive(self._core.upload(user_id, key, token, wait))

    async def register(self, user_id: str, admin_token: str | None = None) -> str:
        """Register ``user_id`` (open registration or admin token); returns its bearer token."""
        return await self._drive(self._core.register(user_id, admin_token))

    async def gossip(self, note: str, *, evidence_dir: str | Path | None = None) -> GossipResult:
        """``GlasskeyClient.gossip``, awaited."""
        directory = None if evidence_dir is None else Path(evidence_dir)
        return await self._drive(self._core.gossip(note, directory))


__all__ = [
    "AsyncGlasskeyClient",
    "ContactReport",
    "GlasskeyClient",
    "MonitorReport",
    "NetworkError",
    "NotFound",
    "ServerError",
    "UploadReceipt",
    "UserNotFound",
    "VerificationError",
    "WrongServer",
]
