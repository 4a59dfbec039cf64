"""End to end: a real ``glasskey serve`` process on loopback, driven over HTTP by the client.

Runs on SQLite always and on PostgreSQL when ``GLASSKEY_TEST_POSTGRES_URL`` is set (each test
gets a fresh database). Also covers the CLI's exit-code contract and killing the server in
the middle of publishing: nothing accepted may be lost.
"""

from __future__ import annotations

import os
import re
import secrets
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from glasskey.client import GlasskeyClient
from glasskey.demo import free_port, start_server, stop_server

PG_URL = os.environ.get("GLASSKEY_TEST_POSTGRES_URL")
BACKENDS = [
    "sqlite",
    pytest.param(
        "postgres",
        marks=[
            pytest.mark.postgres,
            pytest.mark.skipif(
                not PG_URL, reason="set GLASSKEY_TEST_POSTGRES_URL to run against PostgreSQL"
            ),
        ],
    ),
]


def _fresh_pg_database() -> tuple[str, str]:
    import psycopg

    assert PG_URL
    name = f"gk_e2e_{uuid.uuid4().hex[:10]}"
    with psycopg.connect(PG_URL, autocommit=True) as conn:
        conn.execute(f"CREATE DATABASE {name}")
    base = PG_URL.rsplit("/", 1)[0]
    return f"{base}/{name}", name


def _drop_pg_database(name: str) -> None:
    import psycopg

    assert PG_URL
    with psycopg.connect(PG_URL, autocommit=True) as conn:
        conn.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")


@pytest.fixture(params=BACKENDS)
def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str | None]:
    if request.param == "sqlite":
        yield None  # start_server puts a SQLite file in the server folder
        return
    url, name = _fresh_pg_database()
    try:
        yield url
    finally:
        _drop_pg_database(name)


def _cli(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-c", "from glasskey.cli import main; main()", *args],
        capture_output=True, text=True, cwd=cwd, timeout=60,
    )  # fmt: skip


def test_serve_register_rotate_lookup(tmp_path: Path, db_url: str | None) -> None:
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    proc = start_server(tmp_path / "server", port, db=db_url, extra=["--log-level", "info"])
    try:
        with GlasskeyClient(url, state=tmp_path / "client.db") as client:
            tokens = {u: client.register(u) for u in ("alice", "bob")}
            r1 = client.upload("alice", b"alice-1", tokens["alice"], wait=15)
            assert r1.status == "published" and r1.key is not None and r1.key.key == b"alice-1"
            client.upload("bob", b"bob-1", tokens["bob"], wait=15)
            r2 = client.upload("alice", b"alice-2", tokens["alice"], wait=15)
            assert r2.status == "published"
            key = client.lookup("alice")
            assert (key.key, key.version) == (b"alice-2", 2)
            assert client.lookup("bob").key == b"bob-1"
            assert [v.value for v in client.history("alice").versions] == [b"alice-2", b"alice-1"]
            assert client.monitor("alice", own=True).ok
        # The CLI, with its exit-code contract, against the same server and state.
        state = str(tmp_path / "cli-client.db")
        ok = _cli("lookup", "--server", url, "--state", state, "--json", "alice", cwd=tmp_path)
        assert ok.returncode == 0, ok.stderr
        assert '"verified": true' in ok.stdout and '"version": 2' in ok.stdout
        missing = _cli("lookup", "--server", url, "--state", state, "carol", cwd=tmp_path)
        assert missing.returncode == 1, missing.stderr
        assert re.fullmatch(
            r"REFUSED: user_not_found \(proven\): carol has no published key \(proven absent in "
            r"epoch \d+\)\n",
            missing.stderr,
        ), missing.stderr
        hist = _cli("history", "--server", url, "--state", state, "alice", cwd=tmp_path)
        assert hist.returncode == 0 and "version 1" in hist.stdout
        mon = _cli("monitor", "--server", url, "--state", state, "bob", cwd=tmp_path)
        assert mon.returncode == 0, mon.stdout + mon.stderr
        # Owner monitoring from a device that never uploaded: every version is foreign.
        foreign = _cli("monitor", "--own", "--server", url, "--state", state, "bob", cwd=tmp_path)
        assert foreign.returncode == 1 and "unexpected_version" in foreign.stdout
        metrics = httpx.get(f"{url}/metrics").text
        assert "glasskey_epochs_published_total" in metrics
    finally:
        stop_server(proc)
    # Graceful shutdown on SIGTERM (uvicorn re-raises the signal after shutting down).
    assert proc.returncode in (0, -signal.SIGTERM)
    log = (tmp_path / "server" / "server.log").read_text()
    assert "glasskey stopped: publisher finished cleanly" in log


def test_cli_network_error_is_exit_2(tmp_path: Path) -> None:
    port = free_port()  # nothing listens there
    result = _cli(
        "lookup", "--server", f"http://127.0.0.1:{port}", "--state", str(tmp_path / "s.db"),
        "alice", cwd=tmp_path,
    )  # fmt: skip
    assert result.returncode == 2
    assert "cannot reach" in result.stderr
    assert "Traceback" not in result.stderr


def test_kill_during_publish_loses_no_accepted_update(tmp_path: Path, db_url: str | None) -> None:
    """SIGKILL while an epoch of many updates is being published; restart; all are there."""
    folder = tmp_path / "server"
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    proc = start_server(folder, port, epoch_interval=3600, db=db_url)
    accepted: dict[str, int] = {}
    n = 600
    try:
        with httpx.Client(base_url=url, timeout=30) as http:
            for i in range(n):
                user = f"user{i}"
                token = http.post("/api/auth/register", json={"user_id": user}).json()["token"]
                r = http.post(
                    "/api/crypto/keys/identity",
                    json={"key": "a2V5", "upload_id": secrets.token_hex(16)},  # "key"
                    headers={"Authorization": f"Bearer {token}"},
                )
                assert r.status_code == 202
                accepted[user] = r.json()["update_id"]
            # Nothing published yet (hour-long cadence); wake the publisher and kill it mid-way.
            assert http.get("/readyz").json()["queue_depth"] == n
            token = http.post("/api/auth/register", json={"user_id": "trigger"}).json()["token"]
            http.post(
                "/api/crypto/keys/identity",
                params={"wait": 0.05},
                json={"key": "a2V5", "upload_id": secrets.token_hex(16)},
                headers={"Authorization": f"Bearer {token}"},
            )
        time.sleep(0.05)
    finally:
        proc.send_signal(signal.SIGKILL)
        proc.wait()
    proc = start_server(folder, port, epoch_interval=0.2, db=db_url)
    try:
        deadline = time.monotonic() + 60
        with httpx.Client(base_url=url, timeout=30) as http:
            while http.get("/readyz").json()["queue_depth"] and time.monotonic() < deadline:
                time.sleep(0.2)
        with GlasskeyClient(url, state=tmp_path / "c.db") as client:
            for user in ("user0", f"user{n // 2}", f"user{n - 1}", "trigger"):
                key = client.lookup(user)
                assert (key.key, key.version) == (b"key", 1)
        # Every accepted update is published exactly once (ids map to a real epoch).
        root = httpx.get(f"{url}/api/transparency/root").json()
        assert 1 <= root["epoch"] <= 2
    finally:
        stop_server(proc)
