"""The verifying client against an honest in-process server and a malicious one.

Every attack must raise its typed alert, every time, and must not move the client's stored
head (a refused answer leaves no trace in what the client trusts).
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import time
from collections.abc import Iterator

import httpx
import pytest

from glasskey.client import (
    AsyncGlasskeyClient,
    ClientState,
    ForkDetected,
    GlasskeyClient,
    KeyChanged,
    NotFound,
    RollbackDetected,
    ServerError,
    StaleHead,
    TrustMismatch,
    VerificationPolicy,
    WrongLabel,
)
from glasskey.client._policy import DEFAULT_POLICY
from glasskey.core.errors import LookupProofError, SignatureError, VerificationError
from glasskey.server._malicious import Attack, MaliciousTransport
from tests.server.conftest import ADMIN, Harness, make_harness

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")


@pytest.fixture
def server() -> Iterator[Harness]:
    yield from make_harness()


def _client(
    h: Harness,
    transport: httpx.BaseTransport | None = None,
    *,
    policy: VerificationPolicy = DEFAULT_POLICY,
    state: ClientState | str = ":memory:",
) -> GlasskeyClient:
    return GlasskeyClient(
        "http://testserver",
        policy=policy,
        state=state,
        transport=transport or h.http._transport,
    )


def _log_id(state: ClientState) -> str:
    """The identity (origin and log key) of the log the test server's trust pins."""
    trust = state.trust("http://testserver")
    assert trust is not None
    return trust.log_id


def _seed(h: Harness, users: dict[str, list[bytes]]) -> dict[str, str]:
    tokens = {u: h.register(u) for u in users}
    for user, keys in users.items():
        for key in keys:
            h.upload(user, tokens[user], key)
            h.publish()
    return tokens


def test_lookup_history_and_head_storage(server: Harness) -> None:
    _seed(server, {"alice": [b"a1", b"a2"], "bob": [b"b1"]})
    state = ClientState()
    with _client(server, state=state) as client:
        key = client.lookup("alice")
        assert (key.key, key.version, key.published_epoch, key.epoch) == (b"a2", 2, 2, 3)
        assert state.head(_log_id(state)).size == 3  # type: ignore[union-attr]
        history = client.history("alice")
        assert [(v.version, v.value) for v in history.versions] == [(2, b"a2"), (1, b"a1")]
        assert [v.version for v in client.history("alice", most_recent=1).versions] == [2]
        with pytest.raises(NotFound):
            client.lookup("carol")


def test_consistency_is_checked_across_growth(server: Harness) -> None:
    tokens = _seed(server, {"alice": [b"a1"]})
    with _client(server) as client:
        client.lookup("alice")
        for i in range(5):
            server.upload("alice", tokens["alice"], b"a%d" % (i + 2))
            server.publish()
            assert client.lookup("alice").version == i + 2


def test_upload_and_owner_monitoring(server: Harness) -> None:
    token = server.register("alice")
    with _client(server) as client:
        receipt = client.upload("alice", b"mine-1", token)
        assert receipt.status == "pending" and receipt.key is None
        server.publish()
        assert client.monitor("alice", own=True).ok
        # Someone with alice's credentials (or the server) adds a key she did not make.
        server.upload("alice", token, b"not-mine")
        server.publish()
        report = client.monitor("alice", own=True)
        assert [(a.code, a.version) for a in report.alerts] == [("unexpected_version", 2)]


def test_forged_key_is_refused(server: Harness) -> None:
    _seed(server, {"alice": [b"a1"], "bob": [b"b1"]})
    mitm = MaliciousTransport(server.http._transport)  # type: ignore[arg-type]
    with _client(server, transport=mitm) as client:
        mitm.attack = Attack.FORGE_KEY
        with pytest.raises(LookupProofError):
            client.lookup("alice")
        assert client.state.logs() == []  # nothing was trusted


def test_key_field_swapped_without_proof_is_refused(server: Harness) -> None:
    _seed(server, {"alice": [b"a1"]})
    body = server.http.get("/api/crypto/bundles/alice").json()
    body["key"] = base64.b64encode(b"evil").decode()
    transport = httpx.MockTransport(
        lambda req: (
            httpx.Response(200, json=body)
            if req.url.path.startswith("/api/crypto/bundles/")
            else httpx.Response(200, json=server.http.get(req.url.path).json())
        )
    )
    with _client(server, transport=transport) as client, pytest.raises(LookupProofError):
        client.lookup("alice")


def test_wrong_label_is_refused(server: Harness) -> None:
    _seed(server, {"alice": [b"a1"], "bob": [b"b1"]})
    mitm = MaliciousTransport(server.http._transport)  # type: ignore[arg-type]
    mitm.attack, mitm.substitute = Attack.WRONG_LABEL, "bob"
    with _client(server, transport=mitm) as client, pytest.raises(WrongLabel):
        client.lookup("alice")


def test_bad_signature_is_refused(server: Harness) -> None:
    _seed(server, {"alice": [b"a1"]})
    mitm = MaliciousTransport(server.http._transport)  # type: ignore[arg-type]
    mitm.attack = Attack.BAD_SIGNATURE
    with _client(server, transport=mitm) as client, pytest.raises(SignatureError):
        client.lookup("alice")


def test_rollback_replayed_checkpoint_is_refused(server: Harness) -> None:
    tokens = _seed(server, {"alice": [b"a1"]})
    mitm = MaliciousTransport(server.http._transport)  # type: ignore[arg-type]
    with _client(server, transport=mitm) as client:
        client.lookup("alice")  # recorded: epoch 1
        server.upload("alice", tokens["alice"], b"a2")
        server.publish()
        assert client.lookup("alice").version == 2
        mitm.attack = Attack.ROLLBACK
        for _ in range(3):  # every time, not just once
            with pytest.raises(RollbackDetected):
                client.lookup("alice")
        assert client.state.head(_log_id(client.state)).size == 2  # type: ignore[union-attr]


def test_split_view_is_refused_at_same_and_larger_size() -> None:
    from glasskey.core.signing import Ed25519Signer

    signer = Ed25519Signer.generate()
    for honest in make_harness(signer=signer):
        for evil in make_harness(signer=signer):  # same log key, same VRF key
            _seed(honest, {"alice": [b"a1"]})
            evil_tokens = _seed(evil, {"alice": [b"evil-1"]})
            mitm = MaliciousTransport(
                honest.http._transport,  # type: ignore[arg-type]
                fork=evil.http._transport,  # type: ignore[arg-type]
            )
            with _client(honest, transport=mitm) as client:
                assert client.lookup("alice").key == b"a1"
                mitm.attack = Attack.SPLIT_VIEW
                with pytest.raises(ForkDetected):  # same size, other root
                    client.lookup("alice")
                evil.upload("alice", evil_tokens["alice"], b"evil-2")
                evil.publish()
                with pytest.raises(ForkDetected):  # larger, but does not extend ours
                    client.lookup("alice")


def test_stale_head_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    """Time is moved forward instead of slept through: a loaded machine cannot make the first
    lookup stale, nor the sleep too short (the wall-clock version was flaky)."""
    real_time = time.time
    skew = 0.0
    monkeypatch.setattr(time, "time", lambda: real_time() + skew)
    for h in make_harness(checkpoint_refresh=3600):
        _seed(h, {"alice": [b"a1"]})
        with _client(h, policy=VerificationPolicy(max_age=60.0)) as client:
            client.lookup("alice")
            skew = 61.0  # a minute without a fresh head
            with pytest.raises(StaleHead):
                client.lookup("alice")
            h.service.rootlog.sign_checkpoint()  # an honest log re-signs its head
            assert client.lookup("alice").key == b"a1"


def test_contact_key_changed_is_refused(server: Harness) -> None:
    """A (label, version) seen before must never come back with another value."""
    _seed(server, {"alice": [b"a1"]})
    state = ClientState()
    with _client(server, state=state) as client:
        client.lookup("alice")
    state.observe(_log_id(state), "alice", 1, 1, b"\x00" * 32)  # simulate old memory
    state._conn.execute("UPDATE observations SET value_sha256 = ?", (b"\x00" * 32,))
    with _client(server, state=state) as client, pytest.raises(KeyChanged):
        client.lookup("alice")


def test_pinned_keys_must_match(server: Harness) -> None:
    _seed(server, {"alice": [b"a1"]})
    state = ClientState()
    with _client(server, state=state) as client:
        trust = client.trust()
    from dataclasses import replace

    other = replace(trust, vrf_public_key=bytes(32))
    pinned_other = VerificationPolicy(trust=other)
    with (
        _client(server, state=state, policy=pinned_other) as client,
        pytest.raises(TrustMismatch),
    ):
        client.lookup("alice")
    # A fresh client pinned to a wrong VRF key refuses the proofs.
    with _client(server, policy=pinned_other) as client, pytest.raises(VerificationError):
        client.lookup("alice")


def test_async_client(server: Harness) -> None:
    _seed(server, {"alice": [b"a1", b"a2"]})

    async def handler_bridge(request: httpx.Request) -> httpx.Response:
        response = server.http.request(
            request.method, str(request.url), content=request.content, headers=request.headers
        )
        return httpx.Response(
            response.status_code, headers=response.headers, content=response.content
        )

    async def main() -> None:
        transport = httpx.MockTransport(handler_bridge)
        async with AsyncGlasskeyClient("http://testserver", transport=transport) as client:
            key = await client.lookup("alice")
            assert key.key == b"a2"
            history = await client.history("alice")
            assert len(history.versions) == 2
            assert (await client.monitor("alice")).ok
            assert (await client.trust()).origin == "glasskey.local/log"
            token = await client.register("dave", ADMIN)
            receipt = await client.upload("dave", b"d1", token)
            assert receipt.status == "pending"
            (mine,) = client.state.own_uploads((await client.trust()).log_id, "dave")
            assert (mine.value_sha256, mine.update_id) == (
                hashlib.sha256(b"d1").digest(),
                receipt.update_id,
            )
            with pytest.raises(ServerError) as refused:
                await client.register("dave", ADMIN)
            assert refused.value.status == 409

    asyncio.run(main())


def test_repeat_lookups_write_the_state_file_once(server: Harness, tmp_path: object) -> None:
    """Lookups within one epoch verify the same checkpoint and (for a known contact) the
    same observation: the state file is written once, not per lookup (each write is an
    fsync on a phone's flash), and what is stored is still the verified head."""
    _seed(server, {"alice": [b"a1"], "bob": [b"b1"]})
    state = ClientState(f"{tmp_path}/state.db")
    with _client(server, state=state) as client:
        client.lookup("alice")
        writes = state._conn.total_changes
        for _ in range(3):
            assert client.lookup("alice").key == b"a1"
        assert state._conn.total_changes == writes
        client.lookup("bob")  # a new contact: one observation row, same head
        assert state._conn.total_changes == writes + 1
        _seed(server, {"carol": [b"c1"]})
        client.lookup("bob")  # a new epoch: the head row and a checkpoints_seen row
        assert state._conn.total_changes == writes + 3
    assert state.head(_log_id(state)).size == 3  # type: ignore[union-attr]
    assert [v for v, _, _ in state.observations(_log_id(state), "bob")] == [1]
