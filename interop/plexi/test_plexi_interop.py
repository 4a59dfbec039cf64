"""Cloudflare's real ``plexi`` CLI (crates.io, 0.1.2) auditing a glasskey auditor on loopback.

Run explicitly: ``pytest interop/plexi`` or ``interop/plexi/run.sh``. Needs ``cargo``; without
it every test skips with the reason, a failing build fails them.

Setup: a glasskey ``Directory`` (whatsapp_v1, as plexi hard-codes) publishes epochs and writes
its audit blobs to a folder served over HTTP; each epoch is published to the glasskey auditor
(one namespace per ciphersuite), which verifies each blob before it signs the epoch (stricter
than Plexi, same wire). Then:

* ``plexi ls`` / ``plexi ls --long`` succeed and print exactly what ``glasskey audit ls`` prints;
* ``plexi audit --long`` (signature *and* AKD proof verification, plexi's default) succeeds for
  the default (last verified) epoch, the root epoch and every later epoch, and prints exactly
  what ``glasskey audit show --long --verify`` prints;
* a blob tampered with after signing: plexi and glasskey both report the proof as failed,
  while the signature (made when the proof still verified) still verifies.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from glasskey.auditor._client import AuditorClient
from glasskey.auditor._service import Auditor, Keyring
from glasskey.auditor._store import open_auditor_store
from glasskey.auditor.app import AuthConfig, create_app
from glasskey.core.signing import Ed25519Signer
from glasskey.directory._blobs import FolderBlobStore
from glasskey.directory._directory import Directory
from interop.plexi import harness as h

pytestmark = pytest.mark.interop

TOKEN = "interop-token"
EPOCHS = 6
NAMESPACES = {"glasskey.interop.protobuf": 1, "glasskey.interop.bincode": 2}


@pytest.fixture(scope="module")
def plexi() -> Path:
    try:
        return h.build()
    except h.CargoMissing as exc:
        pytest.skip(f"plexi interop not run: {exc}")
    except h.BuildFailed as exc:
        pytest.fail(f"plexi did not build:\n{exc}", pytrace=False)


@dataclass
class Setup:
    remote: str
    blobs: Path
    names: list[str]
    roots: list[bytes]


@pytest.fixture(scope="module")
def setup(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Setup]:
    work = tmp_path_factory.mktemp("plexi-interop")
    blobs = work / "blobs"
    directory = Directory.in_memory(
        "whatsapp_v1", vrf_seed=bytes(range(32)), blob_store=FolderBlobStore(blobs)
    )
    roots = [directory.epoch_root(0)]
    for epoch in range(1, EPOCHS + 1):
        updates = [(f"user-{epoch}-{i}".encode(), f"key-{epoch}".encode()) for i in range(25)]
        roots.append(directory.publish(updates).root_hash)
    store = open_auditor_store(f"sqlite:///{work}/auditor.db")
    auditor = Auditor(store, Keyring([Ed25519Signer.from_seed(bytes([42] * 32))], 0))
    app = create_app(auditor, AuthConfig(admin_token=TOKEN))
    with h.blob_server(blobs) as blob_url, h.auditor_server(app) as remote:
        with AuditorClient(remote, TOKEN) as client:
            for name, suite in NAMESPACES.items():
                client.create_namespace(name, ciphersuite=suite, log_directory=blob_url)
                for epoch in range(1, EPOCHS + 1):
                    client.publish(name, epoch, roots[epoch])
            # Verified before signed: nothing left to wait for.
            assert all(client.namespace(n).last_verified_epoch == EPOCHS for n in NAMESPACES)
        yield Setup(remote, blobs, list(NAMESPACES), roots)
    store.close()
    directory.close()


def test_plexi_ls_matches_glasskey(plexi: Path, setup: Setup) -> None:
    for extra in ([], ["--long"], ["--namespace", setup.names[1], "--long"]):
        theirs = h.run([str(plexi), "ls", "--remote-url", setup.remote, *extra])
        ours = h.glasskey("audit", "ls", "--remote-url", setup.remote, *extra)
        assert theirs.returncode == 0, theirs.stderr
        assert ours.returncode == 0, ours.stderr
        assert theirs.stdout == ours.stdout
    listing = h.run([str(plexi), "ls", "--remote-url", setup.remote, "--long"]).stdout
    assert "  Status     : Online\n  Ciphersuite: ed25519(bincode)\n" in listing
    assert "  Ciphersuite: ed25519(protobuf)\n" in listing


@pytest.mark.parametrize("namespace", list(NAMESPACES))
def test_plexi_audit_long_verifies_and_matches(plexi: Path, setup: Setup, namespace: str) -> None:
    for epoch_args in ([], *(["--epoch", str(e)] for e in range(1, EPOCHS + 1))):
        args = ["--remote-url", setup.remote, "--namespace", namespace, "--long", *epoch_args]
        theirs = h.run([str(plexi), "audit", *args])
        ours = h.glasskey("audit", "show", "--verify", *args)
        assert theirs.returncode == 0, theirs.stderr
        assert ours.returncode == 0, ours.stdout + ours.stderr
        assert "  Signature verification: success\n" in theirs.stdout
        assert "  Proof verification    : success\n" in theirs.stdout
        assert theirs.stdout == ours.stdout
        short = h.run([str(plexi), "audit", *[a for a in args if a != "--long"]])
        assert short.stdout == "success\n"


def test_tampered_blob_fails_in_both(plexi: Path, setup: Setup) -> None:
    namespace = setup.names[0]
    epoch = 3
    name = f"{epoch}/{setup.roots[epoch - 1].hex()}/{setup.roots[epoch].hex()}"
    path = setup.blobs / name
    original = path.read_bytes()
    tampered = bytearray(original)
    tampered[-1] ^= 0x01
    path.write_bytes(bytes(tampered))
    try:
        args = ["--remote-url", setup.remote, "--namespace", namespace, "--epoch", str(epoch)]
        theirs = h.run([str(plexi), "audit", *args])
        ours = h.glasskey("audit", "show", "--verify", *args)
        assert theirs.returncode == 0  # plexi prints the failure and exits 0
        assert theirs.stdout.startswith("failed - ")
        assert ours.returncode == 3
        assert ours.stdout.startswith("failed - ")
        # The signature itself still verifies (it was made when the proof verified).
        no_proof = h.glasskey("audit", "show", *args)
        assert (no_proof.returncode, no_proof.stdout) == (0, "success\n")
    finally:
        path.write_bytes(original)
