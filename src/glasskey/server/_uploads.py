"""The key owner's side of the service: registering, uploading keys, following an upload.

Uploads are queued, not published: the publisher turns the queue into the next epoch. A
receipt is durable as soon as it is returned; its status says when the key is published.

Replays: every upload carries the client's random ``upload_id``, stored with its receipt.
The same id again is a client retrying after a lost answer (same user, same key, and still
that user's newest upload): it gets the original receipt and makes no second version.
Anything else with a used id — another key, or an upload a newer one has superseded, which
would put an old key back — is refused with ``ReplayedUpload`` (409). That stops whoever
re-sends a captured request as it is; whoever holds the bearer token can still upload any
key, which is what owner monitoring is for.
"""

from __future__ import annotations

import asyncio
import hashlib
import re
import secrets
import time
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import Any, NamedTuple, Protocol

from glasskey.api.keybundle import decode_key_bundle, looks_like_key_bundle
from glasskey.core.errors import (
    MalformedError,
    PermissionDenied,
    ReplayedUpload,
    Unauthenticated,
    Unavailable,
    UsageError,
)
from glasskey.directory import Directory, LabelNotFound
from glasskey.server._auth import (
    SERVICE_TOKEN_PREFIX,
    Authenticator,
    Caller,
    ServiceCredentials,
    TokenAuthenticator,
    as_caller,
)
from glasskey.server._batching import GroupCommitter
from glasskey.server._db import ServiceDB
from glasskey.server._metrics import Metrics
from glasskey.server._reads import DirectoryReads
from glasskey.server._results import Bundle, Receipt, UpdateStatus
from glasskey.server._user_ids import UserIdPolicy
from glasskey.storage import StoreTransaction

#: Seconds between status checks while an upload waits for its epoch.
PUBLICATION_POLL = 0.05

_UPLOAD_ID = re.compile(r"[A-Za-z0-9_-]{16,64}")


def check_upload_id(upload_id: str) -> str:
    """``upload_id`` if it is 16-64 characters of ``A-Z a-z 0-9 _ -``, else ``UsageError``."""
    if not isinstance(upload_id, str) or not _UPLOAD_ID.fullmatch(upload_id):
        raise UsageError("upload_id must be 16-64 characters from A-Z a-z 0-9 _ -")
    return upload_id


class _Upload(NamedTuple):
    user_id: str
    value: bytes
    upload_id: str


class Uploads:
    """``wake_publisher`` asks the publisher for an epoch now (an upload that waits for its
    publication should not also wait out the epoch interval)."""

    def __init__(
        self,
        directory: Directory,
        db: ServiceDB,
        authenticator: Authenticator,
        reads: DirectoryReads,
        metrics: Metrics,
        *,
        wake_publisher: Callable[[], None],
        open_registration: bool,
        user_id_policy: UserIdPolicy = UserIdPolicy.EXACT,
        admin_tokens: TokenAuthenticator | None = None,
    ) -> None:
        """``admin_tokens`` checks the admin token when ``authenticator`` is a plug-in (the
        built-in ``TokenAuthenticator`` checks it itself)."""
        self.directory = directory
        self.db = db
        self.authenticator = authenticator
        self.reads = reads
        self.metrics = metrics
        self._wake_publisher = wake_publisher
        self._open_registration = open_registration
        self._user_ids = user_id_policy
        self.services = ServiceCredentials(db)
        self._admin = (
            authenticator if isinstance(authenticator, TokenAuthenticator) else admin_tokens
        )
        # Receipts commit in the directory's own enqueue transaction when both live in one
        # database (they do for ``glasskey serve``): a crash can then never separate an
        # update from its receipt. ``memory://`` gives two private in-memory databases; the
        # receipts then commit in the service's one *inside* the directory's transaction,
        # which rolls the queue back if they fail — and a crash loses both anyway.
        self._receipts_in_store = db.url == directory.store.url != "memory://"
        self._enqueuer: GroupCommitter[_Upload, Receipt | ReplayedUpload] = GroupCommitter(
            self._enqueue_batch
        )
        # Uploads wait in GroupCommitter.submit (a blocking call) on these threads; the one
        # that writes takes everything queued behind it. Blocked threads cost no CPU.
        self._write_pool = ThreadPoolExecutor(32, thread_name_prefix="glasskey-write")

    def close(self) -> None:
        self._write_pool.shutdown(wait=True)  # accepted uploads finish their commit

    # -- who is asking ----------------------------------------------------------------------------

    def register(self, user_id: str, authorization: str | None) -> tuple[str, str]:
        """Register ``user_id``; returns the id as stored (the user id policy's spelling) and
        its bearer token (the only time it exists in clear).

        Needs the admin token unless registration is open.
        """
        auth = self._tokens()
        if not self._open_registration:
            self.require_admin(authorization, "registration")
        user_id = self._user_ids.normalise(user_id)
        return user_id, auth.issue(user_id)

    def _tokens(self) -> TokenAuthenticator:
        auth = self.authenticator
        if not isinstance(auth, TokenAuthenticator):
            raise PermissionDenied(
                "this server authenticates users through its own authenticator "
                "(--authenticator): it has no glasskey user tokens to register or manage"
            )
        return auth

    def require_admin(self, authorization: str | None, what: str) -> None:
        """``PermissionDenied`` (a wrong token) / ``Unauthenticated`` (none) unless the header
        carries the admin token."""
        if self._admin is not None and self._admin.is_admin(authorization):
            return
        if authorization:
            raise PermissionDenied(f"{what} needs the admin token")
        raise Unauthenticated(f"{what} needs the admin token")

    def reissue_token(self, user_id: str, authorization: str | None) -> tuple[str, str]:
        """An admin replaces ``user_id``'s token (a reinstalled app); the old one stops working."""
        self.require_admin(authorization, "reissuing a token")
        user_id = self._user_ids.normalise(user_id)
        return user_id, self._tokens().issue(user_id, replace=True)

    def revoke_token(self, user_id: str, authorization: str | None) -> str:
        """An admin revokes ``user_id``'s token; the id stays taken until a reissue."""
        self.require_admin(authorization, "revoking a token")
        user_id = self._user_ids.normalise(user_id)
        self._tokens().revoke(user_id)
        return user_id

    def issue_service(self, name: str, authorization: str | None, *, replace: bool) -> str:
        """An admin issues (or, ``replace``, rotates) the service credential ``name``."""
        self.require_admin(authorization, "issuing a service credential")
        return self.services.issue(name, replace=replace)

    def revoke_service(self, name: str, authorization: str | None) -> None:
        self.require_admin(authorization, "revoking a service credential")
        self.services.revoke(name)

    def _caller(self, authorization: str | None) -> Caller | None:
        service = self.services.caller(authorization)
        if service is not None:
            return service
        token = authorization.partition(" ")[2].strip() if authorization else ""
        if token.startswith(SERVICE_TOKEN_PREFIX):
            return None  # a revoked or unknown service credential is nobody's user token
        return as_caller(self.authenticator.authenticate(authorization))

    async def authenticate(self, authorization: str | None) -> Caller:
        """Who an ``Authorization`` header authenticates; ``Unauthenticated`` if nobody.

        Service credentials first (in every mode), then the configured authenticator.
        """
        caller = await self.reads.run_read(self._caller, authorization)
        if caller is not None:
            return caller
        if self._admin is not None and self._admin.is_admin(authorization):
            raise PermissionDenied(
                "the admin token manages users and credentials, it does not upload keys: "
                "upload with the user's own token, or on users' behalf with a service "
                "credential (glasskey tokens issue-service)"
            )
        raise Unauthenticated("a valid bearer token is required")

    # -- uploads ----------------------------------------------------------------------------------

    def submit(
        self, principal: str | Caller, user_id: str, value: bytes, upload_id: str | None = None
    ) -> Receipt:
        """Queue ``value`` as the new key of ``user_id`` on behalf of ``principal`` (a user id
        or a ``Caller``: a user changes only their own label, a service anyone's).

        ``upload_id``: the client's id of this upload (see the module docstring); None for a
        caller in this process, whose calls cannot be replayed: each is a new upload.
        """
        caller = _caller_of(principal)
        user_id = self._user_ids.normalise(user_id)
        if caller.service is None and caller.user_id != user_id:
            raise PermissionDenied(
                f"you are authenticated as {caller.user_id} and may only change your own label"
            )
        label = user_id.encode("utf-8")
        _check_key_bundle(value)
        self.directory.check_update(label, value)  # a bad update must not fail its batch
        upload = _Upload(
            user_id,
            value,
            secrets.token_hex(16) if upload_id is None else check_upload_id(upload_id),
        )
        outcome = self._enqueuer.submit(upload)
        if isinstance(outcome, ReplayedUpload):
            self.metrics.inc("uploads_replayed")
            raise outcome
        self.metrics.inc("updates_accepted")
        return outcome

    async def upload(
        self,
        principal: str | Caller,
        user_id: str,
        value: bytes,
        wait: float,
        upload_id: str | None = None,
    ) -> UpdateStatus:
        """Queue a new key; with ``wait`` > 0, wait up to that many seconds for its epoch.

        The wait polls on the event loop (``asyncio.sleep``): a thread per waiting upload
        would be a thread per client during a burst.
        """
        loop = asyncio.get_running_loop()
        receipt = await loop.run_in_executor(
            self._write_pool, self.submit, principal, user_id, value, upload_id
        )
        if wait > 0:
            self._wake_publisher()
            deadline = time.monotonic() + wait
            while time.monotonic() < deadline:
                status, epoch = await self.reads.run_read(
                    self.directory.update_status, receipt.update_id
                )
                if status == "published":
                    return UpdateStatus(receipt, status, epoch, await self._bundle_of(user_id))
                await asyncio.sleep(PUBLICATION_POLL)
        return UpdateStatus(receipt, "pending", None, None)

    async def update_status(self, principal: str | Caller, update_id: int) -> UpdateStatus:
        """Where ``principal``'s upload ``update_id`` is; another user's is PermissionDenied
        (a service credential may follow any upload)."""
        caller = _caller_of(principal)
        receipt = await self.reads.run_read(self.update_record, update_id)
        if caller.service is None and receipt.user_id != caller.user_id:
            raise PermissionDenied("that update belongs to another user")
        status, epoch = await self.reads.run_read(self.directory.update_status, update_id)
        bundle = await self._bundle_of(receipt.user_id) if status == "published" else None
        return UpdateStatus(receipt, status, epoch, bundle)

    async def _bundle_of(self, user_id: str) -> Bundle | None:
        """The published key's bundle, or None while the signed log has not caught up."""
        try:
            return await self.reads.bundle(user_id, None)
        except Unavailable:
            return None

    def _enqueue_batch(self, uploads: Sequence[_Upload]) -> list[Receipt | ReplayedUpload]:
        """Queue concurrent submissions together: one commit for the whole batch — queue rows
        and receipts together — instead of one per update (``GroupCommitter``).

        Batches of one process are written one at a time, so an id checked here cannot be
        taken by this process meanwhile; two processes racing with one id can at worst both
        queue the same newest key (an old one is never newest), which owner monitoring flags.
        """
        outcomes: list[Receipt | ReplayedUpload | None] = [None] * len(uploads)
        first: dict[tuple[str, str], int] = {}
        fresh: list[int] = []
        for i, upload in enumerate(uploads):
            key = (upload.user_id, upload.upload_id)
            if key in first:
                continue  # a retry racing its original: answered below, like the original
            first[key] = i
            outcome = self._repeated(upload)
            if outcome is None:
                fresh.append(i)
            outcomes[i] = outcome
        accepted_at = time.time()

        def write_receipts(ids: list[int], txn: StoreTransaction) -> None:
            for i, update_id in zip(fresh, ids, strict=True):
                upload = uploads[i]
                outcomes[i] = Receipt(update_id, upload.user_id, _digest(upload), accepted_at)
            receipts = [(r.update_id, r.user_id, r.value_sha256, r.accepted_at)
                        for i in fresh if isinstance(r := outcomes[i], Receipt)]  # fmt: skip
            upload_ids = [(uploads[i].user_id, uploads[i].upload_id, update_id)
                          for i, update_id in zip(fresh, ids, strict=True)]  # fmt: skip
            if self._receipts_in_store:
                _write_receipts(txn, receipts, upload_ids)
            else:
                with self.db.transaction():
                    _write_receipts(self.db, receipts, upload_ids)

        self.directory.enqueue_many(
            [(uploads[i].user_id.encode("utf-8"), uploads[i].value) for i in fresh],
            write_receipts,
        )
        answered: list[Receipt | ReplayedUpload] = []
        for upload in uploads:
            outcome = outcomes[first[(upload.user_id, upload.upload_id)]]
            assert outcome is not None
            if isinstance(outcome, Receipt) and outcome.value_sha256 != _digest(upload):
                outcome = _reused_for_another_key(upload)
            answered.append(outcome)
        return answered

    def _repeated(self, upload: _Upload) -> Receipt | ReplayedUpload | None:
        """None for an unused ``upload_id``; else the retry's receipt or the replay's refusal."""
        rows = self.db.query(
            "SELECT u.update_id, u.value_sha256, u.accepted_at, "
            "(SELECT MAX(n.update_id) FROM glasskey_updates n WHERE n.user_id = i.user_id) "
            "FROM glasskey_upload_ids i JOIN glasskey_updates u ON u.update_id = i.update_id "
            "WHERE i.user_id = ? AND i.upload_id = ?",
            (upload.user_id, upload.upload_id),
        )
        if not rows:
            return None
        update_id, digest, accepted_at, newest = rows[0]
        if bytes(digest) != _digest(upload):
            return _reused_for_another_key(upload)
        if newest != update_id:
            return ReplayedUpload(
                f"upload {upload.upload_id} was accepted as update {update_id}, which a newer "
                "upload has superseded: accepting it again would put an older key back"
            )
        return Receipt(int(update_id), upload.user_id, bytes(digest), float(accepted_at))

    def update_record(self, update_id: int) -> Receipt:
        rows = self.db.query(
            "SELECT user_id, value_sha256, accepted_at FROM glasskey_updates WHERE update_id = ?",
            (update_id,),
        )
        if not rows:
            raise LabelNotFound(f"no update with id {update_id}")
        user_id, digest, accepted_at = rows[0]
        return Receipt(update_id, str(user_id), bytes(digest), float(accepted_at))


def _check_key_bundle(value: bytes) -> None:
    """A value that starts like a key bundle must be a canonical one (``api.keybundle``):
    a broken bundle in the log would read as "no devices", and an extra field (a device
    name) must never become public. Other values stay opaque."""
    if looks_like_key_bundle(value):
        try:
            decode_key_bundle(value)
        except MalformedError as exc:
            raise UsageError(f"the value starts like a key bundle but is not one: {exc}") from None


def _caller_of(principal: str | Caller) -> Caller:
    return principal if isinstance(principal, Caller) else Caller(user_id=principal)


class _SqlWriter(Protocol):
    def executemany(self, sql: str, rows: Sequence[Sequence[Any]]) -> None: ...


def _write_receipts(
    sql: _SqlWriter,
    receipts: Sequence[tuple[int, str, bytes, float]],
    upload_ids: Sequence[tuple[str, str, int]],
) -> None:
    """The receipts (``glasskey_updates``) and client upload ids of newly queued updates."""
    sql.executemany(
        "INSERT INTO glasskey_updates (update_id, user_id, value_sha256, accepted_at) "
        "VALUES (?, ?, ?, ?) ON CONFLICT (update_id) DO UPDATE SET "
        "user_id = excluded.user_id, value_sha256 = excluded.value_sha256, "
        "accepted_at = excluded.accepted_at",
        receipts,
    )
    sql.executemany(
        "INSERT INTO glasskey_upload_ids (user_id, upload_id, update_id) VALUES (?, ?, ?) "
        "ON CONFLICT (user_id, upload_id) DO NOTHING",
        upload_ids,
    )


def _digest(upload: _Upload) -> bytes:
    return hashlib.sha256(upload.value).digest()


def _reused_for_another_key(upload: _Upload) -> ReplayedUpload:
    return ReplayedUpload(f"upload {upload.upload_id} was already used for another key")
