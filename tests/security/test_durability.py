"""Durability: kill -9 a real ``glasskey serve`` again and again under continuous uploads.

The promise: an update whose client got a 2xx receipt is never lost — it is published after
the crashes like any other — and every epoch's audit proof still verifies. A client thread
per user uploads over HTTP without pause while the server is SIGKILLed at random moments and
restarted on the same database; every 2xx receipt is recorded. After the last restart the
test waits for the queue to drain and checks each receipt through the status URL, each
user's lookup, that no published update lacks its receipt, and the audit blob of every
epoch (``verify_audit_blob``).

The full figure is 100 kills; ``GLASSKEY_KILL_CYCLES`` sets the number (default 20, which
runs in well under a minute on two cores). The full run:
``GLASSKEY_KILL_CYCLES=100 pytest tests/security/test_durability.py -n 0``.
"""

from __future__ import annotations

import base64
import os
import random
import sqlite3
import threading
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import pytest

from glasskey.core.akd.audit import parse_audit_blob_name, verify_audit_blob
from glasskey.core.akd.configuration import get_configuration
from glasskey.directory import FolderBlobStore
from tests.security.procs import ADMIN_TOKEN, Process, start_log_server, wait_for

KILL_CYCLES = int(os.environ.get("GLASSKEY_KILL_CYCLES", "20"))
USERS = 4
#: No write limits: the clients upload as fast as the server answers.
SERVE_ARGS = ("--user-write-limit", "0", "--write-rate-limit", "0", "--rate-limit", "0")


@dataclass
class Uploader:
    """One user's client: uploads fresh keys until stopped, keeping every 2xx receipt."""

    url: str
    user: str
    token: str
    sent: set[bytes] = field(default_factory=set)
    acked: dict[int, bytes] = field(default_factory=dict)

    def run(self, stop: threading.Event) -> None:
        headers = {"Authorization": f"Bearer {self.token}"}
        with httpx.Client(base_url=self.url, timeout=5) as http:
            while not stop.is_set():
                key = f"{self.user}-{uuid.uuid4().hex}".encode()
                self.sent.add(key)
                body = {"key": base64.b64encode(key).decode(), "upload_id": uuid.uuid4().hex}
                try:
                    reply = http.post("/api/crypto/keys/identity", json=body, headers=headers)
                except httpx.HTTPError:  # the server is down: a client keeps trying
                    time.sleep(0.02)
                    continue
                if reply.is_success:
                    self.acked[int(reply.json()["update_id"])] = key


def _start(folder: Path, port: int | None = None) -> Process:
    return start_log_server(folder, *SERVE_ARGS, epoch_interval=0.2, port=port)


def _register(url: str, user: str) -> str:
    reply = httpx.post(f"{url}/api/auth/register", json={"user_id": user},
                       headers={"Authorization": f"Bearer {ADMIN_TOKEN}"}, timeout=10)  # fmt: skip
    assert reply.status_code == 201, reply.text
    return str(reply.json()["token"])


def _queue_depth(http: httpx.Client) -> int:
    return int(http.get("/readyz").json()["queue_depth"])


def _check_audit_blobs(db: Path, blob_dir: Path) -> int:
    """Every epoch has an audit blob, they chain, and each verifies; the number of epochs."""
    with sqlite3.connect(db) as conn:
        roots = dict(conn.execute("SELECT epoch, root_hash FROM akd_epochs"))
    # The store's own listing: a kill mid-write leaves a ``.tmp-`` file, which it skips.
    store = FolderBlobStore(blob_dir)
    by_epoch = {}
    for name in store.list():
        blob = parse_audit_blob_name(name)
        by_epoch[blob.epoch] = (blob, name)
    config = get_configuration("whatsapp_v1")
    for epoch in sorted(roots):
        if epoch == 1 and epoch not in by_epoch:
            continue  # the first epoch may have no predecessor to prove against
        assert epoch in by_epoch, f"epoch {epoch} has no audit blob"
        blob, name = by_epoch[epoch]
        assert blob.current_hash == bytes(roots[epoch]), f"epoch {epoch}: blob for another root"
        if epoch - 1 in roots:
            assert blob.previous_hash == bytes(roots[epoch - 1]), f"epoch {epoch}: broken chain"
        verify_audit_blob(config, blob, store.get(name))
    return len(roots)


@pytest.mark.slow
@pytest.mark.durability
def test_kill_9_under_uploads_loses_no_acknowledged_update(tmp_path: Path) -> None:
    folder = tmp_path / "server"
    server = _start(folder)
    port = int(server.url.rsplit(":", 1)[1])
    uploaders = [Uploader(server.url, f"user{i}", _register(server.url, f"user{i}"))
                 for i in range(USERS)]  # fmt: skip
    stop = threading.Event()
    threads = [threading.Thread(target=u.run, args=(stop,), daemon=True) for u in uploaders]
    for thread in threads:
        thread.start()
    rng = random.Random(2026)
    try:
        for _ in range(KILL_CYCLES):
            time.sleep(rng.uniform(0.1, 0.8))
            server.kill()
            server = _start(folder, port)
        time.sleep(0.5)
        stop.set()
        for thread in threads:
            thread.join(10)

        with httpx.Client(base_url=server.url, timeout=30) as http:
            wait_for("the queue to drain", lambda: _queue_depth(http) == 0, timeout=120)
            acked = 0
            for uploader in uploaders:
                headers = {"Authorization": f"Bearer {uploader.token}"}
                for update_id in uploader.acked:
                    status = http.get(f"/api/crypto/keys/identity/updates/{update_id}",
                                      headers=headers).json()  # fmt: skip
                    assert status["status"] == "published", (uploader.user, update_id, status)
                    acked += 1
                bundle = http.get(f"/api/crypto/bundles/{uploader.user}")
                assert bundle.status_code == 200, bundle.text
                assert base64.b64decode(bundle.json()["key"]) in uploader.sent
        assert acked > KILL_CYCLES, f"only {acked} uploads were acknowledged"
    finally:
        stop.set()
        server.stop()
    db = folder / "glasskey.db"
    with sqlite3.connect(db) as conn:
        orphans = conn.execute(
            "SELECT id FROM published_updates EXCEPT SELECT update_id FROM glasskey_updates"
        ).fetchall()
    assert orphans == [], f"{len(orphans)} published updates have no receipt (item 11)"
    assert _check_audit_blobs(db, folder / "glasskey.audit") > 1
