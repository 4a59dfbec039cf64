"""Gossip: compare a checkpoint someone else saw with this client's verified view.

Why: a log showing two groups of users two different trees (a split view) is invisible to
each group alone. Users who hand each other the signed checkpoint they saw (attached to a
chat message, say) catch it: two checkpoints signed by the same log key that cannot both be
prefixes of one tree are a fork, and the two signed notes (plus a consistency proof when the
sizes differ) are evidence anyone can check offline (``glasskey.log.forkevidence``).

Outcomes, each distinct:

* the note is not a checkpoint signed by the pinned log key: ``InvalidGossip`` (anyone can
  write such a note; it says nothing about the log);
* same size, same root; or different sizes with a consistency proof from the server that
  verifies between the two: consistent (:class:`GossipResult`);
* same size, other root; or a proof that ties the larger signed root to another prefix than
  the smaller one: ``GossipFork`` (a ``ForkDetected``), with the evidence written to a file;
* different sizes and no proof that verifies, after retries: ``GossipUnverified``.

Pure functions; the clients make the requests (``GlasskeyClient.gossip``).
"""

from __future__ import annotations

import os
import time
from dataclasses import dataclass
from pathlib import Path

from glasskey.client._alerts import ForkDetected, InvalidGossip
from glasskey.client._state import Head, Trust
from glasskey.core.errors import ConsistencyError, MalformedError, SignatureError
from glasskey.log.forkevidence import ForkEvidence, PrefixProof, implied_prefix_root
from glasskey.log.profile import OpenedCheckpoint, open_checkpoint
from glasskey.log.rfc6962 import verify_consistency

#: How often a client asks the server for a consistency proof before giving up.
GOSSIP_RETRIES = 3


@dataclass(frozen=True, slots=True)
class GossipResult:
    """The other party's checkpoint is consistent with ours (same tree, or one extends the
    other, proven)."""

    mine_size: int
    theirs_size: int
    theirs: OpenedCheckpoint


class GossipFork(ForkDetected):
    """A proven fork: ``evidence`` (also written to ``evidence_path``) re-checks offline."""

    def __init__(self, message: str, evidence: ForkEvidence, evidence_path: Path | None) -> None:
        super().__init__(message)
        self.evidence = evidence
        self.evidence_path = evidence_path


def open_gossip(trust: Trust, note: str) -> OpenedCheckpoint:
    """The other party's checkpoint, verified under the pinned log key, or ``InvalidGossip``."""
    if not isinstance(note, str):
        raise InvalidGossip("gossip is the verbatim signed checkpoint note (text)")
    try:
        return open_checkpoint(note, trust.origin, trust.log_public_key)
    except (MalformedError, SignatureError) as exc:
        raise InvalidGossip(f"the checkpoint is not signed by the pinned log key: {exc}") from None


def write_evidence(evidence: ForkEvidence, directory: Path | None) -> Path | None:
    """Write the evidence file (mode 0644, never overwritten); None when no directory."""
    if directory is None:
        return None
    directory.mkdir(parents=True, exist_ok=True)
    stamp = time.strftime("%Y%m%dT%H%M%SZ", time.gmtime())
    for n in range(1000):
        path = directory / f"fork-evidence-{stamp}-{n}.json"
        try:
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644)
        except FileExistsError:
            continue
        with os.fdopen(fd, "w", encoding="utf-8") as out:
            out.write(evidence.to_json())
        return path
    return None


def same_size(
    trust: Trust, mine: Head, theirs: OpenedCheckpoint, note: str, directory: Path | None
) -> GossipResult:
    """Equal sizes: equal roots are consistent, other roots a proven fork."""
    if theirs.root == mine.log_root:
        return GossipResult(mine.size, theirs.size, theirs)
    evidence = ForkEvidence(trust.origin, trust.log_public_key, (mine.note, note))
    path = write_evidence(evidence, directory)
    raise GossipFork(
        f"split view: two signed checkpoints of size {mine.size} with different roots "
        f"({mine.log_root.hex()[:16]}… seen here, {theirs.root.hex()[:16]}… by the other party)",
        evidence,
        path,
    )


def with_proof(
    trust: Trust,
    mine: Head,
    theirs: OpenedCheckpoint,
    note: str,
    proof: tuple[bytes, ...],
    directory: Path | None,
) -> GossipResult | None:
    """Different sizes with the server's proof: consistent, a proven fork, or None (the proof
    proves nothing: ask again, then ``GossipUnverified``)."""
    ours = (mine.size, mine.log_root, mine.note)
    other = (theirs.size, theirs.root, note)
    (small_size, small_root, small_note), (large_size, large_root, large_note) = sorted(
        (ours, other), key=lambda head: head[0]
    )
    try:
        verify_consistency(small_size, large_size, proof, small_root, large_root)
    except ConsistencyError:
        prefix = implied_prefix_root(small_size, large_size, proof, large_root)
        if prefix is None or prefix == small_root:
            return None
        evidence = ForkEvidence(
            trust.origin, trust.log_public_key, (small_note, large_note),
            PrefixProof(small_size, large_size, prefix, proof),
        )  # fmt: skip
        path = write_evidence(evidence, directory)
        raise GossipFork(
            f"split view: the signed checkpoint of size {large_size} does not extend the "
            f"signed checkpoint of size {small_size} (its prefix has another root)",
            evidence,
            path,
        ) from None
    return GossipResult(mine.size, theirs.size, theirs)


__all__ = [
    "GOSSIP_RETRIES",
    "GossipFork",
    "GossipResult",
    "open_gossip",
    "same_size",
    "with_proof",
    "write_evidence",
]
