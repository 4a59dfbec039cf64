"""Owner monitoring of this device's uploads: published in order, within the log's promise.

In process (the attacks against real servers are in ``tests/security``): the matching of
versions to uploads, the publication deadline, its pinning, and old state files.
"""

from __future__ import annotations

import hashlib
import sqlite3
import time
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import pytest

from glasskey.client import (
    ClientState,
    GlasskeyClient,
    Trust,
    TrustMismatch,
    UpdateNotPublished,
    VerificationPolicy,
)
from tests.server.conftest import ADMIN, Harness, make_harness

ORIGIN = "glasskey.local/log"


@pytest.fixture
def server() -> Iterator[Harness]:
    yield from make_harness(epoch_interval=1.0, max_publication_delay=2.0)


def _client(
    h: Harness, state: ClientState, policy: VerificationPolicy | None = None
) -> GlasskeyClient:
    return GlasskeyClient(
        "http://testserver", state=state, policy=policy or VerificationPolicy(),
        transport=h.http._transport,
    )  # fmt: skip


def _published(client: GlasskeyClient, server: Harness, *keys: bytes) -> str:
    """Register alice, upload ``keys`` and publish them in one epoch; her token."""
    token = client.register("alice", ADMIN)
    for key in keys:
        client.upload("alice", key, token)
    server.publish()
    return token


def _age_uploads(state: ClientState, seconds: float) -> None:
    state._conn.execute("UPDATE own_uploads SET sent_at = sent_at - ?", (seconds,))


def test_the_key_document_declares_the_delay_and_first_contact_pins_it(server: Harness) -> None:
    assert server.http.get("/api/transparency/keys").json()["max_publication_delay"] == 2.0
    state = ClientState()
    with _client(server, state) as client:
        assert client.trust().max_publication_delay == 2.0
    assert state.trust("http://testserver").max_publication_delay == 2.0  # type: ignore[union-attr]


def test_a_pending_upload_is_fine_until_the_deadline(server: Harness) -> None:
    state = ClientState()
    with _client(server, state) as client:
        token = _published(client, server, b"k1")
        client.upload("alice", b"k2", token)  # queued, not published
        assert client.monitor("alice", own=True).ok
        _age_uploads(state, 3.0)
        (alert,) = client.monitor("alice", own=True).alerts
        assert alert.code == "update_not_published" and alert.version is None
        server.publish()
        assert client.monitor("alice", own=True).ok  # published late, but published


def test_uploads_superseded_within_one_epoch_are_not_missing(server: Harness) -> None:
    state = ClientState()
    with _client(server, state) as client:
        # The same key twice is two uploads; in one epoch only the last becomes a version.
        _published(client, server, b"k1", b"k2", b"k1")
        _age_uploads(state, 3.0)
        report = client.monitor("alice", own=True)
        assert report.ok and len(report.history.versions) == 1


def test_an_overdue_first_upload_is_raised_when_nothing_is_published(server: Harness) -> None:
    state = ClientState()
    with _client(server, state) as client:
        token = client.register("alice", ADMIN)
        client.upload("alice", b"k1", token)
        _age_uploads(state, 3.0)
        with pytest.raises(UpdateNotPublished):
            client.monitor("alice", own=True)


@pytest.mark.parametrize(
    ("field", "pinned_value", "words"),
    [
        ("max_publication_delay", 1.5, "maximum publication delay of 2.0s, not 1.5 as pinned"),
        # The re-signing interval sets the default max_age: a log that raised it would let an
        # old head be replayed for longer.
        ("checkpoint_refresh", 1.0, "checkpoint re-signing interval of"),
        # Another user id policy would make an id name another user's label.
        ("user_id_policy", "casefold", "user id policy 'exact', not 'casefold'"),
    ],
)
def test_a_changed_declaration_is_a_trust_mismatch(
    server: Harness, field: str, pinned_value: object, words: str
) -> None:
    state = ClientState()
    with _client(server, state) as client:
        _published(client, server, b"k1")
    pinned = state.trust("http://testserver")
    assert pinned is not None
    assert getattr(pinned, field) not in (None, pinned_value)
    state.pin("http://testserver", replace(pinned, **{field: pinned_value}))
    with _client(server, state) as client, pytest.raises(TrustMismatch, match=words) as caught:
        client.monitor("alice", own=True)
    assert caught.value.code == "trust_mismatch"


def test_a_configured_trust_takes_the_declared_delay_once(server: Harness) -> None:
    keys = server.http.get("/api/transparency/keys").json()
    trust = Trust(ORIGIN, keys["log_public_key"], bytes.fromhex(keys["vrf_public_key"]),
                  keys["configuration"])  # fmt: skip
    state = ClientState()
    with _client(server, state, VerificationPolicy(trust=trust)) as client:
        _published(client, server, b"k1")
        assert client.monitor("alice", own=True).ok
        assert client.trust().max_publication_delay == 2.0  # learnt, and pinned from now on
        client.lookup("alice")  # the configured trust still matches the pinned one


def test_a_retry_after_a_lost_answer_reuses_the_upload_id(server: Harness) -> None:
    state = ClientState()
    with _client(server, state) as client:
        token = client.register("alice", ADMIN)
        state.record_upload(
            client.trust().log_id,
            "alice",
            "lost-answer-upload-0001",
            hashlib.sha256(b"k1").digest(),
        )
        receipt = client.upload("alice", b"k1", token)
    (upload,) = state.own_uploads(state.trust("http://testserver").log_id, "alice")  # type: ignore[union-attr]
    assert (upload.upload_id, upload.update_id) == ("lost-answer-upload-0001", receipt.update_id)


def test_an_old_state_file_keeps_its_uploads(tmp_path: Path) -> None:
    path = tmp_path / "old.db"
    old = sqlite3.connect(path)
    old.execute("CREATE TABLE trust (server TEXT PRIMARY KEY, origin TEXT NOT NULL, "
                "log_public_key TEXT NOT NULL, vrf_public_key BLOB NOT NULL, "
                "configuration TEXT NOT NULL, domain_label BLOB)")  # fmt: skip
    old.execute("INSERT INTO trust VALUES ('http://s', 'o', 'o+1+k', x'00', 'whatsapp_v1', NULL)")
    old.execute("CREATE TABLE own_updates (origin TEXT NOT NULL, label TEXT NOT NULL, "
                "value_sha256 BLOB NOT NULL, update_id INTEGER, created_at REAL NOT NULL, "
                "PRIMARY KEY (origin, label, value_sha256))")  # fmt: skip
    now = time.time()
    old.executemany("INSERT INTO own_updates VALUES ('o', 'alice', ?, ?, ?)",
                    [(b"\x02" * 32, 7, now), (b"\x01" * 32, 3, now - 10)])  # fmt: skip
    old.commit()
    old.close()
    state = ClientState(path)
    # Keyed by origin once, now by the log identity of the only key pinned for that origin.
    log_id = state.trust("http://s").log_id  # type: ignore[union-attr]
    assert log_id == "o\no+1+k"
    assert [(u.value_sha256[0], u.update_id) for u in state.own_uploads(log_id, "alice")] == [
        (1, 3),
        (2, 7),
    ]
    assert state.trust("http://s").max_publication_delay is None  # type: ignore[union-attr]
