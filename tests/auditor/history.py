"""A log directory of real audit blobs: what an auditor fetches from a glasskey log."""

from __future__ import annotations

from pathlib import Path

from glasskey.directory._blobs import FolderBlobStore
from glasskey.directory._directory import Directory


def write_history(folder: Path, epochs: int, per_epoch: int = 10) -> list[bytes]:
    """Publish ``epochs`` epochs, their blobs written to ``folder``; the roots, where
    ``roots[0]`` is the empty tree's (the start of the first epoch's proof)."""
    with Directory.in_memory(
        "whatsapp_v1", vrf_seed=bytes(32), blob_store=FolderBlobStore(folder)
    ) as directory:
        roots = [directory.epoch_root(0)]
        for epoch in range(1, epochs + 1):
            batch = [(f"u{epoch}-{i}".encode(), f"v{epoch}".encode()) for i in range(per_epoch)]
            roots.append(directory.publish(batch).root_hash)
    return roots
