"""Issue 14: key bundles with several devices, and each version's publication time.

Against a real ``glasskey serve``: a user publishes canonical key bundles as devices come and
go; the verifying client shows each device's history, with when each version was published;
opaque values keep working; no device name reaches the log.
"""

from __future__ import annotations

import base64
import json
import sqlite3
from collections.abc import Callable
from pathlib import Path

import httpx

from glasskey.api.keybundle import Device, KeyBundle, encode_key_bundle
from glasskey.client import GlasskeyClient, device_history, devices_of
from tests.security.procs import Process, cli, register_user, upload_key

PHONE = Device("p-7f3a", b"\x05" * 32, b"\x11" * 32, 1_700_000_000)
LAPTOP = Device("l-9c2e", b"\x06" * 32, b"\x22" * 32, 1_700_000_500)
NEW_PHONE_KEYS = Device("p-7f3a", b"\x05" * 32, b"\x33" * 32, 1_700_000_000)


def _upload(server: Process, user: str, value: bytes, token: str, tmp_path: Path) -> None:
    done = upload_key(server.url, user, value, token, str(tmp_path / f"{user}.db"), tmp_path,
                      wait=20)  # fmt: skip
    assert done.returncode == 0 and "published" in done.stdout, done.stdout + done.stderr


def test_device_history_with_publication_times(
    log_server: Callable[..., Process], tmp_path: Path
) -> None:
    server = log_server()
    token = register_user(server.url, "alice", tmp_path)
    versions = [
        KeyBundle((PHONE,)),  # v1: the phone
        KeyBundle((PHONE, LAPTOP)),  # v2: a laptop is added
        KeyBundle((NEW_PHONE_KEYS, LAPTOP)),  # v3: the phone rotates its signed prekey
        KeyBundle((LAPTOP,)),  # v4: the phone is removed
    ]
    for bundle in versions:
        _upload(server, "alice", encode_key_bundle(bundle), token, tmp_path)
    bob = register_user(server.url, "bob", tmp_path)
    _upload(server, "bob", b"an opaque key", bob, tmp_path)

    db = sqlite3.connect(server.folder / "glasskey.db")
    appended = dict(db.execute("SELECT epoch, appended_at FROM glasskey_root_log").fetchall())
    with GlasskeyClient(server.url) as client:
        key = client.lookup("alice")
        assert devices_of(key) == KeyBundle((LAPTOP,))
        assert key.published_at == appended[key.published_epoch]
        assert key.head.signed_at is not None and key.published_at <= key.head.signed_at + 1
        history = client.history("alice")
        changes = [(c.version, c.device_id, c.change) for c in device_history(history)]
        assert changes == [
            (1, "p-7f3a", "added"),
            (2, "l-9c2e", "added"),
            (3, "p-7f3a", "keys_changed"),
            (4, "p-7f3a", "removed"),
        ]
        by_version = {c.version: c.published_at for c in device_history(history)}
        for result in history.versions:
            assert history.published_at_of(result.version) == appended[result.epoch]
            assert by_version[result.version] == appended[result.epoch]
        opaque = client.lookup("bob")
        assert devices_of(opaque) is None and opaque.key == b"an opaque key"

    # The CLI shows the same device history.
    shown = cli("history", "alice", "--server", server.url, "--devices", "--json",
                "--state", str(tmp_path / "cli.db"), cwd=tmp_path)  # fmt: skip
    assert shown.returncode == 0, shown.stderr
    assert [(c["version"], c["device_id"], c["change"], c["published_at"] is not None)
            for c in json.loads(shown.stdout)["devices"]] == [
        (v, d, c, True) for v, d, c in changes
    ]  # fmt: skip

    # On the wire: every version and the bundle carry their publication time ...
    body = httpx.get(f"{server.url}/api/crypto/history/alice").json()
    assert [(v["version"], v["published_at"]) for v in body["versions"]] == [
        (v["version"], appended[v["epoch"]]) for v in body["versions"]
    ]
    assert len(body["versions"]) == 4
    bundle = httpx.get(f"{server.url}/api/crypto/bundles/alice").json()
    assert bundle["published_at"] == appended[bundle["published_epoch"]]
    # ... and a bundle carrying a device name never reaches the log: refused, 400.
    named = encode_key_bundle(KeyBundle((LAPTOP,))).replace(
        b'"id":"l-9c2e"', b'"id":"l-9c2e","name":"Alice\'s laptop"'
    )
    refused = httpx.post(
        f"{server.url}/api/crypto/keys/identity",
        json={"key": base64.b64encode(named).decode(), "upload_id": "n" * 20},
        headers={"Authorization": f"Bearer {token}"},
    )
    assert refused.status_code == 400
    assert refused.json()["error"]["message"].startswith(
        "the value starts like a key bundle but is not one: a key bundle device has exactly"
    )
    assert b"Alice's laptop" not in (server.folder / "glasskey.db").read_bytes()
