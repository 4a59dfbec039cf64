"""``glasskey serve | demo``: the log server and the self-contained demo.

The server (with FastAPI and uvicorn) is imported inside the commands that use it, to keep
every other command's start-up fast. The client commands are in ``_client_commands``.
"""

from __future__ import annotations

import logging
import os
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from glasskey.cli._client_options import EXIT_USAGE
from glasskey.core.errors import GlasskeyError
from glasskey.storage._urls import parse_database_url

if TYPE_CHECKING:
    from glasskey.server._user_ids import UserIdPolicy


def _db_url(db: str | None) -> str:
    """``--db``: a URL (sqlite:///, postgresql://, memory://) or a plain SQLite file path."""
    if db is None:
        return f"sqlite:///{Path('glasskey.db').resolve()}"
    if "://" in db:
        return parse_database_url(db).url
    return f"sqlite:///{Path(db).resolve()}"


def register(app: typer.Typer) -> None:
    @app.command()
    def serve(
        host: Annotated[str, typer.Option(help="Interface to listen on.")] = "127.0.0.1",
        port: Annotated[int, typer.Option(help="TCP port.")] = 8080,
        db: Annotated[
            str | None,
            typer.Option(help="sqlite:///PATH (default ./glasskey.db) or postgresql://..."),
        ] = None,
        epoch_interval: Annotated[
            float, typer.Option("--epoch-interval", help="Seconds between epochs.")
        ] = 5.0,
        origin: Annotated[str, typer.Option(help="Root-log origin (checkpoint name).")] = (
            "glasskey.local/log"
        ),
        config: Annotated[str, typer.Option(help="AKD configuration.")] = "whatsapp_v1",
        blob_dir: Annotated[str | None, typer.Option(help="Audit blob folder.")] = None,
        audit_store: Annotated[
            str | None,
            typer.Option(
                help="Where audit blobs go: s3://BUCKET/PREFIX (an S3-compatible store; "
                "AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY, AWS_ENDPOINT_URL from the "
                "environment) or a folder. Default: --blob-dir."
            ),
        ] = None,
        read_only: Annotated[
            bool,
            typer.Option(
                help="Read replica: serve lookups, histories and transparency reads from --db "
                "(e.g. a PostgreSQL hot standby); never write, answer writes with 503."
            ),
        ] = False,
        writer_url: Annotated[
            str | None,
            typer.Option(help="A read replica's writer (named to misrouted writes; lag source)."),
        ] = None,
        max_replica_lag: Annotated[
            float,
            typer.Option(help="A read replica turns unready when this many seconds behind."),
        ] = 30.0,
        signing_key_file: Annotated[
            str | None, typer.Option(help="Ed25519 PEM (else $GLASSKEY_SIGNING_KEY or dev key).")
        ] = None,
        vrf_key_file: Annotated[
            str | None, typer.Option(help="VRF seed file (else $GLASSKEY_VRF_KEY or dev key).")
        ] = None,
        open_registration: Annotated[
            bool,
            typer.Option(
                help="Let anyone register an unused user id. For development only: anyone "
                "may then claim any id (a warning is logged at start-up)."
            ),
        ] = False,
        authenticator: Annotated[
            str | None,
            typer.Option(
                help="module:factory of a plug-in authenticator that maps your app's own "
                "credentials (Authorization header) to user ids, built in every worker "
                "(docs/integration.md). Default: glasskey's per-user tokens.",
            ),
        ] = None,
        user_id_policy: Annotated[
            str,
            typer.Option(
                help="Which user ids name the same user: exact (as given; the default, so "
                "existing ids keep their users), casefold (NFKC + case folding: Alice is "
                "alice) or e164 (phone numbers, + and 8-15 digits). Choose before the first "
                "registration.",
            ),
        ] = "exact",
        rate_limit: Annotated[
            float, typer.Option(help="Public requests/s per client address; 0 disables.")
        ] = 50.0,
        trusted_proxy: Annotated[
            list[str] | None,
            typer.Option(
                "--trusted-proxy",
                help="Reverse proxy (address or CIDR) whose X-Forwarded-For is believed; "
                "repeatable. Default: none, the TCP peer is the client.",
            ),
        ] = None,
        expensive_concurrency: Annotated[
            int,
            typer.Option(
                min=0, help="Audit/history/listing requests at once per process; 0: no limit."
            ),
        ] = 1,
        expensive_bytes: Annotated[
            float,
            typer.Option(help="Bytes/s those expensive requests may serve per process."),
        ] = 2 * 1024 * 1024,
        max_body: Annotated[
            int, typer.Option(min=1, help="Largest request body (bytes); larger is a 413.")
        ] = 128 * 1024,
        user_write_limit: Annotated[
            float, typer.Option(min=0, help="Key uploads per minute per user; 0 disables.")
        ] = 6.0,
        write_rate_limit: Annotated[
            float,
            typer.Option(min=0, help="Writes/s per process from all users together; 0 disables."),
        ] = 500.0,
        workers: Annotated[int, typer.Option(help="Server processes sharing the database.")] = 1,
        read_threads: Annotated[
            int | None,
            typer.Option(
                min=0,
                max=64,
                help="Threads per process for lookup reads; 0 = on the event loop. "
                "Default: 0 for SQLite, 2 for PostgreSQL (more for a distant database).",
            ),
        ] = None,
        log_level: Annotated[str, typer.Option(help="debug, info, warning, error.")] = "info",
        json_logs: Annotated[bool, typer.Option(help="JSON-lines logs.")] = True,
        auditor_url: Annotated[
            str | None,
            typer.Option(help="Plexi-compatible auditor to countersign every epoch."),
        ] = None,
        auditor_namespace: Annotated[
            str | None, typer.Option(help="Auditor namespace of this log (default: --origin).")
        ] = None,
        auditor_retry_max: Annotated[
            float, typer.Option(help="Longest back-off between countersign retries (s).")
        ] = 60.0,
        max_publication_delay: Annotated[
            float | None,
            typer.Option(
                help="Declared maximum seconds from an accepted upload to its epoch; owners' "
                "clients pin it and alert past it. Default: 5 epoch intervals, at least 5 s."
            ),
        ] = None,
        checkpoint_refresh: Annotated[
            float,
            typer.Option(
                help="Re-sign the head checkpoint this often (s) even without new epochs; "
                "declared in the key document, clients refuse heads a few of these old."
            ),
        ] = 60.0,
        witness: Annotated[
            list[str] | None,
            typer.Option(
                help="VKEY@URL of a C2SP tlog-witness to submit every checkpoint to "
                "(cosignatures are served with it); repeatable."
            ),
        ] = None,
    ) -> None:
        """Run the key-transparency server (embedded SQLite by default, no setup).

        With --auditor-url, every epoch is sent to the auditor (token from
        $GLASSKEY_AUDITOR_TOKEN) and its verified countersignature is served with proofs.

        Environment variables (secrets are never given as flags):

        * GLASSKEY_ADMIN_TOKEN: registers users (glasskey register USER --admin-token ...);
          unset, nobody can register unless --open-registration.

        * GLASSKEY_SIGNING_KEY: the log's Ed25519 signing key (glasskey keygen --env);
          else --signing-key-file, else a development key in ./glasskey-dev-keys/.

        * GLASSKEY_VRF_KEY: the 32-byte VRF secret key (hex or base64); else --vrf-key-file,
          else a development key in ./glasskey-dev-keys/.

        * GLASSKEY_AUDITOR_TOKEN: the log's token at the --auditor-url auditor
          (glasskey auditor owner-token).

        * GLASSKEY_SERVE_SETTINGS: set by glasskey serve itself for its --workers.
        """
        _check_port(port)
        import uvicorn

        from glasskey.server._keyfiles import load_signing_key, load_vrf_seed
        from glasskey.server._logs import configure_logging
        from glasskey.server._settings import ServerSettings
        from glasskey.server.asgi import (
            ADMIN_TOKEN_ENV,
            AUDITOR_TOKEN_ENV,
            SETTINGS_ENV,
            build_app,
            key_dir_for,
            settings_to_env,
        )

        configure_logging(log_level, json_logs)
        log = logging.getLogger("glasskey.serve")
        try:
            settings = ServerSettings(
                db_url=_db_url(db),
                epoch_interval=epoch_interval,
                origin=origin,
                configuration=config,
                blob_dir=blob_dir,
                audit_store=audit_store,
                read_only=read_only,
                writer_url=writer_url,
                max_replica_lag=max_replica_lag,
                rate_limit=rate_limit,
                trusted_proxies=tuple(trusted_proxy or ()),
                expensive_concurrency=expensive_concurrency,
                expensive_bytes_per_second=expensive_bytes,
                max_body_bytes=max_body,
                user_write_limit=user_write_limit,
                write_rate_limit=write_rate_limit,
                open_registration=open_registration,
                authenticator=authenticator,
                user_id_policy=_user_id_policy(user_id_policy),
                admin_token=os.environ.get(ADMIN_TOKEN_ENV) or None,
                auditor_url=auditor_url,
                auditor_namespace=auditor_namespace,
                auditor_token=os.environ.get(AUDITOR_TOKEN_ENV) or None,
                auditor_retry_max=auditor_retry_max,
                max_publication_delay=max_publication_delay,
                checkpoint_refresh=checkpoint_refresh,
                witnesses=_witness_specs(witness),
                freeze_gc=True,
                read_threads=read_threads,
            )
            if workers > 1:
                # Load (creating dev keys if needed) once here: a bad key fails now with a
                # clear message instead of in every worker, and the workers all find the
                # same keys.
                dev_dir = key_dir_for(settings.db_url)
                load_signing_key(signing_key_file, dev_dir)
                load_vrf_seed(vrf_key_file, dev_dir)
                _first_start_hints(log, settings, host, port)
                if authenticator:  # a bad plug-in fails once, here, not in every worker
                    _check_authenticator(authenticator, settings.db_url)
                os.environ[SETTINGS_ENV] = settings_to_env(
                    settings,
                    {"signing": signing_key_file, "vrf": vrf_key_file},
                    {"level": log_level, "json": json_logs},
                )
                uvicorn.run(
                    "glasskey.server.asgi:app_from_env", factory=True, host=host, port=port,
                    workers=workers, log_config=None, timeout_graceful_shutdown=30,
                    proxy_headers=False,
                )  # fmt: skip
                return
            application = build_app(settings, signing_key_file, vrf_key_file)
        except GlasskeyError as exc:
            print(f"error: {exc}", file=sys.stderr)
            raise typer.Exit(EXIT_USAGE) from None
        except OSError as exc:  # an unreadable key file, an unwritable key folder
            print(f"error: {exc}", file=sys.stderr)
            raise typer.Exit(EXIT_USAGE) from None
        _first_start_hints(log, settings, host, port)
        # uvicorn's own proxy-header handling would believe X-Forwarded-For from 127.0.0.1
        # (or $FORWARDED_ALLOW_IPS) before glasskey sees the request; --trusted-proxy decides.
        uvicorn.run(
            application,
            host=host,
            port=port,
            log_config=None,
            timeout_graceful_shutdown=30,
            proxy_headers=False,
        )

    @app.command()
    def demo(
        port: Annotated[int, typer.Option(help="Port for the demo server (0: any free).")] = 0,
        keep: Annotated[bool, typer.Option(help="Keep the demo folder.")] = False,
    ) -> None:
        """Start a server, register users, rotate a key, verify lookups — then show that a
        server serving a forged key, forking its view, rolling back or freezing its head
        (hiding an upload) is caught."""
        from glasskey.demo import run_demo

        raise typer.Exit(run_demo(port=port, keep=keep))


def _witness_specs(specs: list[str] | None) -> tuple[str, ...]:
    """``--witness VKEY@URL`` values, checked now (a typo fails at start, not in a thread)."""
    from glasskey.server._witnessing import WitnessConfig

    for spec in specs or ():
        WitnessConfig.parse(spec)
    return tuple(specs or ())


def _check_port(port: int) -> None:
    """A TCP port is 1-65535; uvicorn would log any number and then listen elsewhere."""
    if not 1 <= port <= 65535:
        print(f"error: --port must be between 1 and 65535, got {port}", file=sys.stderr)
        raise typer.Exit(EXIT_USAGE)


def _first_start_hints(log: logging.Logger, settings: Any, host: str, port: int) -> None:
    """Say once, at start-up, what a newcomer needs next: how to register the first user,
    and that an auditor without a token will refuse every epoch."""
    shown = "127.0.0.1" if host in ("0.0.0.0", "::", "") else host
    url = f"http://{shown}:{port}" if ":" not in shown else f"http://[{shown}]:{port}"
    command = f'glasskey register USER --server {url} --admin-token "$GLASSKEY_ADMIN_TOKEN"'
    if settings.admin_token:
        log.info("register users with: %s", command)
    elif not settings.open_registration:
        log.warning(
            "nobody can register users: GLASSKEY_ADMIN_TOKEN is not set. Set it (any long "
            "random secret), restart, and register the first user with: %s",
            command,
        )
    if settings.auditor_url and not settings.auditor_token:
        log.warning(
            "GLASSKEY_AUDITOR_TOKEN is not set: the auditor at %s will refuse every epoch "
            "(401) until it is. Make one with `glasskey auditor owner-token`.",
            settings.auditor_url,
        )


def _check_authenticator(spec: str, db_url: str) -> None:
    """Build the plug-in once in the parent process (its errors are one line, here)."""
    from glasskey.server._auth import load_authenticator
    from glasskey.server._db import ServiceDB

    db = ServiceDB(db_url)
    try:
        load_authenticator(spec, db)
    finally:
        db.close()


def _user_id_policy(name: str) -> UserIdPolicy:
    """The ``--user-id-policy`` named (the server is imported only when serving)."""
    from glasskey.server._user_ids import UserIdPolicy

    try:
        return UserIdPolicy(name.lower())
    except ValueError:
        raise typer.BadParameter(
            f"{name!r}: use exact, casefold or e164", param_hint="--user-id-policy"
        ) from None
