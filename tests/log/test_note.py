"""Signed notes: signing, the spec's verification rules, vkeys, cosignatures, round trips."""

from __future__ import annotations

import base64

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from glasskey.core.errors import MalformedError, SignatureError, UsageError
from glasskey.core.signing import Ed25519Signer
from glasskey.log.note import (
    CosignatureV1Verifier,
    Ed25519NoteVerifier,
    Note,
    NoteSignature,
    cosign_note,
    cosignature_v1_message,
    key_id,
    note_verifier_for,
    open_note,
    parse_note,
    parse_vkey,
    sign_note,
    verify_signatures,
    vkey_string,
)

# RFC 8032 §7.1 TEST 1 key: fixed, so signatures below are exact.
SEED = bytes.fromhex("9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60")
SIGNER = Ed25519Signer.from_seed(SEED)
OTHER = Ed25519Signer.from_seed(bytes(range(32)))
NAME = "glasskey.local/log"


def test_sign_note_exact_wire_form() -> None:
    note = sign_note("hello\n", SIGNER, NAME)
    kid = key_id(NAME, 0x01, SIGNER.public_key)
    sig = SIGNER.sign(b"hello\n")
    blob = base64.b64encode(kid.to_bytes(4, "big") + sig).decode()
    assert note.to_text() == f"hello\n\n— {NAME} {blob}\n"
    assert note_verifier_for(SIGNER, NAME).key_id == kid
    assert open_note(note.to_text(), [note_verifier_for(SIGNER, NAME)]).text == "hello\n"


def test_key_id_and_vkey_round_trip() -> None:
    vkey = vkey_string(NAME, 0x01, SIGNER.public_key)
    name, hex_id, key_b64 = vkey.split("+", 2)
    assert name == NAME and int(hex_id, 16) == key_id(NAME, 0x01, SIGNER.public_key)
    assert base64.b64decode(key_b64) == b"\x01" + SIGNER.public_key
    assert parse_vkey(vkey) == Ed25519NoteVerifier(NAME, SIGNER.public_key)
    cosigner = parse_vkey(vkey_string("w.example", 0x04, SIGNER.public_key))
    assert cosigner == CosignatureV1Verifier("w.example", SIGNER.public_key)
    assert cosigner.key_id != key_id("w.example", 0x01, SIGNER.public_key)


@pytest.mark.parametrize(
    ("vkey", "error", "message"),
    [
        ("justaname", MalformedError, "not <name>"),
        ("a+b", MalformedError, "not <name>"),
        ("a b+00000000+AQ==", MalformedError, "invalid name"),
        ("a+0000000+AQ==", MalformedError, "8 lowercase hex"),
        ("a+0000000G+AQ==", MalformedError, "8 lowercase hex"),
        ("a+00000000+AQ", MalformedError, "not valid base64"),
        ("a+00000000+AQ==", MalformedError, "no key bytes"),
        ("a+00000000+AQI=", MalformedError, "does not match"),
    ],
)
def test_bad_vkeys(vkey: str, error: type[Exception], message: str) -> None:
    with pytest.raises(error, match=message):
        parse_vkey(vkey)


def test_vkey_with_wrong_length_key_and_uppercase_id() -> None:
    short = b"\x01" + bytes(31)
    kid = key_id("a", 0x01, bytes(31))
    with pytest.raises(MalformedError, match="31-byte Ed25519 key"):
        parse_vkey(f"a+{kid:08x}+{base64.b64encode(short).decode()}")
    good = vkey_string("a", 0x01, SIGNER.public_key)
    name, hex_id, rest = good.split("+", 2)
    if hex_id != hex_id.upper():
        with pytest.raises(MalformedError, match="8 lowercase hex"):
            parse_vkey(f"{name}+{hex_id.upper()}+{rest}")


def test_unknown_signatures_are_ignored_known_ones_must_all_verify() -> None:
    mine = note_verifier_for(SIGNER, NAME)
    note = sign_note(sign_note("text\n", OTHER, "stranger.example"), SIGNER, NAME)
    assert [s.name for s in note.signatures] == ["stranger.example", NAME]
    opened = open_note(note.to_bytes(), [mine])
    assert [v.signature.name for v in opened.verified] == [NAME]

    # Same name, other key → other key ID → ignored, not a failure.
    impostor = sign_note("text\n", OTHER, NAME)
    with pytest.raises(SignatureError, match="no signature from a known key"):
        open_note(impostor.to_bytes(), [mine])

    # Same name and key ID but a bad signature → the whole note is rejected, even though
    # another good signature from the same key follows.
    good = note.signatures[1]
    bad = NoteSignature(NAME, good.key_id, bytes(64))
    with pytest.raises(SignatureError, match=rf"{NAME}\+{good.key_id:08x} does not verify"):
        open_note(Note("text\n", (bad, good)).to_bytes(), [mine])


def test_collision_of_id_but_not_name_is_ignored() -> None:
    mine = note_verifier_for(SIGNER, NAME)
    sig = sign_note("t\n", SIGNER, NAME).signatures[0]
    renamed = NoteSignature("other.example", sig.key_id, sig.signature)
    with pytest.raises(SignatureError, match="no signature from a known key"):
        open_note(Note("t\n", (renamed,)).to_bytes(), [mine])


def test_verifier_configuration_errors() -> None:
    note = sign_note("t\n", SIGNER, NAME)
    with pytest.raises(UsageError, match="no verifier keys"):
        open_note(note.to_bytes(), [])
    with pytest.raises(UsageError, match="32 bytes"):
        Ed25519NoteVerifier(NAME, b"short")
    with pytest.raises(UsageError, match="invalid note key name"):
        Ed25519NoteVerifier("has space", SIGNER.public_key)
    assert verify_signatures(note, []) == ()


def test_signing_refuses_bad_text_and_names() -> None:
    for text in ("", "no newline", "ends blank\n\n", "tab\there\n"):
        with pytest.raises(UsageError, match="cannot sign"):
            sign_note(text, SIGNER, NAME)
    for name in ("", "a b", "a+b", "tab\t"):
        with pytest.raises(UsageError, match="invalid note key name"):
            sign_note("t\n", SIGNER, name)
    with pytest.raises(UsageError, match="at least one signature"):
        Note("t\n").to_text()


class FakeRsaSigner:
    public_key = b"k" * 32
    algorithm = "rsa"

    def sign(self, message: bytes) -> bytes:
        return b"s"


def test_signing_needs_ed25519() -> None:
    with pytest.raises(UsageError, match="needs an Ed25519 signer, not 'rsa'"):
        sign_note("t\n", FakeRsaSigner(), NAME)


def test_cosignature_round_trip_and_message() -> None:
    assert cosignature_v1_message(b"o\n1\nr\n", 1679315147) == (
        b"cosignature/v1\ntime 1679315147\no\n1\nr\n"
    )
    note = sign_note("o\n1\nr\n", SIGNER, NAME)
    cosigned = cosign_note(note, OTHER, "witness.example", 1700000000)
    witness = CosignatureV1Verifier("witness.example", OTHER.public_key)
    opened = open_note(cosigned.to_text(), [note_verifier_for(SIGNER, NAME), witness])
    assert [v.timestamp for v in opened.verified] == [None, 1700000000]
    raw = cosigned.signatures[1].signature
    assert raw[:8] == (1700000000).to_bytes(8, "big") and len(raw) == 72
    # Rewriting the timestamp breaks the signature (it is inside the signed message).
    moved = NoteSignature(
        "witness.example", witness.key_id, (1700000001).to_bytes(8, "big") + raw[8:]
    )
    with pytest.raises(SignatureError, match="does not verify"):
        open_note(Note(note.text, (moved,)).to_text(), [witness])
    with pytest.raises(UsageError, match="timestamp"):
        cosign_note(note, OTHER, "witness.example", -1)


def test_cosignature_shape_errors() -> None:
    witness = CosignatureV1Verifier("witness.example", OTHER.public_key)
    with pytest.raises(SignatureError, match="72 bytes, got 64"):
        open_note(
            Note("t\n", (NoteSignature("witness.example", witness.key_id, bytes(64)),)).to_text(),
            [witness],
        )
    huge = b"\xff" * 8 + bytes(64)
    with pytest.raises(SignatureError, match="2\\^63-1"):
        open_note(
            Note("t\n", (NoteSignature("witness.example", witness.key_id, huge),)).to_text(),
            [witness],
        )


note_texts = (
    st.lists(
        st.text(
            alphabet=st.characters(min_codepoint=0x20, exclude_categories=["Cs"]),
            min_size=0,
            max_size=30,
        ),
        min_size=1,
        max_size=5,
    )
    .map(lambda lines: "\n".join(lines) + "\n")
    .filter(lambda t: not t.endswith("\n\n") and t != "\n")
)


@settings(max_examples=150, deadline=None)
@given(note_texts)
def test_any_valid_text_round_trips(text: str) -> None:
    note = sign_note(text, SIGNER, NAME)
    wire = note.to_bytes()
    assert parse_note(wire) == note
    assert open_note(wire, [note_verifier_for(SIGNER, NAME)]).text == text


@settings(max_examples=150, deadline=None)
@given(st.integers(0, 10_000), st.integers(1, 255))
def test_any_byte_change_in_a_signed_note_is_refused(position: int, xor: int) -> None:
    wire = bytearray(sign_note("example.com/log\n42\nAAAA\n", SIGNER, NAME).to_bytes())
    wire[position % len(wire)] ^= xor
    with pytest.raises((SignatureError, MalformedError)):
        open_note(bytes(wire), [note_verifier_for(SIGNER, NAME)])
