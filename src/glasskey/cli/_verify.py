"""``glasskey verify lookup|history|audit`` — scripted verification of AKD proofs.

The contract is fixed because other tools call it: exit 0 when the proof verifies (and print
what it proves; ``--json`` for machines), exit 1 with a one-line reason on stderr when it does
not, exit 2 for usage or I/O errors. No traceback on any input.
"""

from __future__ import annotations

import contextlib
import json
import string
import sys
from enum import StrEnum
from pathlib import Path
from typing import Annotated, Any, NoReturn

import typer

from glasskey.core.akd.audit import audit_verify, verify_single_append_only
from glasskey.core.akd.configuration import Configuration, get_configuration
from glasskey.core.akd.types import HistoryParams, HistoryVerification, VerifyResult
from glasskey.core.akd.verify import key_history_verify, lookup_verify
from glasskey.core.akd.wire import decode_append_only_proof, decode_single_append_only_proof
from glasskey.core.errors import GlasskeyError, MalformedError, UsageError, VerificationError

EXIT_OK, EXIT_FAILED, EXIT_USAGE = 0, 1, 2
_HEX = set(string.hexdigits)

app = typer.Typer(
    help="Verify AKD proofs (exit 0 verified, 1 rejected, 2 usage or I/O error).",
    no_args_is_help=True,
)


class ConfigName(StrEnum):
    whatsapp_v1 = "whatsapp_v1"
    experimental = "experimental"


def _fail(code: int, message: str, as_json: bool) -> NoReturn:
    if as_json:
        kind = "verification_failed" if code == EXIT_FAILED else "usage"
        print(json.dumps({"verified": False, "error": kind, "message": message}))
    print(message, file=sys.stderr)
    raise typer.Exit(code)


def _hex_arg(text: str, what: str, length: int | None = 32) -> bytes:
    try:
        value = bytes.fromhex(text.strip())
    except ValueError:
        raise UsageError(f"{what} is not valid hex") from None
    if length is not None and len(value) != length:
        raise UsageError(
            f"{what} must be {length} bytes ({2 * length} hex digits), got {len(value)}"
        )
    return value


def read_proof(path: str) -> bytes:
    """Proof bytes from a file or stdin (``-``), raw protobuf or hex text (auto-detected)."""
    try:
        data = sys.stdin.buffer.read() if path == "-" else Path(path).read_bytes()
    except OSError as exc:
        raise UsageError(f"cannot read proof {path!r}: {exc.strerror or exc}") from None
    stripped = data.strip()
    if stripped and len(stripped) % 2 == 0 and all(chr(b) in _HEX for b in stripped):
        return bytes.fromhex(stripped.decode("ascii"))
    return data


def _config(name: ConfigName, domain_label: str | None) -> Configuration:
    label = domain_label.encode() if domain_label is not None else None
    if name is ConfigName.whatsapp_v1 and label is not None:
        raise UsageError("--domain-label applies only to the experimental configuration")
    return get_configuration(name.value, label)


def _label(label: str | None, label_hex: str | None) -> bytes:
    if (label is None) == (label_hex is None):
        raise UsageError("give exactly one of --label or --label-hex")
    if label is not None:
        return label.encode()
    return _hex_arg(label_hex or "", "--label-hex", None)


def _describe(result: VerifyResult) -> dict[str, Any]:
    out: dict[str, Any] = {
        "epoch": result.epoch,
        "version": result.version,
        "value_hex": result.value.hex(),
    }
    with contextlib.suppress(UnicodeDecodeError):
        out["value"] = result.value.decode("utf-8")
    return out


def _run(as_json: bool, body: Any) -> None:
    try:
        body()
    except typer.Exit:
        raise
    except UsageError as exc:
        _fail(EXIT_USAGE, f"usage error: {exc}", as_json)
    except (VerificationError, MalformedError) as exc:
        _fail(EXIT_FAILED, f"verification failed: {exc}", as_json)
    except GlasskeyError as exc:
        _fail(EXIT_FAILED, f"verification failed: {exc}", as_json)
    except Exception as exc:  # never a traceback; still a distinct, honest message
        _fail(EXIT_USAGE, f"internal error ({type(exc).__name__}): {exc}", as_json)


ConfigOpt = Annotated[ConfigName, typer.Option("--config", help="AKD configuration.")]
DomainOpt = Annotated[
    str | None,
    typer.Option("--domain-label", help="Experimental domain label (default ExampleLabel)."),
]
VrfOpt = Annotated[str, typer.Option("--vrf-public-key", help="VRF public key, 32 bytes hex.")]
RootOpt = Annotated[str, typer.Option("--root-hash", help="Epoch root hash, 32 bytes hex.")]
EpochOpt = Annotated[int, typer.Option("--epoch", min=0, help="Epoch of the root hash.")]
LabelOpt = Annotated[str | None, typer.Option("--label", help="Label as UTF-8 text.")]
LabelHexOpt = Annotated[str | None, typer.Option("--label-hex", help="Label as hex bytes.")]
ProofOpt = Annotated[str, typer.Option("--proof", help="Proof file (raw or hex), - for stdin.")]
JsonOpt = Annotated[bool, typer.Option("--json", help="Machine-readable output.")]


@app.command("lookup")
def lookup_command(
    config: ConfigOpt,
    vrf_public_key: VrfOpt,
    root_hash: RootOpt,
    epoch: EpochOpt,
    proof: ProofOpt,
    domain_label: DomainOpt = None,
    label: LabelOpt = None,
    label_hex: LabelHexOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Verify a LookupProof: the label's current value and version at EPOCH."""

    def body() -> None:
        cfg = _config(config, domain_label)
        akd_label = _label(label, label_hex)
        result = lookup_verify(
            cfg,
            _hex_arg(vrf_public_key, "--vrf-public-key"),
            _hex_arg(root_hash, "--root-hash"),
            epoch,
            akd_label,
            read_proof(proof),
        )
        if as_json:
            print(json.dumps({"verified": True, "current_epoch": epoch, **_describe(result)}))
        else:
            print(
                f"verified: version {result.version} of {akd_label!r} = {result.value!r} "
                f"(published in epoch {result.epoch}), the latest as of epoch {epoch}"
            )

    _run(as_json, body)


@app.command("history")
def history_command(
    config: ConfigOpt,
    vrf_public_key: VrfOpt,
    root_hash: RootOpt,
    epoch: EpochOpt,
    proof: ProofOpt,
    domain_label: DomainOpt = None,
    label: LabelOpt = None,
    label_hex: LabelHexOpt = None,
    most_recent: Annotated[
        int | None, typer.Option("--most-recent", min=1, help="Proof made with MostRecent(N).")
    ] = None,
    complete: Annotated[bool, typer.Option("--complete", help="Proof made with Complete.")] = False,
    allow_missing_values: Annotated[
        bool, typer.Option("--allow-missing-values", help="Tolerate tombstoned (empty) values.")
    ] = False,
    as_json: JsonOpt = False,
) -> None:
    """Verify a HistoryProof (Complete by default, or --most-recent N)."""

    def body() -> None:
        if complete and most_recent is not None:
            raise UsageError("give at most one of --complete and --most-recent")
        cfg = _config(config, domain_label)
        akd_label = _label(label, label_hex)
        params = HistoryParams(most_recent)
        results = key_history_verify(
            cfg,
            _hex_arg(vrf_public_key, "--vrf-public-key"),
            _hex_arg(root_hash, "--root-hash"),
            epoch,
            akd_label,
            read_proof(proof),
            params,
            HistoryVerification.ALLOW_MISSING_VALUES
            if allow_missing_values
            else HistoryVerification.DEFAULT,
        )
        if as_json:
            print(
                json.dumps(
                    {
                        "verified": True,
                        "current_epoch": epoch,
                        "params": repr(params),
                        "versions": [_describe(r) for r in results],
                    }
                )
            )
        else:
            print(f"verified: {len(results)} version(s) of {akd_label!r} as of epoch {epoch}")
            for r in results:
                print(f"  version {r.version}: {r.value!r} (published in epoch {r.epoch})")

    _run(as_json, body)


@app.command("audit")
def audit_command(
    config: ConfigOpt,
    end_epoch: Annotated[int, typer.Option("--end-epoch", min=1, help="Epoch of --end-hash.")],
    proof: ProofOpt,
    start_hash: Annotated[
        str | None, typer.Option("--start-hash", help="Root hash at end epoch - N.")
    ] = None,
    end_hash: Annotated[
        str | None, typer.Option("--end-hash", help="Root hash at end epoch.")
    ] = None,
    hashes: Annotated[
        str | None,
        typer.Option(
            "--hashes", help="All roots of a multi-epoch proof, comma-separated, oldest first."
        ),
    ] = None,
    domain_label: DomainOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Verify an append-only proof (SingleAppendOnlyProof or AppendOnlyProof bytes)."""

    def body() -> None:
        cfg = _config(config, domain_label)
        data = read_proof(proof)
        if hashes is not None:
            roots = [_hex_arg(h, "--hashes entry") for h in hashes.split(",")]
        elif start_hash is not None and end_hash is not None:
            roots = [_hex_arg(start_hash, "--start-hash"), _hex_arg(end_hash, "--end-hash")]
        else:
            raise UsageError("give --start-hash and --end-hash, or --hashes")
        try:
            single = decode_single_append_only_proof(data)
        except MalformedError:
            multi = decode_append_only_proof(data)
            start_epoch = end_epoch - len(multi.epochs)
            if multi.epochs and multi.epochs[0] != start_epoch:
                raise VerificationError(
                    f"proof starts at epoch {multi.epochs[0]}, expected {start_epoch}"
                ) from None
            audit_verify(cfg, roots, multi)
            inserted = sum(len(p.inserted) for p in multi.proofs)
            epochs = len(multi.epochs)
        else:
            if len(roots) != 2:
                raise UsageError("a single-epoch proof needs exactly two hashes")
            verify_single_append_only(cfg, single, roots[0], roots[1], end_epoch)
            inserted, epochs = len(single.inserted), 1
        if as_json:
            print(
                json.dumps(
                    {
                        "verified": True,
                        "start_epoch": end_epoch - epochs,
                        "end_epoch": end_epoch,
                        "inserted": inserted,
                    }
                )
            )
        else:
            print(
                f"verified: epochs {end_epoch - epochs} -> {end_epoch} only append "
                f"({inserted} leaves inserted)"
            )

    _run(as_json, body)


@app.command("fork-evidence")
def fork_evidence_command(
    path: Annotated[str, typer.Argument(help="Fork evidence file (JSON), - for stdin.")],
    as_json: JsonOpt = False,
) -> None:
    """Re-check fork evidence offline: exit 0 when it proves a fork, 1 when it does not.

    Proven means: both checkpoints are signed by the named log key for its origin, and either
    they have the same size and different roots, or the consistency proof ties the larger
    signed root to a prefix root other than the smaller checkpoint's.
    """
    from glasskey.log.forkevidence import MAX_EVIDENCE_BYTES, verify_fork_evidence

    def body() -> None:
        try:
            data = (
                sys.stdin.buffer.read(MAX_EVIDENCE_BYTES + 1)
                if path == "-"
                else Path(path).read_bytes()
            )
        except OSError as exc:
            raise UsageError(f"cannot read {path}: {exc.strerror}") from None
        fork = verify_fork_evidence(data)
        a, b = fork.first, fork.second
        if as_json:
            print(json.dumps({
                "verified": True, "fork": True, "origin": fork.origin,
                "checkpoints": [
                    {"size": a.size, "root": a.root.hex()}, {"size": b.size, "root": b.root.hex()}
                ],
            }))  # fmt: skip
        else:
            print(f"fork proven for log {fork.origin}:")
            print(f"  size {a.size} root {a.root.hex()}")
            print(f"  size {b.size} root {b.root.hex()}")

    _run(as_json, body)


def register(root: typer.Typer) -> None:
    root.add_typer(app, name="verify")
