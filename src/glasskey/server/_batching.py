"""Group commit: concurrent callers' writes share one transaction (and one fsync).

Why: every accepted key update must be durable before its 202 goes out, and a durable
commit costs an fsync (SQLite ``synchronous=FULL``, PostgreSQL WAL flush). With one commit
per update, a single writer tops out at a few hundred updates/s however many requests wait.
Here the first caller to arrive writes whatever has queued up (up to ``max_batch``) in one
call while later arrivals queue for the next batch; each caller gets back its own result,
or the batch's exception if the write failed (then nothing of that batch was written).
Callers must validate their item beforehand, so one bad item cannot fail the others.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Generic, TypeVar

T = TypeVar("T")
R = TypeVar("R")


@dataclass(slots=True)
class _Slot(Generic[T, R]):
    item: T
    done: bool = False
    result: R | None = None
    error: BaseException | None = None


class GroupCommitter(Generic[T, R]):
    """Calls ``write(items) -> results`` (one result per item, in order) for batches of
    items submitted from many threads; ``submit`` blocks until its item is written."""

    def __init__(self, write: Callable[[Sequence[T]], Sequence[R]], max_batch: int = 512) -> None:
        if max_batch < 1:
            raise ValueError("max_batch must be at least 1")
        self._write = write
        self._max_batch = max_batch
        self._cond = threading.Condition()
        self._queue: list[_Slot[T, R]] = []
        self._writing = False
        #: Batches written and items in them (for tests and metrics).
        self.batches = 0
        self.items = 0

    def submit(self, item: T) -> R:
        slot: _Slot[T, R] = _Slot(item)
        with self._cond:
            self._queue.append(slot)
            while not slot.done:
                if self._writing:
                    self._cond.wait()
                    continue
                # Nobody is writing: this caller writes the queue's head (its own item may
                # be in a later batch if max_batch cut it off; it then loops and writes again).
                batch = self._queue[: self._max_batch]
                del self._queue[: self._max_batch]
                self._writing = True
                self._cond.release()
                try:
                    self._run(batch)
                finally:
                    self._cond.acquire()
                    self._writing = False
                    self._cond.notify_all()
        if slot.error is not None:
            raise slot.error
        return slot.result  # type: ignore[return-value]

    def _run(self, batch: list[_Slot[T, R]]) -> None:
        try:
            results = self._write([s.item for s in batch])
            if len(results) != len(batch):
                raise RuntimeError(f"write returned {len(results)} results for {len(batch)}")
        except BaseException as exc:
            for s in batch:
                s.error, s.done = exc, True
            return
        self.batches += 1
        self.items += len(batch)
        for s, result in zip(batch, results, strict=True):
            s.result, s.done = result, True
