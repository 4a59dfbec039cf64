"""What every client command shares: its options, how they become a verification policy and
a client, and how a failure becomes an exit code.

Exit codes of the client commands (scripts rely on them): 0 — verified; 1 — verification
failed (the reason is printed; the key must not be used); 2 — usage, network or server error.

``lookup``, ``history``, ``monitor``, ``head``, ``gossip``, ``upload`` and the token commands
all build their client here, so a policy option means the same in each of them.
"""

from __future__ import annotations

import json
import os
import sqlite3
import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Literal, NoReturn, TypeVar

import typer

from glasskey.core.errors import GlasskeyError, UsageError, VerificationError

if TYPE_CHECKING:
    from glasskey.client import GlasskeyClient, Trust, VerificationPolicy

EXIT_OK, EXIT_FAILED, EXIT_USAGE = 0, 1, 2
T = TypeVar("T")


def default_state() -> str:
    """``--state`` unset: $GLASSKEY_CLIENT_STATE, else the XDG state folder."""
    env = os.environ.get("GLASSKEY_CLIENT_STATE")
    if env:
        return env
    base = Path(os.environ.get("XDG_STATE_HOME") or Path.home() / ".local" / "state")
    return str(base / "glasskey" / "client.db")


def fail(code: int, message: str, as_json: bool, kind: str = "error") -> NoReturn:
    """Print why (JSON on stdout with ``--json``, else one line on stderr) and exit ``code``."""
    if as_json:
        print(json.dumps({"verified": False, "error": kind, "message": message}))
    else:
        print(f"{'REFUSED' if code == EXIT_FAILED else 'error'}: {message}", file=sys.stderr)
    raise typer.Exit(code)


def run_client(as_json: bool, action: Callable[[], T]) -> T:
    """``action()``, with every client error turned into its exit code and message."""
    from glasskey.client import NotFound, UserNotFound

    try:
        return action()
    except UserNotFound as exc:
        fail(EXIT_FAILED, f"user_not_found (proven): {exc}", as_json, "user_not_found")
    except NotFound as exc:
        fail(EXIT_FAILED, f"no verified key: {exc}", as_json, "not_found")
    except VerificationError as exc:
        fail(EXIT_FAILED, f"{exc.code}: {exc}", as_json, exc.code)
    except GlasskeyError as exc:
        fail(EXIT_USAGE, str(exc), as_json, exc.code)
    except OSError as exc:
        fail(EXIT_USAGE, str(exc), as_json)


@dataclass(frozen=True)
class PolicyOptions:
    """The verification-policy options of a client command, as the user typed them.

    ``max_age``: unset (None) follows the log's declared re-signing interval, 0 turns the
    check off, anything else is seconds."""

    log_key: str | None = None
    vrf_key: str | None = None
    config: str = "whatsapp_v1"
    max_age: float | None = None
    auditor_keys: Sequence[str] = ()
    auditor_namespace: str | None = None
    require_auditor: bool = False
    auditor_url: str | None = None
    witnesses: Sequence[str] = ()
    witness_threshold: int | None = None

    def policy(self) -> VerificationPolicy:
        """The library's policy these options name; a contradiction is a UsageError."""
        from glasskey.client import LOG_DECLARED, AuditorPin, VerificationPolicy

        trust = self._trust()
        keys = list(self.auditor_keys or ())
        if self.require_auditor and not keys:
            raise UsageError("--require-auditor needs at least one --auditor-key")
        if bool(keys) != (self.auditor_namespace is not None):
            raise UsageError(
                "an auditor is pinned as a pair: --auditor-key and --auditor-namespace (the "
                "log's namespace at that auditor) go together"
            )
        if self.auditor_url is not None and not keys:
            raise UsageError("--auditor-url needs the auditor pinned: --auditor-key and "
                             "--auditor-namespace")  # fmt: skip
        auditor = None
        if keys and self.auditor_namespace is not None:
            auditor = AuditorPin(
                keys, self.auditor_namespace, required=self.require_auditor, url=self.auditor_url
            )
        age: float | Literal["log-declared"] | None = LOG_DECLARED
        if self.max_age is not None:
            age = self.max_age or None
        witnesses = tuple(self.witnesses or ())
        threshold = len(witnesses) if self.witness_threshold is None else self.witness_threshold
        return VerificationPolicy(
            trust=trust, max_age=age, auditor=auditor, witnesses=witnesses,
            witness_threshold=threshold,
        )  # fmt: skip

    def _trust(self) -> Trust | None:
        from glasskey.client import Trust

        if not (self.log_key or self.vrf_key):
            return None  # trust on first use
        if not (self.log_key and self.vrf_key):
            raise UsageError("--log-key and --vrf-key must be given together")
        try:
            vrf = bytes.fromhex(self.vrf_key)
        except ValueError:
            raise UsageError("--vrf-key must be hex") from None
        return Trust(self.log_key.split("+", 1)[0], self.log_key, vrf, self.config)


def open_client(server: str, state: str | None, options: PolicyOptions) -> GlasskeyClient:
    """A client of ``server`` with the policy ``options`` name and its state file."""
    from glasskey.client import GlasskeyClient

    policy = options.policy()
    path = state or default_state()
    try:
        return GlasskeyClient(server, policy=policy, state=path)
    except (OSError, sqlite3.Error) as exc:  # a folder, a read-only place, a file in the way
        reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc)
        raise UsageError(f"cannot use {path} as the client state (--state): {reason}") from None


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
