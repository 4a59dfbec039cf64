"""The verifying client, sync (``GlasskeyClient``) and async (``AsyncGlasskeyClient``).

Nothing is returned before it is verified (see ``glasskey.client._verify``) against the
client's ``VerificationPolicy``, and every verified checkpoint is remembered in the client
state so the next answer must extend it.

Trust: the log's note key and the VRF key are *pinned*. Put them in the policy (the safe way,
e.g. shipped with the app) or let the first contact pin them (trust on first use); afterwards
a server presenting other keys is refused with ``TrustMismatch``.

Both clients share ``ClientCore`` (``_core``), which holds all decisions as generators that
yield the HTTP requests they need; a client is only a driver that makes those requests
(``_transport``), synchronously or with ``await``."""

from __future__ import annotations

from collections.abc import Generator
from pathlib import Path
from typing import Any, TypeVar

import httpx

from glasskey.client._absence import UserNotFound
from glasskey.client._contacts import ContactReport
from glasskey.client._core import ClientCore, MonitorReport, UploadReceipt
from glasskey.client._gossip import GossipResult
from glasskey.client._policy import DEFAULT_POLICY, VerificationPolicy
from glasskey.client._state import ClientState, Trust
from glasskey.client._transport import (
    DEFAULT_TIMEOUT,
    Exchange,
    NetworkError,
    Request,
    ServerError,
    WrongServer,
    outgoing,
    reaching,
)
from glasskey.client._verify import VerifiedHistory, VerifiedKey
from glasskey.core.akd.types import HistoryParams
from glasskey.core.errors import NotFound, VerificationError

T = TypeVar("T")


class _ClientBase:
    """What both clients hold: the core (every decision), its state file and its policy."""

    def __init__(
        self, server: str, policy: VerificationPolicy, state: str | Path | ClientState
    ) -> None:
        self._core = ClientCore(server, state, policy)
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

    def _drive(self, steps: Generator[Request, Any, T]) -> T:
        exchange = Exchange(steps)
        while exchange.request is not None:
            with reaching(self._core.server):
                response = self._http.send(outgoing(self._http, exchange.request))
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

    async def _drive(self, steps: Generator[Request, Any, T]) -> T:
        exchange = Exchange(steps)
        while exchange.request is not None:
            with reaching(self._core.server):
                response = await self._http.send(outgoing(self._http, exchange.request))
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
