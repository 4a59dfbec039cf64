"""The key owner's side of the service: registering, uploading keys, following an upload.

Uploads are queued, not published: the publisher turns the queue into the next epoch. A
receipt is durable as soon as it is returned; its status says when the key is published.
"""

from __future__ import annotations

import asyncio
import hashlib
import time
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor

from glasskey.core.errors import PermissionDenied, Unauthenticated, Unavailable
from glasskey.directory import Directory, LabelNotFound
from glasskey.server._auth import Authenticator, TokenAuthenticator, check_user_id
from glasskey.server._batching import GroupCommitter
from glasskey.server._db import ServiceDB
from glasskey.server._metrics import Metrics
from glasskey.server._reads import DirectoryReads
from glasskey.server._results import Bundle, Receipt, UpdateStatus

#: Seconds between status checks while an upload waits for its epoch.
PUBLICATION_POLL = 0.05


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
    ) -> None:
        self.directory = directory
        self.db = db
        self.authenticator = authenticator
        self.reads = reads
        self.metrics = metrics
        self._wake_publisher = wake_publisher
        self._open_registration = open_registration
        self._enqueuer: GroupCommitter[tuple[str, bytes], Receipt] = GroupCommitter(
            self._enqueue_batch
        )
        # Uploads wait in GroupCommitter.submit (a blocking call) on these threads; the one
        # that writes takes everything queued behind it. Blocked threads cost no CPU.
        self._write_pool = ThreadPoolExecutor(32, thread_name_prefix="glasskey-write")

    def close(self) -> None:
        self._write_pool.shutdown(wait=True)  # accepted uploads finish their commit

    # -- who is asking ----------------------------------------------------------------------------

    def register(self, user_id: str, authorization: str | None) -> str:
        """Register ``user_id``; returns its bearer token (the only time it exists in clear).

        Needs the admin token unless registration is open.
        """
        auth = self.authenticator
        if not isinstance(auth, TokenAuthenticator):
            raise PermissionDenied("this server registers users through its own authenticator")
        if not self._open_registration and not auth.is_admin(authorization):
            if authorization:
                raise PermissionDenied("registration needs the admin token")
            raise Unauthenticated("registration needs the admin token")
        return auth.issue(check_user_id(user_id))

    async def authenticate(self, authorization: str | None) -> str:
        """The user an ``Authorization`` header authenticates; AuthenticationError if none."""
        user = await self.reads.run_read(self.authenticator.authenticate, authorization)
        if user is None:
            raise Unauthenticated("a valid bearer token is required")
        return user

    # -- uploads ----------------------------------------------------------------------------------

    def submit(self, principal: str, user_id: str, value: bytes) -> Receipt:
        """Queue ``value`` as the new key of ``user_id`` on behalf of ``principal``."""
        if principal != user_id:
            raise PermissionDenied(
                f"you are authenticated as {principal!r} and may only change your own label"
            )
        label = user_id.encode("utf-8")
        self.directory.check_update(label, value)  # a bad update must not fail its batch
        receipt = self._enqueuer.submit((user_id, value))
        self.metrics.inc("updates_accepted")
        return receipt

    async def upload(self, principal: str, user_id: str, value: bytes, wait: float) -> UpdateStatus:
        """Queue a new key; with ``wait`` > 0, wait up to that many seconds for its epoch.

        The wait polls on the event loop (``asyncio.sleep``): a thread per waiting upload
        would be a thread per client during a burst.
        """
        loop = asyncio.get_running_loop()
        receipt = await loop.run_in_executor(
            self._write_pool, self.submit, principal, user_id, value
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

    async def update_status(self, principal: str, update_id: int) -> UpdateStatus:
        """Where ``principal``'s upload ``update_id`` is; another user's is PermissionDenied."""
        receipt = await self.reads.run_read(self.update_record, update_id)
        if receipt.user_id != principal:
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

    def _enqueue_batch(self, updates: Sequence[tuple[str, bytes]]) -> list[Receipt]:
        """Queue concurrent submissions together: one queue commit and one receipt commit
        for the whole batch instead of two per update (``GroupCommitter``)."""
        ids = self.directory.enqueue_many([(u.encode("utf-8"), v) for u, v in updates])
        accepted_at = time.time()
        receipts = [
            Receipt(update_id, user_id, hashlib.sha256(value).digest(), accepted_at)
            for update_id, (user_id, value) in zip(ids, updates, strict=True)
        ]
        with self.db.transaction():
            self.db.executemany(
                "INSERT INTO glasskey_updates (update_id, user_id, value_sha256, accepted_at) "
                "VALUES (?, ?, ?, ?) ON CONFLICT (update_id) DO UPDATE SET "
                "user_id = excluded.user_id, value_sha256 = excluded.value_sha256, "
                "accepted_at = excluded.accepted_at",
                [(r.update_id, r.user_id, r.value_sha256, r.accepted_at) for r in receipts],
            )
        return receipts

    def update_record(self, update_id: int) -> Receipt:
        rows = self.db.query(
            "SELECT user_id, value_sha256, accepted_at FROM glasskey_updates WHERE update_id = ?",
            (update_id,),
        )
        if not rows:
            raise LabelNotFound(f"no update with id {update_id}")
        user_id, digest, accepted_at = rows[0]
        return Receipt(update_id, str(user_id), bytes(digest), float(accepted_at))
