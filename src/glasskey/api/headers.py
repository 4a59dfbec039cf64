"""The protobuf variant of a proof response: AKD protobuf body, signed state in headers.

Why headers: with ``Accept: application/x-protobuf`` the body is exactly the AKD proof bytes
(what akd's own clients decode), so the ``SignedState`` the JSON form carries in its body
travels beside it, one header per field:

=================================  =========================================================
``X-Glasskey-Epoch``               decimal
``X-Glasskey-Root-Hash``           hex
``X-Glasskey-Tree-Size``           decimal
``X-Glasskey-Checkpoint``          base64 of the signed note's UTF-8 text
``X-Glasskey-Log-Inclusion``       comma-separated hex hashes (empty for none)
``X-Glasskey-Log-Consistency``     comma-separated hex hashes; absent without a proof
``X-Glasskey-Auditor-Signature``   base64 of the countersignature's compact JSON; absent
                                   without one
``X-Glasskey-Auditor-Latest``      base64 of the auditor's newest countersignature for the
                                   namespace, compact JSON; absent without one (a client that
                                   pins the auditor refuses epochs older than it)
=================================  =========================================================

There is no header for ``consistency_from``: it is the ``known_size`` the client sent.
"""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Mapping
from typing import Any

from glasskey.api.encoding import encode_base64
from glasskey.api.wire import SignedState, parse
from glasskey.core.errors import MalformedError

PROTOBUF = "application/x-protobuf"

EPOCH = "X-Glasskey-Epoch"
ROOT_HASH = "X-Glasskey-Root-Hash"
TREE_SIZE = "X-Glasskey-Tree-Size"
CHECKPOINT = "X-Glasskey-Checkpoint"
LOG_INCLUSION = "X-Glasskey-Log-Inclusion"
LOG_CONSISTENCY = "X-Glasskey-Log-Consistency"
AUDITOR_SIGNATURE = "X-Glasskey-Auditor-Signature"
AUDITOR_LATEST = "X-Glasskey-Auditor-Latest"


def _compact_json(value: Any) -> str:
    return encode_base64(json.dumps(value, separators=(",", ":")).encode("utf-8"))


def signed_state_headers(state: SignedState) -> dict[str, str]:
    """The headers that carry ``state`` beside a protobuf body."""
    headers = {
        EPOCH: str(state.epoch),
        ROOT_HASH: state.root_hash.hex(),
        TREE_SIZE: str(state.tree_size),
        CHECKPOINT: encode_base64(state.checkpoint.encode("utf-8")),
        LOG_INCLUSION: ",".join(h.hex() for h in state.log_inclusion),
    }
    if state.log_consistency is not None:
        headers[LOG_CONSISTENCY] = ",".join(h.hex() for h in state.log_consistency)
    if state.auditor_signature is not None:
        headers[AUDITOR_SIGNATURE] = _compact_json(state.auditor_signature)
    if state.auditor_latest is not None:
        headers[AUDITOR_LATEST] = _compact_json(state.auditor_latest)
    return headers


def signed_state_from_headers(
    headers: Mapping[str, str], known_size: int | None = None
) -> SignedState:
    """Parse the headers of a protobuf proof response (``known_size``: what was sent).

    ``headers`` must look names up case-insensitively (as ``httpx.Headers`` does).
    """

    def number(name: str) -> Any:
        text = headers.get(name, "")
        return int(text) if text.isascii() and text.isdigit() else text

    def hashes(name: str) -> list[str] | None:
        text = headers.get(name)
        if text is None:
            return None
        return text.split(",") if text else []

    def compact_json(name: str) -> Any:
        raw = headers.get(name)
        return None if raw is None else json.loads(base64.b64decode(raw, validate=True))

    try:
        note = base64.b64decode(headers.get(CHECKPOINT, ""), validate=True).decode("utf-8")
        signature = compact_json(AUDITOR_SIGNATURE)
        latest = compact_json(AUDITOR_LATEST)
    except (binascii.Error, UnicodeDecodeError, ValueError):
        raise MalformedError("a signed-state header is not valid base64 / JSON") from None
    consistency = hashes(LOG_CONSISTENCY)
    fields = {
        "epoch": number(EPOCH),
        "root_hash": headers.get(ROOT_HASH),
        "checkpoint": note,
        "tree_size": number(TREE_SIZE),
        "log_inclusion": hashes(LOG_INCLUSION),
        "consistency_from": known_size,
        "log_consistency": consistency,
        "auditor_signature": signature,
        "auditor_latest": latest,
    }
    return parse(SignedState, fields, "signed-state headers")


__all__ = [
    "AUDITOR_LATEST",
    "AUDITOR_SIGNATURE",
    "CHECKPOINT",
    "EPOCH",
    "LOG_CONSISTENCY",
    "LOG_INCLUSION",
    "PROTOBUF",
    "ROOT_HASH",
    "TREE_SIZE",
    "signed_state_from_headers",
    "signed_state_headers",
]
