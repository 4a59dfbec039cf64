"""Benchmark of glasskey.core verification (prints a table; not a test).

Run: ``.venv/bin/python bench/verify.py`` (after ``make install``). Uses the upstream akd
vectors from ../shared/vectors, so the figures are for real WhatsApp-shaped proofs.
"""

from __future__ import annotations

import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from glasskey.core.akd import wire
from glasskey.core.akd.configuration import get_configuration
from glasskey.core.akd.types import HistoryParams
from glasskey.core.akd.verify import key_history_verify, lookup_verify
from glasskey.core.ecvrf import VrfPublicKey, VrfSecretKey
from tests.vectors import AKD_TEST_VRF_SEED, akd_vector

GOALS = {"lookup verify (whatsapp_v1)": 1.5, "VRF verify": 0.6}


def measure(fn: Callable[[], object], min_time: float = 0.5) -> tuple[float, float, int]:
    """(median ms, p99 ms, calls) over at least ``min_time`` seconds."""
    fn()
    samples: list[float] = []
    deadline = time.perf_counter() + min_time
    while time.perf_counter() < deadline or len(samples) < 20:
        start = time.perf_counter()
        fn()
        samples.append((time.perf_counter() - start) * 1000)
    samples.sort()
    return statistics.median(samples), samples[int(len(samples) * 0.99) - 1], len(samples)


def _akd_rows(name: str) -> list[tuple[str, float, float, int]]:
    v = akd_vector(name)
    config = get_configuration(name)
    key = VrfPublicKey(v.vrf_public_key)
    lookup = wire.decode_lookup_proof(v.lookup_proof)
    complete = wire.decode_history_proof(v.history_complete)
    recent = wire.decode_history_proof(v.history_most_recent_1)
    root, epoch, label = v.epoch_hash, v.epoch, v.label
    return [
        (f"lookup verify ({name})",
         *measure(lambda: lookup_verify(config, key, root, epoch, label, lookup))),
        (f"lookup decode+verify, bytes ({name})",
         *measure(lambda: lookup_verify(config, v.vrf_public_key, root, epoch, label,
                                        v.lookup_proof))),
        (f"history verify Complete, 3 versions ({name})",
         *measure(lambda: key_history_verify(config, key, root, epoch, label, complete))),
        (f"history verify MostRecent(1) ({name})",
         *measure(lambda: key_history_verify(config, key, root, epoch, label, recent,
                                             HistoryParams.most_recent_n(1)))),
    ]  # fmt: skip


def main() -> None:
    rows: list[tuple[str, float, float, int]] = []
    for name in ("whatsapp_v1", "experimental"):
        rows.extend(_akd_rows(name))
    secret = VrfSecretKey(AKD_TEST_VRF_SEED)
    alpha = bytes(32)
    proof = secret.prove(alpha)
    public = VrfPublicKey(secret.public_key)
    rows.append(("VRF prove", *measure(lambda: secret.prove(alpha))))
    rows.append(("VRF verify", *measure(lambda: public.verify(proof, alpha))))
    config = get_configuration("whatsapp_v1")
    a, b = bytes(32), bytes(range(32))
    rows.append(("blake3 node hash (whatsapp parent)", *measure(
        lambda: config.parent_hash(a, b, b, a)
    )))  # fmt: skip
    print(f"{'benchmark':<52} {'median ms':>10} {'p99 ms':>10} {'calls':>8}  goal")
    print("-" * 92)
    for label, median, p99, calls in rows:
        goal = GOALS.get(label)
        verdict = "" if goal is None else f"<= {goal} ms {'OK' if median <= goal else 'MISSED'}"
        print(f"{label:<52} {median:>10.4f} {p99:>10.4f} {calls:>8}  {verdict}")


if __name__ == "__main__":
    main()
