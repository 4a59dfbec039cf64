"""Fixtures: a PostgreSQL primary with a streaming hot standby, and glasskey processes."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from tests.replication.pgcluster import Cluster, cluster_root, missing_reason
from tests.replication.topology import log_keys_env
from tests.security.procs import Process


@pytest.fixture
def processes() -> Iterator[list[Process]]:
    """glasskey processes started by a test; all stopped (or killed) at its end."""
    started: list[Process] = []
    yield started
    for process in reversed(started):
        process.stop()


@pytest.fixture
def pg_root() -> Iterator[Path]:
    reason = missing_reason()
    if reason is not None:
        pytest.skip(reason)
    with cluster_root() as root:
        yield root


@pytest.fixture
def primary(pg_root: Path) -> Cluster:
    return Cluster.primary(pg_root)


@pytest.fixture
def standby(primary: Cluster) -> Cluster:
    """A hot standby streaming (asynchronously) from ``primary``."""
    standby = primary.standby("standby1")
    primary.wait_streaming("standby1")
    return standby


@pytest.fixture
def keys() -> dict[str, str]:
    return log_keys_env()


@pytest.fixture
def track(processes: list[Process]) -> Callable[[Process], Process]:
    def add(process: Process) -> Process:
        processes.append(process)
        return process

    return add
