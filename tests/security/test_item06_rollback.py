"""Item 6: fresh clients accept rollbacks.

The attack: a client with new state accepted an old, genuinely signed and countersigned
bundle — replayed by a man in the middle, or served by a log restored from an old backup —
as long as its checkpoint was younger than the fixed one-hour ``max_age``, even with the
auditor required. Now a client pinning an auditor refuses an epoch older than the newest one
that auditor countersigned for the namespace (carried with each answer as ``auditor_latest``,
and asked of the auditor itself when the pin names its URL), and the default ``max_age``
follows the log's declared checkpoint re-signing interval.
"""

from __future__ import annotations

import base64
import copy
import time
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import pytest

from glasskey.api.headers import PROTOBUF, signed_state_from_headers
from glasskey.client import (
    AuditorPin,
    GlasskeyClient,
    RollbackDetected,
    StaleHead,
    VerificationPolicy,
)
from glasskey.client._verify import verify_bundle, verify_countersignature
from glasskey.demo import ReplayTransport, free_port
from glasskey.log.profile import open_checkpoint
from tests.security.procs import ADMIN_TOKEN, Process, wait_for
from tests.security.test_item01_auditor_fork import (
    HONEST,
    countersigned_bundle,
    create_namespace,
    owner_token,
)

BUNDLES = ReplayTransport.BUNDLES


def register(server: Process, user: str) -> str:
    r = httpx.post(f"{server.url}/api/auth/register", json={"user_id": user},
                   headers={"Authorization": f"Bearer {ADMIN_TOKEN}"})  # fmt: skip
    token: str = r.json()["token"]
    return token


def upload(server: Process, token: str, key: bytes) -> None:
    r = httpx.post(
        f"{server.url}/api/crypto/keys/identity",
        json={"key": base64.b64encode(key).decode(), "upload_id": uuid.uuid4().hex},
        headers={"Authorization": f"Bearer {token}"},
    )
    assert r.status_code == 202, r.text


def _signed_epoch(server: Process, user: str, above: int) -> dict[str, Any]:
    """A bundle of ``user`` whose epoch is countersigned and greater than ``above``."""

    def newer() -> dict[str, Any] | None:
        body = countersigned_bundle(server, user)
        return body if body["epoch"] > above else None

    found: dict[str, Any] = wait_for(f"a countersigned epoch after {above}", newer, 30)
    return found


@pytest.mark.slow
def test_a_fresh_client_refuses_a_head_older_than_the_auditor_signed(
    log_server: Callable[..., Process],
    auditor_server: Callable[..., tuple[Process, bytes]],
    tmp_path: Path,
) -> None:
    auditor, auditor_public = auditor_server()
    token, owner = owner_token(tmp_path)
    port = free_port()
    create_namespace(auditor, tmp_path, HONEST, owner, port)
    server = log_server(
        "--auditor-url", auditor.url, "--auditor-namespace", HONEST, "--auditor-retry-max", "1",
        port=port, env={"GLASSKEY_AUDITOR_TOKEN": token},
    )  # fmt: skip
    alice = register(server, "alice")
    upload(server, alice, b"alice-old-key")
    old = countersigned_bundle(server, "alice")  # genuine, countersigned, epoch N
    upload(server, alice, b"alice-new-key")
    new = _signed_epoch(server, "alice", old["epoch"])  # epoch N+k, countersigned too
    keys = (auditor_public,)

    # The protobuf form carries the same newest signature in a header: a client of the
    # protobuf API gets the same rollback evidence as one of the JSON API.
    proto = httpx.get(f"{server.url}{BUNDLES}alice", headers={"Accept": PROTOBUF})
    proto_state = signed_state_from_headers(proto.headers)
    assert proto_state.auditor_latest is not None
    latest = verify_countersignature(proto_state.auditor_latest, keys, HONEST, "header")
    assert latest.epoch >= new["epoch"]

    # The log's own answer carries the auditor's newest signature: an old head served with
    # it (a stale replica, a half-restored backup) is refused by a client with no state.
    stale = {**copy.deepcopy(old), "auditor_latest": new["auditor_latest"]}
    with GlasskeyClient(server.url) as probe:
        trust = probe.trust()
    policy = VerificationPolicy(trust=trust, auditor=AuditorPin(keys, HONEST, required=True))
    with pytest.raises(RollbackDetected) as refused:
        verify_bundle(policy, "alice", stale, None)
    assert refused.value.code == "rollback_detected"
    assert str(new["auditor_latest"]["epoch"]) in str(refused.value)

    # A man in the middle replays the old answer whole (its auditor_latest is as old as it
    # is): the client asks the auditor itself and refuses it.
    pin = AuditorPin(keys, HONEST, required=True, url=auditor.url)
    replay = ReplayTransport({"alice": old})
    with GlasskeyClient(server.url, policy=VerificationPolicy(auditor=pin),
                        transport=replay) as phone:  # fmt: skip
        with pytest.raises(RollbackDetected) as replayed:
            phone.lookup("alice")
        assert replayed.value.code == "rollback_detected"
        # What it learnt stays: the replay is refused again without asking the auditor.
        assert phone.state.auditor_epoch(HONEST)[0] >= new["epoch"]
    # The honest answer passes the same policy, and the old key is not what it returns.
    with GlasskeyClient(server.url, policy=VerificationPolicy(auditor=pin)) as honest:
        assert honest.lookup("alice").key == b"alice-new-key"
    # Without the auditor's URL and without the newest signature, nothing tells a fresh
    # client: this is what witness cosignatures (a separate issue) close.
    unpinned = {k: v for k, v in old.items() if k != "auditor_latest"}
    assert verify_bundle(policy, "alice", unpinned, None).key == b"alice-old-key"


@pytest.mark.slow
def test_the_default_max_age_follows_the_declared_resigning_interval(
    log_server: Callable[..., Process],
) -> None:
    server = log_server("--checkpoint-refresh", "1")
    declared = httpx.get(f"{server.url}/api/transparency/keys").json()
    assert declared["checkpoint_refresh"] == 1.0
    upload(server, register(server, "alice"), b"alice-key")

    def published() -> dict[str, Any] | None:
        r = httpx.get(f"{server.url}{BUNDLES}alice", timeout=5)
        return r.json() if r.status_code == 200 else None

    old: dict[str, Any] = wait_for("alice's bundle", published, 30)
    with GlasskeyClient(server.url) as probe:
        max_age = probe.policy.max_age_for(probe.trust())
    assert max_age is not None and max_age < 60  # three intervals and clock slack, not an hour
    signed_at = open_checkpoint(old["checkpoint"], declared["origin"], declared["log_public_key"])
    assert signed_at.timestamp is not None
    time.sleep(max(0.0, signed_at.timestamp + max_age + 1 - time.time()))

    with GlasskeyClient(server.url, transport=ReplayTransport({"alice": old})) as phone:
        with pytest.raises(StaleHead) as refused:
            phone.lookup("alice")
        assert refused.value.code == "stale_head"
    # The honest log re-signed its idle head all along: a fresh client accepts it.
    with GlasskeyClient(server.url) as honest:
        assert honest.lookup("alice").key == b"alice-key"
    # An explicit max_age in the policy still wins.
    relaxed = VerificationPolicy(max_age=3600)
    with GlasskeyClient(
        server.url, policy=relaxed, transport=ReplayTransport({"alice": old})
    ) as lax:
        assert lax.lookup("alice").key == b"alice-key"
