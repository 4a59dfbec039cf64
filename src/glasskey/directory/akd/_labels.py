"""VRF evaluation for node labels and lookup proofs, spread over a process pool for big batches.

Publishing costs one VRF evaluation per new leaf, and storing the proofs lookups serve costs
two more per new version; at ~0.1-0.2 ms each that is the floor of publish throughput. On a
multi-core machine a pool of worker processes (each holding its own copy of the VRF key,
handed over once at start-up, never logged) divides that time.

A worker exits when the process that made its pool dies, even by SIGKILL or the OOM killer:
``concurrent.futures`` workers would otherwise wait on their queue forever as orphans, each
holding a copy of the VRF key and the memory of a Python process.

With the native extension (glasskey.core._native) there is no pool: a batch runs on threads
inside the extension, without the GIL, at a third of the pure-Python cost per evaluation.
"""

from __future__ import annotations

import multiprocessing
import os
import threading
import time
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor
from typing import Final, TypeVar

from glasskey.core._native import vrf as native_vrf
from glasskey.core.ecvrf import VrfSecretKey

#: Below this many evaluations the pool's IPC costs more than it saves.
POOL_THRESHOLD: Final = 512

_worker_key: VrfSecretKey | None = None
R = TypeVar("R")


#: How often a worker checks that the process that made its pool is still its parent.
PARENT_CHECK_SECONDS: Final = 0.5


def _init_worker(seed: bytes, parent: int) -> None:
    global _worker_key
    _worker_key = VrfSecretKey(seed)
    threading.Thread(target=_exit_with_parent, args=(parent,), daemon=True).start()


def _exit_with_parent(parent: int) -> None:
    """Exit at once when ``parent`` is no longer this process's parent (it died: the worker
    was handed to init or a subreaper). Polling works on every platform the pool runs on,
    unlike Linux's PR_SET_PDEATHSIG."""
    while os.getppid() == parent:
        time.sleep(PARENT_CHECK_SECONDS)
    os._exit(0)


def _outputs(alphas: list[bytes]) -> list[bytes]:
    assert _worker_key is not None
    return _worker_key.labels(alphas)


def _proofs(alphas: list[bytes]) -> list[bytes]:
    assert _worker_key is not None
    return _worker_key.proofs(alphas)


def _evaluations(alphas: list[bytes]) -> list[tuple[bytes, bytes]]:
    assert _worker_key is not None
    return _worker_key.evaluations(alphas)


class LabelComputer:
    """Maps VRF inputs (alphas) to 32-byte node labels, in-process or with a pool."""

    def __init__(self, key: VrfSecretKey, workers: int | None = None) -> None:
        self._key = key
        self._workers = workers if workers is not None else (os.cpu_count() or 1)
        self._pool: ProcessPoolExecutor | None = None

    def labels(self, alphas: list[bytes]) -> list[bytes]:
        """The 32-byte node label (truncated VRF output) of each alpha."""
        return self._map(VrfSecretKey.labels, _outputs, alphas)

    def proofs(self, alphas: list[bytes]) -> list[bytes]:
        """The 80-byte VRF proof of each alpha."""
        return self._map(VrfSecretKey.proofs, _proofs, alphas)

    def evaluations(self, alphas: list[bytes]) -> list[tuple[bytes, bytes]]:
        """(80-byte proof, 32-byte node label) of each alpha."""
        return self._map(VrfSecretKey.evaluations, _evaluations, alphas)

    def _map(
        self,
        batch: Callable[[VrfSecretKey, list[bytes], int], list[R]],
        in_worker: Callable[[list[bytes]], list[R]],
        alphas: list[bytes],
    ) -> list[R]:
        if native_vrf is not None:
            # Native batches run on threads without the GIL: no processes, no IPC.
            return batch(self._key, alphas, self._workers)
        if self._workers <= 1 or len(alphas) < POOL_THRESHOLD:
            return batch(self._key, alphas, 1)
        if self._pool is None:
            self._pool = ProcessPoolExecutor(
                max_workers=self._workers,
                mp_context=multiprocessing.get_context("spawn"),
                initializer=_init_worker,
                initargs=(self._key.seed_bytes(), os.getpid()),
            )
        size = -(-len(alphas) // (self._workers * 4))
        chunks = [alphas[i : i + size] for i in range(0, len(alphas), size)]
        out: list[R] = []
        for part in self._pool.map(in_worker, chunks):
            out.extend(part)
        return out

    def close(self) -> None:
        if self._pool is not None:
            self._pool.shutdown(cancel_futures=True)
            self._pool = None
