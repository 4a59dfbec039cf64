"""``glasskey auditor serve`` and ``glasskey audit ls|show|verify-range``.

Output follows plexi's CLI (same status words and layouts, spec auditor-compat.md 5.5) so
that scripts written for ``plexi`` keep working; ``--json`` is for machines. Exit codes are
stricter than plexi's (which exits 0 even when verification failed):

* 0 — everything checked verified;
* 1 — error: unreachable auditor, unknown namespace or epoch, bad response;
* 2 — usage error (bad option, bad key hex, no key configured for ``serve``);
* 3 — a result was printed and some verification **failed**.

The auditor's service, uvicorn and rich widgets are imported inside the commands that use
them, to keep every other command's start-up fast.
"""

from __future__ import annotations

import json
import logging
import math
import os
import ssl
import sys
from typing import Annotated, Any, NoReturn

import typer

from glasskey.core.errors import GlasskeyError, NotFound
from glasskey.core.plexi import SignatureResponse

EXIT_OK, EXIT_ERROR, EXIT_USAGE, EXIT_FAILED = 0, 1, 2, 3
REMOTE_ENV = ["GLASSKEY_REMOTE_URL", "PLEXI_REMOTE_URL"]
ADMIN_TOKEN_ENV = "GLASSKEY_AUDITOR_ADMIN_TOKEN"
OWNER_TOKEN_ENV = "GLASSKEY_AUDITOR_TOKEN"  # the log's: publishes to its own namespace only

auditor_app = typer.Typer(help="Run a Plexi-compatible auditor.", no_args_is_help=True)
audit_app = typer.Typer(
    help="Inspect and verify an auditor's signatures (like plexi). "
    "Exit 0 verified, 1 error, 2 usage, 3 verification failed.",
    no_args_is_help=True,
)

RemoteOpt = Annotated[
    str,
    typer.Option("--remote-url", "-r", envvar=REMOTE_ENV, help="Auditor base URL."),
]
NamespaceOpt = Annotated[
    str, typer.Option("--namespace", "-n", envvar="PLEXI_NAMESPACE", help="Namespace.")
]
JsonOpt = Annotated[bool, typer.Option("--json", help="Machine-readable output.")]
LongOpt = Annotated[bool, typer.Option("--long", "-l", help="Detailed output.")]


def _die(code: int, message: str, as_json: bool = False) -> NoReturn:
    if as_json:
        kind = "usage" if code == EXIT_USAGE else "error"
        print(json.dumps({"error": kind, "message": message}))
    print(f"error: {message}", file=sys.stderr)
    raise typer.Exit(code)


def _client(remote_url: str) -> Any:
    from glasskey.auditor._client import AuditorClient

    return AuditorClient(remote_url)


def _verifying_key(text: str | None) -> bytes | None:
    if text is None:
        return None
    try:
        key = bytes.fromhex(text)
    except ValueError:
        _die(EXIT_USAGE, "auditor key is not valid hex")
    if len(key) != 32:
        _die(EXIT_USAGE, "auditor key must be 32 bytes (64 hex digits)")
    return key


# -- glasskey auditor serve --------------------------------------------------------------------


@auditor_app.command("serve")
def serve(
    host: Annotated[str, typer.Option(help="Interface to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="TCP port.")] = 8788,
    db: Annotated[
        str,
        typer.Option(envvar="GLASSKEY_AUDITOR_DB", help="sqlite:///PATH or postgresql://..."),
    ] = "sqlite:///glasskey-auditor.db",
    key_file: Annotated[
        str | None,
        typer.Option(
            help="PEM file with the signing key(s); default: $GLASSKEY_AUDITOR_SIGNING_KEY."
        ),
    ] = None,
    key_not_before: Annotated[
        int | None,
        typer.Option(
            help="not_before (ms) recorded for keys seen for the first time (default: now)."
        ),
    ] = None,
    tls_cert: Annotated[
        str | None, typer.Option(help="Server certificate (PEM) for HTTPS.")
    ] = None,
    tls_key: Annotated[str | None, typer.Option(help="Server private key (PEM) for HTTPS.")] = None,
    client_ca: Annotated[
        str | None, typer.Option(help="CA bundle for client certificates (enables mTLS writes).")
    ] = None,
    operator_cert: Annotated[
        list[str] | None,
        typer.Option(help="SHA-256 (hex) of an operator client certificate's SPKI; repeatable."),
    ] = None,
    worker: Annotated[
        bool,
        typer.Option(
            hidden=True, help="Deprecated, no effect: proofs are verified before signing."
        ),
    ] = True,
    poll_interval: Annotated[
        float | None, typer.Option(hidden=True, help="Deprecated, no effect.")
    ] = None,
    akd_config: Annotated[
        str, typer.Option(help="AKD configuration of the audited logs.")
    ] = "whatsapp_v1",
    stall_warning: Annotated[
        float,
        typer.Option(
            help="Log a warning this often (s) while an epoch waits for its audit proof or "
            "a verification does not finish."
        ),
    ] = 60.0,
    log_level: Annotated[str, typer.Option(help="debug, info, warning, error.")] = "info",
    json_logs: Annotated[bool, typer.Option(help="JSON-lines logs.")] = True,
) -> None:
    """Serve the Plexi HTTP API (writes need a token or an mTLS client certificate).

    Each epoch is signed only after its audit proof (from the namespace's log directory)
    has verified. GET /healthz, /readyz and /metrics (Prometheus) are for the operator.

    Environment variables:

    * GLASSKEY_AUDITOR_SIGNING_KEY: the auditor's Ed25519 key(s), base64 PEM (else
      --key-file).

    * GLASSKEY_AUDITOR_ADMIN_TOKEN: the auditor operator's token (create-namespace,
      clear-evidence); unset and without --client-ca the API is read-only.

    * GLASSKEY_AUDITOR_DB: the database, like --db.
    """
    if not 1 <= port <= 65535:
        _die(EXIT_USAGE, f"--port must be between 1 and 65535, got {port}")
    if not (math.isfinite(stall_warning) and stall_warning > 0):
        _die(EXIT_USAGE, f"--stall-warning must be a number above 0, got {stall_warning:g}")
    import uvicorn

    from glasskey.server._logs import configure_logging

    configure_logging(log_level, json_logs)

    from glasskey.auditor._keys import load_signers
    from glasskey.auditor._proofs import ProofGate
    from glasskey.auditor._service import Auditor, Keyring
    from glasskey.auditor._store import open_auditor_store
    from glasskey.auditor._tls import ClientCertH11Protocol
    from glasskey.auditor.app import AuthConfig, create_app

    log = logging.getLogger("glasskey.auditor")
    if not worker or poll_interval is not None:
        log.warning(
            "--no-worker and --poll-interval have no effect: every epoch's proof is "
            "verified before it is signed"
        )
    try:
        signers = load_signers(key_file=key_file)
        store = open_auditor_store(db)
        proofs = ProofGate.for_configuration(akd_config, stall_warning)
    except GlasskeyError as exc:
        _die(EXIT_USAGE, str(exc))
    token = os.environ.get(ADMIN_TOKEN_ENV) or None
    if token is None and client_ca is None:
        log.warning("neither %s nor --client-ca is set: the API is read-only", ADMIN_TOKEN_ENV)
    auditor = Auditor(store, Keyring(signers, key_not_before), proofs=proofs)
    auth = AuthConfig(admin_token=token, operator_certs=frozenset(operator_cert or ()))
    app = create_app(auditor, auth)
    ssl_kwargs: dict[str, Any] = {}
    if tls_cert or tls_key:
        ssl_kwargs = {"ssl_certfile": tls_cert, "ssl_keyfile": tls_key}
        if client_ca:
            ssl_kwargs.update(ssl_ca_certs=client_ca, ssl_cert_reqs=ssl.CERT_OPTIONAL)
    elif client_ca:
        _die(EXIT_USAGE, "--client-ca needs --tls-cert and --tls-key")
    log.info("auditor on %s:%d, %d signing key(s)", host, port, len(signers))
    uvicorn.run(
        app, host=host, port=port, http=ClientCertH11Protocol, log_config=None, **ssl_kwargs
    )


def plexi_path_hint(log_directory: str) -> str | None:
    """Why plexi cannot read an ``http(s)`` log directory with a path, or None.

    plexi 0.1.2 builds a proof's URL with ``Url::join("/{epoch}/{prev}/{root}")``, which keeps
    only the host: ``https://log.example/api/transparency/blobs`` is read by glasskey, but
    plexi asks ``https://log.example/{epoch}/...``. The namespace is still valid (glasskey's
    auditor and clients read it), so this is a warning, not a refusal.
    """
    from urllib.parse import urlsplit

    parts = urlsplit(log_directory)
    if parts.scheme not in ("http", "https") or parts.path.strip("/") == "":
        return None
    return (
        f"plexi reads proofs at the root of the log directory's host "
        f"({parts.scheme}://{parts.netloc}/EPOCH/PREVIOUS/ROOT) and ignores the path "
        f"{parts.path!r}; glasskey reads this URL, but for plexi users serve the blobs at a "
        f"host root (a CDN or a bucket's custom domain in front of it)"
    )


@auditor_app.command("create-namespace")
def create_namespace(
    remote_url: RemoteOpt,
    name: Annotated[str, typer.Argument(help="Namespace name.")],
    ciphersuite: Annotated[int, typer.Option(help="1 = protobuf, 2 = bincode.")] = 1,
    root: Annotated[str | None, typer.Option(help='Anchor "EPOCH/DIGEST_HEX".')] = None,
    log_directory: Annotated[str | None, typer.Option(help="Audit blob URL or folder.")] = None,
    owner: Annotated[
        list[str] | None,
        typer.Option(
            help="Who may publish: a log token's owner id (glasskey auditor owner-token) or "
            "a client certificate's SPKI SHA-256; repeatable."
        ),
    ] = None,
) -> None:
    """Register a namespace (the auditor operator's: token from $GLASSKEY_AUDITOR_ADMIN_TOKEN)."""
    from glasskey.auditor._client import AuditorClient

    if log_directory is not None and (hint := plexi_path_hint(log_directory)):
        print(f"warning: {hint}", file=sys.stderr)

    try:
        with AuditorClient(remote_url, os.environ.get(ADMIN_TOKEN_ENV) or None) as client:
            info = client.create_namespace(
                name, ciphersuite=ciphersuite, root=root, log_directory=log_directory,
                owners=owner or (),
            )  # fmt: skip
    except GlasskeyError as exc:
        _die(EXIT_ERROR, str(exc))
    print(json.dumps(info.to_json_dict()))


@auditor_app.command("owner-token")
def owner_token(as_json: JsonOpt = False) -> None:
    """Make a log's publishing token. The log keeps the token (GLASSKEY_AUDITOR_TOKEN); the
    auditor's operator registers only its owner id (create-namespace --owner)."""
    import secrets

    from glasskey.auditor._service import owner_token_id

    token = secrets.token_urlsafe(32)
    if as_json:
        print(json.dumps({"token": token, "owner": owner_token_id(token)}))
    else:
        print(f"token (the log keeps it, secret): {token}")
        print(f"owner id (for the auditor's operator): {owner_token_id(token)}")


@auditor_app.command("clear-evidence")
def clear_evidence(
    remote_url: RemoteOpt,
    namespace: Annotated[str, typer.Argument(help="Namespace whose evidence is resolved.")],
    reason: Annotated[str, typer.Option(help="Why (recorded publicly with the cleared evidence).")],
) -> None:
    """Resume signing a namespace stopped by evidence (operator only; recorded and logged)."""
    from glasskey.auditor._client import AuditorClient

    try:
        with AuditorClient(remote_url, os.environ.get(ADMIN_TOKEN_ENV) or None) as client:
            cleared = client.clear_evidence(namespace, reason)
    except GlasskeyError as exc:
        _die(EXIT_ERROR, str(exc))
    print(json.dumps(cleared))


@auditor_app.command("publish")
def publish_epoch(
    remote_url: RemoteOpt,
    namespace: NamespaceOpt,
    epoch: Annotated[int, typer.Option(help="Epoch to publish.")],
    digest: Annotated[str, typer.Option(help="Root hash, 64 hex digits.")],
) -> None:
    """Have the auditor countersign one epoch (the log's token from $GLASSKEY_AUDITOR_TOKEN,
    else $GLASSKEY_AUDITOR_ADMIN_TOKEN)."""
    from glasskey.auditor._client import AuditorClient

    token = os.environ.get(OWNER_TOKEN_ENV) or os.environ.get(ADMIN_TOKEN_ENV) or None
    try:
        with AuditorClient(remote_url, token) as client:
            response = client.publish(namespace, epoch, digest)
    except GlasskeyError as exc:
        _die(EXIT_ERROR, str(exc))
    print(response.to_json())


# -- glasskey audit ----------------------------------------------------------------------------


@audit_app.command("ls")
def ls(
    remote_url: RemoteOpt,
    namespace: Annotated[
        str | None, typer.Option("--namespace", "-n", envvar="PLEXI_NAMESPACE")
    ] = None,
    long: LongOpt = False,
    as_json: JsonOpt = False,
) -> None:
    """List the auditor's namespaces."""
    from glasskey.auditor._inspect import format_ls

    try:
        with _client(remote_url) as client:
            if namespace is not None:
                try:
                    items = [client.namespace(namespace)]
                except NotFound:
                    _die(EXIT_ERROR, f"namespace {namespace} does not exist", as_json)
            else:
                items = client.namespaces()
    except typer.Exit:
        raise
    except GlasskeyError as exc:
        _die(EXIT_ERROR, str(exc), as_json)
    except Exception as exc:  # network errors (httpx): one line, no traceback
        _die(EXIT_ERROR, f"{type(exc).__name__}: {exc}", as_json)
    if as_json:
        print(json.dumps({"namespaces": [i.to_json_dict() for i in items]}))
    else:
        print(format_ls(items, long))


def _checker(
    client: Any, namespace: str, verifying_key: bytes | None, verify: bool, config: str
) -> Any:
    from glasskey.auditor._inspect import Checker
    from glasskey.auditor._sources import default_verify_blob
    from glasskey.core.akd.configuration import get_configuration

    blob_check = default_verify_blob(config) if verify else None
    akd = get_configuration(config)
    return Checker(
        client, namespace, verifying_key=verifying_key, verify_blob=blob_check,
        empty_root=akd.root_hash_from_value(akd.empty_root_value),
    )  # fmt: skip


@audit_app.command("show")
def show(
    remote_url: RemoteOpt,
    namespace: NamespaceOpt,
    epoch: Annotated[int | None, typer.Option(help="Epoch (default: last verified).")] = None,
    long: LongOpt = False,
    verify: Annotated[
        bool, typer.Option("--verify", help="Also re-verify the epoch's audit proof locally.")
    ] = False,
    verifying_key: Annotated[
        str | None,
        typer.Option(envvar="PLEXI_VERIFYING_KEY", help="Pin the auditor key (64 hex)."),
    ] = None,
    no_verify: Annotated[bool, typer.Option("--no-verify", help="Check nothing.")] = False,
    akd_config: Annotated[str, typer.Option(help="AKD configuration.")] = "whatsapp_v1",
    as_json: JsonOpt = False,
) -> None:
    """Show one epoch's signature and check it (and, with --verify, its audit proof)."""
    from glasskey.auditor._inspect import default_epoch

    key = _verifying_key(verifying_key)
    try:
        with _client(remote_url) as client:
            checker = _checker(client, namespace, key, verify and not no_verify, akd_config)
            try:
                chosen = epoch if epoch is not None else default_epoch(client, namespace)
                if verify and not no_verify:
                    print(
                        "Audit proof verification enabled. It can take a few seconds",
                        file=sys.stderr,
                    )
                result = checker.check(chosen, verify=not no_verify)
            finally:
                checker.close()
    except typer.Exit:
        raise
    except GlasskeyError as exc:
        _die(EXIT_ERROR, str(exc), as_json)
    except Exception as exc:  # network errors (httpx) and the like: one line, no traceback
        _die(EXIT_ERROR, f"{type(exc).__name__}: {exc}", as_json)
    if as_json:
        print(json.dumps(result.to_json_dict()))
    else:
        print(result.long() if long else result.short())
    raise typer.Exit(EXIT_OK if result.ok else EXIT_FAILED)


@audit_app.command("verify-range")
def verify_range(
    remote_url: RemoteOpt,
    namespace: NamespaceOpt,
    start: Annotated[int, typer.Option("--from", help="First epoch.")],
    end: Annotated[int, typer.Option("--to", help="Last epoch (inclusive).")],
    verifying_key: Annotated[
        str | None, typer.Option(envvar="PLEXI_VERIFYING_KEY", help="Pin the auditor key.")
    ] = None,
    akd_config: Annotated[str, typer.Option(help="AKD configuration.")] = "whatsapp_v1",
    as_json: JsonOpt = False,
) -> None:
    """Verify every signature and audit proof from --from to --to, chaining the digests."""
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TimeRemainingColumn

    from glasskey.auditor._inspect import AuditResult, is_failed

    if start > end or start < 0:
        _die(EXIT_USAGE, "--from must be <= --to and not negative", as_json)
    key = _verifying_key(verifying_key)
    results = []
    try:
        with _client(remote_url) as client:
            checker = _checker(client, namespace, key, True, akd_config)
            previous: SignatureResponse | None = None
            progress = Progress(
                "[progress.description]{task.description}",
                BarColumn(),
                MofNCompleteColumn(),
                TimeRemainingColumn(),
                transient=True,
                console=None if sys.stderr.isatty() else _quiet_console(),
            )
            with progress:
                task = progress.add_task(f"verifying {namespace}", total=end - start + 1)
                for e in range(start, end + 1):
                    response = checker.signature(e)
                    sig = checker.signature_status(response)
                    proof = "-"
                    if not is_failed(sig):
                        chained = previous is not None and previous.epoch == e - 1
                        prev = previous if chained else None
                        proof = checker.proof_status(response, prev)
                    results.append(AuditResult(response, sig, proof))
                    previous = response if not is_failed(sig) else None
                    progress.advance(task)
            checker.close()
    except typer.Exit:
        raise
    except GlasskeyError as exc:
        _die(EXIT_ERROR, str(exc), as_json)
    except Exception as exc:
        _die(EXIT_ERROR, f"{type(exc).__name__}: {exc}", as_json)
    failures = [r for r in results if not r.ok]
    if as_json:
        print(
            json.dumps(
                {
                    "namespace": namespace,
                    "from": start,
                    "to": end,
                    "verified": len(results) - len(failures),
                    "failed": len(failures),
                    "results": [r.to_json_dict() for r in results],
                }
            )
        )
    else:
        for r in failures:
            status = r.signature_status if is_failed(r.signature_status) else r.proof_status
            print(f"epoch {r.signature.epoch}: {status}")
        print(
            f"{namespace}: epochs {start}..{end}: {len(results) - len(failures)} verified, "
            f"{len(failures)} failed"
        )
    raise typer.Exit(EXIT_FAILED if failures else EXIT_OK)


def _quiet_console() -> Any:
    from rich.console import Console

    return Console(file=open(os.devnull, "w"))


def register(app: typer.Typer) -> None:
    """Add the ``auditor`` and ``audit`` command groups to the main CLI."""
    app.add_typer(auditor_app, name="auditor")
    app.add_typer(audit_app, name="audit")


__all__ = ["register"]
