"""C2SP conformance: signed-note, tlog-checkpoint and tlog-cosignature vectors.

Data: the spec examples, Tessera's 15-entry test log (checkpoints, tiles, entry bundles) and
Sunlight's witness test data (see ``vectors/README.md``). Type 0x04 cosignatures are fully
verified; the Sunlight log's own type 0x05 (RFC 6962 tree-head, ECDSA) signature is parsed,
its key ID derivation checked, and it is ignored as an unknown signature type.
"""

from __future__ import annotations

import base64
import hashlib
import json
import struct
from functools import cache
from pathlib import Path

import pytest

from glasskey.core.errors import ConsistencyError, MalformedError, SignatureError, UsageError
from glasskey.log.checkpoint import Checkpoint, open_checkpoint, parse_checkpoint
from glasskey.log.note import (
    SIG_COSIGNATURE_V1,
    SIG_ED25519,
    SIG_RFC6962_TREE_HEAD,
    CosignatureV1Verifier,
    Ed25519NoteVerifier,
    key_id,
    open_note,
    parse_note,
    parse_vkey,
)
from glasskey.log.rfc6962 import (
    MemoryHashStore,
    leaf_hash,
    merkle_tree_hash,
    prove_consistency,
    prove_inclusion,
    verify_consistency,
    verify_inclusion,
)
from tests.vectors import vector_path

TESSERA_VKEY = "example.com/log/testdata+33d7b496+AeHTu4Q3hEIMHNqc6fASMsq3rKNx280NI+oO5xCFkkSx"
TESSERA_ORIGIN = "example.com/log/testdata"
TESSERA_WORDS = [
    "one",
    "two",
    "three",
    "four",
    "five",
    "six",
    "seven",
    "eit",
    "nain",
    "ten",
    "ileven",
    "twelf",
    "threeten",
    "fourten",
    "fivten",
]


def spec(name: str) -> bytes:
    return vector_path("c2sp", "spec-examples", name).read_bytes()


def tessera(*parts: str) -> Path:
    return vector_path("c2sp", "tessera-testdata", "log", *parts)


def sunlight(name: str) -> bytes:
    return vector_path("c2sp", "sunlight-witness", name).read_bytes()


def decode_bundle(data: bytes) -> list[bytes]:
    """c2sp.org/tlog-tiles entry bundle: repeated (BE16 length, bytes)."""
    entries, pos = [], 0
    while pos < len(data):
        (length,) = struct.unpack_from(">H", data, pos)
        entries.append(data[pos + 2 : pos + 2 + length])
        pos += 2 + length
    assert pos == len(data)
    return entries


@cache
def tessera_entries() -> list[bytes]:
    return decode_bundle(tessera("tile", "entries", "000.p", "15").read_bytes())


# --- signed-note ---------------------------------------------------------------------------


def test_signed_note_example_verifies() -> None:
    verifier = parse_vkey(spec("signed-note-example.vkey").decode())
    assert isinstance(verifier, Ed25519NoteVerifier)
    assert verifier.name == "example.com/foo"
    assert verifier.key_id == 0x530D903A
    assert verifier.vkey() == spec("signed-note-example.vkey").decode().strip()
    opened = open_note(spec("signed-note-example.note"), [verifier])
    assert opened.text == "This is an example message.\n"
    assert len(opened.verified) == 1 and opened.verified_by(verifier)
    assert opened.verified[0].timestamp is None


@pytest.mark.parametrize(
    ("old", "new"),
    [
        (b"This is", b"this is"),  # the text
        (b"message.", b"message!"),
        (b"example.com/foo Uw2Q", b"example.com/fop Uw2Q"),  # the key name: now unknown
    ],
)
def test_signed_note_example_one_char_change_fails(old: bytes, new: bytes) -> None:
    verifier = parse_vkey(spec("signed-note-example.vkey").decode())
    data = spec("signed-note-example.note")
    assert data.count(old) == 1
    with pytest.raises(SignatureError):
        open_note(data.replace(old, new), [verifier])


def test_signed_note_example_signature_byte_change_fails() -> None:
    verifier = parse_vkey(spec("signed-note-example.vkey").decode())
    note = parse_note(spec("signed-note-example.note"))
    sig = note.signatures[0]
    for position in (0, 31, 63):
        tampered = bytearray(sig.signature)
        tampered[position] ^= 0x01
        bad = type(sig)(sig.name, sig.key_id, bytes(tampered))
        with pytest.raises(SignatureError, match="does not verify"):
            open_note(type(note)(note.text, (bad,)).to_bytes(), [verifier])


def test_poem_note_splits_at_the_last_blank_line() -> None:
    data = spec("signed-note-poem.note")
    note = parse_note(data)
    assert note.text == (
        "Ognuno sta solo sul cuor della terra\n"
        "trafitto da un raggio di sole:\n"
        "\n"
        "ed è subito sera.\n"
    )
    assert [s.name for s in note.signatures] == ["quasimodo.example/salvatore"]
    assert note.signatures[0].key_id == 0x367BA04B
    assert len(note.signatures[0].signature) == 64
    assert note.to_bytes() == data
    # No key was published; against any other key the note must not be trusted.
    other = Ed25519NoteVerifier("quasimodo.example/salvatore", bytes(32))
    with pytest.raises(SignatureError, match="no signature from a known key"):
        open_note(data, [other])


def test_spec_checkpoint_examples_parse() -> None:
    checkpoint, note = parse_checkpoint(spec("tlog-checkpoint-example.note"))
    assert checkpoint == Checkpoint(
        "example.com/behind-the-sofa",
        20852163,
        base64.b64decode("CsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I="),
    )
    assert [s.name for s in note.signatures] == ["example.com/behind-the-sofa"]
    assert note.to_bytes() == spec("tlog-checkpoint-example.note")

    cosigned_cp, cosigned = parse_checkpoint(spec("tlog-cosignature-example.note"))
    assert cosigned_cp == checkpoint
    assert [s.name for s in cosigned.signatures] == [
        "example.com/behind-the-sofa",
        "witness.example.com/w1",
    ]
    witness_sig = cosigned.signatures[1].signature
    assert len(witness_sig) == 72  # 8-byte timestamp + Ed25519
    # The timestamp the spec's signed-message example shows.
    assert CosignatureV1Verifier.timestamp_of(witness_sig) == 1679315147
    assert cosigned.to_bytes() == spec("tlog-cosignature-example.note")


# --- Tessera test log ------------------------------------------------------------------------


def test_tessera_entry_bundles_and_tiles() -> None:
    assert [e.decode() for e in tessera_entries()] == TESSERA_WORDS
    for n in range(1, 16):
        bundle = decode_bundle(tessera("tile", "entries", "000.p", str(n)).read_bytes())
        assert bundle == tessera_entries()[:n]
        tile = tessera("tile", "0", "000.p", str(n)).read_bytes()
        assert tile == b"".join(leaf_hash(e) for e in bundle)


@pytest.mark.parametrize("n", range(16))
def test_tessera_checkpoint_verifies_and_matches_entries(n: int) -> None:
    verifier = parse_vkey(TESSERA_VKEY)
    assert isinstance(verifier, Ed25519NoteVerifier) and verifier.key_id == 0x33D7B496
    data = tessera(f"checkpoint.{n}").read_bytes()
    opened = open_checkpoint(data, [verifier], origin=TESSERA_ORIGIN)
    assert opened.origin == TESSERA_ORIGIN
    assert opened.size == n
    assert opened.checkpoint.extensions == ()
    assert opened.root_hash == merkle_tree_hash(tessera_entries()[:n])
    assert opened.checkpoint.body() == opened.note.text
    assert parse_note(data).to_bytes() == data


def test_tessera_latest_checkpoint_is_checkpoint_15() -> None:
    assert tessera("checkpoint").read_bytes() == tessera("checkpoint.15").read_bytes()


def test_tessera_checkpoints_reject_wrong_origin_and_wrong_key() -> None:
    data = tessera("checkpoint.7").read_bytes()
    verifier = parse_vkey(TESSERA_VKEY)
    with pytest.raises(SignatureError, match=r"expected 'example.com/other'"):
        open_checkpoint(data, [verifier], origin="example.com/other")
    # Same name, different key: a different key ID, so the signature is simply unknown.
    stranger = Ed25519NoteVerifier(TESSERA_ORIGIN, bytes(31) + b"\x01")
    with pytest.raises(SignatureError, match="no signature from a known key"):
        open_checkpoint(data, [stranger])
    # Change the size line by one digit.
    with pytest.raises(SignatureError, match="does not verify"):
        open_checkpoint(data.replace(b"\n7\n", b"\n8\n"), [verifier])


def _tessera_checkpoints() -> list[tuple[int, bytes]]:
    verifier = parse_vkey(TESSERA_VKEY)
    out = []
    for n in range(16):
        opened = open_checkpoint(tessera(f"checkpoint.{n}").read_bytes(), [verifier])
        out.append((opened.size, opened.root_hash))
    return out


def test_tessera_consistency_between_every_pair_of_checkpoints() -> None:
    checkpoints = _tessera_checkpoints()
    store = MemoryHashStore(leaf_hash(e) for e in tessera_entries())
    pairs = 0
    for size1, root1 in checkpoints:
        for size2, root2 in checkpoints:
            if size1 > size2:
                continue
            if size1 == 0:  # nothing is provable from the empty tree (pinned policy)
                with pytest.raises(ConsistencyError, match="empty tree"):
                    verify_consistency(size1, size2, [], root1, root2)
                continue
            proof = prove_consistency(store, size1, size2)
            verify_consistency(size1, size2, proof, root1, root2)
            pairs += 1
    assert pairs == 15 * 16 // 2


def test_tessera_inclusion_of_every_entry_in_every_checkpoint() -> None:
    store = MemoryHashStore(leaf_hash(e) for e in tessera_entries())
    for size, root in _tessera_checkpoints():
        for index in range(size):
            proof = prove_inclusion(store, index, size)
            verify_inclusion(leaf_hash(tessera_entries()[index]), index, size, proof, root)


# --- Sunlight witness: cosignature/v1 (0x04) verified, RFC 6962 (0x05) ignored ---------------


def _witness() -> CosignatureV1Verifier:
    meta = json.loads(sunlight("witness.v0.json"))
    (vkey,) = meta["verifier_keys"]
    verifier = parse_vkey(vkey)
    assert isinstance(verifier, CosignatureV1Verifier)
    return verifier


def test_sunlight_witness_cosignature_verifies() -> None:
    witness = _witness()
    assert witness.name == "witness.example.org" and witness.key_id == 0xB8A2CF20
    opened = open_checkpoint(sunlight("checkpoint"), [witness], origin="rome2026h1.example.org")
    assert opened.size == 300
    log = json.loads(sunlight("log.v3.json"))
    assert opened.root_hash == base64.b64decode(log["final_tree_head"]["sha256_root_hash"])
    (verified,) = opened.note.verified
    assert verified.signature.name == "witness.example.org"
    # 2025-12-31T00:00:00Z: the instant of the log's final tree head (given there in ms).
    assert verified.timestamp == 1767139200
    assert verified.timestamp * 1000 == log["final_tree_head"]["timestamp"]


def test_sunlight_tampered_cosignature_rejects_the_note() -> None:
    witness = _witness()
    data = sunlight("checkpoint")
    # A key given both as log key and as witness is never counted twice.
    opened = open_checkpoint(data, [witness], cosigners=[witness], cosigner_quorum=0)
    assert opened.cosignatures == ()

    note = parse_note(data)
    cosig = note.signatures[1]
    tampered = bytearray(cosig.signature)
    tampered[3] ^= 0x01  # inside the timestamp: the signed message changes
    bad_cosig = type(cosig)(cosig.name, cosig.key_id, bytes(tampered))
    bad = type(note)(note.text, (note.signatures[0], bad_cosig))
    with pytest.raises(SignatureError, match=r"witness\.example\.org\+b8a2cf20 does not verify"):
        open_note(bad.to_bytes(), [witness])


def test_sunlight_rfc6962_signature_key_id_and_is_ignored() -> None:
    note = parse_note(sunlight("checkpoint"))
    assert [s.name for s in note.signatures] == ["rome2026h1.example.org", "witness.example.org"]
    log_sig = note.signatures[0]
    log = json.loads(sunlight("log.v3.json"))
    log_id = base64.b64decode(log["log_id"])
    assert log_id == hashlib.sha256(base64.b64decode(log["key"])).digest()  # SHA-256(SPKI)
    assert log_sig.key_id == key_id("rome2026h1.example.org", SIG_RFC6962_TREE_HEAD, log_id)
    # An Ed25519 (0x01) key with the witness's name and public key has a different key ID:
    # both signatures are then unknown, so nothing vouches for the note.
    same_key_wrong_type = Ed25519NoteVerifier("witness.example.org", _witness().public_key)
    assert same_key_wrong_type.key_id == key_id(
        "witness.example.org", SIG_ED25519, _witness().public_key
    )
    assert same_key_wrong_type.key_id != key_id(
        "witness.example.org", SIG_COSIGNATURE_V1, _witness().public_key
    )
    with pytest.raises(SignatureError, match="no signature from a known key"):
        open_note(sunlight("checkpoint"), [same_key_wrong_type])


def test_type_0x05_vkeys_are_refused_as_unsupported() -> None:
    log = json.loads(sunlight("log.v3.json"))
    log_id = base64.b64decode(log["log_id"])
    name = "rome2026h1.example.org"
    kid = key_id(name, SIG_RFC6962_TREE_HEAD, log_id)
    blob = base64.b64encode(bytes([SIG_RFC6962_TREE_HEAD]) + log_id).decode()
    with pytest.raises(UsageError, match="type 0x05 is not supported"):
        parse_vkey(f"{name}+{kid:08x}+{blob}")


# --- garbage --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b"", "does not end with a newline"),
        (b"\n", "no blank line"),
        (b"hello\n", "no blank line"),
        (b"hello\n\n", "no signature lines"),
        (b"\n\n\xe2\x80\x94 a AAAAAAA=\n", "note text ends with an empty line"),
        (b"hello\n\n\xe2\x80\x94 a AAAAAAA=", "does not end with a newline"),
        (b"hello\n\n- a AAAAAAA=\n", "em dash"),
        (b"hello\n\n\xe2\x80\x94 a\n", "no space"),
        (b"hello\n\n\xe2\x80\x94  AAAAAAA=\n", "invalid key name"),
        (b"hello\n\n\xe2\x80\x94 a+b AAAAAAA=\n", "invalid key name"),
        (b"hello\n\n\xe2\x80\x94 a\xc2\xa0b AAAAAAA=\n", "invalid key name"),
        (b"hello\n\n\xe2\x80\x94 a AAAA\n", "shorter than key ID"),
        (b"hello\n\n\xe2\x80\x94 a AAAAAAA\n", "not valid base64"),
        (b"hello\n\n\xe2\x80\x94 a AAAAAAB=\n", "not canonical base64"),
        (b"hello\n\n\xe2\x80\x94 a AAAA AAA=\n", "not valid base64"),
        (b"hello\n\n\xe2\x80\x94 a AAAAAAA=\n\n", "no signature lines after its last blank line"),
        (b"hello\n\n\xe2\x80\x94 a AAAAAAA=\n\xe2\x80\x94 b\n", "no space"),
        (b"hel\rlo\n\n\xe2\x80\x94 a AAAAAAA=\n", "control character U\\+000D"),
        (b"hel\tlo\n\n\xe2\x80\x94 a AAAAAAA=\n", "control character U\\+0009"),
        (b"hell\xff\n\n\xe2\x80\x94 a AAAAAAA=\n", "not valid UTF-8"),
        (b"hello\n\n\n\xe2\x80\x94 a AAAAAAA=\n", "ends with an empty line"),
        (b"x" * (1 << 20) + b"\n\n\xe2\x80\x94 a AAAAAAA=\n", "limit"),
        (b"hello\n\n" + b"\xe2\x80\x94 a AAAAAAA=\n" * 101, "101 signatures"),
    ],
)
def test_garbage_notes_raise_malformed(data: bytes, message: str) -> None:
    with pytest.raises(MalformedError, match=message):
        parse_note(data)
    with pytest.raises(MalformedError):
        open_note(data, [parse_vkey(TESSERA_VKEY)])


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ("example.com/log\n5\n", "needs at least 3"),
        ("\n5\n" + "A" * 43 + "=\n", "origin line is empty"),
        ("o\n05\n" + "A" * 43 + "=\n", "leading zeros"),
        ("o\n+5\n" + "A" * 43 + "=\n", "leading zeros"),
        ("o\n 5\n" + "A" * 43 + "=\n", "leading zeros"),
        ("o\n٥\n" + "A" * 43 + "=\n", "leading zeros"),  # Arabic-Indic digit five
        ("o\n18446744073709551616\n" + "A" * 43 + "=\n", "64 bits"),
        ("o\n5\n" + "A" * 42 + "==\n", "31 bytes"),
        ("o\n5\n" + "A" * 43 + "\n", "not valid base64"),
        ("o\n5\n" + "A" * 43 + "=\n\n", "extension line 1 is empty"),
        ("o\n5\n" + "A" * 43 + "=", "does not end with a newline"),
    ],
)
def test_garbage_checkpoint_bodies_raise_malformed(body: str, message: str) -> None:
    with pytest.raises(MalformedError, match=message):
        Checkpoint.parse(body)
