"""``POST /api/transparency/gossip``: clients drop the checkpoints they saw elsewhere.

Why the log accepts them: an honest log that receives a checkpoint signed with its own key
that is *not* in its tree has learnt that its key signs a second history (a stolen key, or a
compromised replica showing some users a fork). It answers with its own view (so the client
can compare) and keeps the foreign checkpoint as evidence, in a bounded table, with a loud
log line and a metric. Nothing a client sends changes the tree or what is served.
"""

from __future__ import annotations

import hashlib
import logging
import time
from dataclasses import dataclass

from glasskey.core.errors import ConstraintViolation, MalformedError, SignatureError, Unavailable
from glasskey.log.profile import open_checkpoint
from glasskey.server._db import ServiceDB
from glasskey.server._metrics import Metrics
from glasskey.server._rootlog import CheckpointRecord, RootLog

log = logging.getLogger("glasskey.server.gossip")

#: Foreign checkpoints kept as evidence at most (the oldest are kept: the first is the proof).
MAX_STORED = 1000


@dataclass(frozen=True, slots=True)
class GossipAnswer:
    """``consistent``: in our tree; ``fork``: our key signed another root at that size;
    ``ahead``: larger than our tree (a replica lagging, or a fork: we cannot tell yet)."""

    status: str
    size: int
    head: CheckpointRecord


class GossipDesk:
    def __init__(self, rootlog: RootLog, db: ServiceDB, metrics: Metrics) -> None:
        self.rootlog = rootlog
        self.db = db
        self.metrics = metrics

    def receive(self, note: str) -> GossipAnswer:
        try:
            opened = open_checkpoint(note, self.rootlog.origin, self.rootlog.verifier_key())
        except (MalformedError, SignatureError) as exc:
            raise ConstraintViolation(f"not a checkpoint signed by this log: {exc}") from None
        self.rootlog.refresh()
        head = self.rootlog.latest_checkpoint()
        if head is None:
            raise Unavailable("no signed checkpoint yet")
        if opened.size > self.rootlog.size:
            status = "ahead"
        elif opened.size == 0 or self.rootlog.root(opened.size) == opened.root:
            status = "consistent"
        else:
            status = "fork"
            self.metrics.inc("gossip_forks")
            log.error(
                "gossip: a checkpoint of size %d signed by this log's key is not in its tree "
                "(root %s): the log key signs another history; stored as evidence",
                opened.size, opened.root.hex(),
            )  # fmt: skip
        if status != "consistent":
            self._store(note, opened.size, status)
        return GossipAnswer(status, opened.size, head)

    def _store(self, note: str, size: int, status: str) -> None:
        (count,) = self.db.query("SELECT COUNT(*) FROM glasskey_gossip", ())[0]
        if int(count) >= MAX_STORED:
            return
        with self.db.transaction():
            self.db.execute(
                "INSERT INTO glasskey_gossip (note_sha256, note, size, status, received_at) "
                "VALUES (?, ?, ?, ?, ?) ON CONFLICT DO NOTHING",
                (hashlib.sha256(note.encode()).digest(), note, size, status, time.time()),
            )
