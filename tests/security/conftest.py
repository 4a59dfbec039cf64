"""Fixtures for the attack tests: real processes, always stopped afterwards."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.security.procs import Process, start_auditor, start_log_server


@pytest.fixture
def processes() -> Iterator[list[Process]]:
    """Every process a test started, stopped when it ends (pass or fail)."""
    started: list[Process] = []
    yield started
    for process in reversed(started):
        process.stop()


@pytest.fixture
def log_server(tmp_path: Path, processes: list[Process]) -> Callable[..., Process]:
    """``log_server(*extra_args, **options)`` starts a real ``glasskey serve``."""
    count = 0

    def start(*extra: str, **options: Any) -> Process:
        nonlocal count
        count += 1
        process = start_log_server(tmp_path / f"server{count}", *extra, **options)
        processes.append(process)
        return process

    return start


@pytest.fixture
def auditor_server(
    tmp_path: Path, processes: list[Process]
) -> Callable[..., tuple[Process, bytes]]:
    """``auditor_server(*extra_args)`` starts a real auditor; returns it and its public key."""
    count = 0

    def start(*extra: str, seed: int = 7) -> tuple[Process, bytes]:
        nonlocal count
        count += 1
        process, public = start_auditor(tmp_path / f"auditor{count}", *extra, seed=seed)
        processes.append(process)
        return process, public

    return start
