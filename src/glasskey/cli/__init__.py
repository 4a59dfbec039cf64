"""The ``glasskey`` command line: a thin typer front end, no logic of its own.

Each sub-command group lives in its own module and is registered here, so that parts of the
system (verification, server, auditor, client) can grow their commands independently.
"""

from __future__ import annotations

import typer

app = typer.Typer(
    name="glasskey",
    help="Key transparency for end-to-end encrypted messaging.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)


def _register() -> None:
    from glasskey.cli import verify

    verify.register(app)
    from glasskey.cli import service

    service.register(app)
    from glasskey.cli import keys

    keys.register(app)
    from glasskey.cli import audit

    audit.register(app)


def main() -> None:
    """Console-script entry point."""
    _register()
    app()
