"""Locating and loading the shared test vectors (``../shared/vectors`` beside the checkout)."""

from __future__ import annotations

import os
from dataclasses import dataclass
from functools import cache
from pathlib import Path

import pytest
import yaml

VECTORS = Path(
    os.environ.get("GLASSKEY_VECTORS", Path(__file__).resolve().parents[2] / "shared" / "vectors")
)
AKD_TEST_VRF_SEED = bytes.fromhex(
    "c9afa9d845ba75166b5c215767b1d6934e50c3db36e89b127b8a622b120f6721"
)
AKD_TEST_VRF_PUBLIC = bytes.fromhex(
    "f6ec49c8085f4d4be69db8e248bf11ce288026f5b8c5f6599defe58303d0702d"
)


def vector_path(*parts: str) -> Path:
    path = VECTORS.joinpath(*parts)
    if not path.exists():
        pytest.fail(f"test vector {path} is missing (set GLASSKEY_VECTORS to the vectors folder)")
    return path


@dataclass(frozen=True)
class AkdVector:
    config_name: str
    vrf_public_key: bytes
    epoch_hash: bytes
    epoch: int
    label: bytes
    lookup_proof: bytes
    history_most_recent_1: bytes
    history_complete: bytes


@cache
def akd_vector(config_name: str) -> AkdVector:
    docs = list(yaml.safe_load_all(vector_path("akd", f"{config_name}.yaml").read_text()))
    meta = docs[0]
    assert meta["configuration"] == config_name
    return AkdVector(
        config_name=config_name,
        vrf_public_key=bytes.fromhex(docs[1]),
        epoch_hash=bytes.fromhex(docs[2]),
        epoch=int(docs[3]),
        label=bytes.fromhex(docs[4]),
        lookup_proof=bytes.fromhex(docs[5]),
        history_most_recent_1=bytes.fromhex(docs[6]),
        history_complete=bytes.fromhex(docs[7]),
    )


def vector_schedule(epochs: int = 49) -> list[list[tuple[bytes, bytes]]]:
    """The publish schedule of akd's test-vector generator (spec section 15)."""
    schedule = []
    for epoch in range(1, epochs + 1):
        batch = []
        for i in range(5):
            idx = 2**i
            if epoch % idx == 0:
                batch.append((str(idx).encode(), f"{idx},{epoch}".encode()))
        schedule.append(batch)
    return schedule
