"""``glasskey serve --read-only`` on a real PostgreSQL hot standby (streaming replication).

Real processes only: a primary and a standby started here with initdb/pg_basebackup/pg_ctl,
a writer on the primary and a read replica on the standby. What is checked: the replica
serves lookups that the verifying client accepts, refuses writes naming the writer, reports
its lag in ``/readyz`` and ``/metrics``, and when replay stalls it keeps serving an older
epoch that still verifies, then turns unready past ``--max-replica-lag``.
"""

from __future__ import annotations

import base64
import time
import uuid
from collections.abc import Callable
from pathlib import Path

import httpx
import pytest

from glasskey.client import GlasskeyClient, ServerError
from glasskey.core.errors import VerificationError
from tests.replication.pgcluster import Cluster
from tests.replication.topology import (
    epoch_of,
    metric,
    readyz,
    start_replica,
    start_writer,
    wait_caught_up,
)
from tests.security.procs import ADMIN_TOKEN, Process, wait_for

pytestmark = pytest.mark.replication


def _register(url: str, user: str) -> str:
    answer = httpx.post(
        f"{url}/api/auth/register",
        json={"user_id": user},
        headers={"Authorization": f"Bearer {ADMIN_TOKEN}"},
        timeout=10,
    )
    assert answer.status_code == 201, answer.text
    token = answer.json()["token"]
    assert isinstance(token, str)
    return token


def _upload(url: str, user: str, token: str, key: bytes) -> int:
    answer = httpx.post(
        f"{url}/api/crypto/keys/identity",
        json={"key": base64.b64encode(key).decode(), "upload_id": uuid.uuid4().hex},
        headers={"Authorization": f"Bearer {token}"},
        timeout=10,
    )
    assert answer.status_code == 202, answer.text
    update_id = answer.json()["update_id"]
    assert isinstance(update_id, int)
    return update_id


def test_replica_serves_verified_lookups_and_refuses_writes(
    tmp_path: Path,
    primary: Cluster,
    standby: Cluster,
    keys: dict[str, str],
    track: Callable[[Process], Process],
) -> None:
    writer = track(start_writer(tmp_path / "writer", primary.url(), keys))
    replica = track(
        start_replica(
            tmp_path / "replica", standby.url(), keys, writer.url, "--max-replica-lag", "3"
        )
    )
    token = _register(writer.url, "alice")
    _upload(writer.url, "alice", token, b"alice-key-1")
    wait_for("alice published", lambda: epoch_of(writer.url) >= 1)
    wait_caught_up(replica, writer)

    with GlasskeyClient(replica.url) as client:
        key = wait_for("alice on the replica", lambda: client.lookup("alice"))
        assert key.key == b"alice-key-1"

    # Writes are refused before anything else, naming the writer.
    for path, body in (
        ("/api/auth/register", {"user_id": "mallory"}),
        ("/api/crypto/keys/identity", {"key": "a2V5", "upload_id": uuid.uuid4().hex}),
    ):
        answer = httpx.post(f"{replica.url}{path}", json=body, timeout=10,
                            headers={"Authorization": f"Bearer {token}"})  # fmt: skip
        assert answer.status_code == 503
        assert answer.json()["error"]["code"] == "read_only"
        assert writer.url in answer.json()["error"]["message"]
        assert answer.headers["X-Glasskey-Writer"] == writer.url

    status, ready = readyz(replica.url)
    assert status == 200
    assert ready["publisher"] is False
    lag = ready["replica"]
    assert isinstance(lag, dict)
    assert lag["in_recovery"] is True
    assert lag["lag_epochs"] == 0
    # The replica asks the writer at most once a second, so the writer may have published
    # again since: the replica's view equals its own epoch, and the writer is not behind it.
    assert lag["writer_epoch"] == lag["epoch"] <= epoch_of(writer.url)
    assert 0 <= lag["lag_seconds"] < 3
    assert readyz(writer.url)[1]["replica"] is None
    assert metric(replica.url, "glasskey_read_only") == 1.0
    assert metric(replica.url, "glasskey_is_publisher") == 0.0
    assert metric(replica.url, "glasskey_replica_lag_epochs") == 0.0
    assert 0 <= metric(replica.url, "glasskey_replica_lag_seconds") < 3

    # Stall replay: the writer moves on, the replica keeps serving the epoch it has — an
    # older epoch, still verifiable — and reports the lag, then turns unready.
    served = epoch_of(replica.url)
    standby.sql("SELECT pg_wal_replay_pause()")
    _upload(writer.url, "alice", token, b"alice-key-2")
    wait_for("the writer's next epoch", lambda: epoch_of(writer.url) > served)
    with GlasskeyClient(replica.url) as fresh:
        old = fresh.lookup("alice")
        assert old.key == b"alice-key-1"
        assert old.head.size == served
    # A device that verified the writer's newer head is told to retry, not served a head
    # it would have to report as a rollback.
    device = tmp_path / "device.db"
    with GlasskeyClient(writer.url, state=device) as client:
        assert client.lookup("alice").key == b"alice-key-2"
    with GlasskeyClient(replica.url, state=device) as client, pytest.raises(ServerError) as behind:
        client.lookup("alice")
    assert behind.value.status == 503 and not isinstance(behind.value, VerificationError)
    assert f"this read replica is at log size {served}, behind the size" in str(behind.value)
    writer_epoch = epoch_of(writer.url)
    wait_for(
        "the lag in epochs",
        lambda: metric(replica.url, "glasskey_replica_lag_epochs") >= writer_epoch - served,
    )
    time.sleep(1.0)  # the replay timestamp ages while replay is paused
    status, body = wait_for("unready past --max-replica-lag",
                            lambda: (r := readyz(replica.url))[0] == 503 and r)  # fmt: skip
    message = body["error"]["message"]
    assert "lags" in message and "--max-replica-lag 3" in message
    assert f"serving epoch {served}, writer at " in message
    assert metric(replica.url, "glasskey_replica_lag_seconds") > 3

    standby.sql("SELECT pg_wal_replay_resume()")
    wait_for("ready again", lambda: readyz(replica.url)[0] == 200)
    wait_caught_up(replica, writer)
    with GlasskeyClient(replica.url) as client:
        assert wait_for(
            "the new key on the replica",
            lambda: (k := client.lookup("alice")).key == b"alice-key-2" and k,
        )


def test_replica_refuses_a_database_without_the_schema(
    tmp_path: Path, primary: Cluster, standby: Cluster, keys: dict[str, str]
) -> None:
    """No writer ever ran: the replica does not create tables (it cannot), it says why."""
    from tests.security.procs import cli

    done = cli(
        "serve", "--read-only", "--db", standby.url(), "--port", "9",
        cwd=tmp_path, env=keys, timeout=60,
    )  # fmt: skip
    assert done.returncode != 0
    assert "start the writer before read replicas" in done.stdout + done.stderr
