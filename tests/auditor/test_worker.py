"""The verification worker over real audit blobs from glasskey's Directory.

Checked: advancing ``last_verified_epoch`` over real proofs; a missing blob is absence (no
evidence, resumes when it appears); a tampered blob stops advancing with evidence while
signatures stay valid; equivocation in the log directory; restart in the middle; two workers
racing; the HTTP source (streaming, 404, S3 listing).
"""

from __future__ import annotations

import hashlib
import threading
from pathlib import Path

import httpx
import pytest

from glasskey.auditor._service import Identity
from glasskey.auditor._worker import (
    BlobMissing,
    HttpSource,
    VerificationWorker,
    default_verify_blob,
)
from glasskey.core.akd.audit import format_audit_blob_name
from glasskey.core.errors import AppendOnlyProofError
from glasskey.core.plexi import AuditorConfiguration, SignatureResponse
from glasskey.directory._blobs import FolderBlobStore
from glasskey.directory._directory import Directory
from tests.auditor.conftest import Env

ADMIN = Identity(operator=True)
N = 6


class Crash(BaseException):
    """Stands in for the process dying mid-verification."""


@pytest.fixture(scope="module")
def log_dir(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, list[bytes]]:
    folder = tmp_path_factory.mktemp("blobs")
    with Directory.in_memory(
        "whatsapp_v1", vrf_seed=bytes(32), blob_store=FolderBlobStore(folder)
    ) as directory:
        roots = [directory.epoch_root(0)]
        for epoch in range(1, N + 1):
            batch = [(f"u{epoch}-{i}".encode(), f"v{epoch}".encode()) for i in range(12)]
            roots.append(directory.publish(batch).root_hash)
    return folder, roots


def blob_name(roots: list[bytes], epoch: int) -> str:
    return format_audit_blob_name(epoch, roots[epoch - 1], roots[epoch])


def setup_namespace(env: Env, folder: Path, roots: list[bytes], name: str = "wa") -> None:
    env.auditor.create_namespace(
        {"name": name, "signature_version": 1, "log_directory": str(folder)}, ADMIN
    )
    for epoch in range(1, N + 1):
        env.auditor.publish(name, {"epoch": epoch, "digest": roots[epoch].hex()}, ADMIN)


def copy_blobs(src: Path, dst: Path) -> Path:
    for path in src.rglob("*"):
        if path.is_file():
            target = dst / path.relative_to(src)
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(path.read_bytes())
    return dst


def test_verifies_real_blobs_and_advances(env: Env, log_dir: tuple[Path, list[bytes]]) -> None:
    folder, roots = log_dir
    setup_namespace(env, folder, roots)
    worker = VerificationWorker(env.store, clock=env.clock)
    progress = worker.run_once()["wa"]
    assert (progress.verified, progress.stopped, progress.waiting_for) == (N - 1, False, None)
    lve = env.client.get("/namespaces/wa/last-verified-epoch").json()
    assert lve["epoch"] == N
    assert lve["start_hash"] == roots[1].hex()  # the batch started after the root epoch
    assert lve["end_hash"] == roots[N].hex()
    assert lve["timestamp"] == env.clock.now
    assert env.client.get("/namespaces/wa").json()["last_verified_epoch"] == N
    assert worker.run_once()["wa"].verified == 0  # idempotent


def test_missing_blob_is_absence_not_evidence(
    env: Env, log_dir: tuple[Path, list[bytes]], tmp_path: Path
) -> None:
    src, roots = log_dir
    folder = copy_blobs(src, tmp_path / "copy")
    missing = folder / blob_name(roots, 4)
    data = missing.read_bytes()
    missing.unlink()
    setup_namespace(env, folder, roots)
    worker = VerificationWorker(env.store)
    progress = worker.run_once()["wa"]
    assert (progress.verified, progress.waiting_for) == (2, blob_name(roots, 4))
    assert env.client.get("/namespaces/wa").json()["last_verified_epoch"] == 3
    assert env.client.get("/namespaces/wa/evidence").json() == {"evidence": []}
    missing.write_bytes(data)
    assert worker.run_once()["wa"].verified == 3
    assert env.client.get("/namespaces/wa").json()["last_verified_epoch"] == N


def test_tampered_blob_stops_with_evidence(
    env: Env, log_dir: tuple[Path, list[bytes]], tmp_path: Path
) -> None:
    src, roots = log_dir
    folder = copy_blobs(src, tmp_path / "copy")
    bad = folder / blob_name(roots, 4)
    tampered = bytearray(bad.read_bytes())
    tampered[-1] ^= 0x01
    bad.write_bytes(bytes(tampered))
    setup_namespace(env, folder, roots)
    worker = VerificationWorker(env.store, clock=env.clock)
    progress = worker.run_once()["wa"]
    assert (progress.verified, progress.stopped) == (2, True)
    info = env.client.get("/namespaces/wa").json()
    assert info["last_verified_epoch"] == 3
    error = info["verification_error"]
    assert error["epoch"] == 4
    assert error["blob"] == blob_name(roots, 4)
    assert error["kind"] in ("invalid_proof", "malformed")
    assert error["blob_sha256"] == hashlib.sha256(bytes(tampered)).hexdigest()
    assert error["detected_at"] == env.clock.now
    assert error["reason"]
    assert env.client.get("/namespaces/wa/evidence").json()["evidence"] == [error]
    # Stays stopped, even though later blobs are fine and the bad one is repaired.
    bad.write_bytes((src / blob_name(roots, 4)).read_bytes())
    assert worker.run_once()["wa"].stopped
    assert env.client.get("/namespaces/wa").json()["last_verified_epoch"] == 3
    # Signatures already issued stay valid, and signing continues.
    keys = AuditorConfiguration.from_json_obj(env.client.get("/info").json()).keys
    for epoch in range(1, N + 1):
        body = env.client.get(f"/namespaces/wa/audits/{epoch}").json()
        SignatureResponse.from_json_obj(body).verify(keys)


def test_equivocation_in_log_directory(
    env: Env, log_dir: tuple[Path, list[bytes]], tmp_path: Path
) -> None:
    src, roots = log_dir
    folder = copy_blobs(src, tmp_path / "copy")
    other = folder / format_audit_blob_name(5, roots[4], b"\x77" * 32)
    other.parent.mkdir(parents=True, exist_ok=True)
    other.write_bytes(b"\x00")
    setup_namespace(env, folder, roots)
    progress = VerificationWorker(env.store).run_once()["wa"]
    assert (progress.verified, progress.stopped) == (3, True)
    error = env.client.get("/namespaces/wa").json()["verification_error"]
    assert (error["epoch"], error["kind"]) == (5, "equivocation")
    assert error["blob"] == format_audit_blob_name(5, roots[4], b"\x77" * 32)
    assert roots[5].hex() in error["reason"]


def test_restart_in_the_middle_resumes(env: Env, log_dir: tuple[Path, list[bytes]]) -> None:
    folder, roots = log_dir
    setup_namespace(env, folder, roots)
    real = default_verify_blob()
    calls: list[str] = []

    def crashing(name: str, data: bytes) -> None:
        calls.append(name)
        if name.startswith("4/"):
            raise Crash()
        real(name, data)

    with pytest.raises(Crash):
        VerificationWorker(env.store, verify_blob=crashing).run_once()
    assert env.client.get("/namespaces/wa").json()["last_verified_epoch"] == 3
    # A new process: fresh store connection, fresh worker.
    restarted: list[str] = []

    def recording(name: str, data: bytes) -> None:
        restarted.append(name)
        real(name, data)

    second = env.make_auditor()
    VerificationWorker(second.store, verify_blob=recording).run_once()
    assert restarted == [blob_name(roots, e) for e in range(4, N + 1)]
    assert env.client.get("/namespaces/wa").json()["last_verified_epoch"] == N


def test_injected_verifier_failure_records_reason(
    env: Env, log_dir: tuple[Path, list[bytes]]
) -> None:
    folder, roots = log_dir
    setup_namespace(env, folder, roots)

    def fake(name: str, data: bytes) -> None:
        if name.startswith("3/"):
            raise AppendOnlyProofError("epoch 3: expected hash does not match")

    VerificationWorker(env.store, verify_blob=fake).run_once()
    [evidence] = env.client.get("/namespaces/wa/evidence").json()["evidence"]
    assert evidence["kind"] == "invalid_proof"
    assert evidence["reason"] == "epoch 3: expected hash does not match"
    assert env.client.get("/namespaces/wa").json()["last_verified_epoch"] == 2


def test_two_workers_race_without_skipping(env: Env, log_dir: tuple[Path, list[bytes]]) -> None:
    folder, roots = log_dir
    setup_namespace(env, folder, roots)
    workers = [VerificationWorker(env.make_auditor().store) for _ in range(2)]
    threads = [threading.Thread(target=w.run_once) for w in workers]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    for w in workers:
        w.run_once()
    assert env.client.get("/namespaces/wa").json()["last_verified_epoch"] == N
    assert env.client.get("/namespaces/wa/evidence").json() == {"evidence": []}


def test_http_source() -> None:
    payload = b"x" * (3 << 20)
    name = format_audit_blob_name(7, b"\x01" * 32, b"\x02" * 32)
    seen: list[str] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request.headers["user-agent"])
        if request.url.path == f"/logs/{name}":
            return httpx.Response(200, content=payload)
        if request.url.params.get("list-type") == "2":
            xml = f"<ListBucketResult><Key>{name}</Key><Key>7/aa/bb</Key></ListBucketResult>"
            return httpx.Response(200, text=xml)
        return httpx.Response(404)

    source = HttpSource("https://cdn.example/logs/", transport=httpx.MockTransport(handler))
    assert source.fetch(name) == payload
    with pytest.raises(BlobMissing):
        source.fetch(format_audit_blob_name(8, b"\x01" * 32, b"\x02" * 32))
    assert source.names_for_epoch(7) == [name, "7/aa/bb"]
    assert seen[0].startswith("glasskey-auditor/")
    source.close()
