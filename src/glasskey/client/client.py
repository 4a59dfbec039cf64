"""The verifying client, sync (``GlasskeyClient``) and async (``AsyncGlasskeyClient``).

Nothing is returned before it is verified (see ``glasskey.client.verify``), and every
verified checkpoint is remembered in the client state so the next answer must extend it.

Trust: the log's note key and the VRF key are *pinned*. Pass them in (the safe way, e.g.
shipped with the app) or let the first contact pin them (trust on first use); afterwards a
server presenting other keys is refused with ``TrustMismatch``.

Both clients share ``_Core``, which holds all decisions; they differ only in how they wait
for HTTP.
"""

from __future__ import annotations

import hashlib
from collections.abc import Generator, Iterable
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import httpx

from glasskey.api.encoding import encode_base64
from glasskey.api.errors import error_from_http
from glasskey.api.wire import (
    KeysResponse,
    KeyUpload,
    RegisterRequest,
    RegisterResponse,
    UpdateReceipt,
    parse,
)
from glasskey.client.alerts import (
    Alert,
    KeyChanged,
    RollbackDetected,
    TrustMismatch,
    UnexpectedKeyVersion,
)
from glasskey.client.state import ClientState, Trust
from glasskey.client.verify import (
    VerifiedHistory,
    VerifiedKey,
    verify_auditor_signature,
    verify_bundle,
    verify_history,
)
from glasskey.core.akd.types import HistoryParams
from glasskey.core.errors import (
    GlasskeyError,
    MalformedError,
    NotFound,
    RequestError,
    UsageError,
    VerificationError,
)

DEFAULT_TIMEOUT = 10.0

#: The server answered with an error: ``status``, and ``server_code`` from its JSON body. The
#: subclasses say which outcome (``NotFound``, ``Conflict``, ``Unauthenticated``, ...).
ServerError = RequestError


class NetworkError(GlasskeyError):
    """The server could not be reached or did not answer in time."""

    code = "network"


@dataclass(frozen=True, slots=True)
class UploadReceipt:
    update_id: int
    user_id: str
    value_sha256: str
    status: str
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
        return not self.alerts


def _auditor_keys(keys: Iterable[bytes | str]) -> tuple[bytes, ...]:
    """Pinned auditor verifying keys: 32-byte Ed25519 public keys, raw or hex."""
    out = []
    for key in keys:
        if isinstance(key, str):
            try:
                key = bytes.fromhex(key)
            except ValueError:
                raise UsageError("an auditor key must be 64 hex characters") from None
        if not isinstance(key, bytes) or len(key) != 32:
            raise UsageError("an auditor key is a 32-byte Ed25519 public key")
        out.append(key)
    return tuple(out)


def _key_changed(user_id: str, version: int) -> KeyChanged:
    return KeyChanged(
        f"version {version} of {user_id!r} now has a different key than the one "
        "verified earlier: the server rewrote history"
    )


# A request the core wants made: (method, path, params, json body, token).
_Request = tuple[str, str, dict[str, Any], dict[str, Any] | None, str | None]


class _Core:
    """All client logic, written as generators that yield requests and receive JSON."""

    def __init__(
        self,
        server: str,
        state: ClientState,
        trust: Trust | None,
        max_age: float | None,
        auditor_keys: Iterable[bytes | str] = (),
        require_auditor: bool = False,
        auditor_namespace: str | None = None,
    ) -> None:
        self.server = server.rstrip("/")
        self.state = state
        self.max_age = max_age
        self._configured_trust = trust
        self.auditor_keys = _auditor_keys(auditor_keys)
        if require_auditor and not self.auditor_keys:
            raise UsageError("require_auditor needs at least one pinned auditor key")
        self.require_auditor = require_auditor
        self.auditor_namespace = auditor_namespace

    def trust(self) -> Generator[_Request, Any, Trust]:
        stored = self.state.trust(self.server)
        wanted = self._configured_trust
        if stored is not None:
            if wanted is not None and wanted != stored:
                raise TrustMismatch(
                    "the configured keys differ from the ones pinned earlier for this server; "
                    "use a fresh state file if the server legitimately rotated its keys"
                )
            return stored
        if wanted is None:
            body = yield ("GET", "/api/transparency/keys", {}, None, None)
            keys = parse(KeysResponse, body, "the server's key document")
            wanted = Trust(
                origin=keys.origin,
                log_public_key=keys.log_public_key,
                vrf_public_key=keys.vrf_public_key,
                configuration=keys.configuration,
                domain_label=keys.domain_label.encode("utf-8") if keys.domain_label else None,
            )
        self.state.pin(self.server, wanted)
        return wanted

    def _check_observed(self, trust: Trust, user_id: str, version: int, digest: bytes) -> None:
        seen = self.state.observation(trust.origin, user_id, version)
        if seen is not None and seen[1] != digest:
            raise _key_changed(user_id, version)

    def lookup(self, user_id: str) -> Generator[_Request, Any, VerifiedKey]:
        trust = yield from self.trust()
        previous = self.state.head(trust.origin)
        params = {"known_size": previous.size} if previous else {}
        body = yield ("GET", f"/api/crypto/bundles/{user_id}", params, None, None)
        key = verify_bundle(trust, user_id, body, previous, max_age=self.max_age)
        countersignature = verify_auditor_signature(
            body, key.epoch, key.root_hash, self.auditor_keys,
            namespace=self.auditor_namespace, require=self.require_auditor,
        )  # fmt: skip
        key = replace(key, auditor_signature=countersignature)
        observed = self.state.observations(trust.origin, user_id)
        if observed and key.version < observed[-1][0]:
            raise RollbackDetected(
                f"{user_id!r} is served at version {key.version}, but version "
                f"{observed[-1][0]} was verified earlier"
            )
        seen = {version: digest for version, _, digest in observed}.get(key.version)
        if seen is not None and seen != key.key_sha256:
            raise _key_changed(user_id, key.version)
        self.state.store_head(key.head)
        if seen is None:
            self.state.observe(
                trust.origin, user_id, key.version, key.published_epoch, key.key_sha256
            )
        return key

    def history(
        self, user_id: str, params: HistoryParams
    ) -> Generator[_Request, Any, VerifiedHistory]:
        trust = yield from self.trust()
        previous = self.state.head(trust.origin)
        query: dict[str, Any] = {"known_size": previous.size} if previous else {}
        if params.most_recent is not None:
            query["most_recent"] = params.most_recent
        body = yield ("GET", f"/api/crypto/history/{user_id}", query, None, None)
        history = verify_history(trust, user_id, body, previous, params, max_age=self.max_age)
        verify_auditor_signature(
            body, history.epoch, history.root_hash, self.auditor_keys,
            namespace=self.auditor_namespace, require=self.require_auditor,
        )  # fmt: skip
        for result in history.versions:
            self._check_observed(
                trust, user_id, result.version, hashlib.sha256(result.value).digest()
            )
        self.state.store_head(history.head)
        for result in history.versions:
            self.state.observe(
                trust.origin, user_id, result.version, result.epoch,
                hashlib.sha256(result.value).digest(),
            )  # fmt: skip
        return history

    def monitor(self, user_id: str, own: bool) -> Generator[_Request, Any, MonitorReport]:
        """Complete history, verified; alerts for versions we did not make / changed values."""
        trust = yield from self.trust()
        alerts: list[Alert] = []
        seen_before = {v: d for v, _, d in self.state.observations(trust.origin, user_id)}
        history = yield from self.history(user_id, HistoryParams.complete())
        if own:
            mine = self.state.own_digests(trust.origin, user_id)
            for result in history.versions:
                digest = hashlib.sha256(result.value).digest()
                if digest not in mine:
                    err = UnexpectedKeyVersion(
                        f"version {result.version} of your label {user_id!r} (epoch "
                        f"{result.epoch}) holds a key this client did not upload"
                    )
                    alerts.append(Alert.from_error(err, user_id, result.version))
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
        trust = yield from self.trust()
        digest = hashlib.sha256(key).digest()
        # Recorded *before* sending: a crash after the server accepted it must not make our
        # own key look foreign to the owner monitor.
        self.state.record_own_update(trust.origin, user_id, digest, None)
        # Built, not validated: limits are the server's to enforce and to answer for.
        upload = KeyUpload.model_construct(user_id=user_id, key=encode_base64(key))
        body = yield (
            "POST", "/api/crypto/keys/identity", {"wait": wait} if wait else {},
            upload.model_dump(), token,
        )  # fmt: skip
        receipt = parse(UpdateReceipt, body, "the server's upload receipt")
        self.state.record_own_update(trust.origin, user_id, digest, receipt.update_id)
        verified: VerifiedKey | None = None
        if receipt.status == "published":
            # Never trust the embedded bundle blindly: fetch and verify like any lookup.
            verified = yield from self.lookup(user_id)
        return UploadReceipt(
            receipt.update_id, user_id, digest.hex(), receipt.status, receipt.epoch, verified
        )

    def register(self, user_id: str, admin_token: str | None) -> Generator[_Request, Any, str]:
        request = RegisterRequest.model_construct(user_id=user_id)
        body = yield ("POST", "/api/auth/register", {}, request.model_dump(), admin_token)
        return parse(RegisterResponse, body, "the server's registration answer").token


def _decode(response: httpx.Response) -> Any:
    if response.status_code >= 400:
        raise error_from_http(response.status_code, response.content)
    try:
        return response.json()
    except ValueError:
        raise MalformedError("the server's response is not JSON") from None


class GlasskeyClient:
    """Synchronous verifying client.

    ``state``: path of the SQLite state file (default: in memory — fine for one-off checks,
    but rollback/fork detection across runs needs a file). ``max_age``: refuse checkpoints
    older than this many seconds (None: no staleness check).

    ``auditor_keys``: pinned Ed25519 keys (raw or hex) of the third-party auditor; every
    countersignature a response carries must then verify under one of them and cover the
    served epoch and root (else ``AuditorSignatureInvalid``). ``require_auditor``: also refuse
    responses whose epoch is not countersigned (``AuditorSignatureMissing``); the auditor signs
    shortly after each epoch, so expect brief refusals right after a publication.
    ``auditor_namespace``: also require the signature to be for this namespace.
    """

    def __init__(
        self,
        server: str,
        *,
        state: str | Path | ClientState = ":memory:",
        trust: Trust | None = None,
        max_age: float | None = 3600.0,
        timeout: float = DEFAULT_TIMEOUT,
        transport: httpx.BaseTransport | None = None,
        auditor_keys: Iterable[bytes | str] = (),
        require_auditor: bool = False,
        auditor_namespace: str | None = None,
    ) -> None:
        self.state = state if isinstance(state, ClientState) else ClientState(state)
        self._core = _Core(
            server, self.state, trust, max_age, auditor_keys, require_auditor, auditor_namespace
        )
        self._http = httpx.Client(base_url=self._core.server, timeout=timeout, transport=transport)

    def close(self) -> None:
        self._http.close()

    def __enter__(self) -> GlasskeyClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _drive(self, gen: Generator[_Request, Any, Any]) -> Any:
        try:
            request = next(gen)
            while True:
                method, path, params, body, token = request
                headers = {"Authorization": f"Bearer {token}"} if token else {}
                try:
                    response = self._http.request(
                        method, path, params=params, json=body, headers=headers
                    )
                except httpx.HTTPError as exc:
                    raise NetworkError(f"cannot reach {self._core.server}: {exc}") from None
                request = gen.send(_decode(response))
        except StopIteration as done:
            return done.value

    def trust(self) -> Trust:
        return self._drive(self._core.trust())  # type: ignore[no-any-return]

    def lookup(self, user_id: str) -> VerifiedKey:
        """The current key of ``user_id``, verified (raises a ``VerificationError`` if not)."""
        return self._drive(self._core.lookup(user_id))  # type: ignore[no-any-return]

    def history(self, user_id: str, most_recent: int | None = None) -> VerifiedHistory:
        return self._drive(  # type: ignore[no-any-return]
            self._core.history(user_id, HistoryParams(most_recent))
        )

    def monitor(self, user_id: str, *, own: bool = False) -> MonitorReport:
        return self._drive(self._core.monitor(user_id, own))  # type: ignore[no-any-return]

    def upload(self, user_id: str, key: bytes, token: str, *, wait: float = 0) -> UploadReceipt:
        return self._drive(self._core.upload(user_id, key, token, wait))  # type: ignore[no-any-return]

    def register(self, user_id: str, admin_token: str | None = None) -> str:
        """Register ``user_id`` (open registration or admin token); returns its bearer token."""
        return self._drive(self._core.register(user_id, admin_token))  # type: ignore[no-any-return]


class AsyncGlasskeyClient:
    """Asynchronous verifying client (same behaviour as ``GlasskeyClient``)."""

    def __init__(
        self,
        server: str,
        *,
        state: str | Path | ClientState = ":memory:",
        trust: Trust | None = None,
        max_age: float | None = 3600.0,
        timeout: float = DEFAULT_TIMEOUT,
        transport: httpx.AsyncBaseTransport | None = None,
        auditor_keys: Iterable[bytes | str] = (),
        require_auditor: bool = False,
        auditor_namespace: str | None = None,
    ) -> None:
        self.state = state if isinstance(state, ClientState) else ClientState(state)
        self._core = _Core(
            server, self.state, trust, max_age, auditor_keys, require_auditor, auditor_namespace
        )
        self._http = httpx.AsyncClient(
            base_url=self._core.server, timeout=timeout, transport=transport
        )

    async def aclose(self) -> None:
        await self._http.aclose()

    async def __aenter__(self) -> AsyncGlasskeyClient:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()

    async def _drive(self, gen: Generator[_Request, Any, Any]) -> Any:
        try:
            request = next(gen)
            while True:
                method, path, params, body, token = request
                headers = {"Authorization": f"Bearer {token}"} if token else {}
                try:
                    response = await self._http.request(
                        method, path, params=params, json=body, headers=headers
                    )
                except httpx.HTTPError as exc:
                    raise NetworkError(f"cannot reach {self._core.server}: {exc}") from None
                request = gen.send(_decode(response))
        except StopIteration as done:
            return done.value

    async def trust(self) -> Trust:
        return await self._drive(self._core.trust())  # type: ignore[no-any-return]

    async def lookup(self, user_id: str) -> VerifiedKey:
        return await self._drive(self._core.lookup(user_id))  # type: ignore[no-any-return]

    async def history(self, user_id: str, most_recent: int | None = None) -> VerifiedHistory:
        return await self._drive(  # type: ignore[no-any-return]
            self._core.history(user_id, HistoryParams(most_recent))
        )

    async def monitor(self, user_id: str, *, own: bool = False) -> MonitorReport:
        return await self._drive(self._core.monitor(user_id, own))  # type: ignore[no-any-return]

    async def upload(
        self, user_id: str, key: bytes, token: str, *, wait: float = 0
    ) -> UploadReceipt:
        return await self._drive(  # type: ignore[no-any-return]
            self._core.upload(user_id, key, token, wait)
        )

    async def register(self, user_id: str, admin_token: str | None = None) -> str:
        """Register ``user_id`` (open registration or admin token); returns its bearer token."""
        return await self._drive(self._core.register(user_id, admin_token))  # type: ignore[no-any-return]


__all__ = [
    "AsyncGlasskeyClient",
    "GlasskeyClient",
    "MonitorReport",
    "NetworkError",
    "NotFound",
    "ServerError",
    "UploadReceipt",
    "VerificationError",
]
