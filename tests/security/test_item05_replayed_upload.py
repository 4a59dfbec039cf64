"""Item 5: a replayed upload must neither revert a key nor go unnoticed.

Server side: an authenticated upload request captured on the wire and sent again later is
refused (409 ``replayed_upload``), while re-sending the newest one (a client retrying after a
lost answer) gets the same receipt back and makes no second version.

Owner side: a server that accepts the replay anyway (here the operator queues the old key
again straight into its database) publishes an old key of the owner as a new version; owner
monitoring must call that ``unexpected_version`` although the owner once uploaded that key.
"""

from __future__ import annotations

import base64
import time
from collections.abc import Callable
from pathlib import Path

import httpx

from glasskey.client import GlasskeyClient
from tests.security.procs import (
    ADMIN_TOKEN,
    Process,
    cli,
    register_user,
    replay_upload,
    upload_key,
)


class _Recorder(httpx.HTTPTransport):
    """An eavesdropper on the client's connection: keeps every upload request it carries."""

    def __init__(self) -> None:
        super().__init__()
        self.uploads: list[httpx.Request] = []

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        if request.method == "POST" and request.url.path == "/api/crypto/keys/identity":
            self.uploads.append(request)
        return super().handle_request(request)


def _resend(url: str, captured: httpx.Request) -> httpx.Response:
    """The captured request again, byte for byte (its bearer token included)."""
    headers = {k: v for k, v in captured.headers.items() if k.lower() in
               ("authorization", "content-type")}  # fmt: skip
    return httpx.post(f"{url}/api/crypto/keys/identity", content=captured.read(),
                      headers=headers, timeout=10)  # fmt: skip


def _version(url: str, user: str) -> int:
    return int(httpx.get(f"{url}/api/crypto/bundles/{user}", timeout=5).json()["version"])


def test_a_captured_upload_cannot_be_replayed(
    log_server: Callable[..., Process], tmp_path: Path
) -> None:
    server = log_server()
    wire = _Recorder()
    with GlasskeyClient(server.url, state=tmp_path / "alice.db", transport=wire) as alice:
        token = alice.register("alice", ADMIN_TOKEN)
        alice.upload("alice", b"alice-key-1", token, wait=10)
        newest = alice.upload("alice", b"alice-key-2", token, wait=10)
    old_request, new_request = wire.uploads
    assert _version(server.url, "alice") == 2

    replayed = _resend(server.url, old_request)
    assert replayed.status_code == 409, replayed.text
    assert replayed.json()["error"]["code"] == "replayed_upload"

    retried = _resend(server.url, new_request)  # a retry after a lost answer
    assert retried.status_code == 202, retried.text
    assert retried.json()["update_id"] == newest.update_id
    time.sleep(1.0)  # a few epoch intervals: nothing new may be published
    bundle = httpx.get(f"{server.url}/api/crypto/bundles/alice", timeout=5).json()
    assert bundle["version"] == 2
    assert base64.b64decode(bundle["key"]) == b"alice-key-2"


def test_owner_monitoring_flags_an_old_own_key_published_again(
    log_server: Callable[..., Process], tmp_path: Path
) -> None:
    server = log_server()
    state = str(tmp_path / "alice-phone.db")
    token = register_user(server.url, "alice", tmp_path)
    for key in (b"alice-key-1", b"alice-key-2"):
        sent = upload_key(server.url, "alice", key, token, state, tmp_path, wait=10)
        assert "published" in sent.stdout, sent.stdout + sent.stderr
    ok = cli("monitor", "alice", "--server", server.url, "--own", "--state", state, cwd=tmp_path)
    assert ok.returncode == 0, ok.stdout + ok.stderr

    # A server that accepts the replay: the old key goes back into the queue as is.
    replay_upload(server, "alice", b"alice-key-1")
    assert _version(server.url, "alice") == 3

    caught = cli("monitor", "alice", "--server", server.url, "--own", "--state", state,
                 cwd=tmp_path)  # fmt: skip
    assert caught.returncode == 1, caught.stdout + caught.stderr
    assert "ALERT unexpected_version" in caught.stdout, caught.stdout
    assert "version 3" in caught.stdout, caught.stdout
