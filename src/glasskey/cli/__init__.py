"""The ``glasskey`` command line: a thin typer front end, no logic of its own.

Each sub-command group lives in its own module and is registered here, so that parts of the
system (verification, server, auditor, client) can grow their commands independently.

The command modules import the server, the client and the auditor inside their commands, not
at the top: ``glasskey verify`` should not pay for loading FastAPI, uvicorn and httpx (about
a second) that only ``glasskey serve`` needs. That is start-up speed, not a layer dodge: the
CLI sits on top and may import everything.
"""

from __future__ import annotations

import typer

from glasskey.cli import _audit as audit
from glasskey.cli import _client_commands as client_commands
from glasskey.cli import _credential as credential
from glasskey.cli import _gossip as gossip
from glasskey.cli import _keys as keys
from glasskey.cli import _service as service
from glasskey.cli import _tokens as tokens
from glasskey.cli import _verify as verify
from glasskey.cli import _witness as witness

app = typer.Typer(
    name="glasskey",
    help="Key transparency for end-to-end encrypted messaging.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)


def _register() -> None:
    verify.register(app)
    service.register(app)
    client_commands.register(app)
    tokens.register(app)
    keys.register(app)
    audit.register(app)
    witness.register(app)
    credential.register(app)
    gossip.register(app)


def main() -> None:
    """Console-script entry point."""
    _register()
    app()
