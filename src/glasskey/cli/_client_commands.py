"""``glasskey lookup | history | monitor | upload | register``: the client commands.

Each builds its client from the shared policy options (``_client_options``); the client (and
httpx) is imported inside the commands, to keep every other command's start-up fast.
"""

from __future__ import annotations

import base64
import json
import os
from typing import Annotated, Any

import typer

from glasskey.cli._client_options import (
    EXIT_FAILED,
    EXIT_USAGE,
    AuditorKeyOpt,
    AuditorNamespaceOpt,
    AuditorUrlOpt,
    ConfigOpt,
    JsonOpt,
    LogKeyOpt,
    MaxAgeOpt,
    PolicyOptions,
    RequireAuditorOpt,
    ServerOpt,
    StateOpt,
    VrfKeyOpt,
    WitnessOpt,
    WitnessThresholdOpt,
    fail,
    open_client,
    run_client,
)
from glasskey.core.errors import GlasskeyError, UsageError


def register(app: typer.Typer) -> None:
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
        options = PolicyOptions(
            log_key, vrf_key, config, max_age, auditor_key or (), auditor_namespace,
            require_auditor, auditor_url, witness or (), witness_threshold,
        )  # fmt: skip

        def action() -> Any:
            with open_client(server, state, options) as client:
                return client.lookup(label, version=version, watch=not no_watch)

        key = run_client(as_json, action)
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
        options = PolicyOptions(
            log_key, vrf_key, config, max_age, auditor_key or (), auditor_namespace,
            require_auditor, auditor_url, witness or (), witness_threshold,
        )  # fmt: skip

        def action() -> Any:
            with open_client(server, state, options) as client:
                return client.history(label, most_recent)

        result = run_client(as_json, action)
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
        options = PolicyOptions(
            log_key, vrf_key, config, max_age, auditor_key or (), auditor_namespace,
            require_auditor, auditor_url, witness or (), witness_threshold,
        )  # fmt: skip
        if contacts:
            if label is not None or own:
                fail(EXIT_USAGE, "--contacts takes no LABEL and no --own", as_json)
            _monitor_contacts(as_json, lambda: open_client(server, state, options))
            return
        if label is None:
            fail(EXIT_USAGE, "give a LABEL to monitor, or --contacts", as_json)

        def action() -> Any:
            with open_client(server, state, options) as client:
                return client.monitor(label, own=own)

        report = run_client(as_json, action)
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
            fail(EXIT_USAGE, "a bearer token is needed (--token or $GLASSKEY_TOKEN)", as_json)
        try:
            key = base64.b64decode(key_b64, validate=True)
        except ValueError:
            fail(EXIT_USAGE, "--key is not valid base64", as_json)

        def action() -> Any:
            with open_client(server, state, PolicyOptions(max_age=3600.0)) as client:
                return client.upload(label, key, bearer, wait=wait)

        receipt = run_client(as_json, action)
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

        print(run_client(False, action))


def _monitor_contacts(as_json: bool, make_client: Any) -> None:
    """``glasskey monitor --contacts``: print the report; exit 1 on any alert."""

    def action() -> Any:
        with make_client() as client:
            return client.monitor_contacts()

    report = run_client(as_json, action)
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
        fail(EXIT_FAILED, f"{exc.code}: {exc}", as_json, exc.code)
    return [
        {"version": c.version, "epoch": c.epoch, "published_at": c.published_at,
         "device_id": c.device_id, "change": c.change,
         "identity_key": base64.b64encode(c.device.identity_key).decode(),
         "signed_prekey_fingerprint": c.device.signed_prekey_fingerprint.hex(),
         "added_at": c.device.added_at}
        for c in changes
    ]  # fmt: skip
