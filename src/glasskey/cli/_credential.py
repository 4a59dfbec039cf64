"""``glasskey credential LABEL`` (write an offline key credential) and
``glasskey verify credential FILE`` (check one offline: exit 0 valid, 1 invalid, 2 usage).

The verifier pins its own keys on the command line — a credential is evidence from someone
else, so nothing in it (nor the log it names) may choose what it is checked against.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Annotated, Any

import typer

from glasskey.cli import _client_options as options
from glasskey.cli import _verify as verify
from glasskey.core.errors import GlasskeyError, UsageError, VerificationError

EXIT_OK, EXIT_FAILED, EXIT_USAGE = 0, 1, 2


def _usage(message: str, as_json: bool) -> typer.Exit:
    if as_json:
        print(json.dumps({"verified": False, "error": "usage", "message": message}))
    print(f"error: {message}", file=sys.stderr)
    return typer.Exit(EXIT_USAGE)


def _hex(text: str, what: str) -> bytes:
    try:
        return bytes.fromhex(text)
    except ValueError:
        raise UsageError(f"{what} must be hex") from None


def verify_credential_command(
    path: Annotated[str, typer.Argument(help="Credential file (- for stdin).")],
    log_key: Annotated[str, typer.Option("--log-key", help="The log's note verifier key.")],
    vrf_key: Annotated[str, typer.Option("--vrf-key", help="The log's VRF public key (hex).")],
    max_age: Annotated[
        float, typer.Option("--max-age", min=0, help="Oldest checkpoint accepted (seconds).")
    ],
    config: Annotated[str, typer.Option("--config", help="AKD configuration.")] = "whatsapp_v1",
    domain_label: Annotated[
        str | None, typer.Option("--domain-label", help="Experimental domain label.")
    ] = None,
    auditor_key: Annotated[
        list[str] | None, typer.Option("--auditor-key", help="Auditor Ed25519 key (hex).")
    ] = None,
    auditor_namespace: Annotated[
        str | None, typer.Option("--auditor-namespace", help="The log's auditor namespace.")
    ] = None,
    require_auditor: Annotated[
        bool, typer.Option("--require-auditor", help="Refuse without a countersignature.")
    ] = False,
    witness_key: Annotated[
        list[str] | None, typer.Option("--witness-key", help="Witness cosigner vkey.")
    ] = None,
    witness_quorum: Annotated[
        int, typer.Option("--witness-quorum", min=0, help="Valid witness cosignatures needed.")
    ] = 0,
    as_json: Annotated[bool, typer.Option("--json", help="Machine-readable output.")] = False,
) -> None:
    """Verify an offline key credential against pinned keys (exit 0 valid, 1 invalid)."""
    from glasskey.log import CredentialPolicy, verify_credential

    try:
        data = sys.stdin.buffer.read() if path == "-" else Path(path).read_bytes()
        policy = CredentialPolicy(
            origin=log_key.split("+", 1)[0],
            log_public_key=log_key,
            vrf_public_key=_hex(vrf_key, "--vrf-key"),
            configuration=config,
            max_age=max_age,
            domain_label=domain_label.encode() if domain_label else None,
            auditor_keys=tuple(_hex(k, "--auditor-key") for k in auditor_key or ()),
            auditor_namespace=auditor_namespace,
            require_auditor=require_auditor,
            witness_keys=tuple(witness_key or ()),
            witness_quorum=witness_quorum,
        )
        if policy.auditor_keys and auditor_namespace is None:
            raise UsageError("--auditor-key needs --auditor-namespace")
        result = verify_credential(data, policy)
    except OSError as exc:
        raise _usage(str(exc), as_json) from None
    except VerificationError as exc:
        if as_json:
            print(json.dumps({"verified": False, "error": exc.code, "message": str(exc)}))
        print(f"REFUSED: {exc.code}: {exc}", file=sys.stderr)
        raise typer.Exit(EXIT_FAILED) from None
    except GlasskeyError as exc:
        raise _usage(str(exc), as_json) from None
    out: dict[str, Any] = {
        "verified": True,
        "user_id": result.user_id,
        "key_hex": result.key.hex(),
        "version": result.version,
        "published_epoch": result.published_epoch,
        "epoch": result.epoch,
        "signed_at": result.signed_at,
        "auditor_signed": result.auditor_signed,
        "witnesses": result.witnesses,
    }
    if as_json:
        print(json.dumps(out))
    else:
        print(
            f"valid credential: {result.user_id} version {result.version} at epoch "
            f"{result.epoch} (checkpoint signed at {result.signed_at})"
        )


def register(app: typer.Typer) -> None:
    verify.app.command("credential")(verify_credential_command)

    @app.command()
    def credential(
        label: Annotated[str, typer.Argument(help="User id whose key to prove.")],
        server: options.ServerOpt,
        out: Annotated[str, typer.Option("--out", "-o", help="File to write (- for stdout).")],
        state: options.StateOpt = None,
        max_age: options.MaxAgeOpt = 3600.0,
        log_key: options.LogKeyOpt = None,
        vrf_key: options.VrfKeyOpt = None,
        config: options.ConfigOpt = "whatsapp_v1",
        as_json: options.JsonOpt = False,
    ) -> None:
        """Look LABEL up, verify it, and write the result as an offline credential."""
        policy = options.PolicyOptions(log_key, vrf_key, config, max_age)

        def action() -> Any:
            with options.open_client(server, state, policy) as client:
                return client.credential(label)

        data: bytes = options.run_client(as_json, action)
        if out == "-":
            sys.stdout.buffer.write(data + b"\n")
        else:
            Path(out).write_bytes(data)
            print(f"wrote a {len(data)}-byte credential for {label} to {out}")
