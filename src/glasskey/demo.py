"""``glasskey demo``: the whole story in one command, with real server processes.

1. start a server (SQLite in a temporary folder), register alice and bob, upload keys;
2. rotate alice's key and look both up with full verification;
3. put a malicious middlebox in front of the server and show the client refusing a forged
   key, another user's entry, a bad signature, a rollback to an old checkpoint, and a split
   view (a second server with the *same* keys but a different history);
4. start an auditor: the shadow server's operator cannot create a namespace with its log
   credential, and even a genuine countersignature from another namespace of the same
   auditor is refused by a phone that pins the auditor as (key, the honest log's namespace);
   and an old, genuinely countersigned head replayed to a phone with fresh state is refused
   because the auditor it pins (with its URL) has countersigned a newer epoch;
   Then the IETF client features: a user who never published is *proven* absent, while a
   middlebox hiding bob behind a bare 404 is refused (``unproven_absence``); bob's phone
   monitors its contacts, sees alice's legitimate rotation (``contact_key_changed``) and
   catches the middlebox hiding alice, whose key it verified (``contact_history_inconsistent``);
5. restart the server frozen (it keeps re-signing its old head but publishes nothing) and
   show alice's own monitoring catching her acknowledged upload missing past the log's
   declared maximum publication delay, while every lookup still verifies;
6. split view at the same size: a log shows two phones different roots of size 1. A phone
   that requires 1 of 1 witness cosignatures (``glasskey witness serve``) refuses the view the
   witness never cosigned (``unwitnessed_head``); phones without witnesses both verify, then
   compare their checkpoints (gossip) and prove the fork with an evidence file.

It drives both sides of the wire — server processes and the verifying client — so it sits
above both, beside the CLI, and never inside the server (which must not import its client).
"""

from __future__ import annotations

import base64
import contextlib
import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from glasskey.auditor._service import owner_token_id
from glasskey.client import AuditorPin, GlasskeyClient, UserNotFound, VerificationPolicy
from glasskey.core.errors import VerificationError
from glasskey.server._keyfiles import DEV_KEY_DIR
from glasskey.server._malicious import FROZEN_SERVE_MAIN, Attack, MaliciousTransport

_PY_MAIN = "from glasskey.cli import main; main()"
#: The demo log's promise (seconds from an accepted upload to its epoch): short, to watch.
DEMO_PUBLICATION_DELAY = 2.0


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def child_env(extra: dict[str, str] | None = None) -> dict[str, str]:
    """The environment of a demo process: this one's without any ``GLASSKEY_*`` variable.

    The demo's servers make their own keys and tokens in their own folders; a signing key,
    VRF key or token the caller has set for a real server (``GLASSKEY_SIGNING_KEY``, …)
    would otherwise make every demo server use it, and the scripted fork (a second server
    with the honest one's development keys) would find no key files to copy."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("GLASSKEY_")}
    return {**env, **(extra or {})}


def start_server(
    folder: Path,
    port: int,
    *,
    epoch_interval: float = 0.3,
    db: str | None = None,
    extra: list[str] | None = None,
    program: str = _PY_MAIN,
    env: dict[str, str] | None = None,
    scrub_env: bool = False,
) -> subprocess.Popen[bytes]:
    """Run ``glasskey serve`` in ``folder`` (its own dev keys; SQLite there unless ``db``).

    ``program``: the ``python -c`` program running the CLI (a lying server's, for the demo).
    ``scrub_env``: drop this process's ``GLASSKEY_*`` variables first (``child_env``), as the
    demo does; tests set the variables they mean their servers to read.
    """
    folder.mkdir(parents=True, exist_ok=True)
    cmd = [
        sys.executable, "-c", program, "serve", "--port", str(port),
        "--db", db or str(folder / "glasskey.db"), "--epoch-interval", str(epoch_interval),
        "--open-registration", "--rate-limit", "0", "--log-level", "warning",
        *(extra or []),
    ]  # fmt: skip
    log = open(folder / "server.log", "ab")  # noqa: SIM115 - closed by the process's exit
    environment = child_env(env) if scrub_env else {**os.environ, **(env or {})}
    proc = subprocess.Popen(
        cmd, cwd=folder, stdout=log, stderr=subprocess.STDOUT, env=environment,
        start_new_session=True,
    )  # fmt: skip
    wait_ready(f"http://127.0.0.1:{port}", proc)
    return proc


def wait_ready(url: str, proc: subprocess.Popen[bytes] | None = None, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc is not None and proc.poll() is not None:
            raise RuntimeError(f"server exited with {proc.returncode}")
        try:
            if httpx.get(f"{url}/readyz", timeout=1).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.1)
    raise RuntimeError(f"server at {url} not ready after {timeout}s")


def stop_server(proc: subprocess.Popen[bytes]) -> None:
    """SIGTERM the server's whole process group (uvicorn workers, VRF pool), then SIGKILL.

    Servers are started in a session of their own (``start_new_session``), so the group is
    theirs alone: signalling only the parent could leave workers running after it exits."""
    if proc.poll() is None:
        _signal_group(proc, signal.SIGTERM)
        try:
            proc.wait(15)
        except subprocess.TimeoutExpired:
            _signal_group(proc, signal.SIGKILL)
            proc.wait()
    _signal_group(proc, signal.SIGKILL)  # anything of the group the parent left behind


def _signal_group(proc: subprocess.Popen[bytes], sig: signal.Signals) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(proc.pid, sig)


def _say(step: str, text: str) -> None:
    print(f"[{step}] {text}", flush=True)


def run_demo(port: int = 0, keep: bool = False) -> int:
    folder = Path(tempfile.mkdtemp(prefix="glasskey-demo-"))
    port = port or free_port()
    url = f"http://127.0.0.1:{port}"
    procs: list[subprocess.Popen[bytes]] = []
    failures = 0
    try:
        _say("start", f"server on {url} (SQLite in {folder / 'honest'})")
        delay = ["--max-publication-delay", str(DEMO_PUBLICATION_DELAY)]
        procs.append(start_server(folder / "honest", port, extra=delay, scrub_env=True))
        with GlasskeyClient(url, state=folder / "alice-phone.db") as alice_phone:
            tokens = {u: alice_phone.register(u) for u in ("alice", "bob")}
            _say("register", "alice and bob registered (bearer tokens stored hashed)")
            for user, new_key in (("alice", b"alice-key-1"), ("bob", b"bob-key-1")):
                receipt = alice_phone.upload(user, new_key, tokens[user], wait=10)
                _say("upload", f"{user}: update {receipt.update_id} {receipt.status} "
                     f"in epoch {receipt.epoch}")  # fmt: skip
            receipt = alice_phone.upload("alice", b"alice-key-2", tokens["alice"], wait=10)
            _say("rotate", f"alice rotated her key: version 2 published in epoch {receipt.epoch}")
            for user in ("alice", "bob"):
                key = alice_phone.lookup(user)
                _say("lookup", f"{user}: {key.key.decode()} (version {key.version}) VERIFIED "
                     f"(lookup proof, VRF, signed checkpoint, root-log inclusion)")  # fmt: skip
            report = alice_phone.monitor("alice", own=True)
            _say("monitor", f"alice's own history: {len(report.history.versions)} versions, "
                 f"{'no surprises' if report.ok else report.alerts}")  # fmt: skip

        # A shadow server with the same private keys but its own history: the fork.
        shadow = folder / "shadow"
        shadow.mkdir()
        shutil.copytree(folder / "honest" / DEV_KEY_DIR, shadow / DEV_KEY_DIR)
        shadow_port = free_port()
        procs.append(start_server(shadow, shadow_port, scrub_env=True))
        with GlasskeyClient(f"http://127.0.0.1:{shadow_port}") as evil:
            token = evil.register("alice")
            for i in range(1, 6):  # a longer history than the honest log's
                evil.upload("alice", b"attacker-key-%d" % i, token, wait=10)
        _say("attacker", "a second server with the SAME signing and VRF keys, where alice's key "
             "is the attacker's")  # fmt: skip

        mitm = MaliciousTransport(
            httpx.HTTPTransport(),
            fork=httpx.HTTPTransport(),
        )
        scenarios = [
            (Attack.FORGE_KEY, "bob", "serves a forged key for bob"),
            (Attack.WRONG_LABEL, "bob", "serves alice's genuine entry when asked for bob"),
            (Attack.BAD_SIGNATURE, "bob", "serves a checkpoint with a corrupted signature"),
            (Attack.SPLIT_VIEW, "alice", "shows a forked view (other history, same keys)"),
            (Attack.ROLLBACK, "alice", "replays an old, genuinely signed response"),
        ]
        with GlasskeyClient(url, state=folder / "bob-phone.db", transport=mitm) as bob_phone:
            first = bob_phone.lookup("alice")
            _say("mitm", f"bob's phone, through a malicious middlebox: alice -> "
                 f"{first.key.decode()} verified while the middlebox is honest")  # fmt: skip
            # Alice rotates again and bob's phone sees it: the recorded response is now old.
            with GlasskeyClient(url, state=folder / "alice-phone.db") as alice_phone:
                alice_phone.upload("alice", b"alice-key-3", tokens["alice"], wait=10)
            newer = bob_phone.lookup("alice")
            _say("mitm", f"alice rotated again: {newer.key.decode()} verified at epoch "
                 f"{newer.epoch}")  # fmt: skip
            for attack, user, what in scenarios:
                mitm.attack = attack
                mitm.substitute = "alice" if attack is Attack.WRONG_LABEL else ""
                if attack is Attack.SPLIT_VIEW:
                    mitm.fork = _RedirectTransport(port, shadow_port)
                try:
                    key = bob_phone.lookup(user)
                except VerificationError as exc:
                    _say("caught", f"the server {what}: REFUSED ({exc.code}: {exc})")
                else:
                    failures += 1
                    _say("MISSED", f"the server {what} and the client accepted {key.key!r}")
                mitm.attack = Attack.NONE
            key = bob_phone.lookup("alice")
            _say("honest", f"middlebox honest again: alice -> {key.key.decode()} verified")
            failures += _absence_scene(bob_phone, mitm)
            failures += _contacts_scene(bob_phone, mitm, url, folder, tokens["alice"])
        failures += _auditor_scene(folder, procs, port, shadow_port)
        failures += _frozen_head(folder, port, procs, tokens["alice"], delay)
        failures += _split_view_scene(folder, procs)
        _say("done", "every attack was detected" if not failures else f"{failures} MISSED")
        return 0 if failures == 0 else 1
    except Exception as exc:  # the demo reports and exits non-zero rather than a traceback
        print(f"demo failed: {type(exc).__name__}: {exc}", file=sys.stderr)
        return 2
    finally:
        for proc in procs:
            stop_server(proc)
        if keep:
            print(f"demo folder kept: {folder}")
        else:
            shutil.rmtree(folder, ignore_errors=True)


def _frozen_head(
    folder: Path, port: int, procs: list[subprocess.Popen[bytes]], token: str, delay: list[str]
) -> int:
    """The operator restarts the log frozen; alice's phone notices, nobody else can. Returns
    the number of missed detections (0 or 1)."""
    url = f"http://127.0.0.1:{port}"
    stop_server(procs[0])
    procs[0] = start_server(
        folder / "honest", port, extra=delay, program=FROZEN_SERVE_MAIN, scrub_env=True
    )
    _say("attacker", "the server restarts frozen: it keeps re-signing its old head, so every "
         "checkpoint looks fresh, but it publishes nothing any more")  # fmt: skip
    with GlasskeyClient(url, state=folder / "alice-phone.db") as alice_phone:
        receipt = alice_phone.upload("alice", b"alice-key-4", token)
        _say("upload", f"alice: update {receipt.update_id} {receipt.status} (202 accepted)")
        time.sleep(DEMO_PUBLICATION_DELAY + 0.5)
        with GlasskeyClient(url, state=folder / "bob-phone.db") as bob_phone:
            key = bob_phone.lookup("alice")
        _say("frozen", f"bob's lookup still verifies: alice -> {key.key.decode()} (the old key)")
        report = alice_phone.monitor("alice", own=True)
    missing = [a for a in report.alerts if a.code == "update_not_published"]
    if missing:
        _say("caught", f"alice's own monitoring: ALERT (update_not_published: "
             f"{missing[0].message})")  # fmt: skip
        return 0
    _say("MISSED", "the frozen head hid alice's upload and her monitoring said ok")
    return 1


HONEST_NAMESPACE, SHADOW_NAMESPACE = "demo.honest-log", "demo.shadow-log"


def _auditor_scene(
    folder: Path, procs: list[subprocess.Popen[bytes]], honest_port: int, shadow_port: int
) -> int:
    """Item: a fork carrying a genuine auditor signature, from a namespace of its own."""
    key = Ed25519PrivateKey.generate()
    pem = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )  # fmt: skip
    auditor_key = key.public_key().public_bytes(
        serialization.Encoding.Raw, serialization.PublicFormat.Raw
    )
    admin = secrets.token_urlsafe(24)
    (folder / "auditor").mkdir()
    port = free_port()
    auditor_url = f"http://127.0.0.1:{port}"
    env = child_env({"GLASSKEY_AUDITOR_SIGNING_KEY": base64.b64encode(pem).decode(),
                     "GLASSKEY_AUDITOR_ADMIN_TOKEN": admin})  # fmt: skip
    log = open(folder / "auditor" / "auditor.log", "ab")  # noqa: SIM115 - closed by the exit
    procs.append(subprocess.Popen(
        [sys.executable, "-c", _PY_MAIN, "auditor", "serve", "--port", str(port),
         "--db", f"sqlite:///{folder / 'auditor' / 'auditor.db'}"],
        cwd=folder / "auditor", env=env, stdout=log, stderr=subprocess.STDOUT,
        start_new_session=True,
    ))  # fmt: skip
    _wait(lambda: httpx.get(f"{auditor_url}/info", timeout=1).status_code == 200)
    shadow_token = secrets.token_urlsafe(32)  # the shadow log's only auditor credential
    operator = {"Authorization": f"Bearer {admin}"}
    for name, owner, log_port in (
        (HONEST_NAMESPACE, owner_token_id(secrets.token_urlsafe(32)), honest_port),
        (SHADOW_NAMESPACE, owner_token_id(shadow_token), shadow_port),
    ):
        blobs = f"http://127.0.0.1:{log_port}/api/transparency/blobs"
        body = {"name": name, "signature_version": 1, "owners": [owner], "log_directory": blobs}
        httpx.post(f"{auditor_url}/namespaces", json=body, headers=operator).raise_for_status()
    _say("auditor", f"an auditor on {auditor_url}; its operator registered {HONEST_NAMESPACE} "
         f"(the honest log) and {SHADOW_NAMESPACE} (another log)")  # fmt: skip
    failures = 0
    tried = httpx.post(
        f"{auditor_url}/namespaces", json={"name": "demo.fork", "signature_version": 1},
        headers={"Authorization": f"Bearer {shadow_token}"},
    )  # fmt: skip
    if tried.status_code in (401, 403):
        _say("caught", f"a log's credential cannot create a namespace: HTTP {tried.status_code}")
    else:
        failures += 1
        _say("MISSED", f"a log's credential created a namespace (HTTP {tried.status_code})")
    # The shadow server, now countersigned in its own namespace with genuine signatures.
    shadow = folder / "shadow"
    stop_server(procs[1])
    procs[1] = start_server(
        shadow, shadow_port,
        extra=["--auditor-url", auditor_url, "--auditor-namespace", SHADOW_NAMESPACE],
        env={"GLASSKEY_AUDITOR_TOKEN": shadow_token}, scrub_env=True,
    )  # fmt: skip
    shadow_url = f"http://127.0.0.1:{shadow_port}"
    _wait(lambda: httpx.get(f"{shadow_url}/api/crypto/bundles/alice").json()["auditor_signature"])
    pin = AuditorPin([auditor_key], HONEST_NAMESPACE, required=True)
    policy = VerificationPolicy(auditor=pin)
    with GlasskeyClient(shadow_url, policy=policy, state=folder / "carol-phone.db") as phone:
        try:
            got = phone.lookup("alice")
        except VerificationError as exc:
            _say("caught", f"the shadow log carries a genuine countersignature from "
                 f"{SHADOW_NAMESPACE}; a phone pinning ({auditor_key.hex()[:12]}…, "
                 f"{HONEST_NAMESPACE}) REFUSED it ({exc.code}: {exc})")  # fmt: skip
        else:
            failures += 1
            _say("MISSED", f"a shadow-namespace countersignature was accepted: {got.key!r}")
    return failures + _replayed_head(folder, shadow_url, auditor_url, auditor_key)


def _replayed_head(folder: Path, url: str, auditor_url: str, auditor_key: bytes) -> int:
    """An old, genuinely signed and countersigned head replayed to a phone with fresh state
    (a middlebox, or the log restored from an old backup): refused, because the auditor the
    phone pins has countersigned a newer epoch. Returns the missed detections (0 or 1)."""
    old = httpx.get(f"{url}/api/crypto/bundles/alice").json()
    with GlasskeyClient(url) as dave:  # the log moves on; the auditor countersigns it
        dave.upload("dave", b"dave-key-1", dave.register("dave"), wait=10)

    def countersigned_after() -> bool:
        latest = httpx.get(f"{url}/api/crypto/bundles/alice").json().get("auditor_latest")
        return bool(latest) and latest["epoch"] > old["epoch"]

    _wait(countersigned_after)
    pin = AuditorPin([auditor_key], SHADOW_NAMESPACE, required=True, url=auditor_url)
    replay = ReplayTransport({"alice": old})
    with GlasskeyClient(url, policy=VerificationPolicy(auditor=pin), transport=replay,
                        state=folder / "erin-phone.db") as phone:  # fmt: skip
        try:
            got = phone.lookup("alice")
        except VerificationError as exc:
            _say("caught", f"epoch {old['epoch']} replayed to a NEW phone (no state) of "
                 f"{SHADOW_NAMESPACE}: REFUSED, the auditor countersigned a newer epoch "
                 f"({exc.code}: {exc})")  # fmt: skip
            return 0
    _say("MISSED", f"a fresh phone accepted the replayed old head: {got.key!r}")
    return 1


def _split_view_scene(folder: Path, procs: list[subprocess.Popen[bytes]]) -> int:
    """Scene 6: the same-size split view, caught by a witness and by gossip."""
    from glasskey.client import GossipFork, UnwitnessedHead
    from glasskey.keys import generate_pem, signer_from_file, write_private_file
    from glasskey.log.forkevidence import verify_fork_evidence
    from glasskey.log.note import CosignatureV1Verifier
    from glasskey.log.profile import verifier_key

    base = folder / "split"
    for name in ("log", "fork", "witness"):
        (base / name).mkdir(parents=True)
    key_file = base / "log" / "glasskey-signing-key.pem"
    write_private_file(key_file, generate_pem())
    shutil.copy2(key_file, base / "fork" / key_file.name)
    log_vkey = verifier_key("glasskey.local/log", signer_from_file(key_file).public_key)
    witness_pem = generate_pem()
    witness_name = "witness.demo.example"
    witness_key = serialization.load_pem_private_key(witness_pem, None)
    assert isinstance(witness_key, Ed25519PrivateKey)
    witness_vkey = CosignatureV1Verifier(witness_name, witness_key.public_key().public_bytes(
        serialization.Encoding.Raw, serialization.PublicFormat.Raw)).vkey()  # fmt: skip
    wport = free_port()
    log = open(base / "witness" / "witness.log", "ab")  # noqa: SIM115 - closed by the exit
    # A session of its own, as every demo server: stop_server signals the process group (in
    # the demo's group the signal would miss it and stop_server would wait for it forever).
    procs.append(subprocess.Popen(
        [sys.executable, "-c", _PY_MAIN, "witness", "serve", "--port", str(wport),
         "--db", str(base / "witness" / "witness.db"), "--name", witness_name, "--log", log_vkey],
        cwd=base / "witness", stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
        env=child_env({"GLASSKEY_WITNESS_KEY": base64.b64encode(witness_pem).decode()}),
    ))  # fmt: skip
    _wait(lambda: httpx.get(f"http://127.0.0.1:{wport}/", timeout=1).status_code == 200)
    witness = ["--witness", f"{witness_vkey}@http://127.0.0.1:{wport}"]
    urls = []
    for name, value in (("log", b"alice-real-key"), ("fork", b"alice-forged-key")):
        port = free_port()
        procs.append(start_server(base / name, port, extra=witness, scrub_env=True))
        urls.append(f"http://127.0.0.1:{port}")
        with GlasskeyClient(urls[-1]) as owner:
            owner.upload("alice", value, owner.register("alice"), wait=10)
        if name == "log":  # the fork gets the same VRF key; the witness sees the log first
            shutil.copy2(base / "log" / "glasskey-vrf-key.hex", base / "fork")
            _wait(lambda: witness_name in httpx.get(f"{urls[0]}/api/transparency/root").text)
    honest_url, fork_url = urls
    _wait(lambda: httpx.get(f"{fork_url}/readyz").json()["witnesses"][0]["total_failures"])
    _say("split", "a log shows carol and dave different histories of the same size (1), "
         f"both signed by its key; witness {witness_name} cosigned only one")  # fmt: skip
    failures = 0
    witnessed = VerificationPolicy(witnesses=(witness_vkey,), witness_threshold=1)
    with GlasskeyClient(honest_url, policy=witnessed) as carol:
        key = carol.lookup("alice")
        _say("witness", f"carol (1-of-1 witness policy): alice -> {key.key.decode()} verified, "
             "cosigned by the witness")  # fmt: skip
    with GlasskeyClient(fork_url, policy=witnessed) as dave:
        try:
            key = dave.lookup("alice")
        except UnwitnessedHead as exc:
            _say("caught", f"dave (1-of-1 witness policy), shown the other view: REFUSED "
                 f"({exc.code}: {exc})")  # fmt: skip
        else:
            failures += 1
            _say("MISSED", f"dave accepted the unwitnessed view: {key.key!r}")
    with GlasskeyClient(honest_url) as carol, GlasskeyClient(fork_url) as dave:
        carol.lookup("alice")
        dave.lookup("alice")
        _say("gossip", "without witnesses both phones verify their own view; dave sends carol "
             "the checkpoint he saw")  # fmt: skip
        head = dave.state.head(dave.trust().log_id)
        assert head is not None
        try:
            carol.gossip(head.note, evidence_dir=base / "evidence")
        except GossipFork as exc:
            proven = verify_fork_evidence(exc.evidence.to_json())
            _say("caught", f"carol compares it with hers: {exc.code}; evidence written to "
                 f"{exc.evidence_path}, re-checked offline: fork of {proven.origin} proven "
                 "(glasskey verify fork-evidence FILE)")  # fmt: skip
        else:
            failures += 1
            _say("MISSED", "gossip did not detect the split view")
    return failures


def _wait(check: Callable[[], object], timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if check():
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.1)
    raise RuntimeError(f"timed out after {timeout}s")


class ReplayTransport(httpx.BaseTransport):
    """A middlebox that answers bundle requests for the given users with recorded (genuine)
    answers and passes everything else — key document, auditor — to the real servers."""

    BUNDLES = "/api/crypto/bundles/"

    def __init__(self, recorded: dict[str, dict[str, Any]]) -> None:
        self._recorded = recorded
        self._real = httpx.HTTPTransport()

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        path = request.url.path
        user = path[len(self.BUNDLES) :] if path.startswith(self.BUNDLES) else None
        if user in self._recorded:
            return httpx.Response(200, json=self._recorded[user])
        return self._real.handle_request(request)


class _RedirectTransport(httpx.BaseTransport):
    """Sends requests meant for one port to another (the shadow server)."""

    def __init__(self, from_port: int, to_port: int) -> None:
        self._inner = httpx.HTTPTransport()
        self._from, self._to = from_port, to_port

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        if request.url.port == self._from:
            request.url = request.url.copy_with(port=self._to)
        return self._inner.handle_request(request)


if __name__ == "__main__":  # pragma: no cover
    os.environ.setdefault("PYTHONUNBUFFERED", "1")
    raise SystemExit(run_demo(keep="--keep" in sys.argv))


def _absence_scene(phone: GlasskeyClient, mitm: MaliciousTransport) -> int:
    """A never-published user is proven absent; a user hidden behind a bare 404 is not."""
    failures = 0
    try:
        phone.lookup("carol", watch=False)
    except UserNotFound as exc:
        _say("absence", f"carol never published: PROVEN ABSENT in epoch {exc.absence.epoch} "
             "(VRF proof of her version 1 + non-membership proof, signed checkpoint)")  # fmt: skip
    else:
        failures += 1
        _say("MISSED", "carol has a key?")
    mitm.attack, mitm.substitute = Attack.HIDE_USER, "bob"
    try:
        phone.lookup("bob", watch=False)
    except VerificationError as exc:
        _say("caught", f"the server hides bob behind a bare 404: REFUSED ({exc.code})")
    else:
        failures += 1
        _say("MISSED", "the client accepted a bare 404 for bob")
    finally:
        mitm.attack, mitm.substitute = Attack.NONE, ""
    return failures


def _contacts_scene(
    phone: GlasskeyClient, mitm: MaliciousTransport, url: str, folder: Path, alice_token: str
) -> int:
    """Contact monitoring: a legitimate rotation is reported, a hidden contact is caught."""
    failures = 0
    report = phone.monitor_contacts()
    _say("contacts", f"bob's phone watches {', '.join(report.checked)}: "
         f"{'all consistent' if report.ok else [a.code for a in report.alerts]}")  # fmt: skip
    with GlasskeyClient(url, state=folder / "alice-phone.db") as alice_phone:
        alice_phone.upload("alice", b"alice-new-phone-key", alice_token, wait=10)
    report = phone.monitor_contacts()
    codes = [(a.code, a.label, a.version) for a in report.alerts]
    if ("contact_key_changed", "alice", 4) in codes:
        _say("contacts", "alice rotated: contact_key_changed (version 4) -> show the new "
             "safety number")  # fmt: skip
    else:
        failures += 1
        _say("MISSED", f"alice's rotation was not reported: {codes}")
    mitm.attack, mitm.substitute = Attack.HIDE_USER, "alice"
    try:
        report = phone.monitor_contacts()
    finally:
        mitm.attack, mitm.substitute = Attack.NONE, ""
    if [a.code for a in report.alerts] == ["contact_history_inconsistent"]:
        _say("caught", "the server now hides alice, whose key bob verified: "
             "contact_history_inconsistent")  # fmt: skip
    else:
        failures += 1
        _say("MISSED", f"hiding alice was not caught: {report.alerts}")
    return failures
