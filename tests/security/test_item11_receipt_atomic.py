"""Item 11: an update is queued exactly when its receipt is stored — never one without the other.

The queue row (the directory's ``pending_updates``) and the receipt (the service's
``glasskey_updates`` and ``glasskey_upload_ids``) used to be two commits: a crash between
them left an update that gets published although its client saw no 2xx, and whose status URL
answers 404. Random SIGKILLs hit that window (the durability test kills at random); this test
hits it every time: the server process dies (``os._exit``, no clean-up, as SIGKILL) at the
moment it writes the receipt rows, whichever connection writes them.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable
from pathlib import Path

import httpx
import pytest

from tests.security.procs import ADMIN_TOKEN, Process, upload_body

#: ``glasskey serve`` that dies when it writes a receipt row: through the service's tables
#: (two transactions) or through the directory's write transaction (one).
CRASH_ON_RECEIPT_MAIN = """
import os
from glasskey.server._db import ServiceDB
from glasskey.storage import _sqlite

def crash_on_receipt(original):
    def executemany(self, sql, rows):
        if "INSERT INTO glasskey_updates" in sql:
            os._exit(137)
        return original(self, sql, rows)
    return executemany

for cls in (ServiceDB, _sqlite._SqliteTransaction):
    if hasattr(cls, "executemany"):
        cls.executemany = crash_on_receipt(cls.executemany)
from glasskey.cli import main; main()
"""


def _ids(db: Path, sql: str) -> set[int]:
    with sqlite3.connect(db) as conn:
        return {int(row[0]) for row in conn.execute(sql)}


def test_a_crash_while_writing_receipts_queues_nothing(
    log_server: Callable[..., Process], tmp_path: Path
) -> None:
    server = log_server(program=CRASH_ON_RECEIPT_MAIN)
    db = server.folder / "glasskey.db"
    admin = {"Authorization": f"Bearer {ADMIN_TOKEN}"}
    token = httpx.post(
        f"{server.url}/api/auth/register", json={"user_id": "alice"}, headers=admin, timeout=10
    ).json()["token"]
    with pytest.raises(httpx.HTTPError):  # the server dies before it answers
        httpx.post(
            f"{server.url}/api/crypto/keys/identity", json=upload_body(),
            headers={"Authorization": f"Bearer {token}"}, timeout=10,
        )  # fmt: skip
    server.proc.wait(10)

    queued = _ids(db, "SELECT id FROM pending_updates UNION SELECT id FROM published_updates")
    receipts = _ids(db, "SELECT update_id FROM glasskey_updates")
    assert queued == receipts == set(), (
        f"queued {sorted(queued)} with receipts {sorted(receipts)}: the client saw no 2xx, "
        "so nothing may be queued"
    )

    # After a restart the server accepts uploads again and answers their status.
    restarted = log_server(db=str(db))
    reply = httpx.post(
        f"{restarted.url}/api/crypto/keys/identity", json=upload_body(),
        headers={"Authorization": f"Bearer {token}"}, timeout=10,
    )  # fmt: skip
    assert reply.status_code == 202, reply.text
    update_id = reply.json()["update_id"]
    status = httpx.get(
        f"{restarted.url}/api/crypto/keys/identity/updates/{update_id}",
        headers={"Authorization": f"Bearer {token}"}, timeout=10,
    )  # fmt: skip
    assert status.status_code == 200, status.text
