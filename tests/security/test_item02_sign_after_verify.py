"""Item 2: the auditor signed before it verified.

The attack: 59 of 60 epochs were signed before their proof was checked, signing went on
after evidence was recorded, epochs whose proof was missing were signed, and the first
epoch's proof was never checked (a garbage blob passed). Now a signature means "verified":
the append-only proof from the previously signed epoch (the empty tree for the first) has
verified before the auditor signs; a missing proof is a 503 the log retries; evidence stops
the namespace until its operator clears it (authenticated, recorded).

The log directory here is a folder the test controls, filled with real audit blobs of a
glasskey directory; the test publishes as the log does (the auditor's admin token may
publish anywhere, so the same steps also ran against the code before the fix).
"""

from __future__ import annotations

import shutil
import sqlite3
from collections.abc import Callable
from pathlib import Path

import httpx
import pytest

from glasskey.core.akd.audit import format_audit_blob_name, verify_audit_blob
from glasskey.core.akd.configuration import get_configuration
from tests.auditor.history import write_history
from tests.security.procs import AUDITOR_ADMIN_TOKEN, Process, cli

N = 6
NS = "audited.log"
AS_LOG = {"Authorization": f"Bearer {AUDITOR_ADMIN_TOKEN}"}


@pytest.fixture(scope="module")
def history(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, list[bytes]]:
    """Real audit blobs of N epochs, and the roots (``roots[0]`` is the empty tree's)."""
    folder = tmp_path_factory.mktemp("blobs")
    roots = write_history(folder, N, 10)
    return folder, roots


class Setup:
    def __init__(self, auditor: Process, folder: Path, roots: list[bytes]) -> None:
        self.auditor, self.folder, self.roots = auditor, folder, roots

    def blob(self, epoch: int) -> Path:
        return self.folder / format_audit_blob_name(epoch, self.roots[epoch - 1], self.roots[epoch])

    def publish(self, epoch: int) -> httpx.Response:
        return httpx.post(
            f"{self.auditor.url}/namespaces/{NS}/audits",
            json={"epoch": epoch, "digest": self.roots[epoch].hex()},
            headers=AS_LOG,
            timeout=30,
        )

    def signed(self, epoch: int) -> bool:
        r = httpx.get(f"{self.auditor.url}/namespaces/{NS}/audits/{epoch}")
        return r.status_code == 200

    def evidence(self) -> list[dict[str, object]]:
        items: list[dict[str, object]] = httpx.get(
            f"{self.auditor.url}/namespaces/{NS}/evidence"
        ).json()["evidence"]
        return items


@pytest.fixture
def setup(
    history: tuple[Path, list[bytes]],
    auditor_server: Callable[..., tuple[Process, bytes]],
    tmp_path: Path,
) -> Setup:
    source, roots = history
    folder = tmp_path / "log-directory"
    shutil.copytree(source, folder)
    auditor, _ = auditor_server()
    done = cli(
        "auditor", "create-namespace", NS, "--remote-url", auditor.url,
        "--log-directory", str(folder), cwd=tmp_path,
        env={"GLASSKEY_AUDITOR_ADMIN_TOKEN": AUDITOR_ADMIN_TOKEN},
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    return Setup(auditor, folder, roots)


def test_a_garbage_first_proof_is_never_signed(setup: Setup) -> None:
    genuine = setup.blob(1).read_bytes()
    setup.blob(1).write_bytes(b"\x08\x01 not a proof")
    r = setup.publish(1)
    assert r.status_code == 400, r.text
    assert r.json()["error"] == "evidence_recorded"
    assert not setup.signed(1)
    [evidence] = setup.evidence()
    assert evidence["epoch"] == 1 and evidence["kind"] in ("malformed", "invalid_proof")
    # The namespace stays stopped, even once the log serves the genuine proof.
    setup.blob(1).write_bytes(genuine)
    r = setup.publish(1)
    assert (r.status_code, r.json()["error"]) == (400, "evidence_unresolved"), r.text
    assert not setup.signed(1)


def test_a_missing_proof_is_never_signed(setup: Setup) -> None:
    assert setup.publish(1).status_code == 200
    data = setup.blob(2).read_bytes()
    setup.blob(2).unlink()
    for _ in range(3):  # the log retries: same answer, nothing signed, nothing recorded
        r = setup.publish(2)
        assert r.status_code == 503, r.text
        assert r.json()["error"] == "proof_unavailable"
    assert not setup.signed(2)
    assert setup.evidence() == []
    setup.blob(2).write_bytes(data)
    assert setup.publish(2).status_code == 200


def test_evidence_stops_signing_until_the_operator_clears_it(setup: Setup) -> None:
    for epoch in (1, 2):
        assert setup.publish(epoch).status_code == 200
    genuine = setup.blob(3).read_bytes()
    tampered = bytearray(genuine)
    tampered[-1] ^= 0x01
    setup.blob(3).write_bytes(bytes(tampered))
    assert setup.publish(3).status_code == 400
    assert not setup.signed(3)
    setup.blob(3).write_bytes(genuine)  # the log "fixes" its proof: not enough
    r = setup.publish(3)
    assert (r.status_code, r.json()["error"]) == (400, "evidence_unresolved"), r.text
    assert not setup.signed(3)
    # Clearing is the operator's, authenticated, and leaves a public record.
    anonymous = cli(
        "auditor", "clear-evidence", NS, "--remote-url", setup.auditor.url, "--reason", "x",
        cwd=setup.folder.parent, env={"GLASSKEY_AUDITOR_ADMIN_TOKEN": ""},
    )  # fmt: skip
    assert anonymous.returncode == 1, anonymous.stdout + anonymous.stderr
    assert setup.evidence() != []
    cleared = cli(
        "auditor", "clear-evidence", NS, "--remote-url", setup.auditor.url,
        "--reason", "ticket 42: log restored proof 3 from backup", cwd=setup.folder.parent,
        env={"GLASSKEY_AUDITOR_ADMIN_TOKEN": AUDITOR_ADMIN_TOKEN},
    )  # fmt: skip
    assert cleared.returncode == 0, cleared.stdout + cleared.stderr
    body = httpx.get(f"{setup.auditor.url}/namespaces/{NS}/evidence").json()
    assert body["evidence"] == []
    [record] = body["cleared"]
    assert record["reason"] == "ticket 42: log restored proof 3 from backup"
    assert record["by"] == "operator token"
    assert [e["epoch"] for e in record["evidence"]] == [3]
    assert "cleared 1 evidence record" in setup.auditor.log
    assert setup.publish(3).status_code == 200
    assert setup.publish(4).status_code == 200


def test_every_signature_is_a_verified_proof(setup: Setup) -> None:
    """A run of N epochs, one of whose proofs is bad: every signature in the auditor's
    database must be covered by a verified proof, checked again here from the blobs."""
    bad = 4
    tampered = bytearray(setup.blob(bad).read_bytes())
    tampered[-1] ^= 0x01
    setup.blob(bad).write_bytes(bytes(tampered))
    answers = {}
    for epoch in range(1, N + 1):
        answers[epoch] = setup.publish(epoch).status_code
        if answers[epoch] == 200:  # verified *before* the answer, not some time later
            info = httpx.get(f"{setup.auditor.url}/namespaces/{NS}").json()
            assert info.get("last_verified_epoch") == epoch, (epoch, info)
    assert answers == {e: 200 if e < bad else 400 for e in range(1, N + 1)}
    db = sqlite3.connect(setup.auditor.folder / "auditor.db")
    try:
        bias = 2**63
        signed = sorted(
            (int(e) + bias, bytes(d))
            for e, d in db.execute("SELECT epoch, digest FROM auditor_epochs")
        )
        (verified,) = db.execute("SELECT lve_epoch FROM auditor_namespaces").fetchone()
    finally:
        db.close()
    assert verified is not None
    assert all(epoch <= int(verified) + bias for epoch, _ in signed), (signed, verified)
    assert [e for e, _ in signed] == list(range(1, bad))
    # Each signature's proof, from the previously signed digest (the empty tree first).
    config = get_configuration("whatsapp_v1")
    previous = setup.roots[0]
    for epoch, digest in signed:
        name = format_audit_blob_name(epoch, previous, digest)
        verify_audit_blob(config, name, (setup.folder / name).read_bytes())
        previous = digest
