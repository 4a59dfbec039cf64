"""Real processes for the attack tests: ``glasskey serve`` and ``glasskey auditor serve``.

Every test in this folder plays an attacker (or a lying operator) against real processes on
127.0.0.1, so what it proves holds for the software as deployed, not for an in-process app.
"""

from __future__ import annotations

import base64
import contextlib
import os
import signal
import sqlite3
import subprocess
import sys
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from glasskey.demo import free_port, stop_server, wait_ready

PY_MAIN = "from glasskey.cli import main; main()"
ADMIN_TOKEN = "security-admin-token-not-for-logs"
AUDITOR_ADMIN_TOKEN = "security-auditor-admin-token-not-for-logs"


def cli(
    *args: str, cwd: Path, env: dict[str, str] | None = None, timeout: float = 60
) -> subprocess.CompletedProcess[str]:
    """Run ``glasskey ARGS`` as a user would (own process, captured output)."""
    return subprocess.run(
        [sys.executable, "-c", PY_MAIN, *args], capture_output=True, text=True, cwd=cwd,
        timeout=timeout, env={**os.environ, **(env or {})},
    )  # fmt: skip


#: The maximum publication delay ``glasskey serve`` declares by default for these servers'
#: 0.3 s epoch interval (five intervals, at least 5 s).
DEFAULT_PUBLICATION_DELAY = 5.0


def register_user(url: str, user: str, cwd: Path) -> str:
    """``glasskey register USER`` with the admin token; the user's bearer token."""
    done = cli("register", user, "--server", url, "--admin-token", ADMIN_TOKEN, cwd=cwd)
    assert done.returncode == 0, done.stdout + done.stderr
    return done.stdout.strip()


def replay_upload(server: Process, user: str, key: bytes) -> None:
    """What a server that accepts a replayed upload does (here its operator, straight into
    its SQLite database): the old key goes back into the queue as is, to be published as the
    user's next version. Waits until it is."""
    db = sqlite3.connect(server.folder / "glasskey.db", timeout=30)
    db.execute(
        "INSERT INTO pending_updates (label, value, accepted_at) VALUES (?, ?, ?)",
        (user.encode(), key, time.time()),
    )
    db.commit()
    db.close()

    def replayed() -> bool:
        r = httpx.get(f"{server.url}/api/crypto/bundles/{user}", timeout=5)
        return r.status_code == 200 and base64.b64decode(r.json()["key"]) == key

    wait_for(f"the replayed key {key!r} of {user}", replayed)


def upload_key(
    url: str, user: str, key: bytes, token: str, state: str, cwd: Path, wait: float = 0
) -> subprocess.CompletedProcess[str]:
    """``glasskey upload USER --key KEY`` from the device whose state file is ``state``."""
    return cli("upload", user, "--server", url, "--key", base64.b64encode(key).decode(),
               "--token", token, "--wait", str(wait), "--state", state, cwd=cwd)  # fmt: skip


def wait_for(what: str, check: Callable[[], Any], timeout: float = 30.0) -> Any:
    """Poll ``check`` until it returns something truthy; fail naming ``what`` otherwise."""
    deadline = time.monotonic() + timeout
    last: Any = None
    while time.monotonic() < deadline:
        try:
            last = check()
        except httpx.HTTPError as exc:
            last = exc
        if last and not isinstance(last, Exception):
            return last
        time.sleep(0.1)
    raise AssertionError(f"timed out waiting for {what} (last: {last!r})")


@dataclass
class Process:
    """A running glasskey process with its folder, URL and log."""

    folder: Path
    url: str
    proc: subprocess.Popen[bytes]
    env: dict[str, str] = field(default_factory=dict)

    @property
    def log(self) -> str:
        path = self.folder / "process.log"
        return path.read_text(errors="replace") if path.exists() else ""

    def stop(self) -> None:
        """SIGTERM, then SIGKILL after 15 s — to the whole process group (see ``_spawn``)."""
        stop_server(self.proc)

    def kill(self) -> None:
        """SIGKILL to the whole process group: no clean-up of any kind, as a crash or an OOM
        kill of the machine's service (``--workers`` children and the VRF pool die too,
        instead of living on as orphans that keep the port and the database open)."""
        if self.proc.poll() is None:
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait()


def _spawn(
    folder: Path, args: list[str], env: dict[str, str], program: str = PY_MAIN
) -> subprocess.Popen[bytes]:
    folder.mkdir(parents=True, exist_ok=True)
    log = open(folder / "process.log", "ab")  # noqa: SIM115 - closed by the process's exit
    # A session (and process group) of its own, so stop/kill reach every process it starts.
    return subprocess.Popen(
        [sys.executable, "-c", program, *args], cwd=folder, stdout=log,
        stderr=subprocess.STDOUT, env={**os.environ, **env}, start_new_session=True,
    )  # fmt: skip


def start_log_server(
    folder: Path,
    *extra: str,
    epoch_interval: float = 0.3,
    db: str | None = None,
    env: dict[str, str] | None = None,
    port: int | None = None,
    program: str = PY_MAIN,
    ready_timeout: float = 30,
) -> Process:
    """``glasskey serve`` with the admin token set (no open registration unless asked).

    ``program``: the ``python -c`` program that runs the CLI (e.g. a lying server's,
    ``glasskey.server._malicious.FROZEN_SERVE_MAIN``).
    """
    port = port or free_port()
    env = {"GLASSKEY_ADMIN_TOKEN": ADMIN_TOKEN, **(env or {})}
    args = [
        "serve", "--port", str(port), "--db", db or str(folder / "glasskey.db"),
        "--epoch-interval", str(epoch_interval), "--log-level", "info", *extra,
    ]  # fmt: skip
    proc = _spawn(folder, args, env, program)
    url = f"http://127.0.0.1:{port}"
    try:
        wait_ready(url, proc, ready_timeout)
    except RuntimeError:
        Process(folder, url, proc, env).stop()  # never left behind
        raise
    return Process(folder, url, proc, env)


def auditor_key(seed: int = 7) -> tuple[str, bytes]:
    """A fixed auditor signing key: (base64 PEM for the environment, raw public key)."""
    key = Ed25519PrivateKey.from_private_bytes(bytes(range(seed, seed + 32)))
    pem = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )  # fmt: skip
    public = key.public_key().public_bytes(
        serialization.Encoding.Raw, serialization.PublicFormat.Raw
    )
    return base64.b64encode(pem).decode(), public


def start_auditor(folder: Path, *extra: str, seed: int = 7) -> tuple[Process, bytes]:
    """``glasskey auditor serve`` on SQLite; returns the process and its public key."""
    pem, public = auditor_key(seed)
    port = free_port()
    env = {
        "GLASSKEY_AUDITOR_SIGNING_KEY": pem,
        "GLASSKEY_AUDITOR_ADMIN_TOKEN": AUDITOR_ADMIN_TOKEN,
    }
    args = [
        "auditor", "serve", "--port", str(port), "--db",
        f"sqlite:///{folder / 'auditor.db'}", *extra,
    ]  # fmt: skip
    proc = _spawn(folder, args, env)
    url = f"http://127.0.0.1:{port}"
    process = Process(folder, url, proc, env)
    try:
        wait_for("the auditor", lambda: httpx.get(f"{url}/info", timeout=1).status_code == 200)
    except AssertionError:
        process.stop()
        raise
    return process, public


def upload_body() -> dict[str, str]:
    """A small key upload with its own fresh ``upload_id`` (a repeated id is a replay)."""
    return {"key": "a2V5", "upload_id": uuid.uuid4().hex}
