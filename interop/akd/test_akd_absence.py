"""akd's own verifiers accept glasskey's proofs of absence and fixed-version proofs.

Both proofs are akd messages (a ``NonMembershipProof`` of the label's version-1 node with the
VRF proof naming it; an ``UpdateProof`` of one version), so the harness checks them with
akd_core's ``verify_nonmembership`` / ``verify_membership`` (behind akd_core's
``public_tests`` feature: akd's client API has no entry point for a bare (non-)membership
proof), akd's ECVRF verification of the VRF proof for exactly that label input, and for a
version akd's leaf hash of (value, epoch, nonce). What akd's public API cannot check — that
the VRF *output* is the proof's node label (``Output::to_truncated_bytes`` is crate-private)
— glasskey's verifier does (tests/core/test_ietf_proofs.py).
"""

from __future__ import annotations

from pathlib import Path

import pytest

from interop.akd import harness as h

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")

LABELS = [f"user{i}".encode() for i in range(24)]


@pytest.fixture(scope="module")
def akd() -> h.Akd:
    try:
        return h.Akd(h.build())
    except h.CargoMissing as exc:
        pytest.skip(f"akd interop not run: {exc}")
    except h.BuildFailed as exc:
        pytest.fail(f"akd interop harness did not build:\n{exc}", pytrace=False)


@pytest.fixture(scope="module", params=h.CONFIGS)
def directory(request: pytest.FixtureRequest) -> object:
    directory = h.gk_directory_new(request.param)
    directory.publish([(label, b"key-1") for label in LABELS])
    directory.publish([(LABELS[0], b"key-2"), (LABELS[1], b"key-2")])
    directory.publish([(LABELS[0], b"key-3")])
    return directory


def _args(directory: object, command: str, label: bytes, proof: Path, root: bytes) -> list[str]:
    epoch = directory.get_epoch_hash().epoch  # type: ignore[attr-defined]
    return [
        command, "--config", directory.config.name,  # type: ignore[attr-defined]
        "--vrf-pk", h.TEST_VRF_PUBLIC.hex(), "--root", root.hex(), "--epoch", str(epoch),
        "--label-hex", label.hex(), "--proof", str(proof),
    ]  # fmt: skip


def _absence(akd: h.Akd, directory: object, tmp_path: Path, label: bytes, **change: bytes) -> h.Run:
    proof, epoch_hash = directory.lookup_or_absence(label)  # type: ignore[attr-defined]
    vrf_proof, non_membership = proof.encoded()
    path = tmp_path / f"absence-{label.hex()}.bin"
    path.write_bytes(non_membership)
    root = change.get("root", epoch_hash.root_hash)
    asked = change.get("asked", label)
    return akd.run(*_args(directory, "verify-absence", asked, path, root),
                   "--vrf-proof", vrf_proof.hex())  # fmt: skip


def test_akd_accepts_glasskey_proofs_of_absence(
    akd: h.Akd, directory: object, tmp_path: Path
) -> None:
    for label in (b"nobody", b"carol", b"user24", b"\x00", "émile".encode()):
        run = _absence(akd, directory, tmp_path, label)
        assert run.returncode == 0, run.stderr
        assert run.json()["verified"] is True


def test_akd_refuses_an_absence_proof_for_another_label_or_root(
    akd: h.Akd, directory: object, tmp_path: Path
) -> None:
    other_label = _absence(akd, directory, tmp_path, b"nobody", asked=b"nobody2")
    assert other_label.returncode == 1 and "vrf" in other_label.stderr.lower(), other_label.stderr
    older = directory.epoch_root(2)  # type: ignore[attr-defined]
    other_root = _absence(akd, directory, tmp_path, b"nobody", root=older)
    assert other_root.returncode == 1, other_root.stderr


def test_akd_accepts_glasskey_fixed_version_proofs(
    akd: h.Akd, directory: object, tmp_path: Path
) -> None:
    from glasskey.core.akd.wire import encode_update_proof

    root = directory.get_epoch_hash().root_hash  # type: ignore[attr-defined]
    for label, version, value in [(LABELS[0], 1, b"key-1"), (LABELS[0], 2, b"key-2"),
                                  (LABELS[0], 3, b"key-3"), (LABELS[5], 1, b"key-1")]:  # fmt: skip
        proof, _ = directory.version_proof(label, version)  # type: ignore[attr-defined]
        path = tmp_path / f"version-{label.hex()}-{version}.bin"
        path.write_bytes(encode_update_proof(proof))
        run = akd.run(*_args(directory, "verify-version", label, path, root),
                      "--version", str(version))  # fmt: skip
        assert run.returncode == 0, run.stderr
        assert (run.json()["version"], bytes.fromhex(run.json()["value_hex"])) == (version, value)
        wrong = akd.run(*_args(directory, "verify-version", label, path, root),
                        "--version", str(version + 1))  # fmt: skip
        assert wrong.returncode == 1, wrong.stderr
        other = akd.run(*_args(directory, "verify-version", LABELS[7], path, root),
                        "--version", str(version))  # fmt: skip
        assert other.returncode == 1, other.stderr
