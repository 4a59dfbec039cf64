"""glasskey processes over a replicated PostgreSQL: one writer, read-only replicas.

Every process of one log must sign with the same key and derive labels with the same VRF
key, so they all get them from the environment (as an operator's deployment would), not
from development key files in their own folders.
"""

from __future__ import annotations

from pathlib import Path

import httpx

from glasskey.keys import generate_pem, pem_to_env_value
from tests.security.procs import Process, start_log_server, wait_for


def log_keys_env() -> dict[str, str]:
    """A fresh signing key and VRF key, as the environment of every process of one log."""
    import os

    return {
        "GLASSKEY_SIGNING_KEY": pem_to_env_value(generate_pem()),
        "GLASSKEY_VRF_KEY": os.urandom(32).hex(),
    }


def start_writer(
    folder: Path, db: str, keys: dict[str, str], *extra: str, epoch_interval: float = 0.3
) -> Process:
    """``glasskey serve`` on the primary (it migrates, publishes, accepts uploads)."""
    return start_log_server(
        folder, "--rate-limit", "0", "--user-write-limit", "0", "--write-rate-limit", "0",
        *extra, db=db, env=keys, epoch_interval=epoch_interval,
    )  # fmt: skip


def start_replica(
    folder: Path, db: str, keys: dict[str, str], writer_url: str, *extra: str
) -> Process:
    """``glasskey serve --read-only`` on a standby, following ``writer_url``."""
    return start_log_server(
        folder, "--read-only", "--writer-url", writer_url, "--rate-limit", "0", *extra,
        db=db, env=keys,
    )  # fmt: skip


def readyz(url: str) -> tuple[int, dict[str, object]]:
    answer = httpx.get(f"{url}/readyz", timeout=5)
    return answer.status_code, answer.json()


def _ready_epoch(status: int, body: dict[str, object]) -> int:
    assert status == 200, body
    epoch = body["epoch"]
    assert isinstance(epoch, int)
    return epoch


def epoch_of(url: str) -> int:
    return _ready_epoch(*readyz(url))


def epoch_if_ready(url: str) -> int | None:
    """``epoch_of``, or None while the server answers 503: right after a fail-over each pooled
    connection to the dead primary fails once ("server closed the connection unexpectedly")
    before the pool replaces it, and readiness says so until then."""
    status, body = readyz(url)
    return None if status == 503 else _ready_epoch(status, body)


def wait_caught_up(replica: Process, writer: Process, timeout: float = 30) -> int:
    """Until the replica serves the writer's epoch; returns it."""

    def same() -> int | None:
        target = epoch_of(writer.url)
        return target if readyz(replica.url)[1].get("epoch") == target else None

    return int(wait_for("the replica to catch up", same, timeout))


def metric(url: str, name: str) -> float:
    """One unlabelled gauge from ``/metrics``."""
    text = httpx.get(f"{url}/metrics", timeout=5).text
    for line in text.splitlines():
        if line.startswith(name + " "):
            return float(line.split()[1])
    raise AssertionError(f"{name} not in /metrics")
