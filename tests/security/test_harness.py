"""The harness itself: a real log server and a real auditor start, answer and stop."""

from __future__ import annotations

from collections.abc import Callable

import httpx

from tests.security.procs import Process


def test_log_server_and_auditor_processes_answer(
    log_server: Callable[..., Process], auditor_server: Callable[..., tuple[Process, bytes]]
) -> None:
    server = log_server()
    assert httpx.get(f"{server.url}/readyz").json()["status"] == "ready"
    auditor, public = auditor_server()
    assert len(public) == 32
    assert httpx.get(f"{auditor.url}/info").status_code == 200
    server.stop()
    assert server.proc.returncode is not None
