"""Signing keys: the Signer, loading from env/file/dev mode, key files, ``glasskey keygen``."""

from __future__ import annotations

import base64
import logging
import os
import pickle
import stat
import subprocess
from pathlib import Path

import pytest
import typer
from typer.testing import CliRunner

from glasskey.cli import _keys as keys_cli
from glasskey.core.errors import KeyMaterialError, SignatureError, UsageError
from glasskey.core.signing import Ed25519Signer, Signer, verify_ed25519
from glasskey.keys import (
    generate_pem,
    load_signer,
    pem_to_env_value,
    signer_from_env_value,
    signer_from_file,
    write_private_file,
)
from glasskey.log.note import parse_vkey

# RFC 8032 §7.1 TEST 1
SEED = bytes.fromhex("9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60")
PUBLIC = bytes.fromhex("d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a")
SIG_EMPTY = bytes.fromhex(
    "e5564300c360ac729086e2cc806e828a84877f1eb8e5d974d873e065224901555fb8821590a33bacc61e39701cf9b46bd25bf5f0595bbe24655141438e7a100b"
)
VAR = "GLASSKEY_TEST_SIGNING_KEY"


def _secret_fragments(pem: bytes) -> list[str]:
    """Strings that must never show up in an error: the PEM body, its base64, the seed."""
    signer = Ed25519Signer.from_pem(pem)
    body = b"".join(pem.splitlines()[1:-1]).decode()
    seed = signer._key.private_bytes_raw()
    return [body[:16], body[-16:], pem_to_env_value(pem)[10:40], seed.hex()[:16]]


# --- core.signing -------------------------------------------------------------------------


def test_rfc8032_test_1() -> None:
    signer = Ed25519Signer.from_seed(SEED)
    assert signer.public_key == PUBLIC
    assert signer.algorithm == "ed25519"
    assert signer.sign(b"") == SIG_EMPTY
    verify_ed25519(PUBLIC, b"", SIG_EMPTY)
    assert isinstance(signer, Signer)


def test_verify_ed25519_errors() -> None:
    with pytest.raises(SignatureError, match=r"^Ed25519 signature does not verify$"):
        verify_ed25519(PUBLIC, b"x", SIG_EMPTY)
    with pytest.raises(SignatureError, match="public key must be 32 bytes, got 31"):
        verify_ed25519(PUBLIC[:31], b"", SIG_EMPTY)
    with pytest.raises(SignatureError, match="signature must be 64 bytes, got 63"):
        verify_ed25519(PUBLIC, b"", SIG_EMPTY[:63])
    # A small-order public key (the identity point) is refused even with a "matching" sig.
    identity = b"\x01" + bytes(31)
    with pytest.raises(SignatureError):
        verify_ed25519(identity, b"", identity + bytes(32))


def test_signer_never_shows_or_pickles_the_private_key() -> None:
    signer = Ed25519Signer.from_seed(SEED)
    assert repr(signer) == f"Ed25519Signer(public_key={PUBLIC.hex()})"
    assert SEED.hex() not in repr(signer) and SEED.hex() not in str(signer)
    with pytest.raises(TypeError, match="cannot be pickled"):
        pickle.dumps(signer)


def test_from_seed_and_pem_errors() -> None:
    with pytest.raises(KeyMaterialError, match="32 raw bytes, got 31"):
        Ed25519Signer.from_seed(SEED[:31])
    with pytest.raises(KeyMaterialError, match="not a PKCS#8 PEM"):
        Ed25519Signer.from_pem(b"-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n")
    pem = Ed25519Signer.from_seed(SEED).private_pem()
    assert Ed25519Signer.from_pem(pem).public_key == PUBLIC


# --- env var --------------------------------------------------------------------------------


def test_env_round_trip(monkeypatch: pytest.MonkeyPatch) -> None:
    pem = generate_pem()
    assert pem.startswith(b"-----BEGIN PRIVATE KEY-----\n")
    expected = Ed25519Signer.from_pem(pem).public_key
    monkeypatch.setenv(VAR, pem_to_env_value(pem))
    signer = load_signer(VAR, allow_dev_key=False)
    assert signer.public_key == expected
    verify_ed25519(expected, b"m", signer.sign(b"m"))


@pytest.mark.parametrize(
    "encode",
    [
        lambda pem: pem.decode(),  # raw PEM pasted into the variable
        lambda pem: pem.decode().replace("\n", "\\n"),  # PEM with escaped newlines
        lambda pem: "\n".join(  # `base64` without -w0 wraps at 76
            pem_to_env_value(pem)[i : i + 76] for i in range(0, len(pem_to_env_value(pem)), 76)
        ),
        lambda pem: "  " + pem_to_env_value(pem) + "\n",  # stray whitespace
    ],
)
def test_env_tolerated_forms(encode: object, monkeypatch: pytest.MonkeyPatch) -> None:
    pem = Ed25519Signer.from_seed(SEED).private_pem()
    monkeypatch.setenv(VAR, encode(pem))  # type: ignore[operator]
    assert load_signer(VAR, allow_dev_key=False).public_key == PUBLIC


def test_openssl_generated_key(monkeypatch: pytest.MonkeyPatch) -> None:
    """The documented recipe: ``openssl genpkey -algorithm Ed25519 | base64 -w0``."""
    try:
        pem = subprocess.run(
            ["openssl", "genpkey", "-algorithm", "Ed25519"],
            check=True,
            capture_output=True,
            timeout=30,
        ).stdout
    except (OSError, subprocess.SubprocessError):
        pytest.skip("openssl not available")
    monkeypatch.setenv(VAR, base64.b64encode(pem).decode())
    assert len(load_signer(VAR, allow_dev_key=False).public_key) == 32


@pytest.mark.parametrize(
    ("value", "reason"),
    [
        ("not base64 at all!", "base64 decoding failed"),
        (base64.b64encode(b"hello world").decode(), "not a PEM"),
        (
            base64.b64encode(
                b"-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n"
            ).decode(),
            "not a PKCS#8 PEM",
        ),
        ("   ", "is empty"),
    ],
)
def test_env_wrong_values(value: str, reason: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(VAR, value)
    if not value.strip():
        with pytest.raises(KeyMaterialError, match="no signing key"):
            load_signer(VAR, allow_dev_key=False)
        with pytest.raises(KeyMaterialError, match=f"{VAR} is empty"):
            signer_from_env_value(value, source=VAR)
        return
    with pytest.raises(KeyMaterialError) as info:
        load_signer(VAR, allow_dev_key=False)
    message = str(info.value)
    assert message.startswith(f"{VAR} is not base64 of a PKCS#8 Ed25519 PEM")
    assert reason in message
    assert value not in message
    # No chained exception (whose text could quote the input) is shown in a traceback.
    assert info.value.__cause__ is None
    assert info.value.__context__ is None or info.value.__suppress_context__


def test_env_error_never_echoes_key_bytes(monkeypatch: pytest.MonkeyPatch) -> None:
    """A real key, damaged: the message names the variable but contains none of the key."""
    pem = generate_pem()
    value = pem_to_env_value(pem)
    damaged = value[:20] + "!" + value[21:]
    truncated = base64.b64encode(pem[:-40]).decode()
    for bad in (damaged, truncated, value[:-4]):
        monkeypatch.setenv(VAR, bad)
        with pytest.raises(KeyMaterialError) as info:
            load_signer(VAR, allow_dev_key=False)
        message = str(info.value)
        assert VAR in message and "\n" not in message
        for fragment in _secret_fragments(pem):
            assert fragment not in message


def test_env_wrong_key_type(monkeypatch: pytest.MonkeyPatch) -> None:
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import ec

    ec_pem = ec.generate_private_key(ec.SECP256R1()).private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    monkeypatch.setenv(VAR, pem_to_env_value(ec_pem))
    with pytest.raises(KeyMaterialError, match="key type is EC, not Ed25519"):
        load_signer(VAR, allow_dev_key=False)

    encrypted = Ed25519Signer.from_seed(SEED)._key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.BestAvailableEncryption(b"pw"),
    )
    monkeypatch.setenv(VAR, pem_to_env_value(encrypted))
    with pytest.raises(KeyMaterialError, match="encrypted"):
        load_signer(VAR, allow_dev_key=False)


# --- files ----------------------------------------------------------------------------------


def test_file_round_trip_and_mode(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(VAR, raising=False)
    path = tmp_path / "log.pem"
    old_umask = os.umask(0)  # the file must be 0600 whatever the umask
    try:
        write_private_file(path, Ed25519Signer.from_seed(SEED).private_pem())
    finally:
        os.umask(old_umask)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert load_signer(VAR, str(path), allow_dev_key=False).public_key == PUBLIC
    assert signer_from_file(path).public_key == PUBLIC


def test_file_refuses_overwrite_unless_forced(tmp_path: Path) -> None:
    path = tmp_path / "log.pem"
    write_private_file(path, b"first")
    with pytest.raises(UsageError, match="already exists; pass --force"):
        write_private_file(path, b"second")
    assert path.read_bytes() == b"first"
    path.chmod(0o644)
    write_private_file(path, b"third", force=True)
    assert path.read_bytes() == b"third"
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert sorted(p.name for p in tmp_path.iterdir()) == ["log.pem"]  # no temp file left


def test_file_errors(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    with pytest.raises(KeyMaterialError, match="does not exist"):
        signer_from_file(tmp_path / "missing.pem")
    with pytest.raises(KeyMaterialError, match="is a directory"):
        signer_from_file(tmp_path)
    garbage = tmp_path / "garbage.pem"
    garbage.write_bytes(b"garbage")
    garbage.chmod(0o600)
    with pytest.raises(KeyMaterialError, match="is not a PKCS#8 Ed25519 PEM"):
        signer_from_file(garbage)
    loose = tmp_path / "loose.pem"
    loose.write_bytes(Ed25519Signer.from_seed(SEED).private_pem())
    loose.chmod(0o644)
    with caplog.at_level(logging.WARNING, logger="glasskey.keys"):
        assert signer_from_file(loose).public_key == PUBLIC
    assert "readable by group or others (mode 644)" in caplog.text


# --- load_signer policy ---------------------------------------------------------------------


def test_dev_key_is_loud(monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture) -> None:
    monkeypatch.delenv(VAR, raising=False)
    with caplog.at_level(logging.WARNING, logger="glasskey.keys"):
        signer = load_signer(VAR, allow_dev_key=True)
    (record,) = [r for r in caplog.records if r.name == "glasskey.keys"]
    assert record.levelno == logging.WARNING
    assert "throwaway dev key" in record.getMessage()
    assert signer.public_key.hex() in record.getMessage()
    assert VAR in record.getMessage()
    assert load_signer(VAR, allow_dev_key=True).public_key != signer.public_key


def test_no_key_and_two_keys(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.delenv(VAR, raising=False)
    with pytest.raises(KeyMaterialError, match=f"no signing key: set {VAR}"):
        load_signer(VAR, allow_dev_key=False)
    monkeypatch.setenv(VAR, pem_to_env_value(generate_pem()))
    with pytest.raises(UsageError, match=r"both .* and a key file"):
        load_signer(VAR, str(tmp_path / "k.pem"), allow_dev_key=False)


# --- CLI ------------------------------------------------------------------------------------


def _app() -> typer.Typer:
    app = typer.Typer()
    keys_cli.register(app)

    @app.callback()
    def _root() -> None:  # keep "keygen" a sub-command, as under the real root app
        pass

    return app


def test_keygen_env_prints_a_loadable_line(monkeypatch: pytest.MonkeyPatch) -> None:
    result = CliRunner().invoke(_app(), ["keygen", "--env", "--origin", "example.org/kt"])
    assert result.exit_code == 0, result.output
    (line,) = result.stdout.splitlines()
    name, _, value = line.partition("=")
    assert name == "GLASSKEY_SIGNING_KEY"
    monkeypatch.setenv(VAR, value)
    signer = load_signer(VAR, allow_dev_key=False)
    assert f"public key: {signer.public_key.hex()}" in result.stderr
    vkey_line = next(x for x in result.stderr.splitlines() if x.startswith("verifier key: "))
    verifier = parse_vkey(vkey_line.removeprefix("verifier key: "))
    assert verifier.name == "example.org/kt" and verifier.public_key == signer.public_key


def test_keygen_out_writes_0600_and_refuses_overwrite(tmp_path: Path) -> None:
    path = tmp_path / "log.pem"
    runner = CliRunner()
    first = runner.invoke(_app(), ["keygen", "--out", str(path)])
    assert first.exit_code == 0, first.output
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    signer = signer_from_file(path)
    assert f"public key: {signer.public_key.hex()}" in first.stdout
    assert "verifier key: glasskey.local/log+" in first.stdout
    assert "PRIVATE KEY" not in first.stdout

    again = runner.invoke(_app(), ["keygen", "--out", str(path)])
    assert again.exit_code == 2
    assert "already exists; pass --force" in again.stderr
    assert signer_from_file(path).public_key == signer.public_key

    forced = runner.invoke(_app(), ["keygen", "--out", str(path), "--force"])
    assert forced.exit_code == 0
    assert signer_from_file(path).public_key != signer.public_key


def test_keygen_usage_errors() -> None:
    runner = CliRunner()
    nothing = runner.invoke(_app(), ["keygen"])
    assert nothing.exit_code == 2 and "--out PATH" in nothing.stderr
    bad_origin = runner.invoke(_app(), ["keygen", "--env", "--origin", "a+b"])
    assert bad_origin.exit_code == 2 and "not a valid key name" in bad_origin.stderr
    assert bad_origin.stdout == ""  # no key printed when the command fails


def test_server_dev_keys_created_concurrently_are_one_key(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """``glasskey serve --workers N`` on a fresh folder: every process must end up with the
    same signing and VRF key (one file each, mode 0600, no temporaries left behind)."""
    import threading

    from glasskey.server._keyfiles import load_signing_key, load_vrf_seed

    monkeypatch.delenv("GLASSKEY_SIGNING_KEY", raising=False)
    monkeypatch.delenv("GLASSKEY_VRF_KEY", raising=False)
    barrier = threading.Barrier(8)
    results: list[tuple[bytes, bytes]] = []

    def start_worker() -> None:
        barrier.wait()
        signer = load_signing_key(None, tmp_path)
        results.append((signer.public_key, load_vrf_seed(None, tmp_path)))

    threads = [threading.Thread(target=start_worker) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(results) == 8 and len(set(results)) == 1
    assert sorted(p.name for p in tmp_path.iterdir()) == [
        "glasskey-signing-key.pem",
        "glasskey-vrf-key.hex",
    ]
    for p in tmp_path.iterdir():
        assert stat.S_IMODE(p.stat().st_mode) == 0o600
