"""``glasskey audit ls|show|verify-range``: plexi's layouts, --json, exit codes 0/1/2/3."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import typer
from typer.testing import CliRunner

from glasskey.auditor._client import AuditorClient
from glasskey.auditor._service import Identity
from glasskey.cli import _audit as audit_cli
from glasskey.core.akd.audit import format_audit_blob_name
from glasskey.directory._blobs import FolderBlobStore
from glasskey.directory._directory import Directory
from tests.auditor.conftest import Env

ADMIN = Identity(operator=True)
REMOTE = "http://auditor.test"


@pytest.fixture
def cli(env: Env, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> tuple[Env, list[bytes], Path]:
    monkeypatch.setattr(
        audit_cli,
        "_client",
        lambda url: AuditorClient(url, transport=env.client._transport),
    )
    folder = tmp_path / "blobs"
    with Directory.in_memory(
        "whatsapp_v1", vrf_seed=bytes(32), blob_store=FolderBlobStore(folder)
    ) as directory:
        roots = [directory.epoch_root(0)]
        for epoch in range(1, 5):
            roots.append(directory.publish([(f"l{epoch}".encode(), b"v")]).root_hash)
    env.auditor.create_namespace(
        {"name": "wa", "signature_version": 2, "log_directory": str(folder)}, ADMIN
    )
    env.auditor.create_namespace({"name": "plain", "signature_version": 1}, ADMIN)
    for epoch in range(1, 5):
        env.auditor.publish("wa", {"epoch": epoch, "digest": roots[epoch].hex()}, ADMIN)
    return env, roots, folder


def run(*args: str) -> tuple[int, str, str]:
    app = typer.Typer()
    audit_cli.register(app)
    result = CliRunner().invoke(app, list(args), catch_exceptions=False)
    return result.exit_code, result.stdout, result.stderr


def test_ls_layouts(cli: tuple[Env, list[bytes], Path]) -> None:
    _, roots, folder = cli
    assert run("audit", "ls", "-r", REMOTE) == (0, "plain\nwa\n", "")
    code, out, _ = run("audit", "ls", "-r", REMOTE, "--long", "-n", "wa")
    assert code == 0
    assert out == (
        "wa\n"
        "  Status     : Online\n"
        "  Ciphersuite: ed25519(bincode)\n"
        f"  Root       : 1/{roots[1].hex()}\n"
        f"  Directory  : {folder}\n"
        "\n\n"
    )
    code, out, _ = run("audit", "ls", "-r", REMOTE, "--json")
    assert code == 0 and [n["name"] for n in json.loads(out)["namespaces"]] == ["plain", "wa"]
    code, _, err = run("audit", "ls", "-r", REMOTE, "-n", "nope")
    assert (code, err) == (1, "error: namespace nope does not exist\n")


def test_show_and_verify(cli: tuple[Env, list[bytes], Path]) -> None:
    _, roots, _ = cli
    assert run("audit", "show", "-r", REMOTE, "-n", "wa")[:2] == (0, "success\n")
    assert run("audit", "show", "-r", REMOTE, "-n", "wa", "--no-verify")[:2] == (0, "-\n")
    code, out, _ = run(
        "audit", "show", "-r", REMOTE, "-n", "wa", "--epoch", "3", "--long", "--verify"
    )
    assert code == 0
    lines = out.splitlines()
    assert lines[0:3] == [
        "Namespace",
        f"  {'Name':<22}: wa",
        f"  {'Ciphersuite':<22}: ed25519(bincode)",
    ]
    assert lines[3] == "" and lines[4].startswith("Signature (") and lines[4].endswith("Z)")
    assert lines[5] == f"  {'Epoch height':<22}: 3"
    assert lines[6] == f"  {'Epoch digest':<22}: {roots[3].hex()}"
    assert lines[8:] == [
        f"  {'Signature verification':<22}: success",
        f"  {'Proof verification':<22}: success",
    ]
    code, out, _ = run(
        "audit", "show", "-r", REMOTE, "-n", "wa", "--epoch", "2", "--json", "--verify"
    )
    data = json.loads(out)
    assert (code, data["signature_status"], data["proof_status"], data["reason"]) == (
        0,
        "success",
        "success",
        None,
    )
    assert data["digest"] == roots[2].hex() and data["ciphersuite"] == 2
    # Pinned wrong key: printed failure, exit 3.
    code, out, _ = run("audit", "show", "-r", REMOTE, "-n", "wa", "--verifying-key", "00" * 32)
    assert code == 3 and out.startswith("failed - signature does not verify")
    assert run("audit", "show", "-r", REMOTE, "-n", "wa", "--verifying-key", "zz")[0] == 2
    code, _, err = run("audit", "show", "-r", REMOTE, "-n", "wa", "--epoch", "9")
    assert (code, err) == (1, "error: Signature not found for wa at epoch 9\n")
    code, _, err = run("audit", "show", "-r", REMOTE, "-n", "plain")
    assert code == 1 and "does not have a latest epoch" in err


def test_verify_range(cli: tuple[Env, list[bytes], Path]) -> None:
    _, roots, folder = cli
    code, out, _ = run(
        "audit", "verify-range", "-r", REMOTE, "-n", "wa", "--from", "1", "--to", "4"
    )
    assert (code, out) == (0, "wa: epochs 1..4: 4 verified, 0 failed\n")
    blob = folder / format_audit_blob_name(3, roots[2], roots[3])
    blob.write_bytes(b"\x0a\x01")
    code, out, _ = run(
        "audit", "verify-range", "-r", REMOTE, "-n", "wa", "--from", "1", "--to", "4"
    )
    assert code == 3
    first, summary = out.splitlines()
    assert first.startswith(f"epoch 3: failed - verifying raw proof: {blob.relative_to(folder)}")
    assert summary == "wa: epochs 1..4: 3 verified, 1 failed"
    code, out, _ = run(
        "audit", "verify-range", "-r", REMOTE, "-n", "wa", "--from", "2", "--to", "4", "--json"
    )
    data = json.loads(out)
    assert (code, data["verified"], data["failed"]) == (3, 2, 1)
    assert [r["proof_status"] for r in data["results"]] == ["success", "failed", "success"]
    assert (
        run("audit", "verify-range", "-r", REMOTE, "-n", "wa", "--from", "4", "--to", "1")[0] == 2
    )
