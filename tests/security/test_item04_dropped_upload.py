"""Item 4: an acknowledged upload that the operator deleted from the queue is caught.

A lying operator with access to the server's SQLite database deletes queued updates as they
arrive (a trigger on the queue table: it never races the publisher). The upload got its 202
and receipt, the log keeps publishing and re-signing honestly otherwise, every lookup
verifies — and the owner's monitor must report the upload missing once the log's declared
maximum publication delay has passed.
"""

from __future__ import annotations

import sqlite3
import time
from collections.abc import Callable
from pathlib import Path

from tests.security.procs import (
    DEFAULT_PUBLICATION_DELAY,
    Process,
    cli,
    register_user,
    upload_key,
)


def test_owner_monitoring_catches_a_dropped_upload(
    log_server: Callable[..., Process], tmp_path: Path
) -> None:
    server = log_server()
    state = str(tmp_path / "alice-phone.db")
    token = register_user(server.url, "alice", tmp_path)
    first = upload_key(server.url, "alice", b"alice-key-1", token, state, tmp_path, wait=10)
    assert "published" in first.stdout, first.stdout + first.stderr

    db = sqlite3.connect(server.folder / "glasskey.db", timeout=30)
    db.execute(
        "CREATE TRIGGER drop_uploads AFTER INSERT ON pending_updates "
        "BEGIN DELETE FROM pending_updates WHERE id = NEW.id; END"
    )
    db.commit()
    sent = time.monotonic()
    second = upload_key(server.url, "alice", b"alice-key-2", token, state, tmp_path)
    assert second.returncode == 0 and "pending" in second.stdout, second.stdout + second.stderr
    assert db.execute("SELECT COUNT(*) FROM pending_updates").fetchone()[0] == 0
    db.close()

    time.sleep(max(0.0, DEFAULT_PUBLICATION_DELAY + 0.5 - (time.monotonic() - sent)))
    looked = cli("lookup", "alice", "--server", server.url, "--state",
                 str(tmp_path / "bob-phone.db"), cwd=tmp_path)  # fmt: skip
    assert looked.returncode == 0 and "version 1" in looked.stdout, looked.stderr
    caught = cli("monitor", "alice", "--server", server.url, "--own", "--state", state,
                 cwd=tmp_path)  # fmt: skip
    assert caught.returncode == 1, caught.stdout + caught.stderr
    assert "ALERT update_not_published" in caught.stdout, caught.stdout
    assert "alice-key-2" not in caught.stdout  # keys never printed, only their digests
