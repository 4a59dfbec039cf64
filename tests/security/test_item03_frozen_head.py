"""Item 3: a server that stops publishing but keeps re-signing its old head is caught.

The lying server is a real ``glasskey serve`` process whose publisher never drains the queue
again (``glasskey.server._malicious.freeze_publishing``) while it re-signs the head at every
tick: every lookup verifies, even with a five-second ``max_age``. Only the key owner can tell
that something is wrong — its own upload, acknowledged with a 202, never reaches the tree —
and it must say so once the log's declared maximum publication delay has passed.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path

import httpx
import pytest

from glasskey.server._malicious import FROZEN_SERVE_MAIN
from tests.security.procs import (
    DEFAULT_PUBLICATION_DELAY,
    Process,
    cli,
    register_user,
    upload_key,
)


@pytest.mark.slow  # two servers and the declared delay: about 20 s on a busy machine
def test_owner_monitoring_catches_a_frozen_head(
    log_server: Callable[..., Process], tmp_path: Path
) -> None:
    honest = log_server()
    state = str(tmp_path / "alice-phone.db")
    token = register_user(honest.url, "alice", tmp_path)
    first = upload_key(honest.url, "alice", b"alice-key-1", token, state, tmp_path, wait=10)
    assert "published" in first.stdout, first.stdout + first.stderr
    ok = cli("monitor", "alice", "--server", honest.url, "--own", "--state", state, cwd=tmp_path)
    assert ok.returncode == 0, ok.stdout + ok.stderr

    # The operator restarts the same log (same database, keys and address), frozen.
    port = int(honest.url.rsplit(":", 1)[1])
    honest.stop()
    frozen = log_server(db=str(honest.folder / "glasskey.db"), port=port,
                        program=FROZEN_SERVE_MAIN)  # fmt: skip
    sent = time.monotonic()
    second = upload_key(frozen.url, "alice", b"alice-key-2", token, state, tmp_path)
    assert second.returncode == 0 and "pending" in second.stdout, second.stdout + second.stderr

    # The frozen head looks fresh to everyone: lookups verify with a 5 s maximum age.
    time.sleep(max(0.0, DEFAULT_PUBLICATION_DELAY + 0.5 - (time.monotonic() - sent)))
    for _ in range(3):
        looked = cli("lookup", "alice", "--server", frozen.url, "--max-age", "5",
                     "--state", str(tmp_path / "bob-phone.db"), cwd=tmp_path)  # fmt: skip
        assert looked.returncode == 0 and "version 1" in looked.stdout, looked.stderr

    # ... but not to the owner: its acknowledged upload is overdue.
    caught = cli("monitor", "alice", "--server", frozen.url, "--own", "--max-age", "5",
                 "--state", state, cwd=tmp_path)  # fmt: skip
    assert caught.returncode == 1, caught.stdout + caught.stderr
    assert "ALERT update_not_published" in caught.stdout, caught.stdout
    keys = httpx.get(f"{frozen.url}/api/transparency/keys").json()
    assert keys["max_publication_delay"] == DEFAULT_PUBLICATION_DELAY


def test_serve_refuses_a_publication_delay_it_could_not_meet(tmp_path: Path) -> None:
    """Below two epoch intervals an honest publisher would miss its own deadline."""
    refused = cli("serve", "--db", str(tmp_path / "kt.db"), "--epoch-interval", "5",
                  "--max-publication-delay", "6", cwd=tmp_path, timeout=30)  # fmt: skip
    assert refused.returncode == 2, refused.stdout + refused.stderr
    assert "--max-publication-delay must be at least two epoch intervals" in refused.stderr
