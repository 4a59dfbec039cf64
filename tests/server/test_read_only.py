"""Read-only mode in process (SQLite; the PostgreSQL hot standby is tests/replication/):
writes refused naming the writer, no writes to the database, lag arithmetic, settings."""

from __future__ import annotations

import hashlib
from pathlib import Path

import httpx
import pytest

from glasskey.core.errors import ConfigurationError
from glasskey.core.signing import Ed25519Signer
from glasskey.server._replica import ReplicaMonitor, lag_seconds
from glasskey.server._settings import ServerSettings
from tests.server.conftest import make_harness


def _digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def test_read_only_server_refuses_writes_and_writes_nothing(tmp_path: Path) -> None:
    db = tmp_path / "kt.db"
    signer = Ed25519Signer.generate()
    url = f"sqlite:///{db}"
    for writer in make_harness(signer, db_url=url, blob_dir=str(tmp_path / "blobs")):
        token = writer.register("alice")
        writer.upload("alice", token, b"alice-1")
        writer.publish()
    before = _digest(db)
    for replica in make_harness(signer, db_url=url, read_only=True,
                                writer_url="https://writer.example", run_publisher=True,
                                blob_dir=str(tmp_path / "replica-blobs")):  # fmt: skip
        bundle = replica.http.get("/api/crypto/bundles/alice")
        assert bundle.status_code == 200 and bundle.json()["epoch"] == 1
        for path in ("/api/auth/register", "/api/crypto/keys/identity"):
            answer = replica.http.post(path, json={"user_id": "bob"},
                                       headers={"Authorization": "Bearer x"})  # fmt: skip
            assert answer.status_code == 503
            assert answer.json() == {"error": {"code": "read_only", "message":
                "this server is a read replica; send writes to the writer at "
                "https://writer.example"}}  # fmt: skip
            assert answer.headers["x-glasskey-writer"] == "https://writer.example"
        ready = replica.http.get("/readyz").json()
        assert ready["publisher"] is False
        assert ready["replica"] == {
            "in_recovery": False, "lag_seconds": None, "lag_epochs": None, "epoch": 1,
            "writer_epoch": None,
        }  # fmt: skip
        assert replica.service.publisher._thread is None  # never started
    assert _digest(db) == before  # not a byte written (no migration, no checkpoint)


@pytest.mark.parametrize(
    ("row", "expected"),
    [
        ((False, False, None, False), (False, 0.0)),  # a primary: its own writer
        ((True, True, 42.0, True), (True, 0.0)),  # streaming, all replayed: idle writer
        ((True, False, 7.5, True), (True, 7.5)),  # behind
        ((True, True, 12.0, False), (True, 12.0)),  # receiver down: age of the last replay
        ((True, False, None, False), (True, float("inf"))),  # never replayed anything
    ],
)
def test_lag_seconds(row: tuple[object, ...], expected: tuple[bool, float]) -> None:
    assert lag_seconds(row) == expected


def test_monitor_asks_the_writer_and_caches() -> None:
    calls: list[str] = []

    def writer(request: httpx.Request) -> httpx.Response:
        calls.append(str(request.url))
        return httpx.Response(200, json={"status": "ready", "epoch": 9})

    client = httpx.Client(transport=httpx.MockTransport(writer))
    monitor = ReplicaMonitor(lambda sql: [(True, False, 2.5, True)], lambda: 6,
                             "http://writer:8080/", client=client)  # fmt: skip
    lag = monitor.status()
    assert (lag.seconds, lag.epochs, lag.local_epoch, lag.writer_epoch) == (2.5, 3, 6, 9)
    assert monitor.status() is lag and calls == ["http://writer:8080/readyz"]

    down = httpx.Client(transport=httpx.MockTransport(lambda r: httpx.Response(503)))
    unknown = ReplicaMonitor(None, lambda: 6, "http://writer:8080", client=down).status()
    assert (unknown.seconds, unknown.epochs, unknown.writer_epoch) == (None, None, None)


def test_settings_are_checked() -> None:
    with pytest.raises(ConfigurationError, match="--max-replica-lag"):
        ServerSettings(read_only=True, max_replica_lag=0)
    with pytest.raises(ConfigurationError, match="--writer-url"):
        ServerSettings(read_only=True, writer_url="writer:8080")
