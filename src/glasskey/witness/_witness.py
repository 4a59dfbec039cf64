"""The tlog-witness decision: cosign a checkpoint only if it extends what was cosigned before.

Every refusal is the status code c2sp.org/tlog-witness prescribes, with a one-line reason:

=====  ========================================================================================
400    unreadable request, or old size larger than the checkpoint size, or a proof from size 0
403    no signature by a configured key of the checkpoint's log verifies
404    the checkpoint's origin is not a configured log
409    old size is not the size last cosigned (body: that size, ``text/x.tlog.size``), or the
       same size with another root (a fork: never cosigned)
422    the consistency proof does not verify (also never cosigned)
=====  ========================================================================================

The check and the update of the stored head are one transaction (``WitnessStore.update``).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass

from glasskey.core.errors import ConsistencyError, MalformedError, SignatureError, UsageError
from glasskey.core.signing import Signer
from glasskey.log.checkpoint import Checkpoint
from glasskey.log.note import (
    CosignatureV1Verifier,
    Ed25519NoteVerifier,
    NoteVerifier,
    cosign_note,
    parse_vkey,
    verify_note,
)
from glasskey.log.rfc6962 import verify_consistency
from glasskey.log.witness import SIZE_CONTENT_TYPE, parse_add_checkpoint, signature_lines
from glasskey.witness._store import Head, WitnessStore

log = logging.getLogger("glasskey.witness")


@dataclass(frozen=True, slots=True)
class Answer:
    """An HTTP answer: status, content type, body."""

    status: int
    content_type: str
    body: bytes

    @classmethod
    def text(cls, status: int, message: str) -> Answer:
        return cls(status, "text/plain; charset=utf-8", (message + "\n").encode("utf-8"))


def log_verifiers(vkeys: Iterable[str]) -> dict[str, list[NoteVerifier]]:
    """Configured logs by origin; a log's origin is its key name (the C2SP convention)."""
    logs: dict[str, list[NoteVerifier]] = {}
    for vkey in vkeys:
        verifier = parse_vkey(vkey)
        if not isinstance(verifier, Ed25519NoteVerifier):
            raise UsageError(f"log key {verifier.name!r} must be an Ed25519 (type 0x01) key")
        logs.setdefault(verifier.name, []).append(verifier)
    return logs


class Witness:
    """A tlog-witness over ``store`` that cosigns as ``name`` with ``signer``."""

    def __init__(
        self,
        signer: Signer,
        name: str,
        logs: Mapping[str, list[NoteVerifier]],
        store: WitnessStore,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.signer = signer
        self.name = name
        self.logs = dict(logs)
        self.store = store
        self.clock = clock
        self.verifier = CosignatureV1Verifier(name, signer.public_key)

    def vkey(self) -> str:
        """The witness's verifier key, for logs' and clients' configuration."""
        return self.verifier.vkey()

    def add_checkpoint(self, body: bytes) -> Answer:
        try:
            request = parse_add_checkpoint(body)
            checkpoint, note = request.checkpoint()
        except (MalformedError, UsageError) as exc:
            return Answer.text(400, f"bad request: {exc}")
        verifiers = self.logs.get(checkpoint.origin)
        if verifiers is None:
            return Answer.text(404, f"unknown log {checkpoint.origin[:100]!r}")
        try:
            verify_note(note, verifiers)
        except SignatureError as exc:
            return Answer.text(403, f"checkpoint not signed by the log's key: {exc}")
        if request.old_size > checkpoint.size:
            return Answer.text(400, "old size is larger than the checkpoint size")
        if request.old_size == 0 and request.proof:
            return Answer.text(400, "a consistency proof from size 0 must be empty")

        def decide(head: Head | None) -> Head | Answer:
            known = head.size if head is not None else 0
            if request.old_size != known:
                return Answer(409, SIZE_CONTENT_TYPE, f"{known}\n".encode("ascii"))
            if head is not None and head.size > 0:
                try:
                    verify_consistency(
                        head.size, checkpoint.size, request.proof, head.root_hash,
                        checkpoint.root_hash,
                    )  # fmt: skip
                except ConsistencyError as exc:
                    if head.size == checkpoint.size:
                        log.warning("refused a fork of %s at size %d", head.origin, head.size)
                        return Answer.text(409, f"another root for cosigned size {head.size}")
                    log.warning("refused %s: %s", checkpoint.origin, exc)
                    return Answer.text(422, f"consistency proof does not verify: {exc}")
            now = int(self.clock())
            return Head(checkpoint.origin, checkpoint.size, checkpoint.root_hash,
                        request.note, now)  # fmt: skip

        outcome = self.store.update(checkpoint.origin, decide)
        if isinstance(outcome, Answer):
            return outcome
        cosigned = cosign_note(note, self.signer, self.name, outcome.cosigned_at)
        return Answer(200, "text/plain; charset=utf-8", signature_lines(cosigned.signatures[-1:]))

    def head(self, origin: str) -> Checkpoint | None:
        stored = self.store.head(origin)
        return None if stored is None else Checkpoint(origin, stored.size, stored.root_hash)
