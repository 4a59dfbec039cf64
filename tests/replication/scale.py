"""The replicated topology under load: used by ``test_scale.py`` (reduced) and
``bench/replicas.py`` (full size).

Topology, all on 127.0.0.1: a PostgreSQL primary with one streaming standby (asynchronous:
with a single *synchronous* standby, killing it would stop every commit on the primary —
see docs/operator.md), one writer (the publisher) on the primary, two read-only servers on
the standby. A load generator runs ``concurrency`` verifying clients (``AsyncGlasskeyClient``,
each its own device state, pinned to one replica as a sticky load balancer would) doing
lookups of random users — every answer fully verified — while an uploader sends new keys to
the writer at ``upload_rate`` per second.

Two phases of ``duration`` seconds each: steady, and with the standby killed (SIGKILL) at a
quarter of the phase and restarted at half of it. Per phase: verified lookups/s, p50 and p99
latency of verified lookups, unavailable answers (503s while the standby is down), alerts
(any ``VerificationError``: must be 0), uploads acknowledged, epochs published, and the
largest replication lag the replicas reported in ``/readyz`` (seconds, epochs).
"""

from __future__ import annotations

import asyncio
import base64
import random
import statistics
import threading
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

from glasskey.client import AsyncGlasskeyClient, NetworkError, ServerError
from glasskey.core.errors import VerificationError
from tests.replication.pgcluster import Cluster
from tests.replication.topology import (
    epoch_of,
    log_keys_env,
    readyz,
    start_replica,
    start_writer,
    wait_caught_up,
)
from tests.security.procs import ADMIN_TOKEN, Process, wait_for


@dataclass
class Phase:
    name: str
    seconds: float = 0.0
    latencies: list[float] = field(default_factory=list)
    unavailable: int = 0
    alerts: list[str] = field(default_factory=list)
    uploads: int = 0
    epochs: int = 0
    max_lag_seconds: float = 0.0
    max_lag_epochs: int = 0

    @property
    def verified(self) -> int:
        return len(self.latencies)

    def row(self) -> dict[str, Any]:
        ordered = sorted(self.latencies)
        p99 = ordered[min(len(ordered) - 1, int(len(ordered) * 0.99))] if ordered else 0.0
        return {
            "phase": self.name,
            "verified lookups": self.verified,
            "lookups/s": round(self.verified / self.seconds, 1) if self.seconds else 0.0,
            "p50 ms": round(statistics.median(ordered) * 1000, 1) if ordered else 0.0,
            "p99 ms": round(p99 * 1000, 1),
            "unavailable": self.unavailable,
            "alerts": len(self.alerts),
            "uploads acked": self.uploads,
            "epochs": self.epochs,
            "max lag s": round(self.max_lag_seconds, 2),
            "max lag epochs": self.max_lag_epochs,
        }


def format_table(rows: list[dict[str, Any]]) -> str:
    headers = list(rows[0])
    widths = [max(len(h), *(len(str(r[h])) for r in rows)) for h in headers]
    line = " | ".join(h.rjust(w) for h, w in zip(headers, widths, strict=True))
    rule = "-|-".join("-" * w for w in widths)
    body = [" | ".join(str(r[h]).rjust(w) for h, w in zip(headers, widths, strict=True))
            for r in rows]  # fmt: skip
    return "\n".join([line, rule, *body])


class Uploader(threading.Thread):
    def __init__(self, url: str, tokens: dict[str, str], rate: float) -> None:
        super().__init__(daemon=True)
        self.url, self.tokens, self.rate = url, tokens, rate
        self.acknowledged: list[int] = []
        self.stop = threading.Event()

    def run(self) -> None:
        users = list(self.tokens)
        with httpx.Client(timeout=10) as http:
            while not self.stop.wait(1.0 / self.rate):
                user = random.choice(users)
                try:
                    answer = http.post(
                        f"{self.url}/api/crypto/keys/identity",
                        json={"key": base64.b64encode(uuid.uuid4().bytes).decode(),
                              "upload_id": uuid.uuid4().hex},
                        headers={"Authorization": f"Bearer {self.tokens[user]}"},
                    )  # fmt: skip
                except httpx.HTTPError:
                    continue
                if answer.status_code == 202:
                    self.acknowledged.append(int(answer.json()["update_id"]))


class LagWatcher(threading.Thread):
    """Polls the replicas' ``/readyz`` into the current phase's largest lag."""

    def __init__(self, replicas: list[Process]) -> None:
        super().__init__(daemon=True)
        self.replicas = replicas
        self.phase: Phase | None = None
        self.stop = threading.Event()

    def run(self) -> None:
        while not self.stop.wait(0.5):
            for replica in self.replicas:
                try:
                    status, body = readyz(replica.url)
                except (httpx.HTTPError, ValueError):
                    continue
                lag = body.get("replica") if status == 200 else None
                phase = self.phase
                if phase is None or not isinstance(lag, dict):
                    continue
                if lag.get("lag_seconds") is not None:
                    phase.max_lag_seconds = max(phase.max_lag_seconds, float(lag["lag_seconds"]))
                if lag.get("lag_epochs") is not None:
                    phase.max_lag_epochs = max(phase.max_lag_epochs, int(lag["lag_epochs"]))


async def _lookups(
    replicas: list[str], users: list[str], concurrency: int, seconds: float, phase: Phase
) -> None:
    deadline = time.monotonic() + seconds

    async def device(i: int) -> None:
        async with AsyncGlasskeyClient(replicas[i % len(replicas)], timeout=10) as client:
            while time.monotonic() < deadline:
                started = time.perf_counter()
                try:
                    await client.lookup(random.choice(users))
                except VerificationError as exc:
                    phase.alerts.append(f"{exc.code}: {exc}")
                    continue
                except (NetworkError, ServerError):
                    phase.unavailable += 1
                    await asyncio.sleep(0.05)
                    continue
                phase.latencies.append(time.perf_counter() - started)

    await asyncio.gather(*(device(i) for i in range(concurrency)))


def run_scale(
    root: Path,
    work: Path,
    *,
    users: int = 50,
    duration: float = 10.0,
    concurrency: int = 8,
    upload_rate: float = 20.0,
    epoch_interval: float = 0.5,
) -> list[Phase]:
    """Build the topology under ``root`` (PostgreSQL) and ``work`` (glasskey processes),
    run both phases and stop everything; returns the phases."""
    processes: list[Process] = []
    primary = Cluster.primary(root)
    standby = primary.standby("standby1")
    primary.wait_streaming("standby1")
    keys = log_keys_env()
    try:
        writer = start_writer(work / "writer", primary.url(), keys,
                              epoch_interval=epoch_interval)  # fmt: skip
        processes.append(writer)
        replicas = [
            start_replica(
                work / f"replica{i}", standby.url(), keys, writer.url, "--max-replica-lag", "10"
            )
            for i in (1, 2)
        ]
        processes += replicas
        names = [f"user{i:05d}" for i in range(users)]
        tokens = _populate(writer.url, names)
        wait_for("epoch with every user", lambda: epoch_of(writer.url) >= 1)
        for replica in replicas:
            wait_caught_up(replica, writer, 60)

        uploader = Uploader(writer.url, dict(list(tokens.items())[:50]), upload_rate)
        watcher = LagWatcher(replicas)
        uploader.start()
        watcher.start()
        urls = [r.url for r in replicas]
        phases = []
        for name in ("steady", "standby killed + restarted"):
            phase = Phase(name)
            watcher.phase = phase
            acked, epoch = len(uploader.acknowledged), epoch_of(writer.url)
            started = time.monotonic()
            chaos = None
            if name != "steady":
                chaos = threading.Thread(target=_kill_and_restart, args=(standby, duration),
                                         daemon=True)  # fmt: skip
                chaos.start()
            asyncio.run(_lookups(urls, names, concurrency, duration, phase))
            phase.seconds = time.monotonic() - started
            if chaos is not None:
                chaos.join(60)
            phase.uploads = len(uploader.acknowledged) - acked
            phase.epochs = epoch_of(writer.url) - epoch
            phases.append(phase)
        uploader.stop.set()
        uploader.join(15)
        watcher.stop.set()
        watcher.join(5)
        # Nothing acknowledged was lost, and the replicas caught up after the restart.
        wait_for("the queue drained", lambda: not primary.sql(
            "SELECT 1 FROM pending_updates LIMIT 1", db="glasskey"), 60)  # fmt: skip
        published = {int(str(r[0])) for r in primary.sql(
            "SELECT id FROM published_updates", db="glasskey")}  # fmt: skip
        missing = [i for i in uploader.acknowledged if i not in published]
        assert missing == [], f"acknowledged but not published: {missing[:10]}"
        for replica in replicas:
            wait_caught_up(replica, writer, 60)
        return phases
    finally:
        for process in reversed(processes):
            process.stop()
        standby.stop("immediate")
        primary.stop("immediate")


def _kill_and_restart(standby: Cluster, duration: float) -> None:
    time.sleep(duration / 4)
    standby.kill9()
    time.sleep(duration / 4)
    standby.start()


def _populate(url: str, names: list[str]) -> dict[str, str]:
    """Register every user and upload a first key; returns their tokens."""
    admin = {"Authorization": f"Bearer {ADMIN_TOKEN}"}
    tokens: dict[str, str] = {}
    with httpx.Client(timeout=30) as http:
        for name in names:
            answer = http.post(f"{url}/api/auth/register", json={"user_id": name}, headers=admin)
            assert answer.status_code == 201, answer.text
            tokens[name] = answer.json()["token"]
            answer = http.post(
                f"{url}/api/crypto/keys/identity",
                json={
                    "key": base64.b64encode(name.encode()).decode(),
                    "upload_id": uuid.uuid4().hex,
                },
                headers={"Authorization": f"Bearer {tokens[name]}"},
            )
            assert answer.status_code == 202, answer.text
    last = max(tokens, key=lambda n: n)
    wait_for("every first key published", lambda: httpx.get(
        f"{url}/api/crypto/bundles/{last}", timeout=5).status_code == 200, 60)  # fmt: skip
    return tokens
