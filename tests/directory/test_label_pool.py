"""The VRF pool's workers die with the process that made the pool, however it dies.

``make test`` kept finding orphaned pool workers (``multiprocessing.spawn`` children) after
tests that SIGKILL a publishing process, as a crash or an OOM kill would: a pool worker
waits on its queue forever, holding a copy of the VRF key. Linux only (``/proc``).
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from glasskey.core.ecvrf import VrfSecretKey
from glasskey.directory.akd._labels import POOL_THRESHOLD, LabelComputer

# Makes a two-worker pool, uses it, prints its workers' pids, then waits to be killed.
_POOL_OWNER = f"""
import sys, time
from glasskey.core.ecvrf import VrfSecretKey
from glasskey.directory.akd._labels import LabelComputer
computer = LabelComputer(VrfSecretKey(bytes(32)), workers=2)
computer.labels([b"%d" % i for i in range({POOL_THRESHOLD})])
print(" ".join(str(pid) for pid in computer._pool._processes), flush=True)
time.sleep(120)
"""


def _alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().split(") ", 1)[1]
    except OSError:
        return False
    return not state.startswith("Z")  # a zombie has exited; only its reaping is pending


@pytest.mark.skipif(not Path("/proc/self/stat").exists(), reason="needs Linux /proc")
def test_pool_workers_exit_when_their_parent_is_killed() -> None:
    env = {**os.environ, "GLASSKEY_NATIVE": "off"}  # the pool is the pure-Python path's
    owner = subprocess.Popen([sys.executable, "-c", _POOL_OWNER], stdout=subprocess.PIPE,
                             text=True, env=env)  # fmt: skip
    try:
        assert owner.stdout is not None
        workers = [int(pid) for pid in owner.stdout.readline().split()]
        assert len(workers) == 2 and all(_alive(pid) for pid in workers)
    finally:
        owner.send_signal(signal.SIGKILL)  # the parent only, as the OOM killer would
        owner.wait()
    deadline = time.monotonic() + 10
    while any(_alive(pid) for pid in workers) and time.monotonic() < deadline:
        time.sleep(0.1)
    left = [pid for pid in workers if _alive(pid)]
    for pid in left:
        os.kill(pid, signal.SIGKILL)
    assert not left, f"pool workers {left} outlived the process that made the pool"


def test_pool_and_in_process_labels_agree() -> None:
    key = VrfSecretKey(bytes(range(32)))
    alphas = [b"user-%d" % i for i in range(POOL_THRESHOLD)]
    pooled = LabelComputer(key, workers=2)
    try:
        assert pooled.labels(alphas) == LabelComputer(key, workers=1).labels(alphas)
    finally:
        pooled.close()
