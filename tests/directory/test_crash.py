"""Nothing lost: SIGKILL a real publishing process at random moments, then check that the
last committed epoch is intact, every accepted update is either published or still pending,
and a restarted publisher finishes the job with verifying proofs and audit blobs."""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from glasskey.core.akd.audit import audit_verify, verify_audit_blob
from glasskey.core.akd.configuration import get_configuration
from glasskey.core.akd.verify import lookup_verify
from glasskey.core.ecvrf import VrfSecretKey
from glasskey.directory import Directory, FolderBlobStore
from glasskey.directory.akd._tree import AkdTree
from tests.vectors import AKD_TEST_VRF_SEED

CONFIG = get_configuration("whatsapp_v1")
REPO = Path(__file__).resolve().parents[2]
UPDATES = 6000
BATCH = 500


def _open(url: str, blobs: Path) -> Directory:
    return Directory.open(
        url, CONFIG, VrfSecretKey(AKD_TEST_VRF_SEED), FolderBlobStore(blobs), vrf_workers=1
    )


def _check_consistent(url: str, blobs: Path, ids: list[int]) -> int:
    with _open(url, blobs) as d:
        epoch_hash = d.get_epoch_hash()
        with d.store.read() as txn:
            assert AkdTree(CONFIG).root_hash(txn) == epoch_hash.root_hash, "tree != last epoch"
        pending = d.pending_count()
        sample = ids[:: max(1, len(ids) // 150)]
        statuses = [d.update_status(i) for i in sample]
        assert all(s[0] in ("pending", "published") for s in statuses)
        # Updates are drained oldest first: no published update may follow a pending one.
        kinds = [s[0] for s in statuses]
        assert kinds == sorted(kinds, key=lambda k: k == "pending")
        if pending == 0:
            assert all(k == "published" for k in kinds)
        published = [s[1] for s in statuses if s[0] == "published"]
        assert all(e is not None and 1 <= e <= epoch_hash.epoch for e in published)
        # Lookups verify, whether their VRF proofs were stored before the kill or not.
        for index in [i for i, s in zip(range(0, len(ids), max(1, len(ids) // 150)), statuses,
                                        strict=False) if s[0] == "published"][:: 10]:  # fmt: skip
            label = f"user-{index}".encode()
            proof, _ = d.lookup(label)
            lookup_verify(
                CONFIG, d.vrf_public_key, epoch_hash.root_hash, epoch_hash.epoch, label, proof
            )
        return pending


def _run_and_kill(url: str, blobs: Path, rng: random.Random) -> str:
    path = os.pathsep.join(p for p in (str(REPO), os.environ.get("PYTHONPATH", "")) if p)
    env = {**os.environ, "PYTHONPATH": path}
    child = subprocess.Popen(
        [sys.executable, "-m", "tests.directory.crash_child", url, str(blobs), str(BATCH)],
        cwd=REPO,
        env=env,
        stdout=subprocess.PIPE,
        text=True,
    )
    assert child.stdout is not None
    assert child.stdout.readline().strip() == "ready"
    time.sleep(rng.uniform(0.02, 0.35))
    child.send_signal(signal.SIGKILL)
    out, _ = child.communicate(timeout=30)
    return out


def _crash_cycle(url: str, tmp_path: Path) -> None:
    blobs = tmp_path / "blobs"
    with _open(url, blobs) as d:
        ids = [d.enqueue(f"user-{i}".encode(), f"key-{i}".encode()) for i in range(UPDATES)]
    rng = random.Random(1234)
    kills_with_work_left = 0
    for _ in range(40):
        _run_and_kill(url, blobs, rng)
        if _check_consistent(url, blobs, ids) == 0:
            break
        kills_with_work_left += 1
    # Finish in-process, then everything must be published and every blob must verify.
    with _open(url, blobs) as d:
        while d.publish_pending(max_batch=BATCH) is not None:
            pass
        with d.store.read() as txn:
            assert txn.unproven_states(UPDATES), "kills left no version without stored proofs"
        while d.fill_vrf_proofs(BATCH):
            pass
        with d.store.read() as txn:
            assert txn.unproven_states(1) == []
        latest = d.get_epoch_hash().epoch
        assert latest >= UPDATES // BATCH
        roots = [d.epoch_root(e) for e in range(latest + 1)]
        audit_verify(CONFIG, roots, d.audit(0, latest))
    assert _check_consistent(url, blobs, ids) == 0
    store = FolderBlobStore(blobs)
    assert store.epochs() == set(range(1, latest + 1))
    for name in store.list():
        verify_audit_blob(CONFIG, name, store.get(name))
    assert kills_with_work_left >= 3, "the publisher was never killed mid-queue"


@pytest.mark.slow
def test_sigkill_during_publish_sqlite(tmp_path: Path) -> None:
    _crash_cycle(f"sqlite:///{tmp_path}/crash.db", tmp_path)


@pytest.mark.slow
def test_sigkill_during_publish_postgres(tmp_path: Path, postgres_url: str) -> None:
    _crash_cycle(postgres_url, tmp_path)
