"""``glasskey keygen`` — create the log's Ed25519 signing key.

Two ways out, matching the two ways :func:`glasskey.keys.load_signer` reads a key:
``--out PATH`` writes a PKCS#8 PEM file (mode 0600, never over an existing file without
``--force``); ``--env`` prints one ``GLASSKEY_SIGNING_KEY=<base64 PEM>`` line for a secret
store. Either way the public half is printed as hex and as the C2SP verifier key that
clients and witnesses configure. With ``--env`` only the secret line goes to stdout (so
``glasskey keygen --env >> .env`` works); the public information goes to stderr.

Exit codes: 0 success, 2 usage or I/O error (existing file, bad origin).
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated, NoReturn

import typer

from glasskey.core.errors import GlasskeyError
from glasskey.core.signing import Ed25519Signer
from glasskey.keys import DEFAULT_ENV_VAR, generate_pem, pem_to_env_value, write_private_file
from glasskey.log.note import SIG_ED25519, is_valid_key_name, vkey_string

DEFAULT_ORIGIN = "glasskey.local/log"
EXIT_USAGE = 2


def keygen_command(
    out: Annotated[
        Path | None, typer.Option("--out", help="Write the private key PEM here (mode 0600).")
    ] = None,
    env: Annotated[
        bool,
        typer.Option("--env", help=f"Print a {DEFAULT_ENV_VAR}=<base64 PEM> line to stdout."),
    ] = False,
    force: Annotated[
        bool, typer.Option("--force", help="Overwrite an existing --out file.")
    ] = False,
    origin: Annotated[
        str,
        typer.Option("--origin", help="Log origin (checkpoint key name) for the verifier key."),
    ] = DEFAULT_ORIGIN,
) -> None:
    """Generate an Ed25519 signing key for the epoch-root log's checkpoints."""
    if out is None and not env:
        _usage("say where the key goes: --out PATH (a PEM file) or --env (a secret line)")
    if not is_valid_key_name(origin):
        _usage(f"--origin {origin!r} is not a valid key name (non-empty, no spaces, no '+')")
    pem = generate_pem()
    signer = Ed25519Signer.from_pem(pem)
    if out is not None:
        try:
            write_private_file(out, pem, force=force)
        except GlasskeyError as err:
            _usage(str(err))
    info = sys.stderr if env else sys.stdout
    if out is not None:
        print(f"wrote private key to {out} (mode 0600)", file=info)
    if env:
        print(f"{DEFAULT_ENV_VAR}={pem_to_env_value(pem)}")
    print(f"public key: {signer.public_key.hex()}", file=info)
    print(f"verifier key: {vkey_string(origin, SIG_ED25519, signer.public_key)}", file=info)


def _usage(message: str) -> NoReturn:
    print(f"error: {message}", file=sys.stderr)
    raise typer.Exit(EXIT_USAGE)


def register(app: typer.Typer) -> None:
    """Add ``keygen`` to the root ``glasskey`` command."""
    app.command("keygen")(keygen_command)


__all__ = ["DEFAULT_ORIGIN", "keygen_command", "register"]
