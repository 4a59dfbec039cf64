"""A root log that follows another process's writes (``--workers``, read replicas) sees every
checkpoint, including two signed within one second.

Checkpoint times are whole seconds (the C2SP note's timestamp), and at a sub-second epoch
interval two epochs' checkpoints share one. A follower that asked only for checkpoints
signed *after* the newest it had never loaded the second one: every lookup at that epoch
waited for it and answered 503 "the signed root log has not caught up yet" (CI saw a read
replica serve no lookup for a whole 8-second phase, tests/replication/test_scale.py).
"""

from __future__ import annotations

import time

import pytest

from glasskey.server._rootlog import RootLog
from tests.server.conftest import Harness

ONE_SECOND = 1_800_000_000.25  # every checkpoint below is signed within this second


def test_a_follower_sees_two_checkpoints_signed_in_one_second(
    harness: Harness, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(time, "time", lambda: ONE_SECOND)
    writer = harness.service.rootlog
    follower = RootLog(harness.service.db, writer.signer, writer.origin)
    alice = harness.register("alice")
    harness.upload("alice", alice, b"v1")
    harness.publish()
    follower.refresh(force=True)
    first = follower.checkpoint_for(1)
    assert first is not None and first == writer.checkpoint_for(1)
    harness.upload("alice", alice, b"v2")
    harness.publish()
    follower.refresh(force=True)
    second = writer.checkpoint_for(2)
    assert second is not None and second.signed_at == first.signed_at == float(int(ONE_SECOND))
    assert follower.checkpoint_for(2) == second
    assert follower.latest_checkpoint() == writer.latest_checkpoint()
