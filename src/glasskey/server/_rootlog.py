"""The root log: every epoch's (epoch, root hash) as a leaf of an RFC 6962 Merkle tree.

Why a second log on top of AKD: an AKD epoch hash on its own says nothing about the epochs
before it; a client that remembers one epoch hash cannot tell whether a later one extends it.
The root log turns the sequence of epoch roots into an append-only Merkle tree whose signed
checkpoints (C2SP tlog-checkpoint notes) a client can compare — a consistency proof between
two checkpoints proves no epoch was rewritten, which is what catches forks and rollbacks.

Leaf ``i`` (0-based) is epoch ``i + 1``, encoded as a ``glasskey.log.leaf`` epoch-root leaf,
so the checkpoint of size ``n`` commits to epochs 1..n and its newest leaf is epoch ``n``.
Checkpoints are signed under the profile in ``glasskey.log.profile``, which clients verify.

Persistence: rows in ``glasskey_root_log`` (one per epoch) and ``glasskey_checkpoints`` (every
signed head). Only the elected publisher writes; every process reads. The tree's node hashes
are kept in memory (about 64 bytes per epoch) and rebuilt from the rows at start-up.
"""

from __future__ import annotations

import logging
import threading
import time
from dataclasses import dataclass
from typing import Any

from glasskey.core.errors import UsageError
from glasskey.directory import Directory
from glasskey.log.note import NoteSignature
from glasskey.log.profile import epoch_leaf_hash, sign_checkpoint, verifier_key
from glasskey.log.rfc6962 import MemoryHashStore, prove_consistency, prove_inclusion
from glasskey.log.witness import attach_signatures
from glasskey.server._db import ServiceDB

log = logging.getLogger("glasskey.server.rootlog")

#: Root-log sizes whose witness cosignatures are kept in memory (and attached when served):
#: proofs are served at the newest checkpoint, so only recent sizes are ever asked for.
COSIGNED_SIZES_KEPT = 1024


@dataclass(frozen=True, slots=True)
class CheckpointRecord:
    size: int
    signed_at: float
    note: str


class RootLogCorrupted(Exception):
    """The root log disagrees with the directory's epoch roots: refuse to serve or sign."""


class RootLog:
    def __init__(self, db: ServiceDB, signer: Any, origin: str) -> None:
        self.db = db
        self.signer = signer
        self.origin = origin
        self._lock = threading.RLock()
        self._tree = MemoryHashStore()
        self._epochs: list[tuple[bytes, float]] = []  # index i → (root hash, appended_at)
        self._by_root: dict[bytes, int] = {}
        self._checkpoints: dict[int, CheckpointRecord] = {}  # newest signature per size
        self._latest: CheckpointRecord | None = None
        self._last_refresh = 0.0
        # Witness cosignatures: size → witness name → signature line (newest per witness).
        self._cosigs: dict[int, dict[str, NoteSignature]] = {}
        self._cosigned: dict[str, int] = {}  # witness name → largest cosigned size
        self._cosigs_seen = -1.0
        self._cosigs_loaded = False
        self._attached: dict[int, tuple[tuple[float, int], CheckpointRecord]] = {}
        self._cosig_count = 0
        self.refresh(force=True)

    # -- reading --------------------------------------------------------------------------------

    @property
    def size(self) -> int:
        return self._tree.size

    def refresh(self, force: bool = False) -> None:
        """Load rows appended (by any process) since the last refresh; cheap when none."""
        now = time.monotonic()
        if not force and now - self._last_refresh < 0.05:
            return
        with self._lock:
            self._last_refresh = now
            rows = self.db.query(
                "SELECT idx, epoch, root_hash, appended_at FROM glasskey_root_log "
                "WHERE idx >= ? ORDER BY idx",
                (self.size,),
            )
            for idx, epoch, root_hash, appended_at in rows:
                if idx != self.size or epoch != idx + 1:
                    raise RootLogCorrupted(f"root log row {idx} is out of order (epoch {epoch})")
                self._append_memory(int(epoch), bytes(root_hash), float(appended_at))
            # ``>=``, not ``>``: checkpoint times are whole seconds, so the next epoch's
            # checkpoint may carry the same second as the newest one loaded (two epochs a
            # second); ``>`` skipped it for good, and every lookup at that epoch answered
            # 503 until a later second's checkpoint came. Rows loaded again are no-ops.
            since = self._latest.signed_at if self._latest else -1.0
            for size, signed_at, note in self.db.query(
                "SELECT size, signed_at, note FROM glasskey_checkpoints WHERE signed_at >= ? "
                "ORDER BY signed_at",
                (since,),
            ):
                self._remember(CheckpointRecord(int(size), float(signed_at), str(note)))
            if not self._cosigs_loaded:  # first load: each witness's progress, recent lines only
                self._cosigs_loaded = True
                for witness, size in self.db.query(
                    "SELECT witness, MAX(size) FROM glasskey_cosignatures GROUP BY witness", ()
                ):
                    self._cosigned[str(witness)] = int(size)
            for size, witness, line, stored_at in self.db.query(
                "SELECT size, witness, line, stored_at FROM glasskey_cosignatures "
                "WHERE stored_at >= ? AND size >= ? ORDER BY stored_at",
                (self._cosigs_seen, max(0, self.size - COSIGNED_SIZES_KEPT)),
            ):
                self._remember_cosignature(
                    int(size), str(witness), NoteSignature.from_line(str(line).rstrip("\n"))
                )
                self._cosigs_seen = max(self._cosigs_seen, float(stored_at))

    # -- witness cosignatures ---------------------------------------------------------------------

    def _remember_cosignature(self, size: int, witness: str, sig: NoteSignature) -> None:
        known = self._cosigs.setdefault(size, {})
        if known.get(witness) != sig:
            known[witness] = sig
            self._cosig_count += 1  # invalidates the attached-note cache
        self._cosigned[witness] = max(size, self._cosigned.get(witness, 0))
        while len(self._cosigs) > COSIGNED_SIZES_KEPT:  # proofs are served near the head
            oldest = min(self._cosigs)
            del self._cosigs[oldest]
            self._attached.pop(oldest, None)

    def add_cosignature(self, size: int, witness: str, sig: NoteSignature) -> None:
        """Store a *verified* witness cosignature of the checkpoint of ``size``."""
        with self._lock:
            stored_at = time.time()
            with self.db.transaction():
                self.db.execute(
                    "INSERT INTO glasskey_cosignatures (size, witness, line, stored_at) "
                    "VALUES (?, ?, ?, ?) ON CONFLICT (size, witness) DO UPDATE SET "
                    "line = excluded.line, stored_at = excluded.stored_at",
                    (size, witness, sig.to_line(), stored_at),
                )
            self._remember_cosignature(size, witness, sig)
            # Only the publisher stores cosignatures: its own rows need no re-reading.
            self._cosigs_seen = max(self._cosigs_seen, stored_at)

    def cosigned_size(self, witness: str) -> int | None:
        """The largest size ``witness`` has cosigned (None: never)."""
        return self._cosigned.get(witness)

    def cosignature_count(self, size: int) -> int:
        return len(self._cosigs.get(size, {}))

    def _with_cosignatures(self, record: CheckpointRecord | None) -> CheckpointRecord | None:
        """``record`` with every stored cosignature of its size attached (cached)."""
        if record is None:
            return None
        cosigs = self._cosigs.get(record.size)
        if not cosigs:
            return record
        key = (record.signed_at, self._cosig_count)
        cached = self._attached.get(record.size)
        if cached is not None and cached[0] == key:
            return cached[1]
        note = attach_signatures(record.note, [cosigs[name] for name in sorted(cosigs)])
        attached = CheckpointRecord(record.size, record.signed_at, note)
        self._attached[record.size] = (key, attached)
        return attached

    def _append_memory(self, epoch: int, root_hash: bytes, appended_at: float) -> None:
        self._tree.append(epoch_leaf_hash(epoch, root_hash))
        self._epochs.append((root_hash, appended_at))
        self._by_root.setdefault(root_hash, epoch)

    def _remember(self, record: CheckpointRecord) -> None:
        current = self._checkpoints.get(record.size)
        if current is None or record.signed_at >= current.signed_at:
            self._checkpoints[record.size] = record
        if self._latest is None or (record.size, record.signed_at) >= (
            self._latest.size,
            self._latest.signed_at,
        ):
            self._latest = record

    def latest_checkpoint(self) -> CheckpointRecord | None:
        """The newest signed checkpoint, with every witness cosignature of its size."""
        self.refresh()
        with self._lock:
            return self._with_cosignatures(self._latest)

    def checkpoint_for(self, size: int) -> CheckpointRecord | None:
        """The newest signed checkpoint of exactly ``size`` (proofs are served at the head)."""
        self.refresh()
        with self._lock:
            return self._with_cosignatures(self._checkpoints.get(size))

    def epoch_root(self, epoch: int) -> bytes:
        if not 1 <= epoch <= self.size:
            raise UsageError(f"epoch {epoch} is not in the root log (size {self.size})")
        return self._epochs[epoch - 1][0]

    def published_at(self, epoch: int) -> float | None:
        """When ``epoch`` entered the root log (Unix seconds): its publication time, or None
        for an epoch not (yet) in it."""
        with self._lock:
            if 1 <= epoch <= len(self._epochs):
                return self._epochs[epoch - 1][1]
        return None

    def epoch_of_root(self, root_hash: bytes) -> int | None:
        self.refresh()
        return self._by_root.get(root_hash)

    def recent(self, limit: int) -> list[tuple[int, bytes, float]]:
        with self._lock:
            start = max(0, self.size - limit)
            return [
                (i + 1, self._epochs[i][0], self._epochs[i][1])
                for i in range(self.size - 1, start - 1, -1)
            ]

    def root(self, size: int) -> bytes:
        with self._lock:
            return self._tree.root(size)

    def inclusion_proof(self, index: int, size: int) -> list[bytes]:
        with self._lock:
            if not 0 <= index < size <= self.size:
                raise UsageError(f"no leaf {index} in a root log of size {size}")
            return prove_inclusion(self._tree, index, size)

    def consistency_proof(self, size1: int, size2: int) -> list[bytes]:
        """RFC 6962 consistency proof; empty for ``size1`` 0 (nothing to prove from nothing)."""
        with self._lock:
            if not 0 <= size1 <= size2 <= self.size:
                raise UsageError(
                    f"no consistency proof from {size1} to {size2} (log size {self.size})"
                )
            if size1 == 0 or size1 == size2:
                return []
            return prove_consistency(self._tree, size1, size2)

    def verifier_key(self) -> str:
        return verifier_key(self.origin, self.signer.public_key)

    # -- writing (publisher only) ---------------------------------------------------------------

    def catch_up(self, directory: Directory) -> int:
        """Append every epoch the directory has and the log lacks; returns how many.

        Also checks that the newest logged root still matches the directory: if the database
        was restored from an older backup, the root log and directory disagree and signing
        a checkpoint over that would publish a fork — refuse loudly instead.
        """
        with self._lock:
            self.refresh(force=True)
            latest = directory.get_epoch_hash().epoch
            if latest < self.size:
                raise RootLogCorrupted(
                    f"the directory is at epoch {latest} but the root log has {self.size} "
                    "epochs: the database was rolled back; refusing to publish a fork"
                )
            if self.size and directory.epoch_root(self.size) != self.epoch_root(self.size):
                raise RootLogCorrupted(
                    f"epoch {self.size} has a different root in the directory than in the "
                    "root log; refusing to publish a fork"
                )
            rows = []
            now = time.time()
            for epoch in range(self.size + 1, latest + 1):
                rows.append((epoch - 1, epoch, directory.epoch_root(epoch), now))
            if not rows:
                return 0
            with self.db.transaction():
                self.db.executemany(
                    "INSERT INTO glasskey_root_log (idx, epoch, root_hash, appended_at) "
                    "VALUES (?, ?, ?, ?)",
                    rows,
                )
            for _, epoch, root_hash, appended_at in rows:
                self._append_memory(epoch, root_hash, appended_at)
            return len(rows)

    def sign_checkpoint(self) -> CheckpointRecord:
        """Sign the current head (size, root) with the log key and store the note."""
        with self._lock:
            signed_at = time.time()
            note = sign_checkpoint(
                self.signer, self.origin, self.size, self._tree.root(), int(signed_at)
            )
            record = CheckpointRecord(self.size, float(int(signed_at)), note)
            with self.db.transaction():
                self.db.execute(
                    "INSERT INTO glasskey_checkpoints (size, signed_at, note) VALUES (?, ?, ?) "
                    "ON CONFLICT DO NOTHING",
                    (record.size, record.signed_at, record.note),
                )
            self._remember(record)
            return record
