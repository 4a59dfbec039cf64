"""``glasskey witness vkey`` / key loading: env key, dev key file (0600), never printed."""

from __future__ import annotations

import base64
from pathlib import Path

from typer.testing import CliRunner

from glasskey.cli import _register, app
from glasskey.core.signing import Ed25519Signer
from glasskey.keys import generate_pem
from glasskey.log.note import CosignatureV1Verifier


def test_vkey_from_env_and_dev_key(tmp_path: Path) -> None:
    _register()
    runner = CliRunner()
    pem = generate_pem()
    env = {"GLASSKEY_WITNESS_KEY": base64.b64encode(pem).decode()}
    done = runner.invoke(app, ["witness", "vkey", "--name", "w.test", "--db",
                               str(tmp_path / "w.db")], env=env)  # fmt: skip
    assert done.exit_code == 0, done.output
    public = Ed25519Signer.from_pem(pem).public_key
    assert done.output.strip() == CosignatureV1Verifier("w.test", public).vkey()
    assert base64.b64encode(pem).decode() not in done.output and "PRIVATE" not in done.output
    # No key configured: a development key next to the database, private, stable.
    first = runner.invoke(app, ["witness", "vkey", "--db", str(tmp_path / "dev.db")],
                          env={"GLASSKEY_WITNESS_KEY": ""})  # fmt: skip
    key_file = tmp_path / "glasskey-witness-key.pem"
    assert first.exit_code == 0 and key_file.stat().st_mode & 0o777 == 0o600
    again = runner.invoke(app, ["witness", "vkey", "--db", str(tmp_path / "dev.db")],
                          env={"GLASSKEY_WITNESS_KEY": ""})  # fmt: skip
    assert again.output == first.output and first.output.startswith("glasskey-witness.local+")


def test_serve_refuses_a_bad_log_key(tmp_path: Path) -> None:
    _register()
    done = CliRunner().invoke(app, ["witness", "serve", "--log", "not-a-key", "--db",
                                    str(tmp_path / "w.db")])  # fmt: skip
    assert done.exit_code == 2 and "error:" in done.output
