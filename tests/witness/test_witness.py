"""glasskey's tlog-witness: every status code of c2sp.org/tlog-witness, exact bytes, state."""

from __future__ import annotations

from pathlib import Path

import pytest

from glasskey.core.signing import Ed25519Signer
from glasskey.log.checkpoint import Checkpoint
from glasskey.log.note import (
    CosignatureV1Verifier,
    cosignature_v1_message,
    note_verifier_for,
    parse_note,
    sign_note,
)
from glasskey.log.rfc6962 import MemoryHashStore, prove_consistency
from glasskey.log.witness import (
    SIZE_CONTENT_TYPE,
    AddCheckpoint,
    attach_signatures,
    parse_signature_lines,
    parse_size_body,
)
from glasskey.witness import Witness, WitnessStore, log_verifiers

ORIGIN = "example.test/log"
LOG = Ed25519Signer.from_seed(bytes(range(32)))
OTHER = Ed25519Signer.from_seed(bytes(range(1, 33)))
WITNESS = Ed25519Signer.from_seed(bytes(range(2, 34)))
NOW = 1_767_000_000


def tree(n: int, salt: bytes = b"") -> MemoryHashStore:
    store = MemoryHashStore()
    for i in range(n):
        store.append(bytes([i % 256]) * 31 + salt[:1].ljust(1, b"\0"))
    return store


def signed(store: MemoryHashStore, size: int, signer: Ed25519Signer = LOG) -> str:
    body = Checkpoint(ORIGIN, size, store.root(size)).body()
    return sign_note(body, signer, ORIGIN).to_text()


@pytest.fixture
def witness(tmp_path: Path) -> Witness:
    logs = log_verifiers([note_verifier_for(LOG, ORIGIN).vkey()])
    return Witness(WITNESS, "witness.test", logs, WitnessStore(tmp_path / "w.db"), lambda: NOW)


def submit(witness: Witness, old: int, proof: list[bytes], note: str) -> tuple[int, str, bytes]:
    answer = witness.add_checkpoint(AddCheckpoint(old, tuple(proof), note).to_bytes())
    return answer.status, answer.content_type, answer.body


def test_first_checkpoint_is_cosigned_with_exact_cosignature(witness: Witness) -> None:
    t = tree(5)
    note = signed(t, 5)
    status, ctype, body = submit(witness, 0, [], note)
    assert status == 200 and ctype.startswith("text/plain")
    (line,) = parse_signature_lines(body)
    verifier = CosignatureV1Verifier("witness.test", WITNESS.public_key)
    assert line.name == "witness.test" and line.key_id == verifier.key_id
    assert line.signature[:8] == NOW.to_bytes(8, "big")
    text = parse_note(note).text.encode()
    # The signed message is the C2SP cosignature/v1 message, byte for byte.
    WITNESS_MSG = b"cosignature/v1\ntime %d\n" % NOW + text
    assert cosignature_v1_message(text, NOW) == WITNESS_MSG
    verifier.verify(text, line.signature)
    merged = attach_signatures(note, [line])
    assert merged == note + line.to_line()
    assert witness.head(ORIGIN) == Checkpoint(ORIGIN, 5, t.root(5))


def test_extension_with_valid_proof(witness: Witness) -> None:
    t = tree(9)
    assert submit(witness, 0, [], signed(t, 5))[0] == 200
    proof = prove_consistency(t, 5, 9)
    assert submit(witness, 5, proof, signed(t, 9))[0] == 200
    # Same size, same root again (a re-signed head): cosigned, empty proof.
    assert submit(witness, 9, [], signed(t, 9))[0] == 200


def test_wrong_old_size_is_409_with_known_size(witness: Witness) -> None:
    t = tree(9)
    submit(witness, 0, [], signed(t, 5))
    status, ctype, body = submit(witness, 0, [], signed(t, 9))
    assert (status, ctype, body) == (409, SIZE_CONTENT_TYPE, b"5\n")
    assert parse_size_body(body) == 5
    status, _, body = submit(witness, 7, prove_consistency(t, 7, 9), signed(t, 9))
    assert (status, body) == (409, b"5\n")


def test_inconsistent_proof_is_422_and_state_unchanged(witness: Witness) -> None:
    t = tree(9)
    submit(witness, 0, [], signed(t, 5))
    fork = tree(9, b"x")
    status, _, _ = submit(witness, 5, prove_consistency(fork, 5, 9), signed(fork, 9))
    assert status == 422
    assert witness.head(ORIGIN) == Checkpoint(ORIGIN, 5, t.root(5))
    # A tampered proof hash also fails.
    bad = prove_consistency(t, 5, 9)
    bad[0] = bytes([bad[0][0] ^ 1]) + bad[0][1:]
    assert submit(witness, 5, bad, signed(t, 9))[0] == 422


def test_same_size_other_root_is_409_fork(witness: Witness) -> None:
    submit(witness, 0, [], signed(tree(5), 5))
    status, ctype, body = submit(witness, 5, [], signed(tree(5, b"y"), 5))
    assert status == 409 and ctype.startswith("text/plain") and b"another root" in body


def test_unknown_log_wrong_key_and_bad_requests(witness: Witness) -> None:
    t = tree(3)
    other = sign_note(Checkpoint("other.test/log", 3, t.root(3)).body(), LOG, "other.test/log")
    assert submit(witness, 0, [], other.to_text())[0] == 404
    assert submit(witness, 0, [], signed(t, 3, OTHER))[0] == 403
    assert submit(witness, 4, [], signed(t, 3))[0] == 400  # old size > size
    assert submit(witness, 0, [bytes(32)], signed(t, 3))[0] == 400  # proof from 0
    assert witness.add_checkpoint(b"old 01\n\n" + signed(t, 3).encode()).status == 400
    assert witness.add_checkpoint(b"garbage").status == 400
    assert witness.add_checkpoint(b"old 0\nnot base64!\n\n" + signed(t, 3).encode()).status == 400
    assert witness.head(ORIGIN) is None


def test_state_survives_restart(tmp_path: Path) -> None:
    logs = log_verifiers([note_verifier_for(LOG, ORIGIN).vkey()])
    w1 = Witness(WITNESS, "witness.test", logs, WitnessStore(tmp_path / "s.db"), lambda: NOW)
    t = tree(6)
    submit(w1, 0, [], signed(t, 6))
    w1.store.close()
    w2 = Witness(WITNESS, "witness.test", logs, WitnessStore(tmp_path / "s.db"), lambda: NOW)
    assert submit(w2, 0, [], signed(t, 6))[2] == b"6\n"
    assert submit(w2, 6, [], signed(tree(6, b"z"), 6))[0] == 409


def test_http_app_caps_body(witness: Witness) -> None:
    from starlette.testclient import TestClient

    from glasskey.witness import create_app

    with TestClient(create_app(witness)) as http:
        t = tree(2)
        body = AddCheckpoint(0, (), signed(t, 2)).to_bytes()
        r = http.post("/add-checkpoint", content=body)
        assert r.status_code == 200 and r.text.startswith("— witness.test ")
        r = http.post("/add-checkpoint", content=body)
        assert (r.status_code, r.headers["content-type"], r.text) == (409, SIZE_CONTENT_TYPE, "2\n")
        assert http.post("/add-checkpoint", content=b"x" * 70_000).status_code == 413
        assert http.get("/").text == witness.vkey() + "\n"
