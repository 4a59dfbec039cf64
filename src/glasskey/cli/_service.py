"""``glasskey serve | lookup | history | monitor | upload | register | demo``.

Exit codes of the client commands (scripts rely on them): 0 — verified; 1 — verification
failed (the reason is printed; the key must not be used); 2 — usage, network or server error.

The server (with FastAPI and uvicorn) and the client (with httpx) are imported inside the
commands that use them, to keep every other command's start-up fast.
"""

from __future__ import annotations

import base64
import json
import os
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, NoReturn

import typer

from glasskey.core.errors import GlasskeyError, UsageError, VerificationError
from glasskey.storage._urls import parse_database_url

if TYPE_CHECKING:
    from glasskey.server._user_ids import UserIdPolicy

EXIT_OK, EXIT_FAILED, EXIT_USAGE = 0, 1, 2


def _db_url(db: str | None) -> str:
    """``--db``: a URL (sqlite:///, postgresql://, memory://) or a plain SQLite file path."""
    if db is None:
        return f"sqlite:///{Path('glasskey.db').resolve()}"
    if "://" in db:
        return parse_database_url(db).url
    return f"sqlite:///{Path(db).resolve()}"


def _default_state() -> str:
    env = os.environ.get("GLASSKEY_CLIENT_STATE")
    if env:
        return env
    base = Path(os.environ.get("XDG_STATE_HOME") or Path.home() / ".local" / "state")
    return str(base / "glasskey" / "client.db")


def _fail(code: int, message: str, as_json: bool, kind: str = "error") -> NoReturn:
    if as_json:
        print(json.dumps({"verified": False, "error": kind, "message": message}))
    else:
        print(f"{'REFUSED' if code == EXIT_FAILED else 'error'}: {message}", file=sys.stderr)
    raise typer.Exit(code)


def _run_client(as_json: bool, action: Any) -> Any:
    from glasskey.client import NotFound

    try:
        return action()
    except NotFound as exc:
        _fail(EXIT_FAILED, f"no verified key: {exc}", as_json, "not_found")
    except VerificationError as exc:
        _fail(EXIT_FAILED, f"{exc.code}: {exc}", as_json, exc.code)
    except GlasskeyError as exc:
        _fail(EXIT_USAGE, str(exc), as_json, exc.code)
    except OSError as exc:
        _fail(EXIT_USAGE, str(exc), as_json)


def _client(
    server: str,
    state: str | None,
    max_age: float | None,
    trust: dict[str, Any],
    auditor_keys: list[str] | None = None,
    auditor_namespace: str | None = None,
    require_auditor: bool = False,
) -> Any:
    from glasskey.client import AuditorPin, GlasskeyClient, Trust, VerificationPolicy

    pinned = None
    if trust.get("log_key") or trust.get("vrf_key"):
        if not (trust.get("log_key") and trust.get("vrf_key")):
            raise UsageError("--log-key and --vrf-key must be given together")
        origin = str(trust["log_key"]).split("+", 1)[0]
        try:
            vrf = bytes.fromhex(str(trust["vrf_key"]))
        except ValueError:
            raise UsageError("--vrf-key must be hex") from None
        pinned = Trust(origin, str(trust["log_key"]), vrf, str(trust["config"]))
    if require_auditor and not auditor_keys:
        raise UsageError("--require-auditor needs at least one --auditor-key")
    if bool(auditor_keys) != (auditor_namespace is not None):
        raise UsageError(
            "an auditor is pinned as a pair: --auditor-key and --auditor-namespace (the "
            "log's namespace at that auditor) go together"
        )
    auditor = None
    if auditor_keys and auditor_namespace is not None:
        auditor = AuditorPin(auditor_keys, auditor_namespace, required=require_auditor)
    policy = VerificationPolicy(trust=pinned, max_age=max_age or None, auditor=auditor)
    return GlasskeyClient(server, policy=policy, state=state or _default_state())


ServerOpt = Annotated[str, typer.Option("--server", "-s", help="Server base URL.")]
StateOpt = Annotated[
    str | None, typer.Option("--state", help="Client state file (default ~/.local/state/...).")
]
MaxAgeOpt = Annotated[
    float, typer.Option("--max-age", help="Refuse checkpoints older than this (s); 0: off.")
]
LogKeyOpt = Annotated[
    str | None, typer.Option("--log-key", help="Pin the log's note verifier key (vkey).")
]
VrfKeyOpt = Annotated[str | None, typer.Option("--vrf-key", help="Pin the VRF public key (hex).")]
ConfigOpt = Annotated[str, typer.Option("--config", help="AKD configuration when pinning.")]
AuditorKeyOpt = Annotated[
    list[str] | None,
    typer.Option("--auditor-key", help="Pin an auditor's Ed25519 public key (hex); repeatable."),
]
AuditorNamespaceOpt = Annotated[
    str | None,
    typer.Option(
        "--auditor-namespace",
        help="The log's namespace at the pinned auditor (required with --auditor-key).",
    ),
]
RequireAuditorOpt = Annotated[
    bool,
    typer.Option("--require-auditor", help="Refuse epochs without an auditor countersignature."),
]
JsonOpt = Annotated[bool, typer.Option("--json", help="Machine-readable output.")]


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
    ) -> None:
        """Run the key-transparency server (embedded SQLite by default, no setup).

        With --auditor-url, every epoch is sent to the auditor (token from
        $GLASSKEY_AUDITOR_TOKEN) and its verified countersignature is served with proofs.
        """
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
                user_id_policy=_user_id_policy(user_id_policy),
                admin_token=os.environ.get(ADMIN_TOKEN_ENV) or None,
                auditor_url=auditor_url,
                auditor_namespace=auditor_namespace,
                auditor_token=os.environ.get(AUDITOR_TOKEN_ENV) or None,
                auditor_retry_max=auditor_retry_max,
                max_publication_delay=max_publication_delay,
                checkpoint_refresh=checkpoint_refresh,
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
                os.environ[SETTINGS_ENV] = settings_to_env(
                    settings, {"signing": signing_key_file, "vrf": vrf_key_file}
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
    def lookup(
        label: Annotated[str, typer.Argument(help="User id to look up.")],
        server: ServerOpt,
        state: StateOpt = None,
        max_age: MaxAgeOpt = 3600.0,
        log_key: LogKeyOpt = None,
        vrf_key: VrfKeyOpt = None,
        config: ConfigOpt = "whatsapp_v1",
        auditor_key: AuditorKeyOpt = None,
        auditor_namespace: AuditorNamespaceOpt = None,
        require_auditor: RequireAuditorOpt = False,
        as_json: JsonOpt = False,
    ) -> None:
        """Fetch LABEL's key and print it only if every proof verifies."""
        trust = {"log_key": log_key, "vrf_key": vrf_key, "config": config}

        def action() -> Any:
            with _client(
                server, state, max_age, trust, auditor_key, auditor_namespace, require_auditor
            ) as client:
                return client.lookup(label)

        key = _run_client(as_json, action)
        out = {
            "verified": True,
            "user_id": key.user_id,
            "key": base64.b64encode(key.key).decode(),
            "version": key.version,
            "published_epoch": key.published_epoch,
            "epoch": key.epoch,
            "root_hash": key.root_hash.hex(),
            "auditor": None,
        }
        signature = key.auditor_signature
        if signature is not None:
            out["auditor"] = {
                "namespace": signature.namespace,
                "epoch": signature.epoch,
                "timestamp": signature.timestamp,
                "key_id": signature.key_id,
            }
        if as_json:
            print(json.dumps(out))
        else:
            print(
                f"verified {label}: version {key.version} (published in epoch "
                f"{key.published_epoch}), checked at epoch {key.epoch}\n"
                f"key (base64): {out['key']}"
            )
            if signature is not None:
                print(f"countersigned by the pinned auditor ({signature.namespace}, ms "
                      f"{signature.timestamp})")  # fmt: skip

    @app.command()
    def history(
        label: Annotated[str, typer.Argument(help="User id.")],
        server: ServerOpt,
        most_recent: Annotated[int | None, typer.Option(help="Only the newest N versions.")] = None,
        state: StateOpt = None,
        max_age: MaxAgeOpt = 3600.0,
        log_key: LogKeyOpt = None,
        vrf_key: VrfKeyOpt = None,
        config: ConfigOpt = "whatsapp_v1",
        as_json: JsonOpt = False,
    ) -> None:
        """Print LABEL's verified key history (newest first)."""
        trust = {"log_key": log_key, "vrf_key": vrf_key, "config": config}

        def action() -> Any:
            with _client(server, state, max_age, trust) as client:
                return client.history(label, most_recent)

        result = _run_client(as_json, action)
        versions = [
            {"version": v.version, "epoch": v.epoch, "key": base64.b64encode(v.value).decode()}
            for v in result.versions
        ]
        if as_json:
            print(json.dumps({"verified": True, "user_id": label, "versions": versions}))
        else:
            print(f"verified history of {label} at epoch {result.epoch}:")
            for v in versions:
                print(f"  version {v['version']}  epoch {v['epoch']}  {v['key']}")

    @app.command()
    def monitor(
        label: Annotated[str, typer.Argument(help="User id to monitor.")],
        server: ServerOpt,
        own: Annotated[
            bool, typer.Option("--own", help="It is your label: flag versions you did not upload.")
        ] = False,
        state: StateOpt = None,
        max_age: MaxAgeOpt = 3600.0,
        log_key: LogKeyOpt = None,
        vrf_key: VrfKeyOpt = None,
        config: ConfigOpt = "whatsapp_v1",
        as_json: JsonOpt = False,
    ) -> None:
        """Verify LABEL's complete history and report anything suspicious (exit 1 if so)."""
        trust = {"log_key": log_key, "vrf_key": vrf_key, "config": config}

        def action() -> Any:
            with _client(server, state, max_age, trust) as client:
                return client.monitor(label, own=own)

        report = _run_client(as_json, action)
        alerts = [
            {"code": a.code, "message": a.message, "version": a.version} for a in report.alerts
        ]
        if as_json:
            print(json.dumps({"verified": report.ok, "user_id": label, "alerts": alerts,
                              "versions": len(report.history.versions)}))  # fmt: skip
        else:
            print(
                f"{label}: {len(report.history.versions)} version(s) verified at epoch "
                f"{report.history.epoch}"
            )
            for a in alerts:
                print(f"  ALERT {a['code']}: {a['message']}")
        if not report.ok:
            raise typer.Exit(EXIT_FAILED)

    @app.command()
    def upload(
        label: Annotated[str, typer.Argument(help="Your user id.")],
        server: ServerOpt,
        key_b64: Annotated[str, typer.Option("--key", help="The new public key, base64.")],
        token: Annotated[
            str | None, typer.Option(help="Bearer token (else $GLASSKEY_TOKEN).")
        ] = None,
        wait: Annotated[float, typer.Option(help="Seconds to wait for publication.")] = 0.0,
        state: StateOpt = None,
        as_json: JsonOpt = False,
    ) -> None:
        """Upload a new key for your label (recorded locally for owner monitoring)."""
        bearer = token or os.environ.get("GLASSKEY_TOKEN")
        if not bearer:
            _fail(EXIT_USAGE, "a bearer token is needed (--token or $GLASSKEY_TOKEN)", as_json)
        try:
            key = base64.b64decode(key_b64, validate=True)
        except ValueError:
            _fail(EXIT_USAGE, "--key is not valid base64", as_json)

        def action() -> Any:
            with _client(server, state, 3600.0, {}) as client:
                return client.upload(label, key, bearer, wait=wait)

        receipt = _run_client(as_json, action)
        out = {"update_id": receipt.update_id, "status": receipt.status, "epoch": receipt.epoch}
        print(json.dumps(out) if as_json else f"update {receipt.update_id}: {receipt.status}")

    @app.command(name="register")
    def register_user(
        label: Annotated[str, typer.Argument(help="User id to register.")],
        server: ServerOpt,
        admin_token: Annotated[
            str | None, typer.Option(help="Admin token (else $GLASSKEY_ADMIN_TOKEN).")
        ] = None,
    ) -> None:
        """Register a user id; prints its bearer token (store it: it is shown once)."""
        from glasskey.client import GlasskeyClient

        def action() -> Any:
            with GlasskeyClient(server) as client:
                return client.register(label, admin_token or os.environ.get("GLASSKEY_ADMIN_TOKEN"))

        print(_run_client(False, action))

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


def _user_id_policy(name: str) -> UserIdPolicy:
    """The ``--user-id-policy`` named (the server is imported only when serving)."""
    from glasskey.server._user_ids import UserIdPolicy

    try:
        return UserIdPolicy(name.lower())
    except ValueError:
        raise typer.BadParameter(
            f"{name!r}: use exact, casefold or e164", param_hint="--user-id-policy"
        ) from None
