"""Build and run litewitness (filippo.io/torchwood, a production C2SP tlog-witness).

* ``build()`` runs ``go install filippo.io/torchwood/cmd/{litewitness,witnessctl}@v0.6.1``
  with GOBIN/GOPATH/GOCACHE/GOMODCACHE under ``$GLASSKEY_INTEROP_CACHE/go`` (outside the
  repository), niced; a file lock serialises parallel sessions; a second call is a no-op.
* ``Litewitness`` runs it on 127.0.0.1: a dedicated ``ssh-agent`` holding a fresh Ed25519
  key (litewitness signs through the ssh-agent protocol), the SQLite database in a temp
  folder, the log registered with ``witnessctl add-log`` / ``add-key``. Its verifier key is
  computed here from the SSH public key (``name+id+base64(0x04||key)``) and checked against
  the one litewitness logs, so neither side's key encoding is taken on trust.
"""

from __future__ import annotations

import base64
import fcntl
import os
import re
import shutil
import socket
import subprocess
import time
from pathlib import Path

import httpx

from glasskey.log.note import CosignatureV1Verifier

TORCHWOOD = "filippo.io/torchwood"
VERSION = "v0.6.1"
CACHE_DIR = Path(
    os.environ.get("GLASSKEY_INTEROP_CACHE") or Path.home() / ".cache" / "glasskey-interop"
)
GO_DIR = CACHE_DIR / "go"
BIN = GO_DIR / "bin"
STAMP = BIN / f".torchwood-{VERSION}"


class GoMissing(RuntimeError):
    pass


class BuildFailed(RuntimeError):
    pass


def go_env() -> dict[str, str]:
    return {
        **os.environ,
        "GOBIN": str(BIN),
        "GOPATH": str(GO_DIR / "path"),
        "GOCACHE": str(GO_DIR / "cache"),
        "GOMODCACHE": str(GO_DIR / "mod"),
        "GOTOOLCHAIN": "local",
        "GOFLAGS": "-buildvcs=false",
    }


def find_go() -> str | None:
    return shutil.which("go") or (
        "/usr/local/go/bin/go" if Path("/usr/local/go/bin/go").exists() else None
    )


def build() -> tuple[Path, Path]:
    """The litewitness and witnessctl binaries, built once per cache."""
    binaries = (BIN / "litewitness", BIN / "witnessctl")
    if STAMP.exists() and all(b.exists() for b in binaries):
        return binaries
    go = find_go()
    if go is None:
        raise GoMissing("go is not installed")
    GO_DIR.mkdir(parents=True, exist_ok=True)
    with open(GO_DIR / "torchwood-build.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if STAMP.exists() and all(b.exists() for b in binaries):
            return binaries
        done = subprocess.run(
            ["nice", "-n", "10", go, "install",
             f"{TORCHWOOD}/cmd/litewitness@{VERSION}", f"{TORCHWOOD}/cmd/witnessctl@{VERSION}"],
            env=go_env(), capture_output=True, text=True, timeout=1800,
        )  # fmt: skip
        if done.returncode != 0:
            raise BuildFailed(f"go install failed:\n{done.stderr[-3000:]}")
        STAMP.write_text(f"{TORCHWOOD} {VERSION}\n")
    return binaries


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _ssh_public_key(pub_line: str) -> bytes:
    """The 32-byte Ed25519 key inside an OpenSSH ``ssh-ed25519 AAAA...`` line."""
    blob = base64.b64decode(pub_line.split()[1])
    n = int.from_bytes(blob[:4], "big")
    assert blob[4 : 4 + n] == b"ssh-ed25519", "not an ssh-ed25519 key"
    rest = blob[4 + n :]
    m = int.from_bytes(rest[:4], "big")
    key = rest[4 : 4 + m]
    assert len(key) == 32
    return key


class Litewitness:
    """One litewitness process (with its ssh-agent) witnessing logs given as vkeys."""

    def __init__(self, folder: Path, name: str = "litewitness.test/w1") -> None:
        self.folder = folder
        self.name = name
        self.litewitness, self.witnessctl = build()
        folder.mkdir(parents=True, exist_ok=True)
        self.db = folder / "litewitness.db"
        self.sock = folder / "agent.sock"
        key = folder / "witness-key"
        subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", "litewitness",
                        "-f", str(key)], check=True)  # fmt: skip
        self.public_key = _ssh_public_key((folder / "witness-key.pub").read_text())
        self.verifier = CosignatureV1Verifier(name, self.public_key)
        self.agent = subprocess.Popen(
            ["ssh-agent", "-D", "-a", str(self.sock)],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )  # fmt: skip
        self.proc: subprocess.Popen[bytes] | None = None
        try:
            deadline = time.monotonic() + 10
            while not self.sock.exists():
                if time.monotonic() > deadline:
                    raise RuntimeError("ssh-agent did not start")
                time.sleep(0.05)
            env = {**os.environ, "SSH_AUTH_SOCK": str(self.sock)}
            subprocess.run(["ssh-add", "-q", str(key)], check=True, env=env, capture_output=True)
            fingerprint = subprocess.run(
                ["ssh-keygen", "-l", "-E", "sha256", "-f", f"{key}.pub"],
                check=True, capture_output=True, text=True,
            ).stdout.split()[1]  # fmt: skip
            self.port = free_port()
            self.url = f"http://127.0.0.1:{self.port}"
            self._log = open(folder / "litewitness.log", "ab")  # noqa: SIM115
            self.proc = subprocess.Popen(
                [str(self.litewitness), "-db", str(self.db), "-name", name,
                 "-key", fingerprint, "-ssh-agent", str(self.sock),
                 "-listen", f"127.0.0.1:{self.port}"],
                stdout=self._log, stderr=subprocess.STDOUT,
            )  # fmt: skip
            self._wait_ready()
        except BaseException:
            self.stop()
            raise

    def _wait_ready(self) -> None:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            assert self.proc is not None
            if self.proc.poll() is not None:
                raise RuntimeError(f"litewitness exited:\n{self.log()}")
            try:
                if httpx.get(f"{self.url}/", timeout=1).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            time.sleep(0.1)
        raise RuntimeError(f"litewitness did not start:\n{self.log()}")

    def log(self) -> str:
        path = self.folder / "litewitness.log"
        return path.read_text(errors="replace") if path.exists() else ""

    def logged_vkey(self) -> str | None:
        """The verifier key litewitness announces at start-up."""
        found = re.search(r"vkey=(\S+)", self.log())
        return found.group(1).strip('"') if found else None

    def ctl(self, *args: str) -> str:
        done = subprocess.run(
            [str(self.witnessctl), args[0], "-db", str(self.db), *args[1:]],
            capture_output=True, text=True, timeout=60,
        )  # fmt: skip
        if done.returncode != 0:
            raise RuntimeError(f"witnessctl {args[0]} failed: {done.stderr}")
        return done.stdout + done.stderr

    def add_log(self, log_vkey: str) -> None:
        """Register a log (origin = the vkey's name) with its key, as an operator would."""
        origin = log_vkey.split("+", 1)[0]
        self.ctl("add-log", "-origin", origin)
        self.ctl("add-key", "-origin", origin, "-key", log_vkey)

    def spec(self) -> str:
        """``VKEY@URL``, what ``glasskey serve --witness`` takes."""
        return f"{self.verifier.vkey()}@{self.url}"

    def stop(self) -> None:
        for proc in (self.proc, self.agent):
            if proc is not None and proc.poll() is None:
                proc.terminate()
                try:
                    proc.wait(10)
                except subprocess.TimeoutExpired:
                    proc.kill()
                    proc.wait()
