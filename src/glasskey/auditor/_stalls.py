"""Say why an epoch is not being signed: a proof the auditor keeps waiting for, or a
verification that does not finish.

Why: the auditor signs an epoch only after its audit proof verified. When the proof is not
there (a wrong ``log_directory``, a log that stopped publishing blobs) each publish request
is a quiet 503 and the log retries — and an operator saw nothing in the auditor's log for
minutes. When a download hangs, the request's worker thread blocks just as quietly. This
module keeps, per namespace, what it is waiting for and since when, and logs a WARNING that
names it at most every ``warn_every`` seconds while it lasts (and once more when it ends).
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass

log = logging.getLogger("glasskey.auditor.proofs")

#: Seconds between two warnings about the same stall.
DEFAULT_WARN_EVERY = 60.0


@dataclass
class _Stall:
    epoch: int
    what: str
    since: float
    warned: float | None = None


class StallWatch:
    """Records waits (a proof not available yet) and runs (a verification in progress)."""

    def __init__(
        self, warn_every: float = DEFAULT_WARN_EVERY, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self.warn_every = warn_every
        self._clock = clock
        self._lock = threading.Lock()
        self._waiting: dict[str, _Stall] = {}
        self._running: dict[str, _Stall] = {}
        self._monitor: threading.Thread | None = None
        self._stop = threading.Event()

    # -- proofs not available yet ----------------------------------------------------------

    def waiting(self, namespace: str, epoch: int, what: str) -> None:
        """A publish request found ``what`` missing; warn now and then while it lasts."""
        now = self._clock()
        with self._lock:
            stall = self._waiting.get(namespace)
            if stall is None or stall.epoch != epoch:
                stall = self._waiting[namespace] = _Stall(epoch, what, now)
            stall.what = what
            due = stall.warned is None or now - stall.warned >= self.warn_every
            if due:
                stall.warned = now
        if due:
            log.warning(
                "namespace %s: epoch %d is not signed: waiting %.0f s for %s",
                namespace, epoch, now - stall.since, what,
            )  # fmt: skip

    def resolved(self, namespace: str, epoch: int) -> None:
        """The epoch's proof verified: a wait for it, if any, is over."""
        with self._lock:
            stall = self._waiting.pop(namespace, None)
        if stall is not None and stall.epoch == epoch:
            log.info(
                "namespace %s: the audit proof of epoch %d arrived after %.0f s and verified",
                namespace, epoch, self._clock() - stall.since,
            )  # fmt: skip

    def longest_wait(self) -> float:
        """Seconds the longest current wait or run has lasted (0: none)."""
        now = self._clock()
        with self._lock:
            stalls = [*self._waiting.values(), *self._running.values()]
        return max((now - s.since for s in stalls), default=0.0)

    # -- verifications in progress ---------------------------------------------------------

    @contextmanager
    def running(self, namespace: str, epoch: int) -> Iterator[Callable[[str], None]]:
        """Around one verification; the yielded function names its current step."""
        stall = _Stall(epoch, "starting", self._clock())
        with self._lock:
            self._running[namespace] = stall
            self._start_monitor()

        def step(what: str) -> None:
            stall.what = what

        try:
            yield step
        finally:
            with self._lock:
                self._running.pop(namespace, None)
            if stall.warned is not None:
                log.info(
                    "namespace %s: verification of epoch %d finished after %.0f s",
                    namespace, epoch, self._clock() - stall.since,
                )  # fmt: skip

    def _start_monitor(self) -> None:
        if self._monitor is None or not self._monitor.is_alive():
            self._monitor = threading.Thread(
                target=self._watch, name="glasskey-auditor-stalls", daemon=True
            )
            self._monitor.start()

    def _watch(self) -> None:
        while not self._stop.wait(min(self.warn_every, 5.0) / 2):
            now = self._clock()
            with self._lock:
                due = [
                    (namespace, stall)
                    for namespace, stall in self._running.items()
                    if now - stall.since >= self.warn_every
                    and (stall.warned is None or now - stall.warned >= self.warn_every)
                ]
                for _, stall in due:
                    stall.warned = now
            for namespace, stall in due:
                log.warning(
                    "namespace %s: verifying the audit proof of epoch %d for %.0f s, still %s",
                    namespace, stall.epoch, now - stall.since, stall.what,
                )  # fmt: skip

    def close(self) -> None:
        self._stop.set()


__all__ = ["DEFAULT_WARN_EVERY", "StallWatch"]
