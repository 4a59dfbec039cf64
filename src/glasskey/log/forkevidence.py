"""Self-contained, offline-checkable evidence that a log showed two incompatible views.

Why a file: a fork proven on one phone is worth little unless anyone can re-check it later
without trusting the phone, the log or glasskey's servers. The evidence holds only signed and
hashed material:

* the log's pinned verifier key and origin;
* two checkpoint notes, verbatim, each signed by that key;
* when their sizes differ, an RFC 6962 consistency proof from the smaller size to the larger
  checkpoint, with the root it implies for the smaller size (``prefix_root``).

It proves a fork when both notes verify under the key and either the sizes are equal and the
roots differ, or the proof ties the larger signed root to a ``prefix_root`` that differs from
the smaller checkpoint's signed root. Everything else is *not* a proof (a refused
verification raises a typed error; nothing is ever "probably a fork").

Format (JSON object, UTF-8)::

    {"format": "glasskey-fork-evidence/v1", "origin": ..., "log_key": <vkey>,
     "checkpoints": [<note>, <note>],
     "consistency": null | {"from": m, "to": n, "prefix_root": <b64>, "proof": [<b64>...]}}
"""

from __future__ import annotations

import base64
import json
from dataclasses import dataclass
from typing import Any

from glasskey.core.errors import ConsistencyError, MalformedError
from glasskey.log.note import b64decode_strict
from glasskey.log.profile import OpenedCheckpoint, open_checkpoint
from glasskey.log.rfc6962 import HASH_SIZE, node_hash, verify_consistency

FORMAT = "glasskey-fork-evidence/v1"
#: Refuse larger files before parsing (two notes and 63 hashes are a few KiB).
MAX_EVIDENCE_BYTES = 256 * 1024


@dataclass(frozen=True, slots=True)
class PrefixProof:
    """The larger checkpoint's tree at ``from_size`` has root ``prefix_root`` (by ``proof``)."""

    from_size: int
    to_size: int
    prefix_root: bytes
    proof: tuple[bytes, ...]


@dataclass(frozen=True, slots=True)
class ForkEvidence:
    origin: str
    log_key: str
    checkpoints: tuple[str, str]
    consistency: PrefixProof | None = None

    def to_json(self) -> str:
        consistency: dict[str, Any] | None = None
        if self.consistency is not None:
            c = self.consistency
            consistency = {
                "from": c.from_size,
                "to": c.to_size,
                "prefix_root": base64.b64encode(c.prefix_root).decode("ascii"),
                "proof": [base64.b64encode(h).decode("ascii") for h in c.proof],
            }
        body = {
            "format": FORMAT,
            "origin": self.origin,
            "log_key": self.log_key,
            "checkpoints": list(self.checkpoints),
            "consistency": consistency,
        }
        return json.dumps(body, indent=2, ensure_ascii=False) + "\n"


@dataclass(frozen=True, slots=True)
class ProvenFork:
    """What verified evidence establishes: two signed heads of one log that cannot both be."""

    origin: str
    first: OpenedCheckpoint
    second: OpenedCheckpoint


def _field(body: dict[str, Any], name: str, kind: type) -> Any:
    value = body.get(name)
    if not isinstance(value, kind) or isinstance(value, bool):
        raise MalformedError(f"fork evidence field {name!r} is missing or not a {kind.__name__}")
    return value


def _hash(text: Any, what: str) -> bytes:
    if not isinstance(text, str):
        raise MalformedError(f"{what} is not a base64 string")
    raw = b64decode_strict(text, what)
    if len(raw) != HASH_SIZE:
        raise MalformedError(f"{what} is not a {HASH_SIZE}-byte hash")
    return raw


def parse_fork_evidence(data: bytes | str) -> ForkEvidence:
    """Parse evidence strictly (``MalformedError``); it is not verified yet."""
    if len(data) > MAX_EVIDENCE_BYTES:
        raise MalformedError(f"fork evidence is larger than {MAX_EVIDENCE_BYTES} bytes")
    try:
        body = json.loads(data)
    except (UnicodeDecodeError, ValueError):
        raise MalformedError("fork evidence is not JSON") from None
    if not isinstance(body, dict):
        raise MalformedError("fork evidence is not a JSON object")
    if body.get("format") != FORMAT:
        raise MalformedError(f"fork evidence format is not {FORMAT!r}")
    notes = _field(body, "checkpoints", list)
    if len(notes) != 2 or not all(isinstance(n, str) for n in notes):
        raise MalformedError("fork evidence needs exactly two checkpoint notes")
    raw = body.get("consistency")
    consistency: PrefixProof | None = None
    if raw is not None:
        if not isinstance(raw, dict):
            raise MalformedError("fork evidence 'consistency' is not an object")
        proof = _field(raw, "proof", list)
        if len(proof) > 64:
            raise MalformedError("fork evidence consistency proof is too long")
        consistency = PrefixProof(
            _field(raw, "from", int),
            _field(raw, "to", int),
            _hash(raw.get("prefix_root"), "prefix_root"),
            tuple(_hash(h, f"proof hash {i}") for i, h in enumerate(proof)),
        )
    return ForkEvidence(
        _field(body, "origin", str), _field(body, "log_key", str), (notes[0], notes[1]),
        consistency,
    )  # fmt: skip


def implied_prefix_root(
    size1: int, size2: int, proof: tuple[bytes, ...], root2: bytes
) -> bytes | None:
    """The root at ``size1`` that a consistency proof to ``(size2, root2)`` implies, if any.

    Only when ``size1`` is not a power of two does the proof itself carry the old tree (for a
    power of two the old root is an input), and only a proof that reproduces ``root2`` says
    anything about that tree. None otherwise.
    """
    if not 0 < size1 < size2 or size1 & (size1 - 1) == 0 or not proof:
        return None
    path = list(proof)
    fn, sn = size1 - 1, size2 - 1
    while fn & 1:
        fn >>= 1
        sn >>= 1
    old = new = bytes(path[0])
    for c in path[1:]:
        if sn == 0:
            return None
        if fn & 1 or fn == sn:
            old, new = node_hash(c, old), node_hash(c, new)
            while not fn & 1 and fn:
                fn >>= 1
                sn >>= 1
        else:
            new = node_hash(new, c)
        fn >>= 1
        sn >>= 1
    if sn != 0 or new != root2:
        return None
    try:
        verify_consistency(size1, size2, proof, old, root2)
    except ConsistencyError:
        return None
    return old


def verify_fork_evidence(evidence: ForkEvidence | bytes | str) -> ProvenFork:
    """Check evidence offline; return the proven fork or raise.

    ``MalformedError``: unreadable; ``SignatureError``: a note is not signed by the log key
    (for its origin); ``ConsistencyError``: the notes are signed but do not prove a fork
    (same head, or the sizes differ and no valid prefix proof shows a different root).
    """
    if not isinstance(evidence, ForkEvidence):
        evidence = parse_fork_evidence(evidence)
    first, second = (
        open_checkpoint(note, evidence.origin, evidence.log_key) for note in evidence.checkpoints
    )
    if first.size == second.size:
        if first.root == second.root:
            raise ConsistencyError("the two checkpoints have the same size and root: no fork")
        return ProvenFork(evidence.origin, first, second)
    small, large = (first, second) if first.size < second.size else (second, first)
    c = evidence.consistency
    if c is None:
        raise ConsistencyError(
            f"checkpoints of sizes {small.size} and {large.size} need a consistency proof"
        )
    if (c.from_size, c.to_size) != (small.size, large.size):
        raise ConsistencyError(
            f"the proof is for sizes {c.from_size}→{c.to_size}, not {small.size}→{large.size}"
        )
    verify_consistency(c.from_size, c.to_size, c.proof, c.prefix_root, large.root)
    if c.prefix_root == small.root:
        raise ConsistencyError(f"checkpoint {large.size} extends checkpoint {small.size}: no fork")
    return ProvenFork(evidence.origin, first, second)


__all__ = [
    "FORMAT",
    "MAX_EVIDENCE_BYTES",
    "ForkEvidence",
    "PrefixProof",
    "ProvenFork",
    "implied_prefix_root",
    "parse_fork_evidence",
    "verify_fork_evidence",
]
