"""How far a read replica is behind its writer: in seconds (from PostgreSQL) and in epochs.

Why both: a hot standby knows how old the last transaction it replayed is
(``pg_last_xact_replay_timestamp()``), but on an idle writer that time grows without any
lag at all, and it says nothing about what clients see. The writer's own ``/readyz`` says
which epoch it has signed; the difference to ours is the number of epochs our clients are
behind. Lag never makes an answer wrong — every proof comes from one replicated snapshot, so
a lagging replica serves an older, still verifiable epoch — but past ``--max-replica-lag``
the replica reports itself unready so a load balancer sends clients elsewhere.

Both numbers are measured on demand and cached for ``CACHE_SECONDS``: readiness probes and
metric scrapes ask often, and the writer must not be hammered by its replicas.
"""

from __future__ import annotations

import logging
import math
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, Final

import httpx

log = logging.getLogger("glasskey.server.replica")

#: Seconds a measurement is reused (probes every second would otherwise each query both).
CACHE_SECONDS: Final = 1.0
#: Seconds to wait for the writer's ``/readyz``; slower means "unknown", never a hang.
WRITER_TIMEOUT: Final = 1.0

#: One row: in recovery?, replayed everything received?, seconds since the last replayed
#: commit, is the WAL receiver streaming? (NULLs on a primary, which has no replay.)
LAG_SQL: Final = (
    "SELECT pg_is_in_recovery(), "
    "COALESCE(pg_last_wal_receive_lsn() = pg_last_wal_replay_lsn(), FALSE), "
    "EXTRACT(EPOCH FROM (clock_timestamp() - pg_last_xact_replay_timestamp()))::float8, "
    "EXISTS (SELECT 1 FROM pg_stat_wal_receiver WHERE status = 'streaming')"
)


@dataclass(frozen=True, slots=True)
class ReplicaLag:
    """``seconds``: 0 when caught up with a streaming writer (or promoted), else the age of
    the last replayed commit (None: unknown, e.g. SQLite). ``epochs``: the writer's signed
    epoch minus ours (None: writer unknown or unreachable)."""

    in_recovery: bool
    seconds: float | None
    epochs: int | None
    local_epoch: int
    writer_epoch: int | None

    def to_json_dict(self) -> dict[str, Any]:
        seconds = None if self.seconds is None else round(self.seconds, 3)
        return {
            "in_recovery": self.in_recovery,
            "lag_seconds": seconds,
            "lag_epochs": self.epochs,
            "epoch": self.local_epoch,
            "writer_epoch": self.writer_epoch,
        }


def lag_seconds(row: Sequence[Any]) -> tuple[bool, float | None]:
    """(in recovery, lag in seconds) from one ``LAG_SQL`` row."""
    in_recovery, replayed_all, since_replay, streaming = row
    if not in_recovery:
        return False, 0.0  # a primary (or a promoted standby) is its own writer
    if replayed_all and streaming:
        return True, 0.0  # everything the writer sent is applied; an idle writer is no lag
    if since_replay is None:
        return True, math.inf  # nothing replayed since start-up and not streaming
    return True, max(0.0, float(since_replay))


class ReplicaMonitor:
    """Measures a replica's lag: ``query`` runs SQL on its database (None: not PostgreSQL),
    ``local_epoch`` is the epoch it serves, ``writer_url`` the writer it follows."""

    def __init__(
        self,
        query: Callable[[str], list[tuple[Any, ...]]] | None,
        local_epoch: Callable[[], int],
        writer_url: str | None,
        *,
        client: httpx.Client | None = None,
    ) -> None:
        self._query = query
        self._local_epoch = local_epoch
        self._writer_url = writer_url.rstrip("/") if writer_url else None
        self._client = client or httpx.Client(timeout=WRITER_TIMEOUT)
        self._lock = threading.Lock()
        self._cached: tuple[float, ReplicaLag] | None = None

    def close(self) -> None:
        self._client.close()

    def status(self) -> ReplicaLag:
        with self._lock:
            now = time.monotonic()
            if self._cached is not None and now - self._cached[0] < CACHE_SECONDS:
                return self._cached[1]
            lag = self._measure()
            self._cached = (now, lag)
            return lag

    def _measure(self) -> ReplicaLag:
        in_recovery, seconds = False, None
        if self._query is not None:
            in_recovery, seconds = lag_seconds(self._query(LAG_SQL)[0])
        local = self._local_epoch()
        writer = self._writer_epoch()
        epochs = None if writer is None else max(0, writer - local)
        return ReplicaLag(in_recovery, seconds, epochs, local, writer)

    def _writer_epoch(self) -> int | None:
        if self._writer_url is None:
            return None
        try:
            answer = self._client.get(f"{self._writer_url}/readyz")
            epoch = answer.json().get("epoch") if answer.status_code == 200 else None
        except (httpx.HTTPError, ValueError, AttributeError) as exc:
            log.debug("writer readiness unavailable: %s", exc)
            return None
        return epoch if isinstance(epoch, int) else None


__all__ = ["LAG_SQL", "ReplicaLag", "ReplicaMonitor", "lag_seconds"]
