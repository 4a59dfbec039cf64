"""``glasskey tokens``: the admin's credential commands (over the HTTP API, admin token).

``reissue USER`` / ``revoke USER`` — a user's bearer token (a reinstalled app, a stolen
device); ``issue-service NAME`` / ``revoke-service NAME`` — a service credential for the app's
backend, which uploads keys on behalf of its users (backend mode, docs/integration.md).
New secrets go to stdout alone (one line, for scripts); everything else to stderr.
"""

from __future__ import annotations

import os
from typing import Annotated, Any

import typer

from glasskey.cli._client_options import EXIT_USAGE, ServerOpt, fail
from glasskey.core.errors import GlasskeyError

AdminTokenOpt = Annotated[
    str | None, typer.Option("--admin-token", help="Admin token (else $GLASSKEY_ADMIN_TOKEN).")
]


def _admin(server: str, admin_token: str | None) -> Any:
    from glasskey.client._admin import AdminClient

    token = admin_token or os.environ.get("GLASSKEY_ADMIN_TOKEN")
    if not token:
        fail(EXIT_USAGE, "the admin token is needed (--admin-token or $GLASSKEY_ADMIN_TOKEN)",
              False)  # fmt: skip
    return AdminClient(server, token)


def _run_client(_: bool, action: Any) -> Any:
    """``action()``; any refusal or network failure is one line on stderr and exit 2."""
    try:
        return action()
    except GlasskeyError as exc:
        fail(EXIT_USAGE, str(exc), False, exc.code)


def register(app: typer.Typer) -> None:
    tokens = typer.Typer(
        name="tokens", help="Reissue or revoke user tokens; issue service credentials.",
        no_args_is_help=True,
    )  # fmt: skip
    app.add_typer(tokens)

    @tokens.command("reissue")
    def reissue(
        user: Annotated[str, typer.Argument(help="Registered user id.")],
        server: ServerOpt,
        admin_token: AdminTokenOpt = None,
    ) -> None:
        """Give USER a new bearer token (printed once); the old one stops working."""
        with _admin(server, admin_token) as admin:
            print(_run_client(False, lambda: admin.reissue_token(user)))

    @tokens.command("revoke")
    def revoke(
        user: Annotated[str, typer.Argument(help="Registered user id.")],
        server: ServerOpt,
        admin_token: AdminTokenOpt = None,
    ) -> None:
        """Revoke USER's token; the id stays taken until `tokens reissue`."""
        with _admin(server, admin_token) as admin:
            _run_client(False, lambda: admin.revoke_token(user))
        typer.echo(f"revoked the token of {user}", err=True)

    @tokens.command("issue-service")
    def issue_service(
        name: Annotated[str, typer.Argument(help="Name of the credential (e.g. chat-backend).")],
        server: ServerOpt,
        admin_token: AdminTokenOpt = None,
        rotate: Annotated[
            bool, typer.Option("--rotate", help="Replace an existing credential of that name.")
        ] = False,
    ) -> None:
        """A service credential that uploads keys on behalf of any user (printed once)."""
        with _admin(server, admin_token) as admin:
            print(_run_client(False, lambda: admin.issue_service_credential(name, replace=rotate)))

    @tokens.command("revoke-service")
    def revoke_service(
        name: Annotated[str, typer.Argument(help="Name of the credential.")],
        server: ServerOpt,
        admin_token: AdminTokenOpt = None,
    ) -> None:
        """Revoke the service credential NAME at once."""
        with _admin(server, admin_token) as admin:
            _run_client(False, lambda: admin.revoke_service_credential(name))
        typer.echo(f"revoked the service credential {name}", err=True)
