"""Cross-language differential: the Python client and glasskey-web judge the same answers alike.

A real directory (in-process service, real HTTP app) publishes a few epochs; its lookup and
history answers, the signed checkpoint and an auditor countersignature are then tampered with,
one byte at a time — every byte of the AKD proof, of the key, the root hash, the RFC 6962
proofs, every character of the checkpoint note and every byte of its signatures and of the
countersignature — and each variant goes through both verifiers. They must agree on every
one: accept or reject, and the same alert code. All variants run in one Node process. Proofs
of absence (a 404's ``absence``) and the witness policy get the same treatment.
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
from glasskey.client._absence import verify_absence
from glasskey.client._state import Head
from glasskey.client._verify import verify_bundle, verify_history
from glasskey.core.akd.types import HistoryParams
from glasskey.core.errors import GlasskeyError
from glasskey.core.signing import Ed25519Signer
from glasskey.log.note import CosignatureV1Verifier, cosign_note, parse_note, parse_vkey
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
    for field in ("proof", "key", "vrf_proof", "non_membership_proof"):
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


def _trust_json(trust: Trust) -> dict[str, Any]:
    """The pinned trust as the node differential runner reads it."""
    return {
        "origin": trust.origin,
        "log_public_key": trust.log_public_key,
        "vrf_public_key": trust.vrf_public_key.hex(),
        "configuration": trust.configuration,
        "domain_label": trust.domain_label.decode() if trust.domain_label else None,
        "max_publication_delay": trust.max_publication_delay,
        "checkpoint_refresh": trust.checkpoint_refresh,
    }


def _node_verdicts(
    build: Any,
    path: Any,
    trust: Trust,
    now: float,
    max_age: float | None,
    auditor: dict[str, Any] | None,
    cases: list[dict[str, Any]],
) -> list[str]:
    """glasskey-web's verdicts on ``cases`` (tools/differential.ts, one Node process), the
    payload written to ``path``."""
    payload = {"trust": _trust_json(trust), "now": now, "max_age": max_age, "auditor": auditor,
               "cases": cases}  # fmt: skip
    path.write_text(json.dumps(payload))
    run = subprocess.run(
        ["node", str(build / "tools" / "differential.js"), str(path)],
        capture_output=True, text=True, check=True, timeout=600,
    )  # fmt: skip
    node: list[str] = json.loads(run.stdout)
    assert len(node) == len(cases)
    return node


def _python_code(
    policy: VerificationPolicy, case: dict[str, Any], previous: Head | None, now: float
) -> str:
    try:
        if case["kind"] == "bundle":
            verify_bundle(policy, case["user_id"], case["body"], previous, now=now)
        elif case["kind"] == "absence":
            verify_absence(policy, case["user_id"], case["body"], previous, now=now)
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
    started = time.monotonic()
    node = _node_verdicts(
        build, tmp_path / "cases.json", trust, now, policy.max_age_for(trust),
        {"keys": [AUDITOR_KEY.hex()], "namespace": NAMESPACE, "required": False},
        [{**c, "previous": head_json(heads[c["previous"]])} for c in cases],
    )  # fmt: skip
    elapsed = time.monotonic() - started

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


# -- proofs of absence ------------------------------------------------------------------------


def test_every_single_byte_tamper_of_a_proof_of_absence_is_judged_alike(
    directory: Harness, tmp_path: Any
) -> None:
    """A real 404's proof of absence (glasskey.client._absence), in a log with epochs and in
    the still-empty log (epoch 0, the empty tree), tampered one byte at a time; a bare 404,
    another user's proof and a proof for another user id. Same verdict, same code."""
    build = compiled_web()
    trust = _trust(directory)
    absent = directory.http.get("/api/crypto/bundles/carol")
    assert absent.status_code == 404
    cases: list[dict[str, Any]] = []
    for what, body in _tampers(absent.json()["absence"]):
        cases.append({"what": what, "kind": "absence", "user_id": "carol", "body": body})
    cases.append({"what": "bare 404", "kind": "absence", "user_id": "carol", "body": None})
    cases.append(
        {"what": "another user's", "kind": "absence", "user_id": "erin", "body": cases[0]["body"]}
    )
    relabelled = {**cases[0]["body"], "user_id": "erin"}
    cases.append({"what": "relabelled", "kind": "absence", "user_id": "erin", "body": relabelled})
    for empty in make_harness():
        empty_trust = _trust(empty)
        body = empty.http.get("/api/crypto/bundles/carol").json()["absence"]
        empty_cases = [
            {"what": f"empty log {what}", "kind": "absence", "user_id": "carol", "body": tampered}
            for what, tampered in _tampers(body)
        ]
    now = time.time()
    verdicts = []
    for t, group in ((trust, cases), (empty_trust, empty_cases)):
        policy = VerificationPolicy(trust=t)
        python = [_python_code(policy, c, None, now) for c in group]
        node = _node_verdicts(
            build, tmp_path / "absence-cases.json", t, now, policy.max_age_for(t), None,
            [{**c, "previous": None, "most_recent": None} for c in group],
        )  # fmt: skip
        verdicts += list(zip(group, python, node, strict=True))
    by_what = {c["what"]: (p, n) for c, p, n in verdicts}
    assert by_what["original"] == ("ok", "ok")
    assert by_what["empty log original"] == ("ok", "ok")
    for what in ("bare 404", "another user's", "relabelled"):
        assert by_what[what] == ("unproven_absence", "unproven_absence"), what
    disagreements = [(c["what"], p, n) for c, p, n in verdicts if p != n]
    assert not disagreements, f"{len(disagreements)} of {len(verdicts)}: {disagreements[:20]}"
    # Every tamper is refused, except of the proof and the AKD root on the empty log: its
    # signed size 0 proves the absence by itself, and neither client reads them then.
    accepted = {c["what"] for c, p, _ in verdicts if p == "ok"}
    unread = {
        w
        for w in accepted
        if w.startswith(("empty log vrf_proof", "empty log non_member", "empty log root_hash"))
    }
    assert accepted - unread == {"original", "empty log original"}


# -- witness policy ---------------------------------------------------------------------------

WITNESS_SIGNERS = [Ed25519Signer.from_seed(bytes([40 + i]) * 32) for i in range(3)]
WITNESS_NAMES = [f"w{i}.web.test" for i in range(3)]
WITNESS_VKEYS = [
    CosignatureV1Verifier(name, signer.public_key).vkey()
    for name, signer in zip(WITNESS_NAMES, WITNESS_SIGNERS, strict=True)
]


def _python_witness_code(trust: Trust, case: dict[str, Any], max_age: float, now: float) -> str:
    """The Python client's verdict, policy construction included (a bad witness key is a
    ``UsageError`` there, as ``checkPolicy`` makes it in glasskey-web)."""
    try:
        policy = VerificationPolicy(
            trust=trust, max_age=max_age, witnesses=tuple(case["witnesses"]),
            witness_threshold=case["witness_threshold"],
        )  # fmt: skip
        verify_bundle(policy, case["user_id"], case["body"], None, now=now)
    except GlasskeyError as exc:
        return exc.code
    return "ok"


def test_witness_policy_is_judged_alike(directory: Harness, tmp_path: Any) -> None:
    """The same real checkpoint, cosigned by test witnesses at chosen times, under the same
    witness policies (k of n, unpinned cosigners, old witness times, bad keys) and with every
    single-byte tamper of the cosigned note, and served publication times (``published_at``
    after the signed checkpoint, negative, not a number): both clients give the same verdict
    and code."""
    build = compiled_web()
    h = directory
    trust = _trust(h)
    bundle = h.http.get("/api/crypto/bundles/alice").json()
    now = time.time()
    t = int(now)
    note = parse_note(bundle["checkpoint"])
    w0, w1, w2 = WITNESS_VKEYS
    cosigned = cosign_note(note, WITNESS_SIGNERS[0], WITNESS_NAMES[0], t - 10)
    cosigned = cosign_note(cosigned, WITNESS_SIGNERS[1], WITNESS_NAMES[1], t - 900).to_text()
    future = cosign_note(note, WITNESS_SIGNERS[2], WITNESS_NAMES[2], t + 3600).to_text()
    log_as_witness = CosignatureV1Verifier(
        trust.origin, parse_vkey(trust.log_public_key).public_key
    )
    variants: list[tuple[str, str, list[str], int]] = [
        ("2 of 2, the 2nd newest is 900 s old", cosigned, [w0, w1], 2),
        ("1 of 2, the newest is 10 s old", cosigned, [w0, w1], 1),
        ("3 of 3, two cosigned", cosigned, [w0, w1, w2], 3),
        ("2 of 3, two cosigned", cosigned, [w0, w1, w2], 2),
        ("1 of 1, an unpinned witness cosigned", cosigned, [w2], 1),
        ("0 of 1, an unpinned witness cosigned", cosigned, [w2], 0),
        ("1 of 1, no cosignature", bundle["checkpoint"], [w0], 1),
        ("1 of 1, a time in the future", future, [w2], 1),
        ("the log's key as a witness", cosigned, [log_as_witness.vkey()], 1),
        ("a type 0x01 witness key", cosigned, [trust.log_public_key], 1),
        ("two keys of one name", cosigned, [w0, w0], 1),
        ("threshold above the keys", cosigned, [w0], 2),
        ("a key with a bad id", cosigned, [w0[:-4] + "AAA="], 0),
    ]
    cases: list[dict[str, Any]] = [
        {"what": what, "kind": "bundle", "user_id": "alice", "body": {**bundle, "checkpoint": cp},
         "most_recent": None, "previous": None, "witnesses": keys, "witness_threshold": k}
        for what, cp, keys, k in variants
    ]  # fmt: skip
    # published_at: the log's word, only checked not to be after the signed checkpoint.
    for value in (None, 0, bundle["published_at"], -1, t + 3600, "soon", True):
        cases.append(
            {"what": f"published_at {value!r}", "kind": "bundle", "user_id": "alice",
             "body": {**bundle, "published_at": value}, "most_recent": None, "previous": None,
             "witnesses": [], "witness_threshold": 0}
        )  # fmt: skip
    for what, cp in _tamper_checkpoint(cosigned):
        cases.append(
            {"what": f"1 of 2, {what}", "kind": "bundle", "user_id": "alice",
             "body": {**bundle, "checkpoint": cp}, "most_recent": None, "previous": None,
             "witnesses": [w0, w1], "witness_threshold": 1}
        )  # fmt: skip
    max_age = 600.0
    python = [_python_witness_code(trust, c, max_age, now) for c in cases]
    node = _node_verdicts(build, tmp_path / "witness-cases.json", trust, now, max_age, None, cases)
    by_what = {c["what"]: (p, n) for c, p, n in zip(cases, python, node, strict=True)}
    expected = {
        "2 of 2, the 2nd newest is 900 s old": "stale_head",
        "1 of 2, the newest is 10 s old": "ok",
        "3 of 3, two cosigned": "unwitnessed_head",
        "2 of 3, two cosigned": "stale_head",
        "1 of 1, an unpinned witness cosigned": "unwitnessed_head",
        "0 of 1, an unpinned witness cosigned": "ok",
        "1 of 1, no cosignature": "unwitnessed_head",
        "1 of 1, a time in the future": "ok",
        "the log's key as a witness": "usage",
        "a type 0x01 witness key": "usage",
        "two keys of one name": "usage",
        "threshold above the keys": "usage",
        "a key with a bad id": "usage",
        "published_at None": "ok",
        "published_at 0": "ok",
        f"published_at {bundle['published_at']!r}": "ok",
        "published_at -1": "malformed",
        f"published_at {t + 3600!r}": "malformed",
        "published_at 'soon'": "malformed",
        "published_at True": "malformed",
    }
    assert {what: by_what[what] for what in expected} == {
        what: (code, code) for what, code in expected.items()
    }
    disagreements = [
        (c["what"], p, n) for c, p, n in zip(cases, python, node, strict=True) if p != n
    ]
    assert not disagreements, f"{len(disagreements)} of {len(cases)}: {disagreements[:20]}"
    # Only a renamed signature line (its key name or key ID changed) is accepted: it becomes a
    # signature by an unknown key, ignored by the signed-note rules, and one valid pinned
    # cosignature (k = 1) remains. Every other tamper is refused.
    name_spans = set()
    offset = 0
    for text in cosigned.split("\n"):
        if text.startswith("\u2014 "):
            # the key name, and the base64 characters that hold the 4-byte key ID
            name_spans.update(range(offset + 2, offset + text.index(" ", 2) + 7))
        offset += len(text) + 1
    for c, code in zip(cases, python, strict=True):
        what = c["what"]
        if "[" not in what or code != "ok":
            continue
        index = int(what.rsplit("[", 1)[1].rstrip("]"))
        if "checkpoint[" in what:
            assert index in name_spans, what
        else:
            assert index < 4 and WITNESS_NAMES[0] not in what, what
