"""The publisher: one elected writer turns the pending queue into epochs on a fixed cadence.

Why a single elected writer: epochs must form one linear history, and the root log and its
signed checkpoints must follow it (``election`` says how the writer is chosen). Every other
process serves reads and accepts updates into the queue, refreshing its view each tick.

Crash safety comes from the layers below: ``Directory.publish_pending`` drains the queue and
writes the epoch in one transaction, so a kill mid-publish leaves the queue intact; the root
log and checkpoint are derived from the directory's epoch roots and are caught up at the next
tick (``RootLog.catch_up``), so a kill between the two loses nothing either.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from typing import Protocol

from glasskey.server._election import Elector
from glasskey.server._metrics import Metrics

log = logging.getLogger("glasskey.server.publisher")


class PublishingService(Protocol):
    """What a publisher tick drives (``DirectoryService``); a protocol, so the publisher
    depends on these few calls rather than on the service that owns it."""

    metrics: Metrics

    def publish_once(self) -> object: ...
    def fill_vrf_proofs(self, deadline: float, interrupted: Callable[[], bool]) -> int: ...
    def refresh_from_db(self) -> None: ...


class Publisher:
    """Runs ``service.publish_once()`` every ``interval`` seconds while elected."""

    def __init__(self, service: PublishingService, interval: float, elector: Elector) -> None:
        self.service = service
        self.interval = max(0.01, float(interval))
        self.elector = elector
        self.is_leader = False
        self._stop = threading.Event()
        self._wake = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        if self._thread is not None:
            return
        self._thread = threading.Thread(target=self._run, name="glasskey-publisher", daemon=True)
        self._thread.start()

    def wake(self) -> None:
        """Publish now instead of waiting for the next tick, unless the last tick published
        an epoch: epochs are never closer together than the interval."""
        self._wake.set()

    def _run(self) -> None:
        while not self._stop.is_set():
            started = time.monotonic()
            published = False
            try:
                self.is_leader = self.elector.try_acquire()
                if self.is_leader:
                    published = self.service.publish_once() is not None
                    # The rest of the tick stores the VRF proofs lookups will serve.
                    self.service.fill_vrf_proofs(
                        started + self.interval, lambda: self._wake.is_set() or self._stop.is_set()
                    )
                else:
                    self.service.refresh_from_db()
            except Exception:
                self.service.metrics.inc("publish_failures")
                log.exception("publish tick failed; retrying at the next tick")
            remaining = self.interval - (time.monotonic() - started)
            if remaining > 0:
                # After an epoch nothing may bring the next one forward (a client uploading
                # with ?wait would otherwise set the cadence); an idle tick may be woken.
                (self._stop if published else self._wake).wait(remaining)
            self._wake.clear()

    def stop(self, timeout: float = 30.0) -> bool:
        """Stop after the epoch in progress (if any) commits; True if it finished in time.

        If it does not finish within ``timeout`` the caller exits anyway: the database rolls
        the open transaction back, so the epoch is abandoned whole and its updates stay queued.
        """
        self._stop.set()
        self._wake.set()
        finished = True
        if self._thread is not None:
            self._thread.join(timeout)
            finished = not self._thread.is_alive()
            if not finished:
                log.warning("publisher did not finish within %.0fs; abandoning the epoch", timeout)
        if finished:
            self.elector.release()
        self.is_leader = False
        return finished
