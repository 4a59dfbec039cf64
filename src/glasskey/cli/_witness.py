"""``glasskey witness``: run glasskey's own C2SP tlog-witness, or print its verifier key.

The key comes from ``$GLASSKEY_WITNESS_KEY`` (base64 of a PEM), ``--key-file``, or — with
neither — a persistent development key file next to the database (a warning says so). It is
never printed or logged; ``glasskey witness vkey`` prints only the public verifier key.
"""

from __future__ import annotations

import logging
import os
from pathlib import Path
from typing import Annotated, Any, NoReturn

import typer

witness_app = typer.Typer(help="Run a C2SP tlog-witness that cosigns glasskey (or any) logs.")

WITNESS_ENV_VAR = "GLASSKEY_WITNESS_KEY"
DEV_WITNESS_KEY_FILE = "glasskey-witness-key.pem"

DbOpt = Annotated[str, typer.Option(envvar="GLASSKEY_WITNESS_DB", help="SQLite state file.")]
NameOpt = Annotated[
    str, typer.Option(envvar="GLASSKEY_WITNESS_NAME", help="The witness's key name.")
]
KeyOpt = Annotated[
    str | None, typer.Option(help=f"PEM file with the witness key (default: ${WITNESS_ENV_VAR}).")
]


def _fail(message: str) -> NoReturn:
    typer.echo(f"error: {message}", err=True)
    raise typer.Exit(2)


def _signer(key_file: str | None, db: str) -> Any:
    from glasskey.core.errors import KeyMaterialError
    from glasskey.keys import generate_pem, load_signer, write_private_file

    try:
        if os.environ.get(WITNESS_ENV_VAR, "").strip() or key_file is not None:
            return load_signer(env_var=WITNESS_ENV_VAR, key_file=key_file, allow_dev_key=False)
        path = Path(db).resolve().parent / DEV_WITNESS_KEY_FILE
        if not path.exists():
            write_private_file(path, generate_pem())
            logging.getLogger("glasskey.witness").warning(
                "no witness key configured: created a development key in %s (set %s in "
                "production)", path, WITNESS_ENV_VAR,
            )  # fmt: skip
        return load_signer(env_var=WITNESS_ENV_VAR, key_file=path, allow_dev_key=False)
    except KeyMaterialError as exc:
        _fail(str(exc))


@witness_app.command("serve")
def serve(
    log_key: Annotated[
        list[str],
        typer.Option(
            "--log", help="Verifier key of a log to witness (origin = key name); repeatable."
        ),
    ],
    host: Annotated[str, typer.Option(help="Interface to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="TCP port.")] = 8790,
    db: DbOpt = "glasskey-witness.db",
    name: NameOpt = "glasskey-witness.local",
    key_file: KeyOpt = None,
) -> None:
    """Serve ``POST /add-checkpoint``: cosign checkpoints consistent with the last one."""
    import uvicorn

    from glasskey.core.errors import GlasskeyError
    from glasskey.witness import Witness, WitnessStore, create_app, log_verifiers

    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")
    try:
        logs = log_verifiers(log_key)
        witness = Witness(_signer(key_file, db), name, logs, WitnessStore(db))
    except GlasskeyError as exc:
        _fail(str(exc))
    logging.getLogger("glasskey.witness").info(
        "witness %s for %d log(s) on %s:%d", witness.vkey(), len(logs), host, port
    )
    uvicorn.run(create_app(witness), host=host, port=port, log_level="warning")


@witness_app.command("vkey")
def vkey(db: DbOpt = "glasskey-witness.db", name: NameOpt = "glasskey-witness.local",
         key_file: KeyOpt = None) -> None:  # fmt: skip
    """Print the witness's verifier key (what logs pass to ``--witness`` and clients pin)."""
    from glasskey.log.note import CosignatureV1Verifier

    typer.echo(CosignatureV1Verifier(name, _signer(key_file, db).public_key).vkey())


def register(app: typer.Typer) -> None:
    app.add_typer(witness_app, name="witness")


__all__ = ["register"]
