"""Fail-over: the primary is killed (SIGKILL), the standby promoted, a writer takes over.

Topology (all real processes on 127.0.0.1): PostgreSQL primary and a synchronous standby
(``synchronous_standby_names``); writer W1 on the primary; writer W2 on a libpq multi-host
URL (``target_session_attrs=read-write``), so it always talks to whichever node is the
primary — it loses the publisher election to W1 and waits; a read replica R on the standby.
Uploads flow to W1 and a verifying client keeps looking up through R.

Then the primary and W1 are killed with SIGKILL mid-stream, ``pg_ctl promote`` runs on the
standby, and W2 — through the existing election, nothing else — becomes the publisher,
finishes the interrupted epoch (the root log catches up from the directory) and publishes
the queue. Checked: every upload W1 acknowledged (202) is published, the client verified
every answer across the switch (no alert of any kind), and R kept serving.
"""

from __future__ import annotations

import base64
import threading
import time
import uuid
from collections.abc import Callable
from pathlib import Path

import httpx
import pytest

from glasskey.client import GlasskeyClient, NetworkError, ServerError
from glasskey.core.errors import VerificationError
from tests.replication.pgcluster import Cluster
from tests.replication.topology import (
    epoch_if_ready,
    epoch_of,
    readyz,
    start_replica,
    start_writer,
)
from tests.security.procs import ADMIN_TOKEN, Process, wait_for

pytestmark = pytest.mark.replication

USERS = [f"user{i}" for i in range(4)]


def multi_host_url(*clusters: Cluster) -> str:
    hosts = ",".join(f"127.0.0.1:{c.port}" for c in clusters)
    return (
        f"postgresql://postgres@{hosts}/glasskey?target_session_attrs=read-write&connect_timeout=2"
    )


class Uploader(threading.Thread):
    """Uploads new keys for ``USERS`` in turn to ``url`` until stopped; remembers which
    uploads were acknowledged (202 with an update id) and which were only attempted."""

    def __init__(self, url: str, tokens: dict[str, str]) -> None:
        super().__init__(daemon=True)
        self.url = url
        self.tokens = tokens
        self.acknowledged: list[tuple[str, int, bytes]] = []
        self.attempted: dict[str, list[bytes]] = {u: [] for u in USERS}
        self.stop = threading.Event()

    def run(self) -> None:
        with httpx.Client(timeout=5) as http:
            n = 0
            while not self.stop.is_set():
                user = USERS[n % len(USERS)]
                key = f"{user}-key-{n}".encode()
                n += 1
                self.attempted[user].append(key)
                try:
                    answer = http.post(
                        f"{self.url}/api/crypto/keys/identity",
                        json={"key": base64.b64encode(key).decode(), "upload_id": uuid.uuid4().hex},
                        headers={"Authorization": f"Bearer {self.tokens[user]}"},
                    )
                except httpx.HTTPError:
                    time.sleep(0.05)
                    continue
                if answer.status_code == 202:
                    self.acknowledged.append((user, int(answer.json()["update_id"]), key))
                else:
                    time.sleep(0.05)


class Looker(threading.Thread):
    """Verified lookups through ``url`` with one client state (a device) until stopped."""

    def __init__(self, url: str, state: Path) -> None:
        super().__init__(daemon=True)
        self.url = url
        self.state = state
        self.verified = 0
        self.unavailable = 0
        self.alerts: list[str] = []
        self.epochs: set[int] = set()
        self.stop = threading.Event()

    def run(self) -> None:
        try:
            self._run()
        except BaseException as exc:
            self.alerts.append(f"looker died: {exc!r}")
            raise

    def _run(self) -> None:
        with GlasskeyClient(self.url, state=self.state, timeout=5) as client:
            n = 0
            while not self.stop.is_set():
                try:
                    key = client.lookup(USERS[n % len(USERS)])
                    self.verified += 1
                    self.epochs.add(key.head.size)
                except VerificationError as exc:
                    self.alerts.append(f"{exc.code}: {exc}")
                except (NetworkError, ServerError):
                    self.unavailable += 1
                    time.sleep(0.05)
                n += 1


def test_failover_loses_no_acknowledged_update(
    tmp_path: Path,
    primary: Cluster,
    standby: Cluster,
    keys: dict[str, str],
    track: Callable[[Process], Process],
) -> None:
    primary.set("synchronous_standby_names", "standby1")
    wait_for("synchronous replication", lambda: primary.sync_state("standby1") == "sync")

    w1 = track(start_writer(tmp_path / "w1", primary.url(), keys))
    w2 = track(start_writer(tmp_path / "w2", multi_host_url(primary, standby), keys))
    replica = track(start_replica(tmp_path / "r", standby.url(), keys, w2.url))
    assert readyz(w1.url)[1]["publisher"] is True
    assert readyz(w2.url)[1]["publisher"] is False

    tokens = {}
    for user in USERS:
        admin = {"Authorization": f"Bearer {ADMIN_TOKEN}"}
        answer = httpx.post(
            f"{w1.url}/api/auth/register", json={"user_id": user}, headers=admin, timeout=10
        )
        assert answer.status_code == 201, answer.text
        tokens[user] = answer.json()["token"]
        answer = httpx.post(
            f"{w1.url}/api/crypto/keys/identity?wait=10",
            json={"key": base64.b64encode(b"first").decode(), "upload_id": uuid.uuid4().hex},
            headers={"Authorization": f"Bearer {tokens[user]}"}, timeout=15,
        )  # fmt: skip
        assert answer.status_code == 202, answer.text
    wait_for("the replica has every user", lambda: epoch_of(replica.url) >= epoch_of(w1.url))

    uploader = Uploader(w1.url, tokens)
    looker = Looker(replica.url, tmp_path / "device.db")
    uploader.start()
    looker.start()
    try:
        wait_for(
            "uploads and lookups under way",
            lambda: len(uploader.acknowledged) >= 20 and looker.verified >= 10,
            90,
        )
    except AssertionError:
        raise AssertionError(
            f"{len(uploader.acknowledged)} uploads, {looker.verified} lookups, "
            f"{looker.unavailable} unavailable, alerts {looker.alerts[:3]}"
        ) from None
    epoch_before = epoch_of(w1.url)

    # The primary machine dies: its database and the writer on it, mid-stream.
    t0 = time.monotonic()
    primary.kill9()
    w1.kill()
    killed_at = time.monotonic()
    time.sleep(1.0)
    uploader.stop.set()
    uploader.join(10)
    acknowledged = list(uploader.acknowledged)

    standby.promote()
    promoted_at = time.monotonic()
    print(f"\nkilled and promoted in {time.monotonic() - t0:.1f}s")
    wait_for("W2 elected publisher", lambda: readyz(w2.url)[1].get("publisher") is True, 60)
    takeover = time.monotonic() - promoted_at

    print(f"W2 publisher after {time.monotonic() - t0:.1f}s")

    # Every acknowledged upload is published by the new publisher.
    def published(user: str, update_id: int) -> bool:
        answer = httpx.get(
            f"{w2.url}/api/crypto/keys/identity/updates/{update_id}",
            headers={"Authorization": f"Bearer {tokens[user]}"}, timeout=10,
        )  # fmt: skip
        return answer.status_code == 200 and answer.json()["status"] == "published"

    def queue_drained() -> bool:
        return not standby.sql("SELECT 1 FROM pending_updates LIMIT 1", db="glasskey")

    wait_for("the queue drained by W2", queue_drained, 60)
    rows = standby.sql("SELECT id FROM published_updates", db="glasskey")
    published_ids = {int(str(row[0])) for row in rows}
    lost = [i for _, i, _ in acknowledged if i not in published_ids]
    assert lost == []
    last = {user: update_id for user, update_id, _ in acknowledged}
    for user, update_id in last.items():  # and the API says so to each key owner
        wait_for(f"{user}'s update {update_id} reported published",
                 lambda u=user, i=update_id: published(u, i))  # fmt: skip

    # Each user's current key (through the replica, verified) is its last acknowledged one
    # or a later upload whose answer was lost in the crash — never an older one.
    def replica_follows_w2() -> bool:
        served, published = epoch_if_ready(replica.url), epoch_if_ready(w2.url)
        return served is not None and published is not None and served >= published

    wait_for("the replica follows W2", replica_follows_w2)
    with GlasskeyClient(replica.url) as client:
        for user in USERS:
            mine = [k for u, _, k in acknowledged if u == user]
            current = client.lookup(user).key
            attempts = uploader.attempted[user]
            assert attempts.index(current) >= attempts.index(mine[-1]) if mine else True

    # The device kept verifying across the switch; its epochs only moved forward.
    final = epoch_of(replica.url)
    assert final > epoch_before
    wait_for(f"lookups after the switch (verified {looker.verified}, alerts {looker.alerts}, "
             f"thread alive {looker.is_alive()})",
             lambda: max(looker.epochs, default=0) >= final)  # fmt: skip
    looker.stop.set()
    looker.join(10)
    assert looker.alerts == []
    assert looker.verified > 10
    print(
        f"\nfail-over: {len(acknowledged)} acknowledged uploads, all published; W2 publisher "
        f"{takeover:.1f}s after promote ({time.monotonic() - killed_at:.1f}s after the kill); "
        f"{looker.verified} verified lookups, {looker.unavailable} unavailable, 0 alerts"
    )
