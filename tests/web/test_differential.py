"""Cross-language differential: the Python client and glasskey-web judge the same answers alike.

A real directory (in-process service, real HTTP app) publishes a few epochs; its lookup and
history answers, the signed checkpoint and an auditor countersignature are then tampered with,
one byte at a time — every byte of the AKD proof, of the key, the root hash, the RFC 6962
proofs, every character of the checkpoint note and every byte of its signatures and of the
countersignature — and each variant goes through both verifiers. They must agree on every
one: accept or reject, and the same alert code. All variants run in one Node process.
"""

from __future__ import annotations

import base64
import json
import subprocess
import time
from collections.abc import Iterator
from typing import Any

import pytest

from glasskey.client import AuditorPin, GlasskeyClient, Trust, VerificationPolicy
from glasskey.client._state import Head
from glasskey.client._verify import verify_bundle, verify_history
from glasskey.core.akd.types import HistoryParams
from glasskey.core.errors import GlasskeyError
from tests.client.test_policy import AUDITOR_KEY, NAMESPACE, _countersign
from tests.server.conftest import Harness, make_harness
from tests.web._node import compiled_web

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")


@pytest.fixture(scope="module")
def directory() -> Iterator[Harness]:
    for h in make_harness():
        alice = h.register("alice")
        bob = h.register("bob")
        for i in range(3):
            h.upload("alice", alice, f"alice-key-{i}".encode())
            if i == 1:
                h.upload("bob", bob, b"bob-key")
            h.publish()
        yield h


def _trust(h: Harness) -> Trust:
    with GlasskeyClient("http://testserver", transport=h.http._transport) as client:
        return client.trust()


def _flip(data: bytes, i: int) -> bytes:
    out = bytearray(data)
    out[i] ^= 0x01
    return bytes(out)


def _tamper_checkpoint(note: str) -> Iterator[tuple[str, str]]:
    for i, ch in enumerate(note):
        new = chr(ord(ch) ^ 0x01) if ord(ch) < 128 else "-"
        yield f"checkpoint[{i}]", note[:i] + new + note[i + 1 :]
    lines = note.split("\n")
    for n, line in enumerate(lines):
        if not line.startswith("\u2014 "):
            continue
        name, blob64 = line[2:].split(" ", 1)
        blob = base64.b64decode(blob64)
        for i in range(len(blob)):
            bad = base64.b64encode(_flip(blob, i)).decode()
            yield (
                f"signature {name} [{i}]",
                "\n".join([*lines[:n], f"\u2014 {name} {bad}", *lines[n + 1 :]]),
            )


def _tampers(body: dict[str, Any]) -> Iterator[tuple[str, dict[str, Any]]]:
    """Every single-byte tamper of a proof response (and the untouched response first)."""
    yield "original", body
    for field in ("proof", "key"):
        if field not in body:
            continue
        raw = base64.b64decode(body[field])
        for i in range(len(raw)):
            yield f"{field}[{i}]", {**body, field: base64.b64encode(_flip(raw, i)).decode()}
    raw = bytes.fromhex(body["root_hash"])
    for i in range(len(raw)):
        yield f"root_hash[{i}]", {**body, "root_hash": _flip(raw, i).hex()}
    for field in ("log_inclusion", "log_consistency"):
        for n, h in enumerate(body.get(field) or []):
            raw = bytes.fromhex(h)
            for i in range(len(raw)):
                hashes = list(body[field])
                hashes[n] = _flip(raw, i).hex()
                yield f"{field}[{n}][{i}]", {**body, field: hashes}
    for what, note in _tamper_checkpoint(body["checkpoint"]):
        yield what, {**body, "checkpoint": note}
    sig = body.get("auditor_signature")
    if sig is not None:
        for field in ("signature", "digest", "serialized_message"):
            raw = bytes.fromhex(sig[field])
            for i in range(len(raw)):
                yield (
                    f"auditor_signature.{field}[{i}]",
                    {
                        **body,
                        "auditor_signature": {**sig, field: _flip(raw, i).hex()},
                    },
                )
        for field in ("epoch", "timestamp"):
            yield (
                f"auditor_signature.{field}+1",
                {
                    **body,
                    "auditor_signature": {**sig, field: sig[field] + 1},
                },
            )


def _python_code(
    policy: VerificationPolicy, case: dict[str, Any], previous: Head | None, now: float
) -> str:
    try:
        if case["kind"] == "bundle":
            verify_bundle(policy, case["user_id"], case["body"], previous, now=now)
        else:
            params = HistoryParams(case["most_recent"])
            verify_history(policy, case["user_id"], case["body"], previous, params, now=now)
    except GlasskeyError as exc:
        return exc.code
    return "ok"


def test_every_single_byte_tamper_is_judged_alike(directory: Harness, tmp_path: Any) -> None:
    build = compiled_web()
    h = directory
    trust = _trust(h)
    first = h.http.get("/api/crypto/bundles/alice").json()
    policy = VerificationPolicy(trust=trust, auditor=AuditorPin([AUDITOR_KEY], NAMESPACE))
    now = time.time()
    head = verify_bundle(policy, "alice", first, None, now=now).head
    # One more epoch, so the answers carry a consistency proof from the first head.
    token = h.register("dave")
    h.upload("dave", token, b"dave-key")
    h.publish()
    known = {"known_size": head.size}
    bundle = _countersign(h.http.get("/api/crypto/bundles/alice", params=known).json())
    history = _countersign(h.http.get("/api/crypto/history/alice", params=known).json())
    recent = h.http.get("/api/crypto/history/bob", params={**known, "most_recent": 1}).json()
    assert bundle["log_consistency"] and bundle["consistency_from"] == head.size

    cases: list[dict[str, Any]] = []
    for what, body in _tampers(bundle):
        cases.append(
            {
                "what": what,
                "kind": "bundle",
                "user_id": "alice",
                "body": body,
                "most_recent": None,
                "previous": True,
            }
        )
    cases.append(
        {
            "what": "wrong user",
            "kind": "bundle",
            "user_id": "bob",
            "body": bundle,
            "most_recent": None,
            "previous": True,
        }
    )
    cases.append(
        {
            "what": "no previous head",
            "kind": "bundle",
            "user_id": "alice",
            "body": first,
            "most_recent": None,
            "previous": False,
        }
    )
    cases.append(
        {
            "what": "rollback to the first head",
            "kind": "bundle",
            "user_id": "alice",
            "body": first,
            "most_recent": None,
            "previous": "later",
        }
    )
    for what, body in _tampers(history):
        if what.startswith(("proof", "key", "original")):
            cases.append(
                {
                    "what": "history " + what,
                    "kind": "history",
                    "user_id": "alice",
                    "body": body,
                    "most_recent": None,
                    "previous": True,
                }
            )
    cases.append(
        {
            "what": "history most_recent:1",
            "kind": "history",
            "user_id": "bob",
            "body": recent,
            "most_recent": 1,
            "previous": True,
        }
    )

    later = verify_bundle(policy, "alice", bundle, head, now=now).head
    heads = {True: head, False: None, "later": later}

    def head_json(h: Head | None) -> dict[str, Any] | None:
        if h is None:
            return None
        return {"size": h.size, "log_root": base64.b64encode(h.log_root).decode(), "note": h.note}

    python = [_python_code(policy, c, heads[c["previous"]], now) for c in cases]
    payload = {
        "trust": {
            "origin": trust.origin,
            "log_public_key": trust.log_public_key,
            "vrf_public_key": trust.vrf_public_key.hex(),
            "configuration": trust.configuration,
            "domain_label": trust.domain_label.decode() if trust.domain_label else None,
            "max_publication_delay": trust.max_publication_delay,
            "checkpoint_refresh": trust.checkpoint_refresh,
        },
        "now": now,
        "max_age": policy.max_age_for(trust),
        "auditor": {"keys": [AUDITOR_KEY.hex()], "namespace": NAMESPACE, "required": False},
        "cases": [{**c, "previous": head_json(heads[c["previous"]])} for c in cases],
    }
    path = tmp_path / "cases.json"
    path.write_text(json.dumps(payload))
    started = time.monotonic()
    run = subprocess.run(
        ["node", str(build / "tools" / "differential.js"), str(path)],
        capture_output=True,
        text=True,
        check=True,
        timeout=600,
    )
    node = json.loads(run.stdout)
    elapsed = time.monotonic() - started
    assert len(node) == len(cases)

    # The untouched answers verify in both, and the attacks are caught alike.
    by_what = {c["what"]: (p, n) for c, p, n in zip(cases, python, node, strict=True)}
    assert by_what["original"] == ("ok", "ok")
    assert by_what["history original"] == ("ok", "ok")
    assert by_what["history most_recent:1"] == ("ok", "ok")
    assert by_what["wrong user"] == ("wrong_label", "wrong_label")
    assert by_what["rollback to the first head"] == ("rollback_detected", "rollback_detected")
    disagreements = [
        (c["what"], p, n) for c, p, n in zip(cases, python, node, strict=True) if p != n
    ]
    assert not disagreements, f"{len(disagreements)} of {len(cases)}: {disagreements[:20]}"
    accepted = {c["what"] for c, code in zip(cases, python, strict=True) if code == "ok"}
    print(f"{len(cases)} cases, {len(cases) - len(accepted)} rejected by both; node {elapsed:.1f}s")
    # Every tamper is caught: only the untouched answers verify.
    assert accepted == {"original", "history original", "history most_recent:1", "no previous head"}
