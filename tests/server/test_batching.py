"""Group commit: concurrent writes share batches; each caller gets its own result or error."""

from __future__ import annotations

import threading
import time
from collections.abc import Sequence

import pytest

from glasskey.directory import InvalidUpdate
from glasskey.server._batching import GroupCommitter
from tests.server.conftest import Harness


def _run_threads(count: int, target) -> None:  # type: ignore[no-untyped-def]
    barrier = threading.Barrier(count)

    def run(k: int) -> None:
        barrier.wait()
        target(k)

    threads = [threading.Thread(target=run, args=(k,)) for k in range(count)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()


def test_concurrent_items_share_batches_and_get_their_own_results() -> None:
    sizes: list[int] = []

    def write(items: Sequence[int]) -> list[int]:
        sizes.append(len(items))
        time.sleep(0.005)  # an fsync
        return [i * 10 for i in items]

    committer: GroupCommitter[int, int] = GroupCommitter(write, max_batch=7)
    results: dict[int, list[int]] = {}

    def caller(k: int) -> None:
        results[k] = [committer.submit(k * 1000 + n) for n in range(40)]

    _run_threads(16, caller)
    for k in range(16):
        assert results[k] == [(k * 1000 + n) * 10 for n in range(40)]
    assert sum(sizes) == 640 == committer.items
    assert max(sizes) <= 7
    assert len(sizes) < 640 / 3  # grouped, not one write per item


def test_a_failed_batch_fails_only_its_own_callers() -> None:
    def write(items: Sequence[int]) -> list[int]:
        if -1 in items:
            raise OSError("disk full")
        return list(items)

    committer: GroupCommitter[int, int] = GroupCommitter(write)
    with pytest.raises(OSError, match="disk full"):
        committer.submit(-1)
    assert committer.submit(5) == 5  # the committer is not stuck after a failure
    outcomes: dict[int, object] = {}

    def caller(k: int) -> None:
        try:
            outcomes[k] = committer.submit(-1 if k == 3 else k)
        except OSError as exc:
            outcomes[k] = exc

    _run_threads(8, caller)
    assert isinstance(outcomes[3], OSError)
    for k in set(range(8)) - {3}:
        # Either it went in a batch without the poison (its own value) or shared the failed
        # batch (the error): never a value that is not its own.
        assert outcomes[k] == k or isinstance(outcomes[k], OSError)


def test_wrong_result_count_is_an_error_for_the_batch() -> None:
    committer: GroupCommitter[int, int] = GroupCommitter(lambda items: [])
    with pytest.raises(RuntimeError, match="0 results for 1"):
        committer.submit(1)


def test_concurrent_uploads_each_get_a_durable_receipt(harness: Harness) -> None:
    """Through the service: 12 users upload at once (batched); one update over the size limit
    is refused alone; every receipt is stored, ids are distinct, all are queued."""
    service = harness.service
    users = [f"user{k}" for k in range(12)]
    receipts: dict[str, object] = {}

    def upload(k: int) -> None:
        value = b"x" * (service.directory.limits.max_value_bytes + 1) if k == 5 else b"k%d" % k
        try:
            receipts[users[k]] = service.uploads.submit(users[k], users[k], value)
        except InvalidUpdate as exc:
            receipts[users[k]] = exc

    _run_threads(12, upload)
    assert isinstance(receipts["user5"], InvalidUpdate)
    good = {u: r for u, r in receipts.items() if u != "user5"}
    ids = [r.update_id for r in good.values()]  # type: ignore[attr-defined]
    assert len(set(ids)) == 11
    for user, receipt in good.items():
        record = service.uploads.update_record(receipt.update_id)  # type: ignore[attr-defined]
        assert (record.user_id, record.value_sha256) == (user, receipt.value_sha256)  # type: ignore[attr-defined]
    assert service.directory.pending_count() == 11
    assert service.uploads._enqueuer.items == 11
