"""``glasskey serve | lookup | history | monitor | upload | register | demo``.

Exit codes of the client commands (scripts rely on them): 0 — verified; 1 — verification
failed (the reason is printed; the key must not be used); 2 — usage, network or server error.

The server (with FastAPI and uvicorn) and the client (with httpx) are imported inside the
commands that use them, to keep every other command's start-up fast.
"""

from __future__ import annotations

import base64
import json
import logging
import os
import sqlite3
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, Literal, NoReturn

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
    from glasskey.client import NotFound, UserNotFound

    try:
        return action()
    except UserNotFound as exc:
        _fail(EXIT_FAILED, f"user_not_found (proven): {exc}", as_json, "user_not_found")
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
    auditor_url: str | None = None,
    *,
    witnesses: list[str] | None = None,
    witness_threshold: int | None = None,
) -> Any:
    from glasskey.client import (
        LOG_DECLARED,
        AuditorPin,
        GlasskeyClient,
        Trust,
        VerificationPolicy,
    )

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
    if auditor_url is not None and not auditor_keys:
        raise UsageError("--auditor-url needs the auditor pinned: --auditor-key and "
                         "--auditor-namespace")  # fmt: skip
    auditor = None
    if auditor_keys and auditor_namespace is not None:
        auditor = AuditorPin(
            auditor_keys, auditor_namespace, required=require_auditor, url=auditor_url
        )
    # --max-age: unset follows the log's declared re-signing interval, 0 turns the check off.
    age: float | Literal["log-declared"] | None = LOG_DECLARED
    if max_age is not None:
        age = max_age or None
    keys = tuple(witnesses or ())
    threshold = len(keys) if witness_threshold is None else witness_threshold
    policy = VerificationPolicy(
        trust=pinned, max_age=age, auditor=auditor, witnesses=keys,
        witness_threshold=threshold,
    )  # fmt: skip
    path = state or _default_state()
    try:
        return GlasskeyClient(server, policy=policy, state=path)
    except (OSError, sqlite3.Error) as exc:  # a folder, a read-only place, a file in the way
        reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc)
        raise UsageError(f"cannot use {path} as the client state (--state): {reason}") from None


def _monitor_contacts(as_json: bool, make_client: Any) -> None:
    """``glasskey monitor --contacts``: print the report; exit 1 on any alert."""

    def action() -> Any:
        with make_client() as client:
            return client.monitor_contacts()

    report = _run_client(as_json, action)
    alerts = [
        {"code": a.code, "label": a.label, "message": a.message, "version": a.version}
        for a in report.alerts
    ]
    if as_json:
        print(json.dumps({"verified": report.ok, "checked": list(report.checked),
                          "alerts": alerts}))  # fmt: skip
    else:
        print(f"{len(report.checked)} contact(s) re-verified: {', '.join(report.checked)}")
        for a in alerts:
            print(f"  ALERT {a['code']} ({a['label']}): {a['message']}")
    if not report.ok:
        raise typer.Exit(EXIT_FAILED)


ServerOpt = Annotated[str, typer.Option("--server", "-s", help="Server base URL.")]
StateOpt = Annotated[
    str | None, typer.Option("--state", help="Client state file (default ~/.local/state/...).")
]
MaxAgeOpt = Annotated[
    float | None,
    typer.Option(
        "--max-age",
        help="Refuse checkpoints older than this (s); 0: off. Default: a few of the log's "
        "declared checkpoint re-signing intervals.",
    ),
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
AuditorUrlOpt = Annotated[
    str | None,
    typer.Option(
        "--auditor-url",
        help="The pinned auditor's base URL: also ask it for its newest countersigned epoch, "
        "so that a replayed old head is refused even with fresh state.",
    ),
]
RequireAuditorOpt = Annotated[
    bool,
    typer.Option("--require-auditor", help="Refuse epochs without an auditor countersignature."),
]
JsonOpt = Annotated[bool, typer.Option("--json", help="Machine-readable output.")]
WitnessOpt = Annotated[
    list[str] | None,
    typer.Option(
        "--witness",
        help="Pin a witness's cosignature verifier key (name+id+base64 key); repeatable.",
    ),
]
WitnessThresholdOpt = Annotated[
    int | None,
    typer.Option(
        "--witness-threshold",
        min=0,
        help="Cosignatures by distinct pinned witnesses a checkpoint needs (default: all).",
    ),
]


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
    def lookup(
        label: Annotated[str, typer.Argument(help="User id to look up.")],
        server: ServerOpt,
        state: StateOpt = None,
        max_age: MaxAgeOpt = None,
        log_key: LogKeyOpt = None,
        vrf_key: VrfKeyOpt = None,
        config: ConfigOpt = "whatsapp_v1",
        auditor_key: AuditorKeyOpt = None,
        auditor_namespace: AuditorNamespaceOpt = None,
        require_auditor: RequireAuditorOpt = False,
        auditor_url: AuditorUrlOpt = None,
        version: Annotated[
            int | None,
            typer.Option(
                "--version", min=1, help="Fixed-version search: that version, proven in the tree."
            ),
        ] = None,
        no_watch: Annotated[
            bool, typer.Option("--no-watch", help="Do not add LABEL to the watched contacts.")
        ] = False,
        as_json: JsonOpt = False,
        witness: WitnessOpt = None,
        witness_threshold: WitnessThresholdOpt = None,
    ) -> None:
        """Fetch LABEL's key and print it only if every proof verifies.

        A user with no key is reported only once the server proved it (user_not_found);
        a bare "not found" is refused as unproven_absence. Exit 1 in both cases.
        """
        trust = {"log_key": log_key, "vrf_key": vrf_key, "config": config}

        def action() -> Any:
            with _client(
                server, state, max_age, trust, auditor_key, auditor_namespace, require_auditor,
                auditor_url, witnesses=witness, witness_threshold=witness_threshold,
            ) as client:  # fmt: skip
                return client.lookup(label, version=version, watch=not no_watch)

        key = _run_client(as_json, action)
        out = {
            "verified": True,
            "user_id": key.user_id,
            "key": base64.b64encode(key.key).decode(),
            "version": key.version,
            "published_epoch": key.published_epoch,
            "published_at": key.published_at,
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
        max_age: MaxAgeOpt = None,
        log_key: LogKeyOpt = None,
        vrf_key: VrfKeyOpt = None,
        config: ConfigOpt = "whatsapp_v1",
        auditor_key: AuditorKeyOpt = None,
        auditor_namespace: AuditorNamespaceOpt = None,
        require_auditor: RequireAuditorOpt = False,
        auditor_url: AuditorUrlOpt = None,
        devices: Annotated[
            bool,
            typer.Option("--devices", help="Show each device's changes (key bundle values)."),
        ] = False,
        as_json: JsonOpt = False,
        witness: WitnessOpt = None,
        witness_threshold: WitnessThresholdOpt = None,
    ) -> None:
        """Print LABEL's verified key history (newest first), with publication times."""
        trust = {"log_key": log_key, "vrf_key": vrf_key, "config": config}

        def action() -> Any:
            with _client(
                server, state, max_age, trust, auditor_key, auditor_namespace, require_auditor,
                auditor_url, witnesses=witness, witness_threshold=witness_threshold,
            ) as client:  # fmt: skip
                return client.history(label, most_recent)

        result = _run_client(as_json, action)
        versions = [
            {"version": v.version, "epoch": v.epoch, "key": base64.b64encode(v.value).decode(),
             "published_at": result.published_at_of(v.version)}
            for v in result.versions
        ]  # fmt: skip
        changes = _device_changes(result, as_json) if devices else []
        if as_json:
            out: dict[str, Any] = {"verified": True, "user_id": label, "versions": versions}
            if devices:
                out["devices"] = changes
            print(json.dumps(out))
        elif devices:
            print(f"verified device history of {label} at epoch {result.epoch} (oldest first):")
            for c in changes:
                print(f"  version {c['version']}  {_when(c['published_at'])}  "
                      f"{c['change']} {c['device_id']}")  # fmt: skip
        else:
            print(f"verified history of {label} at epoch {result.epoch}:")
            for v in versions:
                print(f"  version {v['version']}  epoch {v['epoch']}  "
                      f"{_when(v['published_at'])}  {v['key']}")  # fmt: skip

    @app.command()
    def monitor(
        server: ServerOpt,
        label: Annotated[
            str | None, typer.Argument(help="User id to monitor (not with --contacts).")
        ] = None,
        own: Annotated[
            bool, typer.Option("--own", help="It is your label: flag versions you did not upload.")
        ] = False,
        contacts: Annotated[
            bool,
            typer.Option("--contacts", help="Re-verify every watched contact (one request each)."),
        ] = False,
        state: StateOpt = None,
        max_age: MaxAgeOpt = None,
        log_key: LogKeyOpt = None,
        vrf_key: VrfKeyOpt = None,
        config: ConfigOpt = "whatsapp_v1",
        auditor_key: AuditorKeyOpt = None,
        auditor_namespace: AuditorNamespaceOpt = None,
        require_auditor: RequireAuditorOpt = False,
        auditor_url: AuditorUrlOpt = None,
        as_json: JsonOpt = False,
        witness: WitnessOpt = None,
        witness_threshold: WitnessThresholdOpt = None,
    ) -> None:
        """Verify LABEL's complete history and report anything suspicious (exit 1 if so);
        with --contacts, every contact this state watches (contact_key_changed,
        contact_history_inconsistent)."""
        trust = {"log_key": log_key, "vrf_key": vrf_key, "config": config}
        if contacts:
            if label is not None or own:
                _fail(EXIT_USAGE, "--contacts takes no LABEL and no --own", as_json)
            _monitor_contacts(as_json, lambda: _client(
                server, state, max_age, trust, auditor_key, auditor_namespace, require_auditor,
                auditor_url, witnesses=witness, witness_threshold=witness_threshold,
            ))  # fmt: skip
            return
        if label is None:
            _fail(EXIT_USAGE, "give a LABEL to monitor, or --contacts", as_json)

        def action() -> Any:
            with _client(
                server, state, max_age, trust, auditor_key, auditor_namespace, require_auditor,
                auditor_url, witnesses=witness, witness_threshold=witness_threshold,
            ) as client:  # fmt: skip
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
        from glasskey.core.errors import Unauthenticated

        token = admin_token or os.environ.get("GLASSKEY_ADMIN_TOKEN") or None

        def action() -> Any:
            with GlasskeyClient(server) as client:
                try:
                    return client.register(label, token)
                except Unauthenticated:
                    if token is not None:
                        raise
                    # The newcomer's mistake: no token given at all. Say where it comes from.
                    raise UsageError(
                        "registration needs the admin token (--admin-token or "
                        "$GLASSKEY_ADMIN_TOKEN: the token the server was started with)"
                    ) from None

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


def _when(at: float | None) -> str:
    """A publication time for people (UTC), or ``-`` when the server sent none."""
    if at is None:
        return "-"
    import datetime as dt

    return dt.datetime.fromtimestamp(at, tz=dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _device_changes(history: Any, as_json: bool) -> list[dict[str, Any]]:
    """The device changes of a verified history (key bundle values), as printable dicts."""
    from glasskey.client import device_history

    try:
        changes = device_history(history)
    except GlasskeyError as exc:
        _fail(EXIT_FAILED, f"{exc.code}: {exc}", as_json, exc.code)
    return [
        {"version": c.version, "epoch": c.epoch, "published_at": c.published_at,
         "device_id": c.device_id, "change": c.change,
         "identity_key": base64.b64encode(c.device.identity_key).decode(),
         "signed_prekey_fingerprint": c.device.signed_prekey_fingerprint.hex(),
         "added_at": c.device.added_at}
        for c in changes
    ]  # fmt: skip


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
