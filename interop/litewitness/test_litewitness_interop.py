"""glasskey against litewitness v0.6.1 (filippo.io/torchwood), a production tlog-witness.

Shows, with real processes on 127.0.0.1:

* a ``glasskey serve --witness`` log is cosigned by litewitness, and the served checkpoint
  carries the cosignature; glasskey's client (library and CLI) verifies it under a 1-of-1
  policy, with litewitness's key computed independently from its SSH public key;
* a forked glasskey log (same log key, other history: the malicious split view) is refused
  by litewitness, so its head never reaches the threshold and clients refuse it;
* ``glasskey witness serve`` and litewitness cosign the same checkpoints: the same cosigned
  message bytes (``cosignature/v1``, time, checkpoint body), and the same answers to the same
  ``add-checkpoint`` requests (status, body, content type) where the spec fixes them.

No Go → every test skips with that reason; a failing build fails them.
"""

from __future__ import annotations

import base64
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from glasskey.client import GlasskeyClient, UnwitnessedHead, VerificationPolicy
from glasskey.core.signing import verify_ed25519
from glasskey.log.checkpoint import Checkpoint
from glasskey.log.note import (
    CosignatureV1Verifier,
    cosignature_v1_message,
    parse_note,
    sign_note,
)
from glasskey.log.profile import open_witnessed, verifier_key
from glasskey.log.rfc6962 import MemoryHashStore, prove_consistency
from glasskey.log.witness import SIZE_CONTENT_TYPE, AddCheckpoint
from interop.litewitness import harness
from tests.security.procs import (
    Process,
    _spawn,
    cli,
    register_user,
    start_log_server,
    upload_key,
    wait_for,
)

ORIGIN = "glasskey.local/log"


def _log_key(seed: int) -> tuple[str, Ed25519PrivateKey]:
    key = Ed25519PrivateKey.from_private_bytes(bytes([seed]) * 32)
    pem = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )  # fmt: skip
    return base64.b64encode(pem).decode(), key


def _public(key: Ed25519PrivateKey) -> bytes:
    return key.public_key().public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)


LOG_PEM, LOG_KEY = _log_key(41)
LOG_VKEY = verifier_key(ORIGIN, _public(LOG_KEY))
GK_WITNESS_PEM, GK_WITNESS_KEY = _log_key(42)
GK_WITNESS = CosignatureV1Verifier("glasskey-witness.test", _public(GK_WITNESS_KEY))


@pytest.fixture(scope="module")
def built() -> None:
    try:
        harness.build()
    except harness.GoMissing as exc:
        pytest.skip(f"litewitness interop not run: {exc}")


@dataclass
class Witnesses:
    lite: harness.Litewitness
    ours: Process


def _start_our_witness(folder: Path, *logs: str) -> Process:
    port = harness.free_port()
    args = ["witness", "serve", "--port", str(port), "--db", str(folder / "witness.db"),
            "--name", GK_WITNESS.name]  # fmt: skip
    for vkey in logs:
        args += ["--log", vkey]
    proc = _spawn(folder, args, {"GLASSKEY_WITNESS_KEY": GK_WITNESS_PEM})
    process = Process(folder, f"http://127.0.0.1:{port}", proc)
    wait_for("glasskey witness", lambda: httpx.get(process.url + "/", timeout=1).text)
    return process


@pytest.fixture
def witnesses(built: None, tmp_path: Path) -> Iterator[Witnesses]:
    lite = harness.Litewitness(tmp_path / "lite")
    ours: Process | None = None
    try:
        lite.add_log(LOG_VKEY)
        ours = _start_our_witness(tmp_path / "ours", LOG_VKEY)
        yield Witnesses(lite, ours)
    finally:
        if ours is not None:
            ours.stop()
        lite.stop()


def _serve(folder: Path, *witness_specs: str) -> Process:
    extra: list[str] = []
    for spec in witness_specs:
        extra += ["--witness", spec]
    return start_log_server(folder, *extra, env={"GLASSKEY_SIGNING_KEY": LOG_PEM})


def _cosigners(url: str) -> list[str]:
    note = httpx.get(f"{url}/api/transparency/root", timeout=5).json()["checkpoint"]
    return [sig.name for sig in parse_note(note).signatures[2:]]


def _seed(server: Process, folder: Path, users: int) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    for i in range(users):
        user = f"user{i}"
        token = register_user(server.url, user, folder)
        done = upload_key(server.url, user, bytes([i]) * 32, token, str(folder / f"{user}.db"),
                          folder, wait=10)  # fmt: skip
        assert done.returncode == 0, done.stdout + done.stderr


def test_vkey_encoding_agrees(witnesses: Witnesses) -> None:
    assert witnesses.lite.logged_vkey() == witnesses.lite.verifier.vkey()


def test_log_is_cosigned_and_client_verifies(witnesses: Witnesses, tmp_path: Path) -> None:
    lite = witnesses.lite
    server = _serve(tmp_path / "log", lite.spec())
    try:
        _seed(server, tmp_path, 2)
        size = httpx.get(f"{server.url}/api/transparency/root").json()["tree_size"]
        wait_for("litewitness's cosignature", lambda: lite.name in _cosigners(server.url))
        note = httpx.get(f"{server.url}/api/transparency/root").json()["checkpoint"]
        opened = open_witnessed(note, ORIGIN, LOG_VKEY, (lite.verifier.vkey(),), 1)
        assert opened.witnesses == (lite.name,) and opened.checkpoint.size >= size
        assert abs(time.time() - (opened.witnessed_at or 0)) < 120
        # The Python client, 1-of-1 on litewitness.
        policy = VerificationPolicy(witnesses=(lite.verifier.vkey(),), witness_threshold=1)
        key = wait_for("a cosigned lookup", lambda: _lookup(server.url, policy))
        assert key.key == bytes([1]) * 32
        # The CLI, same policy.
        done = cli("lookup", "user1", "--server", server.url, "--witness", lite.verifier.vkey(),
                   "--witness-threshold", "1", "--json", "--state", str(tmp_path / "c.db"),
                   cwd=tmp_path)  # fmt: skip
        assert done.returncode == 0, done.stdout + done.stderr
        ready = httpx.get(f"{server.url}/readyz").json()["witnesses"][0]
        assert ready["name"] == lite.name and ready["cosigned_size"] >= size
    finally:
        server.stop()


def _lookup(url: str, policy: VerificationPolicy, user: str = "user1") -> object:
    try:
        with GlasskeyClient(url, policy=policy) as client:
            return client.lookup(user)
    except UnwitnessedHead:
        return None  # the newest head is not cosigned yet


def test_forked_log_is_refused(witnesses: Witnesses, tmp_path: Path) -> None:
    lite = witnesses.lite
    honest = _serve(tmp_path / "honest", lite.spec())
    try:
        _seed(honest, tmp_path / "h", 1)
        wait_for("litewitness cosigns the honest log", lambda: lite.name in _cosigners(honest.url))
    finally:
        honest.stop()
    fork = _serve(tmp_path / "fork", lite.spec())  # same key, another database: a fork
    try:
        _seed(fork, tmp_path / "f", 3)

        def refused() -> dict | None:  # type: ignore[type-arg]
            status = httpx.get(f"{fork.url}/readyz").json()["witnesses"][0]
            return status if status["total_failures"] >= 1 and status["last_error"] else None

        status = wait_for("litewitness to refuse the fork", refused)
        assert "HTTP 422" in status["last_error"] or "larger than" in status["last_error"]
        assert lite.name not in _cosigners(fork.url)
        policy = VerificationPolicy(witnesses=(lite.verifier.vkey(),), witness_threshold=1)
        with GlasskeyClient(fork.url, policy=policy) as client, pytest.raises(UnwitnessedHead):
            client.lookup("user0")
        done = cli("lookup", "user0", "--server", fork.url, "--witness", lite.verifier.vkey(),
                   "--json", "--state", str(tmp_path / "fc.db"), cwd=tmp_path)  # fmt: skip
        assert done.returncode == 1 and "unwitnessed_head" in done.stdout + done.stderr
    finally:
        fork.stop()


def test_both_witnesses_cosign_the_same_checkpoints(witnesses: Witnesses, tmp_path: Path) -> None:
    lite, ours = witnesses.lite, witnesses.ours
    server = _serve(tmp_path / "log", lite.spec(), f"{GK_WITNESS.vkey()}@{ours.url}")
    try:
        _seed(server, tmp_path, 1)
        wait_for(
            "both cosignatures",
            lambda: {lite.name, GK_WITNESS.name} <= set(_cosigners(server.url)),
        )
        note = parse_note(httpx.get(f"{server.url}/api/transparency/root").json()["checkpoint"])
        body = note.text.encode()
        by_name = {sig.name: sig for sig in note.signatures}
        messages = {}
        for verifier in (lite.verifier, GK_WITNESS):
            sig = by_name[verifier.name]
            stamp = CosignatureV1Verifier.timestamp_of(sig.signature)
            message = cosignature_v1_message(body, stamp)
            verify_ed25519(verifier.public_key, message, sig.signature[8:])
            messages[verifier.name] = message
        # Same message bytes once the time line is taken out: both signed this checkpoint.
        stripped = {m.split(b"\n", 2)[2] for m in messages.values()}
        assert stripped == {body}
        policy = VerificationPolicy(
            witnesses=(lite.verifier.vkey(), GK_WITNESS.vkey()), witness_threshold=2
        )
        assert wait_for("a 2-of-2 lookup", lambda: _lookup(server.url, policy, "user0"))
    finally:
        server.stop()


def _post(url: str, body: bytes) -> tuple[int, str, bytes]:
    r = httpx.post(f"{url}/add-checkpoint", content=body, timeout=10)
    return r.status_code, r.headers.get("content-type", "").split(";")[0], r.content


def test_same_requests_same_answers(built: None, tmp_path: Path) -> None:
    """Byte-identical add-checkpoint requests to both witnesses, for a log of our own."""
    _, signer_key = _log_key(43)
    origin = "interop.test/log"
    vkey = verifier_key(origin, _public(signer_key))
    lite = harness.Litewitness(tmp_path / "lite2")
    ours: Process | None = None
    try:
        lite.add_log(vkey)
        ours = _start_our_witness(tmp_path / "ours2", vkey)
        from glasskey.core.signing import Ed25519Signer

        signer = Ed25519Signer.from_seed(bytes([43]) * 32)
        tree, fork = MemoryHashStore(), MemoryHashStore()
        for i in range(12):
            tree.append(bytes([i]) * 32)
            fork.append(bytes([i + 100]) * 32)

        def note(size: int, t: MemoryHashStore = tree) -> str:
            body = Checkpoint(origin, size, t.root(size)).body()
            return sign_note(body, signer, origin).to_text()

        good = tuple(prove_consistency(tree, 9, 12))
        tampered = (bytes([good[0][0] ^ 1]) + good[0][1:], *good[1:])
        steps = [
            ("first, old 0", AddCheckpoint(0, (), note(5)), 200),
            ("stale old size", AddCheckpoint(0, (), note(7)), 409),
            ("extension", AddCheckpoint(5, tuple(prove_consistency(tree, 5, 9)), note(9)), 200),
            ("tampered proof", AddCheckpoint(9, tampered, note(12)), 422),
            ("fork", AddCheckpoint(9, tuple(prove_consistency(fork, 9, 12)), note(12, fork)), 422),
            ("old > size", AddCheckpoint(9, (), note(5)), 400),
            ("extension again", AddCheckpoint(9, good, note(12)), 200),
        ]
        for what, request, expected in steps:
            a = _post(lite.url, request.to_bytes())
            b = _post(ours.url, request.to_bytes())
            assert a[0] == b[0] == expected, (what, a, b)
            if expected == 200:
                (la,) = parse_note(request.note + a[2].decode()).signatures[-1:]
                (lb,) = parse_note(request.note + b[2].decode()).signatures[-1:]
                assert (la.name, lb.name) == (lite.name, GK_WITNESS.name)
                text = parse_note(request.note).text.encode()
                lite.verifier.verify(text, la.signature)
                GK_WITNESS.verify(text, lb.signature)
            elif expected == 409:
                assert (a[1], b[1]) == (SIZE_CONTENT_TYPE, SIZE_CONTENT_TYPE), what
                assert a[2] == b[2], what  # the same known size, "N\n"
        # Where the two differ (both refuse): an unknown origin is 404 here (the spec's
        # word) and 403 in litewitness v0.6.1; the same size with another root is 409 here
        # (the spec's word) and 422 there.
        other = sign_note(Checkpoint("unknown.test/log", 1, tree.root(1)).body(), signer,
                          "unknown.test/log").to_text()  # fmt: skip
        unknown = AddCheckpoint(0, (), other).to_bytes()
        assert (_post(lite.url, unknown)[0], _post(ours.url, unknown)[0]) == (403, 404)
        split = AddCheckpoint(12, (), note(12, fork)).to_bytes()
        assert (_post(lite.url, split)[0], _post(ours.url, split)[0]) == (422, 409)
    finally:
        if ours is not None:
            ours.stop()
        lite.stop()
