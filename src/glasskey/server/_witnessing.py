"""Getting the log's checkpoints cosigned by witnesses (c2sp.org/tlog-witness), off the
publishing path.

Why a thread per witness: a witness is another organisation's server; it may be slow, down
or refusing, and none of that may delay publishing or another witness. The publisher only
*wakes* these threads. Each one submits the newest signed checkpoint with a consistency proof
from the size the witness last cosigned; a ``409`` answer names the size the witness knows,
and the submission is rebuilt from there at once (first contact, or a witness restored from
a backup). Other failures back off exponentially (``retry_base`` doubling up to
``retry_max``). Every cosignature is verified under the witness's configured key before it
is stored; the served checkpoint then carries every stored cosignature of its size
(``RootLog`` attaches them), so a client can check a threshold of witnesses offline.

A log re-signs its head every ``checkpoint_refresh`` seconds; each re-signed checkpoint is
submitted too, so cosignature times stay fresh for clients that use them for ``max_age``.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import httpx

from glasskey.core.errors import ConsistencyError, MalformedError, SignatureError, UsageError
from glasskey.log.note import CosignatureV1Verifier, Note, parse_note, verify_signatures
from glasskey.log.witness import (
    MAX_RESPONSE_BYTES,
    AddCheckpoint,
    parse_signature_lines,
    parse_size_body,
    parse_witness_vkey,
)
from glasskey.server._rootlog import CheckpointRecord, RootLog

log = logging.getLogger("glasskey.server.witness")


class WitnessRefused(Exception):
    """A witness answered with an error (or garbage); the message says which."""


@dataclass(frozen=True, slots=True)
class WitnessConfig:
    """``VKEY@URL``: the witness's cosignature/v1 verifier key and its submission prefix."""

    verifier: CosignatureV1Verifier
    url: str

    @classmethod
    def parse(cls, text: str) -> WitnessConfig:
        vkey, sep, url = text.partition("@")
        if not sep or not url.startswith(("http://", "https://")):
            raise UsageError(
                f"--witness wants VKEY@URL (an http(s) submission prefix), got {text!r}"
            )
        try:
            verifier = parse_witness_vkey(vkey)
        except MalformedError as exc:
            raise UsageError(f"--witness key: {exc}") from None
        return cls(verifier, url.rstrip("/"))

    @property
    def name(self) -> str:
        return self.verifier.name


@dataclass(frozen=True, slots=True)
class WitnessStatus:
    """What ``/readyz`` and ``/metrics`` say about one witness."""

    name: str
    url: str
    cosigned_size: int | None
    log_size: int
    consecutive_failures: int
    total_failures: int
    last_error: str | None
    last_latency: float | None

    @property
    def lag(self) -> int:
        return self.log_size - (self.cosigned_size or 0)

    def to_json_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "url": self.url,
            "cosigned_size": self.cosigned_size,
            "log_size": self.log_size,
            "lag": self.lag,
            "consecutive_failures": self.consecutive_failures,
            "total_failures": self.total_failures,
            "last_error": self.last_error,
            "last_latency_seconds": self.last_latency,
        }


class WitnessSubmitter:
    """One witness's background submitter (see the module docstring)."""

    def __init__(
        self,
        config: WitnessConfig,
        rootlog: RootLog,
        *,
        is_leader: Callable[[], bool],
        retry_base: float = 1.0,
        retry_max: float = 60.0,
        timeout: float = 10.0,
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        self.config = config
        self.rootlog = rootlog
        self.is_leader = is_leader
        self.retry_base = retry_base
        self.retry_max = retry_max
        self._http = httpx.Client(timeout=timeout, transport=transport)
        self._known_size: int | None = None  # what the witness last told us it has
        self._submitted: tuple[int, float] | None = None
        self.failures = 0
        self.total_failures = 0
        self.last_error: str | None = None
        self.last_latency: float | None = None
        self._retry_at = 0.0
        self._stop = threading.Event()
        self._wake = threading.Event()
        self._thread: threading.Thread | None = None

    # -- one submission ---------------------------------------------------------------------------

    def status(self) -> WitnessStatus:
        return WitnessStatus(
            self.config.name, self.config.url, self.rootlog.cosigned_size(self.config.name),
            self.rootlog.size, self.failures, self.total_failures, self.last_error,
            self.last_latency,
        )  # fmt: skip

    def run_once(self) -> bool:
        """Submit the newest checkpoint if not done yet; True when it is cosigned now."""
        record = self.rootlog.latest_checkpoint()
        if record is None or self._submitted == (record.size, record.signed_at):
            return False
        started = time.perf_counter()
        try:
            self._submit(record)
        except (WitnessRefused, httpx.HTTPError) as exc:
            self._failed(exc)
            return False
        self.last_latency = time.perf_counter() - started
        self._submitted = (record.size, record.signed_at)
        self.failures = 0
        self.last_error = None
        return True

    def _submit(self, record: CheckpointRecord) -> None:
        note = parse_note(record.note)
        for _ in range(3):  # a 409 tells us the witness's size: rebuild the request from it
            old = self._known_size
            if old is None:
                old = self.rootlog.cosigned_size(self.config.name) or 0
            if old > record.size:
                raise WitnessRefused(
                    f"witness {self.config.name} has cosigned size {old}, larger than this "
                    f"log's {record.size}: it saw another view of this log, or the log was "
                    "rolled back"
                )
            proof = self.rootlog.consistency_proof(old, record.size)
            body = AddCheckpoint(old, tuple(proof), record.note).to_bytes()
            response = self._http.post(f"{self.config.url}/add-checkpoint", content=body)
            content = response.content[: MAX_RESPONSE_BYTES + 1]
            if response.status_code == 409 and response.headers.get("content-type", "").startswith(
                "text/x.tlog.size"
            ):
                try:
                    self._known_size = parse_size_body(content)
                except MalformedError as exc:
                    raise WitnessRefused(f"409 with an unreadable size: {exc}") from None
                continue
            if response.status_code != 200:
                reason = content[:200].decode("utf-8", "replace").strip()
                raise WitnessRefused(f"HTTP {response.status_code}: {reason}")
            self._store(note, content, record)
            return
        raise WitnessRefused("the witness kept answering 409 with another size")

    def _store(self, note: Note, content: bytes, record: CheckpointRecord) -> None:
        try:
            lines = parse_signature_lines(content)
            verified = verify_signatures(Note(note.text, lines), [self.config.verifier])
        except (MalformedError, SignatureError, UsageError) as exc:
            raise WitnessRefused(f"unusable cosignature: {exc}") from None
        if not verified:
            raise WitnessRefused("the answer has no cosignature by the configured witness key")
        self._known_size = record.size
        self.rootlog.add_cosignature(record.size, self.config.name, verified[-1].signature)

    def _failed(self, exc: Exception) -> None:
        self.failures += 1
        self.total_failures += 1
        self._known_size = None  # ask again: the witness may have moved or been restored
        self.last_error = str(exc)[:300]
        delay = min(self.retry_max, self.retry_base * 2 ** (self.failures - 1))
        self._retry_at = time.monotonic() + delay
        log.warning("witness %s: %s (retry in %.1fs)", self.config.name, self.last_error, delay)

    # -- background thread ------------------------------------------------------------------------

    def wake(self) -> None:
        self._wake.set()

    def start(self) -> None:
        if self._thread is None:
            self._thread = threading.Thread(
                target=self._run, name=f"glasskey-witness-{self.config.name}", daemon=True
            )
            self._thread.start()

    def _run(self) -> None:
        while not self._stop.is_set():
            if self.failures and time.monotonic() < self._retry_at:
                self._stop.wait(min(1.0, self._retry_at - time.monotonic()))
                continue
            if self.is_leader():
                try:
                    self.run_once()
                except (ConsistencyError, UsageError, OSError) as exc:  # never kill the thread
                    self._failed(exc)
            if self.failures:
                continue
            self._wake.wait(1.0)
            self._wake.clear()

    def stop(self, timeout: float = 10.0) -> None:
        self._stop.set()
        self._wake.set()
        if self._thread is not None:
            self._thread.join(timeout)
            self._thread = None
        self._http.close()


__all__ = ["WitnessConfig", "WitnessRefused", "WitnessStatus", "WitnessSubmitter"]
