"""Driver for the akd interop harness (``interop/akd``, a Rust CLI built on crates.io ``akd``).

* ``build()`` compiles ``akd-interop`` once (``cargo build --release --locked``) into a target
  directory outside the repository: ``$GLASSKEY_INTEROP_CACHE/akd-target`` (default
  ``~/.cache/glasskey-interop/akd-target``).
* ``GLASSKEY_AKD_VERSION`` (``0.12.0``, the default, or ``0.13.0``; ``run.sh`` sets it from
  ``AKD_VERSION``) picks the published akd to build against: the same ``src/main.rs`` with
  ``Cargo.toml`` + ``Cargo.lock`` (0.12.0) or ``v0_13/Cargo.toml`` + ``v0_13/Cargo.lock``
  (0.13.0), each in its own target directory (``akd-target``, ``akd-0.13-target``).
* ``Akd`` runs its sub-commands (``generate``, ``verify-*``, ``tamper-sweep``, ``decode``).
* Schedules: the upstream test-vector schedule, seeded random schedules, and
  ``expected_histories`` (akd's publish semantics, spec 11.2) to know what proofs must say.
* glasskey adapters: one small function per glasskey entry point the tests use (CLI, core
  verifiers, ``Directory``), so a renamed API is a one-line fix here.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import random
import shutil
import subprocess
import sys
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
REPO = HERE.parents[1]
CACHE_DIR = Path(
    os.environ.get("GLASSKEY_INTEROP_CACHE") or Path.home() / ".cache" / "glasskey-interop"
)
#: akd version -> (manifest, target directory under CACHE_DIR). One Rust source for all.
AKD_BUILDS = {
    "0.12.0": (HERE / "Cargo.toml", "akd-target"),
    "0.13.0": (HERE / "v0_13" / "Cargo.toml", "akd-0.13-target"),
}


def _akd_version(text: str) -> str:
    version = {"0.12": "0.12.0", "0.13": "0.13.0"}.get(text, text)
    if version not in AKD_BUILDS:
        raise ValueError(f"GLASSKEY_AKD_VERSION={text!r}: expected one of {', '.join(AKD_BUILDS)}")
    return version


AKD_VERSION = _akd_version(os.environ.get("GLASSKEY_AKD_VERSION") or "0.12.0")
MANIFEST_PATH = AKD_BUILDS[AKD_VERSION][0]
TARGET_DIR = CACHE_DIR / AKD_BUILDS[AKD_VERSION][1]
BINARY = TARGET_DIR / "release" / "akd-interop"

VECTORS = Path(os.environ.get("GLASSKEY_VECTORS") or REPO.parent / "shared" / "vectors")

#: akd's ``HardCodedAkdVRF`` secret key and its public key (spec 5.2).
TEST_VRF_SEED = bytes.fromhex("c9afa9d845ba75166b5c215767b1d6934e50c3db36e89b127b8a622b120f6721")
TEST_VRF_PUBLIC = bytes.fromhex("f6ec49c8085f4d4be69db8e248bf11ce288026f5b8c5f6599defe58303d0702d")
CONFIGS = ("whatsapp_v1", "experimental")

Batch = list[tuple[bytes, bytes]]
Schedule = list[Batch]


# -- building ---------------------------------------------------------------------------------


class CargoMissing(RuntimeError):
    """No ``cargo`` on this machine: the interop tests skip (visibly)."""


class BuildFailed(RuntimeError):
    """``cargo build`` failed: the interop tests fail."""


def find_cargo() -> str | None:
    found = shutil.which("cargo")
    if found:
        return found
    home = Path(os.environ.get("CARGO_HOME") or Path.home() / ".cargo") / "bin" / "cargo"
    return str(home) if home.exists() else None


@contextlib.contextmanager
def _build_lock() -> Iterator[None]:
    CACHE_DIR.mkdir(parents=True, exist_ok=True)
    with open(CACHE_DIR / "akd-build.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # pytest-xdist workers build one at a time
        try:
            yield
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)


def binary_path(version: str) -> Path:
    return CACHE_DIR / AKD_BUILDS[version][1] / "release" / "akd-interop"


def built_binary(version: str) -> Path | None:
    """The harness binary of another akd version if some earlier run built it (brought up to
    date by cargo, which costs ~10 s after an edit of main.rs), else None (no cold build)."""
    return build(version) if binary_path(version).exists() else None


@cache
def build(version: str = AKD_VERSION) -> Path:
    """Build (or reuse) the harness binary for ``version``; returns its path. Cached per
    process."""
    cargo = find_cargo()
    if cargo is None:
        raise CargoMissing("cargo is not installed; install Rust (rustup) to run akd interop")
    manifest, target = AKD_BUILDS[version]
    binary = binary_path(version)
    env = dict(os.environ, CARGO_TARGET_DIR=str(CACHE_DIR / target))
    cmd = [cargo, "build", "--release", "--locked", "--manifest-path", str(manifest)]
    with _build_lock():
        started = time.monotonic()
        proc = subprocess.run(cmd, env=env, capture_output=True, text=True, check=False)
        elapsed = time.monotonic() - started
    if proc.returncode != 0:
        raise BuildFailed(
            f"{' '.join(cmd)} failed (exit {proc.returncode}) after {elapsed:.1f}s:\n"
            f"{proc.stderr[-6000:]}"
        )
    if not binary.exists():
        raise BuildFailed(f"cargo succeeded but {binary} does not exist")
    return binary


# -- running the harness ------------------------------------------------------------------


@dataclass
class Run:
    returncode: int
    stdout: str
    stderr: str

    def json(self) -> Any:
        return json.loads(self.stdout)


def _config_args(config: str, domain_label: str | None) -> list[str]:
    args = ["--config", config]
    if domain_label is not None:
        args += ["--domain-label", domain_label]
    return args


@dataclass
class Generated:
    """The output folder of ``akd-interop generate``."""

    root: Path
    manifest: dict[str, Any]

    @property
    def latest_epoch(self) -> int:
        return int(self.manifest["latest_epoch"])

    def root_hash(self, epoch: int | None = None) -> bytes:
        epoch = self.latest_epoch if epoch is None else epoch
        return bytes.fromhex(self.manifest["root_hashes"][epoch])

    @property
    def vrf_public_key(self) -> bytes:
        return bytes.fromhex(self.manifest["vrf_public_key"])

    @property
    def labels(self) -> list[bytes]:
        return [bytes.fromhex(h) for h in self.manifest["labels"]]

    def proof_path(self, label: bytes, kind: str, epoch: int | None = None) -> Path:
        """``kind``: lookup, history_complete, history_most_recent_<n>."""
        per_epoch = self.manifest["epochs"]
        if epoch is not None and str(epoch) in per_epoch:
            files = per_epoch[str(epoch)]
        elif epoch is None or epoch == self.latest_epoch:
            files = self.manifest["files"]
        else:
            raise KeyError(f"no proofs for epoch {epoch} (generate with every_epoch=True)")
        return self.root / files[label.hex()][kind]

    def proof(self, label: bytes, kind: str, epoch: int | None = None) -> bytes:
        return self.proof_path(label, kind, epoch).read_bytes()

    def audit_blobs(self) -> list[tuple[str, Path]]:
        return [(b["name"], self.root / b["file"]) for b in self.manifest["audit_blobs"]]

    def audit_ranges(self) -> list[tuple[int, int, list[bytes], Path]]:
        return [
            (r["start"], r["end"], [bytes.fromhex(h) for h in r["hashes"]], self.root / r["file"])
            for r in self.manifest["audit_ranges"]
        ]


class Akd:
    """The built ``akd-interop`` binary."""

    def __init__(self, binary: Path) -> None:
        self.binary = binary

    def run(self, *args: str | os.PathLike[str]) -> Run:
        proc = subprocess.run(
            [str(self.binary), *map(str, args)], capture_output=True, text=True, check=False
        )
        return Run(proc.returncode, proc.stdout, proc.stderr)

    def check(self, *args: str | os.PathLike[str]) -> Run:
        run = self.run(*args)
        if run.returncode != 0:
            raise AssertionError(f"akd-interop {args[0]} exited {run.returncode}: {run.stderr}")
        return run

    def generate(
        self,
        config: str,
        schedule: Schedule,
        out: Path,
        *,
        domain_label: str | None = None,
        most_recent: Sequence[int] = (1,),
        every_epoch: bool = False,
        audit: bool = True,
        tombstones: Sequence[tuple[bytes, int]] = (),
    ) -> Generated:
        """Run ``akd-interop generate``; ``tombstones``: (label, epoch) pairs whose values akd's
        storage replaces with the empty TOMBSTONE after the schedule (spec 6.4)."""
        out.mkdir(parents=True, exist_ok=True)
        schedule_file = out / "schedule.json"
        schedule_file.write_text(json.dumps(schedule_to_json(schedule)))
        args: list[str] = [
            "generate",
            *_config_args(config, domain_label),
            "--schedule",
            str(schedule_file),
            "--out",
            str(out),
            "--most-recent",
            ",".join(map(str, most_recent)),
        ]
        if every_epoch:
            args.append("--every-epoch")
        if not audit:
            args.append("--no-audit")
        if tombstones:
            args += ["--tombstone", ",".join(f"{lb.hex()}@{e}" for lb, e in tombstones)]
        self.check(*args)
        return Generated(out, json.loads((out / "manifest.json").read_text()))

    def _client(
        self,
        command: str,
        config: str,
        vrf_pk: bytes,
        root: bytes,
        epoch: int,
        label: bytes,
        proof: Path,
        domain_label: str | None,
    ) -> list[str]:
        return [
            command,
            *_config_args(config, domain_label),
            "--vrf-pk",
            vrf_pk.hex(),
            "--root",
            root.hex(),
            "--epoch",
            str(epoch),
            "--label-hex",
            label.hex(),
            "--proof",
            str(proof),
        ]

    def verify_lookup(
        self,
        config: str,
        vrf_pk: bytes,
        root: bytes,
        epoch: int,
        label: bytes,
        proof: Path,
        domain_label: str | None = None,
    ) -> Run:
        return self.run(
            *self._client("verify-lookup", config, vrf_pk, root, epoch, label, proof, domain_label)
        )

    def verify_history(
        self,
        config: str,
        vrf_pk: bytes,
        root: bytes,
        epoch: int,
        label: bytes,
        proof: Path,
        params: str | int,
        domain_label: str | None = None,
        allow_missing: bool = False,
    ) -> Run:
        args = self._client(
            "verify-history", config, vrf_pk, root, epoch, label, proof, domain_label
        )
        args += ["--complete"] if params == "complete" else ["--most-recent", str(params)]
        if allow_missing:
            args.append("--allow-missing-values")
        return self.run(*args)

    def verify_audit(
        self, config: str, hashes: Sequence[bytes], proof: Path, domain_label: str | None = None
    ) -> Run:
        return self.run(
            "verify-audit",
            *_config_args(config, domain_label),
            "--hashes",
            ",".join(h.hex() for h in hashes),
            "--proof",
            proof,
        )

    def verify_audit_blob(
        self, config: str, blob_name: str, proof: Path, domain_label: str | None = None
    ) -> Run:
        return self.run(
            "verify-audit-blob",
            *_config_args(config, domain_label),
            "--blob-name",
            blob_name,
            "--proof",
            proof,
        )

    def tamper_sweep(self, kind: str, args: Sequence[str], masks: str = "01") -> dict[str, Any]:
        result: dict[str, Any] = self.check(
            "tamper-sweep", "--kind", kind, "--masks", masks, *args
        ).json()
        return result

    def decode(self, kind: str, proof: Path) -> dict[str, Any]:
        result: dict[str, Any] = self.check("decode", "--kind", kind, "--proof", proof).json()
        return result


def results_of(run: Run) -> list[tuple[int, int, bytes]]:
    """(epoch, version, value) triples from a verify-lookup / verify-history JSON answer."""
    data = run.json()
    items = data if isinstance(data, list) else [data]
    return [(r["epoch"], r["version"], bytes.fromhex(r["value_hex"])) for r in items]


# -- schedules ----------------------------------------------------------------------------


def schedule_to_json(schedule: Schedule) -> list[list[list[str]]]:
    return [[[label.hex(), value.hex()] for label, value in batch] for batch in schedule]


def vector_schedule(epochs: int = 49) -> Schedule:
    """akd's test-vector generator schedule (spec 15)."""
    schedule: Schedule = []
    for epoch in range(1, epochs + 1):
        schedule.append(
            [
                (str(idx).encode(), f"{idx},{epoch}".encode())
                for idx in (1, 2, 4, 8, 16)
                if epoch % idx == 0
            ]
        )
    return schedule


def interop_seed() -> int:
    """``GLASSKEY_INTEROP_SEED``: an integer, or ``random`` for a fresh one (default fixed)."""
    text = os.environ.get("GLASSKEY_INTEROP_SEED", "20261123")
    if text == "random":
        return random.SystemRandom().randrange(2**32)
    return int(text)


def random_schedule(seed: int, *, epochs: int = 10, labels: int = 8) -> Schedule:
    """A randomized but reproducible schedule exercising what akd's publish does.

    Several labels with many versions (one "hot" label updated every epoch, so past and future
    markers both appear), ASCII and binary labels of different lengths, republishing the current
    value (a silent no-op), and one batch made only of no-ops (which must not create an epoch).
    Labels and values are never empty (glasskey's directory refuses those; see edge_schedule).
    """
    rng = random.Random(seed)
    pool: list[bytes] = [b"hot", b"+15550000001"]
    while len(pool) < labels:
        if rng.random() < 0.5:
            pool.append(f"user-{rng.randrange(10**6)}@example.org".encode())
        else:
            pool.append(rng.randbytes(rng.randrange(1, 40)))
    pool = list(dict.fromkeys(pool))
    current: dict[bytes, bytes] = {}
    schedule: Schedule = []
    noop_index = epochs // 2
    for i in range(epochs):
        if i == noop_index and current:
            batch = [(label, value) for label, value in list(current.items())[:3]]
        else:
            chosen = [b"hot", *rng.sample(pool[1:], rng.randrange(1, min(6, len(pool))))]
            batch = []
            for label in chosen:
                if label in current and rng.random() < 0.2:
                    value = current[label]  # no-op republish
                else:
                    value = rng.randbytes(rng.randrange(1, 48))
                batch.append((label, value))
        rng.shuffle(batch)
        for label, value in batch:
            current[label] = value
        schedule.append(batch)
    return schedule


def edge_schedule() -> Schedule:
    """Things akd 0.12 accepts that a verifier must handle: an empty value, an empty, a 1-byte
    and a long label, a long value, a rejected batch (duplicate label), an all-no-op batch.
    (glasskey's Directory refuses empty labels and values by design; only its verifiers are
    run on this schedule.)"""
    return [
        [(b"a", b"x")],  # one leaf: root with a single child
        [(b"a", b"y"), (b"b", b"z")],
        [(b"dup", b"1"), (b"dup", b"2")],  # rejected as a whole by akd
        [(b"a", b"y")],  # no-op only: no new epoch
        [(b"empty-value", b""), (b"L" * 300, b"V" * 5000), (b"", b"empty label")],
        [(b"\x00", b"\x00"), (b"empty-value", b"now set")],
    ]


@dataclass
class LabelHistory:
    """What akd's publish semantics (spec 11.2) make of a schedule."""

    epochs: list[int] = field(default_factory=list)  # schedule index -> resulting epoch
    rejected: list[int] = field(default_factory=list)  # indices of batches rejected whole
    # label -> [(epoch, version, value)], oldest first
    versions: dict[bytes, list[tuple[int, int, bytes]]] = field(default_factory=dict)

    def at(self, label: bytes, epoch: int) -> list[tuple[int, int, bytes]]:
        """The label's versions visible at ``epoch``, newest first (akd's result order)."""
        return [v for v in reversed(self.versions.get(label, [])) if v[0] <= epoch]


def expected_histories(schedule: Schedule) -> LabelHistory:
    out = LabelHistory()
    epoch = 0
    for index, batch in enumerate(schedule):
        labels = [label for label, _ in batch]
        if len(set(labels)) != len(labels):
            out.rejected.append(index)
            out.epochs.append(epoch)
            continue
        changes = []
        for label, value in batch:
            history = out.versions.get(label, [])
            if history and history[-1][2] == value:
                continue
            changes.append((label, value, len(history) + 1))
        if changes:
            epoch += 1
            for label, value, version in changes:
                out.versions.setdefault(label, []).append((epoch, version, value))
        out.epochs.append(epoch)
    return out


# -- upstream vectors -----------------------------------------------------------------------


@dataclass(frozen=True)
class AkdVector:
    vrf_public_key: bytes
    epoch_hash: bytes
    epoch: int
    label: bytes
    lookup_proof: bytes
    history_most_recent_1: bytes
    history_complete: bytes


def load_vector(config: str) -> AkdVector:
    import yaml

    path = VECTORS / "akd" / f"{config}.yaml"
    docs = list(yaml.safe_load_all(path.read_text()))
    if docs[0]["configuration"] != config:
        raise ValueError(f"{path} is for {docs[0]['configuration']}, not {config}")
    return AkdVector(
        vrf_public_key=bytes.fromhex(str(docs[1])),
        epoch_hash=bytes.fromhex(str(docs[2])),
        epoch=int(docs[3]),
        label=bytes.fromhex(str(docs[4])),
        lookup_proof=bytes.fromhex(str(docs[5])),
        history_most_recent_1=bytes.fromhex(str(docs[6])),
        history_complete=bytes.fromhex(str(docs[7])),
    )


# -- glasskey adapters ------------------------------------------------------------------------
# One function per glasskey entry point. Tests call only these.


def glasskey_cli(*args: str | os.PathLike[str]) -> Run:
    """Run ``glasskey <args>`` in a fresh process (the installed console script if present)."""
    script = Path(sys.executable).with_name("glasskey")
    if script.exists():
        cmd = [str(script)]
    else:
        cmd = [sys.executable, "-c", "from glasskey.cli import main; main()"]
    proc = subprocess.run(
        [*cmd, *map(str, args)], capture_output=True, text=True, check=False, cwd=REPO
    )
    return Run(proc.returncode, proc.stdout, proc.stderr)


def _gk_config_args(config: str, domain_label: str | None) -> list[str]:
    args = ["--config", config]
    if domain_label is not None:
        args += ["--domain-label", domain_label]
    return args


def gk_cli_verify_client(
    kind: str,
    config: str,
    vrf_pk: bytes,
    root: bytes,
    epoch: int,
    label: bytes,
    proof: Path,
    params: str | int | None = None,
    domain_label: str | None = None,
    allow_missing: bool = False,
) -> Run:
    """``glasskey verify lookup|history ... --json``; ``params`` "complete" or N for history."""
    args: list[str] = [
        "verify",
        kind,
        *_gk_config_args(config, domain_label),
        "--vrf-public-key",
        vrf_pk.hex(),
        "--root-hash",
        root.hex(),
        "--epoch",
        str(epoch),
        "--label-hex",
        label.hex(),
        "--proof",
        str(proof),
        "--json",
    ]
    if kind == "history":
        args += ["--complete"] if params == "complete" else ["--most-recent", str(params)]
    if allow_missing:
        args.append("--allow-missing-values")
    return glasskey_cli(*args)


def gk_cli_results(run: Run) -> list[tuple[int, int, bytes]] | None:
    """(epoch, version, value) triples from ``glasskey verify ... --json``; None if the output
    has an unexpected shape (the test then only checks the exit code)."""
    try:
        data = json.loads(run.stdout)
        items = data.get("versions", [data])
        return [(r["epoch"], r["version"], bytes.fromhex(r["value_hex"])) for r in items]
    except (ValueError, KeyError, TypeError):
        return None


def gk_cli_verify_audit(
    config: str,
    hashes: Sequence[bytes],
    end_epoch: int,
    proof: Path,
    domain_label: str | None = None,
) -> Run:
    """``glasskey verify audit``: two hashes as --start-hash/--end-hash (the contract),
    more as --hashes (multi-epoch AppendOnlyProof)."""
    args: list[str] = ["verify", "audit", *_gk_config_args(config, domain_label)]
    if len(hashes) == 2:
        args += ["--start-hash", hashes[0].hex(), "--end-hash", hashes[1].hex()]
    else:
        args += ["--hashes", ",".join(h.hex() for h in hashes)]
    args += ["--end-epoch", str(end_epoch), "--proof", str(proof)]
    return glasskey_cli(*args)


def _gk_configuration(config: str, domain_label: str | None) -> Any:
    from glasskey.core.akd.configuration import get_configuration

    return get_configuration(config, domain_label.encode() if domain_label else None)


def _gk_history_params(params: str | int) -> Any:
    from glasskey.core.akd.types import HistoryParams

    return HistoryParams.complete() if params == "complete" else HistoryParams(int(params))


def gk_core_verify_lookup(
    config: str,
    vrf_pk: bytes,
    root: bytes,
    epoch: int,
    label: bytes,
    proof: bytes,
    domain_label: str | None = None,
) -> tuple[int, int, bytes]:
    """glasskey.core.akd.verify.lookup_verify; raises on rejection."""
    from glasskey.core.akd.verify import lookup_verify

    r = lookup_verify(_gk_configuration(config, domain_label), vrf_pk, root, epoch, label, proof)
    return (r.epoch, r.version, r.value)


def gk_core_verify_history(
    config: str,
    vrf_pk: bytes,
    root: bytes,
    epoch: int,
    label: bytes,
    proof: bytes,
    params: str | int,
    domain_label: str | None = None,
    allow_missing: bool = False,
) -> list[tuple[int, int, bytes]]:
    from glasskey.core.akd.types import HistoryVerification
    from glasskey.core.akd.verify import key_history_verify

    rs = key_history_verify(
        _gk_configuration(config, domain_label),
        vrf_pk,
        root,
        epoch,
        label,
        proof,
        _gk_history_params(params),
        HistoryVerification.ALLOW_MISSING_VALUES if allow_missing else HistoryVerification.DEFAULT,
    )
    return [(r.epoch, r.version, r.value) for r in rs]


def gk_core_verify_audit(
    config: str, hashes: Sequence[bytes], proof: bytes, domain_label: str | None = None
) -> None:
    """AppendOnlyProof bytes against consecutive roots."""
    from glasskey.core.akd.audit import audit_verify

    audit_verify(_gk_configuration(config, domain_label), list(hashes), proof)


def gk_core_verify_audit_blob(
    config: str, name: str, proof: bytes, domain_label: str | None = None
) -> None:
    from glasskey.core.akd.audit import verify_audit_blob

    verify_audit_blob(_gk_configuration(config, domain_label), name, proof)


def gk_directory_new(config: str, domain_label: str | None = None) -> Any:
    """An in-memory glasskey Directory with akd's test VRF key."""
    from glasskey.directory import Directory

    return Directory.in_memory(
        config,
        vrf_seed=TEST_VRF_SEED,
        domain_label=domain_label.encode() if domain_label else None,
    )


def gk_directory_publish(directory: Any, batch: Batch) -> tuple[int, bytes]:
    result = directory.publish(batch)
    return (result.epoch, result.root_hash)


def gk_directory_lookup(directory: Any, label: bytes) -> bytes:
    """LookupProof protobuf bytes at the directory's latest epoch."""
    from glasskey.core.akd import wire

    proof, _ = directory.lookup(label)
    return bytes(wire.encode_lookup_proof(proof))


def gk_directory_history(directory: Any, label: bytes, params: str | int) -> bytes:
    """HistoryProof protobuf bytes; ``params`` "complete" or N (MostRecent)."""
    from glasskey.core.akd import wire

    proof, _ = directory.key_history(label, _gk_history_params(params))
    return bytes(wire.encode_history_proof(proof))


def gk_directory_audit(directory: Any, start: int, end: int) -> bytes:
    """AppendOnlyProof protobuf bytes for start -> end."""
    from glasskey.core.akd import wire

    return bytes(wire.encode_append_only_proof(directory.audit(start, end)))


def gk_directory_audit_blob(directory: Any, end_epoch: int) -> tuple[str, bytes]:
    """(WhatsApp blob name, SingleAppendOnlyProof bytes) for end_epoch - 1 -> end_epoch."""
    from glasskey.core.akd import wire

    name, proof = directory.single_audit(end_epoch)
    return name, bytes(wire.encode_single_append_only_proof(proof))


def gk_directory_rejects(exc: BaseException) -> bool:
    """Whether ``exc`` is glasskey's refusal of a bad publish (vs. a crash)."""
    try:
        from glasskey.core.errors import GlasskeyError
    except ImportError:  # pragma: no cover
        return False
    return isinstance(exc, GlasskeyError)


# -- malformed audit sets (spec 9.7.3 / 9.7.4, facebook/akd#495) ----------------------------

#: Whether this akd's auditor rejects an audit element set its tree rebuild would partly drop
#: (a duplicate label, a label that is a prefix of another, a zero-length label): akd 0.13.0
#: does (``AzksError::BatchInsertDroppedNode``, "Batch insert dropped a node"); 0.12.0 drops
#: those elements silently and may accept.
AKD_REJECTS_DROPPED_AUDIT_NODES = AKD_VERSION != "0.12.0"
AKD_DROPPED_NODE_MESSAGE = "Batch insert dropped a node"

#: An audit element: (label bits as a 256-bit int, label length in bits, value).
Element = tuple[int, int, bytes]


def full_label(first_byte: int) -> tuple[int, int]:
    """A 256-bit label whose first byte is ``first_byte`` (the rest zero)."""
    return first_byte << 248, 256


def _label_prefix(value: int, length: int) -> int:
    return value >> (256 - length) if length else 0


def akd012_root_hash(config: Any, elements: Sequence[Element]) -> bytes:
    """The root hash akd 0.12's auditor computes for ``elements`` (spec 9.7.3 verbatim): each
    element a pseudo-leaf, interior nodes labelled with their leaves' longest common prefix,
    and every element whose label is not strictly below the node being split dropped without
    a word. ``config`` is a ``glasskey.core.akd.configuration.Configuration`` (hashing only).
    """

    def label_value(value: int, length: int) -> bytes:
        return config.label_value(length.to_bytes(4, "big") + value.to_bytes(32, "big"))

    def side(q: tuple[int, int], e: Element) -> int | None:  # akd's get_prefix_ordering
        (qv, ql), (ev, el) = q, (e[0], e[1])
        if el <= ql or _label_prefix(ev, ql) != _label_prefix(qv, ql):
            return None
        return (ev >> (255 - ql)) & 1

    def lcp(es: Sequence[Element]) -> tuple[int, int]:
        value, length = es[0][0], es[0][1]
        for ev, el, _ in es[1:]:
            n = 0
            while n < min(length, el) and (value >> (255 - n)) & 1 == (ev >> (255 - n)) & 1:
                n += 1
            length = n
            value = (value >> (256 - n)) << (256 - n) if n else 0
        return value, length

    def child(es: list[Element]) -> tuple[bytes, bytes]:
        if not es:
            return config.empty_node_hash, config.empty_label_value
        if len(es) == 1:
            return es[0][2], label_value(es[0][0], es[0][1])
        q = lcp(es)
        return node(q, es), label_value(*q)

    def node(q: tuple[int, int], es: Sequence[Element]) -> bytes:
        left = child([e for e in es if side(q, e) == 0])
        right = child([e for e in es if side(q, e) == 1])
        return bytes(config.parent_hash(*left, *right))

    if not elements:
        return bytes(config.root_hash_from_value(config.empty_root_value))
    return bytes(config.root_hash_from_value(node((0, 0), elements)))


def _pb_varint(n: int) -> bytes:
    out = bytearray()
    while n >= 0x80:
        out.append(n & 0x7F | 0x80)
        n >>= 7
    out.append(n)
    return bytes(out)


def _pb_bytes(field_number: int, data: bytes) -> bytes:
    return _pb_varint(field_number << 3 | 2) + _pb_varint(len(data)) + data


def encode_single_audit(inserted: Sequence[Element], unchanged: Sequence[Element]) -> bytes:
    """``SingleAppendOnlyProof`` protobuf bytes, label values minimised as akd_core writes them
    (independent of glasskey's encoder, so any element set can be written)."""

    def element(e: Element) -> bytes:
        value, length, hash_value = e
        label = _pb_bytes(1, value.to_bytes(32, "big").rstrip(b"\0"))
        label += _pb_varint(2 << 3) + _pb_varint(length)
        return _pb_bytes(1, label) + _pb_bytes(2, hash_value)

    return b"".join(_pb_bytes(1, element(e)) for e in inserted) + b"".join(
        _pb_bytes(2, element(e)) for e in unchanged
    )


@dataclass
class AuditSet:
    """One crafted epoch transition ``end_epoch - 1 -> end_epoch`` for the auditor."""

    name: str
    dropped: bool  # akd 0.12's rebuild drops an element (so akd >= 0.13 rejects)
    canonical: bool  # every label has no bits set beyond its length (akd never checks)
    blob_name: str
    proof: bytes

    @property
    def malformed(self) -> bool:
        """What glasskey rejects (spec 9.7.4 and its canonical-label rule)."""
        return self.dropped or not self.canonical


def crafted_audit_sets(config_name: str, domain_label: str | None = None) -> list[AuditSet]:
    """Audit proofs whose roots are exactly what akd 0.12's rebuild computes (so 0.12 accepts
    them): an honest control, four element sets that rebuild drops from, and one with a
    non-canonical label (which no akd version checks; glasskey rejects it).

    * ``prefix-rewrite``: facebook/akd#495's own case. The start tree is root -> "0"
      (interior, one child) -> leaf 0^256 = v1; the proof lists "0" as unchanged and
      re-inserts 0^256 = v2. 0.12 drops "0" from the end rebuild, so the end root is that of
      root -> "0" -> 0^256 = v2: the leaf's value was rewritten, not appended.
    * ``duplicate-label``: the inserted leaf has the label of an unchanged leaf.
    * ``zero-length-label``: an extra unchanged element with a zero-length label (both
      rebuilds ignore it: the roots are honest, the element set is not).
    * ``prefix-in-start-set``: an unchanged element whose label is a prefix of another
      unchanged element's label (the start rebuild already drops it).
    * ``non-canonical-label``: the inserted label "1" (1 bit) has a second bit set beyond its
      length; nothing is dropped.

    Hashing is glasskey's ``Configuration`` (byte-equal to akd's, see the vector tests).
    """
    config = _gk_configuration(config_name, domain_label)
    end_epoch = 2
    zero, one = full_label(0x00), full_label(0x80)
    h1 = bytes(config.hash(b"v1"))
    h2 = bytes(config.hash(b"v2"))

    def leaf(label: tuple[int, int], raw: bytes, epoch: int) -> Element:
        return (*label, bytes(config.leaf_hash(raw, epoch)))

    # The unchanged "0" subtree of prefix-rewrite: an interior node whose only child is the
    # leaf 0^256 = v1 (inserted in epoch 1).
    shell_value = bytes(
        config.parent_hash(
            bytes(config.leaf_hash(h1, end_epoch - 1)),
            config.label_value((256).to_bytes(4, "big") + bytes(32)),
            config.empty_node_hash,
            config.empty_label_value,
        )
    )
    #: name, dropped, canonical, unchanged elements, inserted elements (raw values)
    cases = [
        ("honest", False, True, [leaf(zero, h1, 1)], [(*one, h2)]),
        ("prefix-rewrite", True, True, [(0, 1, shell_value)], [(*zero, h2)]),
        ("duplicate-label", True, True, [leaf(one, h1, 1)], [(*one, h2)]),
        ("zero-length-label", True, True, [leaf(zero, h1, 1), (0, 0, h1)], [(*one, h2)]),
        ("prefix-in-start-set", True, True, [(0, 1, h1), leaf(zero, h1, 1)], [(*one, h2)]),
        ("non-canonical-label", False, False, [leaf(zero, h1, 1)], [(0xC0 << 248, 1, h2)]),
    ]
    out = []
    for name, dropped, canonical, unchanged, inserted in cases:
        start = akd012_root_hash(config, unchanged)
        end = akd012_root_hash(
            config,
            [
                *unchanged,
                *((v, n, bytes(config.leaf_hash(raw, end_epoch))) for v, n, raw in inserted),
            ],
        )
        blob = f"{end_epoch}/{start.hex()}/{end.hex()}"
        proof = encode_single_audit(inserted, unchanged)
        out.append(AuditSet(name, dropped, canonical, blob, proof))
    return out


# -- a tiny protobuf walker (diagnostics for tamper sweeps) ----------------------------------

_SCHEMA: dict[str, dict[int, tuple[str, str | None]]] = {
    "NodeLabel": {1: ("label_val", None), 2: ("label_len", None)},
    "AzksElement": {1: ("label", "NodeLabel"), 2: ("value", None)},
    "SiblingProof": {
        1: ("label", "NodeLabel"),
        2: ("siblings", "AzksElement"),
        3: ("direction", None),
    },
    "MembershipProof": {
        1: ("label", "NodeLabel"),
        2: ("hash_val", None),
        3: ("sibling_proofs", "SiblingProof"),
    },
    "NonMembershipProof": {
        1: ("label", "NodeLabel"),
        2: ("longest_prefix", "NodeLabel"),
        3: ("longest_prefix_children", "AzksElement"),
        4: ("longest_prefix_membership_proof", "MembershipProof"),
    },
    "LookupProof": {
        1: ("epoch", None),
        2: ("value", None),
        3: ("version", None),
        4: ("existence_vrf_proof", None),
        5: ("existence_proof", "MembershipProof"),
        6: ("marker_vrf_proof", None),
        7: ("marker_proof", "MembershipProof"),
        8: ("freshness_vrf_proof", None),
        9: ("freshness_proof", "NonMembershipProof"),
        10: ("commitment_nonce", None),
    },
    "UpdateProof": {
        1: ("epoch", None),
        2: ("value", None),
        3: ("version", None),
        4: ("existence_vrf_proof", None),
        5: ("existence_proof", "MembershipProof"),
        6: ("previous_version_vrf_proof", None),
        7: ("previous_version_proof", "MembershipProof"),
        8: ("commitment_nonce", None),
    },
    "HistoryProof": {
        1: ("update_proofs", "UpdateProof"),
        2: ("past_marker_vrf_proofs", None),
        3: ("existence_of_past_marker_proofs", "MembershipProof"),
        4: ("future_marker_vrf_proofs", None),
        5: ("non_existence_of_future_marker_proofs", "NonMembershipProof"),
    },
    "SingleAppendOnlyProof": {
        1: ("inserted", "AzksElement"),
        2: ("unchanged_nodes", "AzksElement"),
    },
    "AppendOnlyProof": {1: ("proofs", "SingleAppendOnlyProof"), 2: ("epochs", None)},
}


class Truncated(ValueError):
    """A length prefix runs past the end of its enclosing message."""


def _varint(data: bytes, i: int) -> tuple[int, int]:
    value = shift = 0
    while True:
        if i >= len(data):
            raise Truncated("varint runs past the end")
        byte = data[i]
        i += 1
        value |= (byte & 0x7F) << shift
        shift += 7
        if byte < 0x80:
            return value, i


def field_map(data: bytes, message: str) -> dict[int, str]:
    """Byte offset -> human path of the field it belongs to (e.g. ``LookupProof.existence_proof
    .sibling_proofs[0].direction``). Raises ``Truncated`` if a length overruns its parent."""
    out: dict[int, str] = {}

    def walk(start: int, end: int, msg: str, path: str) -> None:
        i = start
        counts: dict[str, int] = {}
        while i < end:
            tag_start = i
            key, i = _varint(data, i)
            name, sub = _SCHEMA[msg].get(key >> 3, (f"field{key >> 3}", None))
            n = counts.get(name, 0)
            counts[name] = n + 1
            here = f"{path}.{name}[{n}]"
            wire_type = key & 7
            if wire_type == 0:
                value_start = i
                value, i = _varint(data, i)
                for j in range(tag_start, i):
                    out[j] = f"{here} tag" if j < value_start else f"{here} = {value}"
            elif wire_type == 2:
                length, i = _varint(data, i)
                if i + length > end:
                    raise Truncated(f"{here}: length {length} runs past the end of its parent")
                for j in range(tag_start, i):
                    out[j] = f"{here} tag/length"
                if sub is not None:
                    walk(i, i + length, sub, here)
                else:
                    for j in range(i, i + length):
                        out[j] = f"{here} byte {j - i}"
                i += length
            else:
                raise ValueError(f"unexpected wire type {wire_type} at {tag_start}")

    walk(0, len(data), message, message)
    return out


def classify_variant(original: bytes, message: str, offset: int, mask: int) -> str:
    """Why a tampered proof might still be accepted by akd (see interop/README.md):
    ``overrun`` (rust-protobuf accepts a final embedded message whose length runs past the end
    of the buffer), ``direction`` (akd masks SiblingProof.direction with 0x0F),
    ``top-sibling-label`` (sibling_proofs[0].label is never used by membership verification),
    or ``other: <field path>``."""
    tampered = bytearray(original)
    tampered[offset] ^= mask
    try:
        field_map(bytes(tampered), message)
    except Truncated:
        return "overrun"
    except (ValueError, KeyError):
        return "other: unparsable"
    path = field_map(original, message).get(offset, "?")
    if ".direction[" in path:
        return "direction"
    if path.endswith("label_len[0] = 0") and ".sibling_proofs[0].label[0]." in path:
        return "top-sibling-label"
    return f"other: {path}"
