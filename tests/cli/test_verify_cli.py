"""``glasskey verify`` — the scripted-verification contract (exit codes, output, no tracebacks)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from glasskey.cli import _register, app
from glasskey.core.akd import wire
from glasskey.directory import Directory
from tests.vectors import AKD_TEST_VRF_SEED, akd_vector

_register()
runner = CliRunner()


def _base(name: str, proof: Path, command: str = "lookup") -> list[str]:
    v = akd_vector(name)
    return [
        "verify", command, "--config", name,
        "--vrf-public-key", v.vrf_public_key.hex(),
        "--root-hash", v.epoch_hash.hex(),
        "--epoch", str(v.epoch),
        "--label", "16",
        "--proof", str(proof),
    ]  # fmt: skip


@pytest.mark.parametrize("name", ["whatsapp_v1", "experimental"])
@pytest.mark.parametrize("as_hex", [True, False])
def test_lookup_ok_raw_and_hex(tmp_path: Path, name: str, as_hex: bool) -> None:
    v = akd_vector(name)
    proof = tmp_path / "proof"
    proof.write_bytes(v.lookup_proof.hex().encode() + b"\n" if as_hex else v.lookup_proof)
    result = runner.invoke(app, [*_base(name, proof), "--json"])
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout) == {
        "verified": True,
        "current_epoch": 49,
        "epoch": 48,
        "version": 3,
        "value_hex": "31362c3438",
        "value": "16,48",
    }


def test_history_complete_and_most_recent(tmp_path: Path) -> None:
    v = akd_vector("whatsapp_v1")
    proof = tmp_path / "h"
    proof.write_bytes(v.history_complete)
    result = runner.invoke(app, [*_base("whatsapp_v1", proof, "history"), "--complete"])
    assert result.exit_code == 0, result.output
    assert "3 version(s)" in result.stdout
    assert "version 1: b'16,16' (published in epoch 16)" in result.stdout
    proof.write_bytes(v.history_most_recent_1)
    result = runner.invoke(
        app, [*_base("whatsapp_v1", proof, "history"), "--most-recent", "1", "--json"]
    )
    assert result.exit_code == 0, result.output
    assert [x["version"] for x in json.loads(result.stdout)["versions"]] == [3]


def test_tampered_proof_exits_1_with_one_line_reason(tmp_path: Path) -> None:
    v = akd_vector("whatsapp_v1")
    tampered = bytearray(v.lookup_proof)
    tampered[5] ^= 1  # inside the value "16,48"
    proof = tmp_path / "p"
    proof.write_bytes(bytes(tampered))
    result = runner.invoke(app, _base("whatsapp_v1", proof))
    assert result.exit_code == 1
    assert result.stderr.strip() == (
        "verification failed: hash of plaintext value did not match existence proof hash"
    )


def test_wrong_label_exits_1(tmp_path: Path) -> None:
    v = akd_vector("whatsapp_v1")
    proof = tmp_path / "p"
    proof.write_bytes(v.lookup_proof)
    args = _base("whatsapp_v1", proof)
    args[args.index("16")] = "17"
    result = runner.invoke(app, args)
    assert result.exit_code == 1
    assert (
        result.stderr.strip()
        == "verification failed: VRF proof failed to verify for this public key"
    )


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (("--root-hash", "zz"), "usage error: --root-hash is not valid hex"),
        (("--root-hash", "00"), "usage error: --root-hash must be 32 bytes"),
        (("--proof", "/nonexistent/proof"), "usage error: cannot read proof"),
    ],
)
def test_usage_errors_exit_2(tmp_path: Path, change: tuple[str, str], message: str) -> None:
    proof = tmp_path / "p"
    proof.write_bytes(akd_vector("whatsapp_v1").lookup_proof)
    args = _base("whatsapp_v1", proof)
    args[args.index(change[0]) + 1] = change[1]
    result = runner.invoke(app, args)
    assert result.exit_code == 2
    assert result.stderr.startswith(message)


def test_garbage_proof_exits_1(tmp_path: Path) -> None:
    proof = tmp_path / "p"
    proof.write_bytes(b"\xff\xfe garbage \x00")
    result = runner.invoke(app, _base("whatsapp_v1", proof))
    assert result.exit_code == 1
    assert result.stderr.startswith("verification failed: LookupProof: not a valid protobuf")


def test_audit_single_and_multi(tmp_path: Path) -> None:
    d = Directory.in_memory("experimental", vrf_seed=AKD_TEST_VRF_SEED)
    for i in range(3):
        d.publish([(f"u{i}".encode(), b"v"), (b"shared", f"{i}".encode())])
    roots = [d.epoch_root(e).hex() for e in range(4)]
    single = tmp_path / "single"
    single.write_bytes(wire.encode_single_append_only_proof(d.audit(2, 3).proofs[0]))
    base = ["verify", "audit", "--config", "experimental", "--end-epoch", "3"]
    ok = runner.invoke(
        app, [*base, "--start-hash", roots[2], "--end-hash", roots[3], "--proof", str(single)]
    )
    assert ok.exit_code == 0, ok.output
    assert (
        ok.stdout.strip() == "verified: epochs 2 -> 3 only append (3 leaves inserted)"
    )  # u2, shared v3, stale v2
    bad = runner.invoke(
        app, [*base, "--start-hash", roots[1], "--end-hash", roots[3], "--proof", str(single)]
    )
    assert bad.exit_code == 1
    assert "does not match computed root hash" in bad.stderr
    multi = tmp_path / "multi"
    multi.write_bytes(wire.encode_append_only_proof(d.audit(0, 3)))
    ok = runner.invoke(app, [*base, "--hashes", ",".join(roots), "--proof", str(multi), "--json"])
    assert ok.exit_code == 0, ok.output
    assert json.loads(ok.stdout) == {
        "verified": True, "start_epoch": 0, "end_epoch": 3, "inserted": 2 + 3 + 3,
    }  # fmt: skip


def test_real_process_reads_stdin_and_never_prints_a_traceback() -> None:
    v = akd_vector("whatsapp_v1")
    args = _base("whatsapp_v1", Path("-"))
    ok = subprocess.run(
        [sys.executable, "-m", "glasskey.cli", *args],
        input=v.lookup_proof.hex().encode(),
        capture_output=True,
        timeout=60,
    )
    assert ok.returncode == 0, ok.stderr
    assert b"version 3" in ok.stdout
    bad = subprocess.run(
        [sys.executable, "-m", "glasskey.cli", *args],
        input=b"\x00" * 10,
        capture_output=True,
        timeout=60,
    )
    assert bad.returncode == 1
    assert b"Traceback" not in bad.stderr
