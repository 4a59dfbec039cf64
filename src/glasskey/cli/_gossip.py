"""``glasskey head`` and ``glasskey gossip``: compare tree heads with other people.

A server that shows two people different trees (a split view) is caught only when their
views meet. ``head`` prints the checkpoint this client state last verified, verbatim, to hand
to someone else (a file, a QR code, a chat message); ``gossip NOTE`` checks a checkpoint
somebody else saw against our own view. Both work on the same client state as ``lookup``, so
the head compared is the one our lookups verified.

Exit codes, as the other client commands: 0 — one tree (printed); 1 — a proven fork
(``fork_detected``, evidence written), a note the pinned log key did not sign
(``invalid_gossip``) or views that cannot be reconciled (``gossip_unverified``); 2 — usage,
network or server error.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Annotated, Any

import typer

from glasskey.cli._client_options import (
    EXIT_FAILED,
    EXIT_USAGE,
    ConfigOpt,
    JsonOpt,
    LogKeyOpt,
    PolicyOptions,
    ServerOpt,
    StateOpt,
    VrfKeyOpt,
    fail,
    open_client,
    run_client,
)

#: A checkpoint note is a few hundred bytes (a few more per cosignature); a file far larger
#: than this is not one, and is not read whole.
MAX_NOTE_BYTES = 16 * 1024


def _read_note(path: str) -> str:
    """The note in ``path`` (``-``: standard input), verbatim, bounded in size."""
    try:
        if path == "-":
            data = sys.stdin.buffer.read(MAX_NOTE_BYTES + 1)
        else:
            with open(path, "rb") as handle:
                data = handle.read(MAX_NOTE_BYTES + 1)
    except OSError as exc:
        fail(EXIT_USAGE, f"cannot read {path}: {exc.strerror or exc}", False)
    if len(data) > MAX_NOTE_BYTES:
        fail(EXIT_USAGE, f"{path} is larger than a checkpoint note ({MAX_NOTE_BYTES} bytes)",
              False)  # fmt: skip
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        fail(EXIT_USAGE, f"{path} is not a checkpoint note (not UTF-8 text)", False)


def register(app: typer.Typer) -> None:
    @app.command()
    def head(
        server: ServerOpt,
        state: StateOpt = None,
        log_key: LogKeyOpt = None,
        vrf_key: VrfKeyOpt = None,
        config: ConfigOpt = "whatsapp_v1",
        as_json: JsonOpt = False,
    ) -> None:
        """Print the checkpoint this state last verified for the server's log (to gossip)."""
        options = PolicyOptions(log_key, vrf_key, config, max_age=0)

        def action() -> Any:
            with open_client(server, state, options) as client:
                return client.state.head(client.trust().log_id)

        mine = run_client(as_json, action)
        if mine is None:
            fail(EXIT_USAGE, "this state has no verified head of that log yet: run "
                  "glasskey lookup with the same --state first", as_json)  # fmt: skip
        if as_json:
            print(json.dumps({"origin": mine.origin, "size": mine.size,
                              "root_hash": mine.root.hex(), "checkpoint": mine.note}))  # fmt: skip
        else:
            sys.stdout.write(mine.note)

    @app.command()
    def gossip(
        note: Annotated[
            str, typer.Argument(help="File with the checkpoint another party saw; - for stdin.")
        ],
        server: ServerOpt,
        state: StateOpt = None,
        log_key: LogKeyOpt = None,
        vrf_key: VrfKeyOpt = None,
        config: ConfigOpt = "whatsapp_v1",
        evidence_dir: Annotated[
            str,
            typer.Option(help="Where a proven fork's evidence file is written."),
        ] = "fork-evidence",
        as_json: JsonOpt = False,
    ) -> None:
        """Compare a checkpoint someone else saw with our verified view of the log (exit 1
        on a fork, with evidence that glasskey verify fork-evidence re-checks offline)."""
        from glasskey.client import GossipFork

        options = PolicyOptions(log_key, vrf_key, config, max_age=0)
        text = _read_note(note)

        def action() -> Any:
            with open_client(server, state, options) as client:
                try:
                    return client.gossip(text, evidence_dir=Path(evidence_dir))
                except GossipFork as fork:  # reported below, with where its evidence went
                    return fork

        result = run_client(as_json, action)
        if isinstance(result, GossipFork):
            where = str(result.evidence_path) if result.evidence_path else None
            if as_json:
                print(json.dumps({"consistent": False, "error": result.code,
                                  "message": str(result), "evidence": where}))  # fmt: skip
            else:
                print(f"REFUSED: {result.code}: {result}\nevidence: {where}", file=sys.stderr)
            raise typer.Exit(EXIT_FAILED)
        if as_json:
            print(json.dumps({"consistent": True, "ours": result.mine_size,
                              "theirs": result.theirs_size}))  # fmt: skip
        else:
            print(f"consistent: their checkpoint (size {result.theirs_size}) and ours (size "
                  f"{result.mine_size}) are one tree")  # fmt: skip
