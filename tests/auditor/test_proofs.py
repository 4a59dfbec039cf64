"""Verify before signing, over real audit blobs from glasskey's Directory.

Checked: each epoch is signed only after its proof from the previously signed epoch (the
empty tree first) verified, and ``last_verified_epoch`` moves with the signature; a missing
blob is absence (503, no evidence, signed once it appears); a wrong blob is evidence and
stops the namespace until the operator clears it (owners may not; the clearing is recorded);
equivocation in the log directory; a verified transition is not verified twice, and one
namespace runs one verification at a time; the HTTP source (streaming, 404, S3 listing).
"""

from __future__ import annotations

import hashlib
import threading
from pathlib import Path

import httpx
import pytest

from glasskey.auditor._proofs import ProofGate, ProofUnavailable, VerificationBusy
from glasskey.auditor._service import (
    Auditor,
    EvidenceRecorded,
    EvidenceUnresolved,
    Identity,
    owner_token_id,
)
from glasskey.auditor._sources import BlobMissing, HttpSource, default_verify_blob
from glasskey.core.akd.audit import format_audit_blob_name
from glasskey.core.errors import (
    AppendOnlyProofError,
    ConstraintViolation,
    MalformedError,
    NotFound,
    PermissionDenied,
)
from glasskey.core.plexi import AuditorConfiguration, SignatureResponse
from tests.auditor.conftest import Env
from tests.auditor.history import write_history

ADMIN = Identity(operator=True)
OWNER = Identity(operator=False, token_sha256=owner_token_id("log-token"))
N = 6


@pytest.fixture(scope="module")
def log_dir(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, list[bytes]]:
    folder = tmp_path_factory.mktemp("blobs")
    roots = write_history(folder, N, 12)
    return folder, roots


def blob_name(roots: list[bytes], epoch: int) -> str:
    return format_audit_blob_name(epoch, roots[epoch - 1], roots[epoch])


def copy_blobs(src: Path, dst: Path) -> Path:
    for path in src.rglob("*"):
        if path.is_file():
            target = dst / path.relative_to(src)
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(path.read_bytes())
    return dst


def verifying(env: Env, folder: Path, gate: ProofGate | None = None) -> Auditor:
    """An auditor with the real proof gate and a namespace ``wa`` owned by ``OWNER``."""
    auditor = env.make_auditor(proofs=gate or ProofGate.for_configuration())
    auditor.create_namespace(
        {"name": "wa", "signature_version": 1, "log_directory": str(folder),
         "owners": [OWNER.token_sha256]}, ADMIN,
    )  # fmt: skip
    return auditor


def publish(auditor: Auditor, roots: list[bytes], epoch: int) -> SignatureResponse:
    return auditor.publish("wa", {"epoch": epoch, "digest": roots[epoch].hex()}, OWNER)


def test_signs_each_epoch_after_its_proof_verified(
    env: Env, log_dir: tuple[Path, list[bytes]]
) -> None:
    folder, roots = log_dir
    auditor = verifying(env, folder)
    keys = AuditorConfiguration.from_json_obj(env.client.get("/info").json()).keys
    for epoch in range(1, N + 1):
        publish(auditor, roots, epoch).verify(keys)
        lve = env.client.get("/namespaces/wa/last-verified-epoch").json()
        assert (lve["epoch"], lve["start_hash"], lve["end_hash"]) == (
            epoch, roots[epoch - 1].hex(), roots[epoch].hex()
        )  # fmt: skip
        assert lve["timestamp"] == env.clock.now
    assert env.client.get("/namespaces/wa").json()["last_verified_epoch"] == N
    assert env.client.get("/namespaces/wa/evidence").json() == {"evidence": [], "cleared": []}


def test_missing_blob_is_absence_not_evidence(
    env: Env, log_dir: tuple[Path, list[bytes]], tmp_path: Path
) -> None:
    src, roots = log_dir
    folder = copy_blobs(src, tmp_path / "copy")
    missing = folder / blob_name(roots, 2)
    data = missing.read_bytes()
    missing.unlink()
    auditor = verifying(env, folder)
    publish(auditor, roots, 1)
    with pytest.raises(ProofUnavailable, match="not available yet"):
        publish(auditor, roots, 2)
    assert env.client.get("/namespaces/wa/audits/2").status_code == 404
    assert env.client.get("/namespaces/wa/evidence").json()["evidence"] == []
    missing.write_bytes(data)
    assert publish(auditor, roots, 2).epoch == 2


@pytest.mark.parametrize("bad_epoch", [1, 4])
def test_wrong_blob_is_evidence_and_stops_until_cleared(
    env: Env, log_dir: tuple[Path, list[bytes]], tmp_path: Path, bad_epoch: int
) -> None:
    src, roots = log_dir
    folder = copy_blobs(src, tmp_path / "copy")
    bad = folder / blob_name(roots, bad_epoch)
    genuine = bad.read_bytes()
    tampered = bytearray(genuine)
    tampered[-1] ^= 0x01
    bad.write_bytes(bytes(tampered))
    auditor = verifying(env, folder)
    for epoch in range(1, bad_epoch):
        publish(auditor, roots, epoch)
    with pytest.raises(EvidenceRecorded, match=f"epoch {bad_epoch} failed verification"):
        publish(auditor, roots, bad_epoch)
    info = env.client.get("/namespaces/wa").json()
    assert info.get("last_verified_epoch") == (bad_epoch - 1 or None)
    error = info["verification_error"]
    assert (error["epoch"], error["blob"]) == (bad_epoch, blob_name(roots, bad_epoch))
    assert error["kind"] in ("invalid_proof", "malformed")
    assert error["blob_sha256"] == hashlib.sha256(bytes(tampered)).hexdigest()
    assert error["detected_at"] == env.clock.now
    assert env.client.get(f"/namespaces/wa/audits/{bad_epoch}").status_code == 404
    # Stopped, even once the log serves a good proof.
    bad.write_bytes(genuine)
    with pytest.raises(EvidenceUnresolved):
        publish(auditor, roots, bad_epoch)
    # Only the operator clears, with a reason; the clearing stays on record.
    with pytest.raises(PermissionDenied):
        auditor.clear_evidence("wa", {"reason": "fixed"}, OWNER)
    with pytest.raises(MalformedError):
        auditor.clear_evidence("wa", {"reason": " "}, ADMIN)
    clearing = auditor.clear_evidence("wa", {"reason": "restored from backup"}, ADMIN)
    assert (clearing.actor, clearing.reason) == ("operator token", "restored from backup")
    with pytest.raises(NotFound):
        auditor.clear_evidence("wa", {"reason": "again"}, ADMIN)
    listing = env.client.get("/namespaces/wa/evidence").json()
    assert listing["evidence"] == []
    assert listing["cleared"] == [
        {"cleared_at": env.clock.now, "by": "operator token",
         "reason": "restored from backup", "evidence": [error]}
    ]  # fmt: skip
    assert "verification_error" not in env.client.get("/namespaces/wa").json()
    for epoch in range(bad_epoch, N + 1):
        publish(auditor, roots, epoch)
    # Verified through the cleared gap as well: every epoch's proof did verify.
    assert env.client.get("/namespaces/wa").json()["last_verified_epoch"] == N


def test_equivocation_in_log_directory(
    env: Env, log_dir: tuple[Path, list[bytes]], tmp_path: Path
) -> None:
    src, roots = log_dir
    folder = copy_blobs(src, tmp_path / "copy")
    other = folder / format_audit_blob_name(3, roots[2], b"\x77" * 32)
    other.parent.mkdir(parents=True, exist_ok=True)
    other.write_bytes(b"\x00")
    auditor = verifying(env, folder)
    publish(auditor, roots, 1)
    publish(auditor, roots, 2)
    with pytest.raises(EvidenceRecorded, match="equivocation"):
        publish(auditor, roots, 3)
    error = env.client.get("/namespaces/wa").json()["verification_error"]
    assert (error["epoch"], error["kind"]) == (3, "equivocation")
    assert error["blob"] == format_audit_blob_name(3, roots[2], b"\x77" * 32)


def test_injected_verifier_failure_records_reason(
    env: Env, log_dir: tuple[Path, list[bytes]]
) -> None:
    folder, roots = log_dir

    def fake(name: str, data: bytes) -> None:
        if name.startswith("3/"):
            raise AppendOnlyProofError("epoch 3: expected hash does not match")

    auditor = verifying(env, folder, ProofGate(fake, roots[0]))
    publish(auditor, roots, 1)
    publish(auditor, roots, 2)
    with pytest.raises(EvidenceRecorded):
        publish(auditor, roots, 3)
    [evidence] = env.client.get("/namespaces/wa/evidence").json()["evidence"]
    assert (evidence["kind"], evidence["reason"]) == (
        "invalid_proof", "epoch 3: expected hash does not match"
    )  # fmt: skip


def test_no_log_directory_nothing_to_verify(env: Env, log_dir: tuple[Path, list[bytes]]) -> None:
    _, roots = log_dir
    auditor = env.make_auditor(proofs=ProofGate.for_configuration())
    auditor.create_namespace({"name": "blind", "signature_version": 1}, ADMIN)
    with pytest.raises(ConstraintViolation, match="no log_directory"):
        auditor.publish("blind", {"epoch": 1, "digest": roots[1].hex()}, ADMIN)
    # An operator's anchor needs no proof: it is what the operator configured.
    auditor.create_namespace(
        {"name": "anchored", "signature_version": 1, "root": f"5/{roots[1].hex()}"}, ADMIN
    )
    assert auditor.publish("anchored", {"epoch": 5, "digest": roots[1].hex()}, ADMIN).epoch == 5
    assert env.client.get("/namespaces/anchored").json()["last_verified_epoch"] == 5


def test_a_transition_is_verified_once_and_one_at_a_time(
    log_dir: tuple[Path, list[bytes]],
) -> None:
    folder, roots = log_dir
    real = default_verify_blob()
    calls: list[str] = []
    entered, release = threading.Event(), threading.Event()

    def slow(name: str, data: bytes) -> None:
        calls.append(name)
        entered.set()
        release.wait(10)
        real(name, data)

    gate = ProofGate(slow, roots[0])
    transition = ("wa", 1, roots[0], roots[1])
    worker = threading.Thread(target=gate.check, args=(str(folder), transition))
    worker.start()
    assert entered.wait(10)
    with pytest.raises(VerificationBusy):  # a second request does not queue a thread
        gate.check(str(folder), ("wa", 1, roots[0], roots[1]))
    release.set()
    worker.join()
    for _ in range(5):  # the log asks again and again: answered from memory
        assert gate.check(str(folder), transition) is None
    assert calls == [blob_name(roots, 1)]
    gate.close()


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
