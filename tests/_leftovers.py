"""``make test`` leaves no process behind: processes the suite started and never ended fail it.

How: the suite marks its environment with ``GLASSKEY_TEST_SESSION=<random>`` before any test
runs; every process a test starts inherits the mark (servers, their uvicorn workers, the VRF
pool, processes orphaned by a kill of their parent). When the session ends the controller
(the xdist controller, or the only process with ``-n 0``) waits a few seconds for marked
processes to exit, then kills the process groups of those still alive and fails the run
naming each one — so a test that forgets a process is found where it happens, in CI,
instead of as strays on a developer's machine. Linux only (``/proc``); elsewhere a no-op.
"""

from __future__ import annotations

import os
import re
import signal
import time
import uuid
from pathlib import Path

import pytest

MARK = "GLASSKEY_TEST_SESSION"
_POOL_MARKERS = re.compile(r"multiprocessing\.(spawn|resource_tracker) import")
os.environ.setdefault(MARK, uuid.uuid4().hex)


def marked_processes(mark: str, exclude: set[int]) -> dict[int, str]:
    """pid → command line of every process whose environment carries ``MARK=mark``."""
    needle = f"{MARK}={mark}".encode()
    found: dict[int, str] = {}
    for entry in Path("/proc").iterdir() if Path("/proc").is_dir() else ():
        if not entry.name.isdigit() or int(entry.name) in exclude:
            continue
        try:
            if needle not in (entry / "environ").read_bytes().split(b"\0"):
                continue
            if (entry / "stat").read_text().split(") ", 1)[1].startswith("Z"):
                continue  # a zombie is already dead: its parent just has not reaped it
            found[int(entry.name)] = (
                (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
            )
        except OSError:  # exited meanwhile, or not ours to read
            continue
    return found


def _ancestors() -> set[int]:
    pids, pid = set(), os.getpid()
    while pid > 1:
        pids.add(pid)
        try:
            pid = int(Path(f"/proc/{pid}/stat").read_text().split(") ", 1)[1].split()[1])
        except (OSError, IndexError, ValueError):
            break
    return pids


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    if hasattr(session.config, "workerinput"):
        return  # an xdist worker: the controller checks once every worker has finished
    mark = os.environ[MARK]
    exclude = _ancestors()
    deadline = time.monotonic() + 10
    left = marked_processes(mark, exclude)
    while left and time.monotonic() < deadline:
        time.sleep(0.2)
        left = marked_processes(mark, exclude)
    if not left:
        return
    # VRF pool processes (multiprocessing spawn children and their resource tracker): killed
    # and reported, not a failure. Pool workers now exit with the process that made the pool
    # (tests/directory/test_label_pool.py; the orphans came from tests that SIGKILL only a
    # publishing parent); with ``-n 0`` the controller's own resource tracker is still here.
    pools = {p: c for p, c in left.items() if _POOL_MARKERS.search(c)}
    for pid in left:
        for kill in (os.killpg, os.kill):
            try:
                kill(pid, signal.SIGKILL)
            except (ProcessLookupError, PermissionError):
                continue
    lines = "\n".join(f"  pid {pid}: {cmd[:200]}" for pid, cmd in sorted(left.items()))
    reporter = session.config.pluginmanager.get_plugin("terminalreporter")
    message = f"the tests left {len(left)} process(es) running (now killed):\n{lines}"
    if reporter is not None:
        reporter.write_line(message, red=True)
    if len(pools) == len(left):
        if reporter is not None:
            reporter.write_line("(only orphaned VRF pool workers: reported, not failed)")
        return
    session.exitstatus = pytest.ExitCode.TESTS_FAILED
