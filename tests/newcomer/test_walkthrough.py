"""The scripted newcomer walkthrough (issue 14, "How it is checked").

A backend engineer trying glasskey: build the wheel (``python -m build``), install it into a
fresh venv — runtime dependencies only — and follow the README and every ``docs/*.md`` in
order (the doc-test harness, ``tests/docs/_runner.py``, with that venv's ``bin`` first on
``PATH``; any new doc is followed too). Then the story by hand: a first start that says how
to register the first user, two users, a key rotation from a second device, and the mistakes
a newcomer makes, each answered by one exact line and the documented exit code.

The venv is cached outside the repository (``~/.cache/glasskey-tests/``) under a hash of
everything that goes into the wheel, so it is rebuilt exactly when the package changes; a
lock lets parallel test processes share it.
"""

from __future__ import annotations

import base64
import fcntl
import hashlib
import json
import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from glasskey.demo import free_port, stop_server, wait_ready
from tests.docs.test_snippets import doc_files, run_docs
from tests.security.procs import wait_for

REPO = Path(__file__).resolve().parents[2]
CACHE = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "glasskey-tests"
WHEEL_INPUTS = ("pyproject.toml", "README.md", "LICENSE", "src")
DEV_ONLY = {"pytest", "mypy", "ruff", "hypothesis", "schemathesis", "import-linter", "build",
            "grpcio-tools", "pytest-xdist"}  # fmt: skip
ADMIN = "newcomer-admin-token"


def _inputs_digest() -> str:
    digest = hashlib.sha256()
    for name in WHEEL_INPUTS:
        path = REPO / name
        files = sorted(p for p in path.rglob("*") if p.is_file()) if path.is_dir() else [path]
        for file in files:
            if "__pycache__" in file.parts or file.suffix == ".pyc" or ".egg-info" in str(file):
                continue
            digest.update(file.relative_to(REPO).as_posix().encode() + b"\0")
            digest.update(file.read_bytes() + b"\0")
    return digest.hexdigest()[:16]


def _build_venv(folder: Path) -> Path:
    source = folder / "source"
    for name in WHEEL_INPUTS:
        src = REPO / name
        if src.is_dir():
            shutil.copytree(src, source / name, ignore=shutil.ignore_patterns(
                "__pycache__", "*.pyc", "*.egg-info"))  # fmt: skip
        else:
            source.mkdir(parents=True, exist_ok=True)
            shutil.copy2(src, source / name)
    run = {"check": True, "capture_output": True, "text": True, "timeout": 900}
    subprocess.run([sys.executable, "-m", "build", "--wheel", "--outdir", str(folder / "dist"),
                    str(source)], **run)  # type: ignore[call-overload]  # fmt: skip
    wheel = next((folder / "dist").glob("glasskey-*.whl"))
    venv = folder / "venv"
    subprocess.run(["python3", "-m", "venv", str(venv)], **run)  # type: ignore[call-overload]
    subprocess.run([str(venv / "bin" / "pip"), "install", "--quiet", str(wheel)], **run)  # type: ignore[call-overload]
    shutil.rmtree(source)
    return venv


@pytest.fixture(scope="session")
def wheel_venv() -> Path:
    """A venv with only the built wheel and its runtime dependencies installed."""
    try:
        __import__("build")
    except ImportError:
        pytest.skip("the `build` package is missing (pip install -e '.[dev]')")
    CACHE.mkdir(parents=True, exist_ok=True)
    folder = CACHE / f"wheel-{_inputs_digest()}"
    with open(CACHE / "wheel.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if not (folder / "venv" / ".complete").exists():
            shutil.rmtree(folder, ignore_errors=True)
            venv = _build_venv(folder)
            (venv / ".complete").touch()
    return folder / "venv"


def glasskey(venv: Path, *args: str, cwd: Path, env: dict[str, str] | None = None,
             timeout: float = 120) -> subprocess.CompletedProcess[str]:  # fmt: skip
    """The wheel's ``glasskey`` script, with no ``GLASSKEY_*`` variable but ``env``'s."""
    base = {k: v for k, v in os.environ.items()
            if not k.startswith("GLASSKEY_") or k == "GLASSKEY_TEST_SESSION"}  # fmt: skip
    return subprocess.run([str(venv / "bin" / "glasskey"), *args], cwd=cwd, capture_output=True,
                          text=True, timeout=timeout, env={**base, **(env or {})})  # fmt: skip


def test_the_wheel_installs_runtime_dependencies_only(wheel_venv: Path) -> None:
    listed = subprocess.run([str(wheel_venv / "bin" / "pip"), "list", "--format=json"],
                            capture_output=True, text=True, check=True)  # fmt: skip
    names = {p["name"].lower() for p in json.loads(listed.stdout)}
    assert "glasskey" in names and {"fastapi", "uvicorn", "httpx", "pynacl"} <= names
    assert sorted(names & DEV_ONLY) == []
    checked = subprocess.run([str(wheel_venv / "bin" / "pip"), "check"], capture_output=True,
                             text=True)  # fmt: skip
    assert checked.returncode == 0, checked.stdout


def test_the_demo_runs_from_the_wheel_whatever_the_environment_holds(
    wheel_venv: Path, tmp_path: Path
) -> None:
    made = glasskey(wheel_venv, "keygen", "--env", cwd=tmp_path)
    signing_key = made.stdout.splitlines()[0].split("=", 1)[1]
    held = {"GLASSKEY_SIGNING_KEY": signing_key, "GLASSKEY_VRF_KEY": "00" * 32,
            "GLASSKEY_ADMIN_TOKEN": "x", "GLASSKEY_AUDITOR_TOKEN": "y"}  # fmt: skip
    done = glasskey(wheel_venv, "demo", cwd=tmp_path, env=held, timeout=600)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "MISSED" not in done.stdout
    assert done.stdout.count("[caught]") >= 5, done.stdout


@pytest.mark.parametrize("path", doc_files(), ids=lambda p: p.relative_to(REPO).as_posix())
def test_the_docs_run_from_the_wheel(wheel_venv: Path, path: Path, tmp_path: Path) -> None:
    output = run_docs(path, tmp_path / "work", python=str(wheel_venv / "bin" / "python"))
    assert "FAILED" not in output


@pytest.fixture
def serve(wheel_venv: Path, tmp_path: Path) -> Iterator[list[subprocess.Popen[bytes]]]:
    started: list[subprocess.Popen[bytes]] = []
    yield started
    for proc in started:
        stop_server(proc)


def _start(venv: Path, folder: Path, env: dict[str, str]) -> tuple[subprocess.Popen[bytes], str]:
    port = free_port()
    base = {k: v for k, v in os.environ.items()
            if not k.startswith("GLASSKEY_") or k == "GLASSKEY_TEST_SESSION"}  # fmt: skip
    log = open(folder / "serve.log", "ab")  # noqa: SIM115 - closed by the process's exit
    proc = subprocess.Popen(
        [str(venv / "bin" / "glasskey"), "serve", "--port", str(port), "--epoch-interval", "0.3"],
        cwd=folder, stdout=log, stderr=subprocess.STDOUT, env={**base, **env},
        start_new_session=True,
    )  # fmt: skip
    return proc, f"http://127.0.0.1:{port}"


def _log(folder: Path) -> list[dict[str, object]]:
    return [json.loads(line) for line in (folder / "serve.log").read_text().splitlines()]


def test_newcomer_walkthrough(
    wheel_venv: Path, tmp_path: Path, serve: list[subprocess.Popen[bytes]]
) -> None:
    def gk(*args: str, **kw: object) -> subprocess.CompletedProcess[str]:
        return glasskey(wheel_venv, *args, cwd=tmp_path, **kw)  # type: ignore[arg-type]

    # 1. First start, nothing configured: the log says how to register the first user.
    proc, url = _start(wheel_venv, tmp_path, {})
    serve.append(proc)
    wait_ready(url, proc)
    hints = [e["msg"] for e in _log(tmp_path) if e["logger"] == "glasskey.serve"]
    assert hints == [
        "nobody can register users: GLASSKEY_ADMIN_TOKEN is not set. Set it (any long random "
        "secret), restart, and register the first user with: glasskey register USER --server "
        f'{url} --admin-token "$GLASSKEY_ADMIN_TOKEN"'
    ]
    no_token = gk("register", "alice", "--server", url)
    assert (no_token.returncode, no_token.stderr) == (2, (
        "error: registration needs the admin token (--admin-token or $GLASSKEY_ADMIN_TOKEN: "
        "the token the server was started with)\n"))  # fmt: skip
    keys = sorted(p.name for p in (tmp_path / "glasskey-dev-keys").iterdir())
    assert keys == ["glasskey-signing-key.pem", "glasskey-vrf-key.hex"]

    # 2. As told: set the token, restart (same dev keys, same log), register two users.
    stop_server(proc)
    proc, url = _start(wheel_venv, tmp_path, {"GLASSKEY_ADMIN_TOKEN": ADMIN})
    serve.append(proc)
    wait_ready(url, proc)
    tokens = {}
    for user in ("alice", "bob"):
        done = gk("register", user, "--server", url, env={"GLASSKEY_ADMIN_TOKEN": ADMIN})
        assert done.returncode == 0, done.stderr
        tokens[user] = done.stdout.strip()

    # 3. Alice publishes from her phone; Bob's verified lookup sees it.
    def upload(device: str, key: bytes) -> None:
        done = gk("upload", "alice", "--server", url, "--key", base64.b64encode(key).decode(),
                  "--token", tokens["alice"], "--wait", "10", "--state", device)  # fmt: skip
        assert done.returncode == 0, done.stderr
        assert done.stdout.endswith(": published\n"), done.stdout

    def bob_sees() -> dict[str, object]:
        done = gk("lookup", "alice", "--server", url, "--state", "bob.db", "--json")
        assert done.returncode == 0, done.stdout + done.stderr
        return dict(json.loads(done.stdout))

    upload("alice-phone.db", b"alice-phone-key")
    first = bob_sees()
    assert (first["version"], first["key"]) == (1, base64.b64encode(b"alice-phone-key").decode())

    # 4. Rotation from a second device (her laptop): Bob sees version 2, history has both.
    upload("alice-laptop.db", b"alice-laptop-key")
    second = bob_sees()
    assert (second["version"], second["key"]) == (2, base64.b64encode(b"alice-laptop-key").decode())
    history = gk("history", "alice", "--server", url, "--state", "bob.db", "--json")
    assert history.returncode == 0, history.stderr
    versions = json.loads(history.stdout)["versions"]
    assert [(v["version"], base64.b64decode(v["key"])) for v in versions] == [
        (2, b"alice-laptop-key"), (1, b"alice-phone-key")]  # fmt: skip
    owner = gk("monitor", "alice", "--server", url, "--state", "alice-laptop.db", "--json")
    report = json.loads(owner.stdout)
    assert report["versions"] == 2 and report["verified"] is True, owner.stdout

    # 5. The mistakes, each one line and the documented exit code.
    folder = tmp_path / "a-folder"
    folder.mkdir()
    down = f"http://127.0.0.1:{free_port()}"
    mistakes = [
        (["serve", "--port", "99999"], 2, "error: --port must be between 1 and 65535, got 99999"),
        (["serve", "--epoch-interval", "-1"], 2,
         "error: --epoch-interval must be a number above 0, got -1"),
        (["lookup", "alice", "--server", url, "--state", str(folder)], 2,
         f"error: cannot use {folder} as the client state (--state): unable to open database "
         "file"),
        (["upload", "alice", "--server", url, "--key", "a2V5"], 2,
         "error: a bearer token is needed (--token or $GLASSKEY_TOKEN)"),
        (["auditor", "create-namespace", "my.log", "--remote-url", down], 1,
         f"error: POST {down}/namespaces: cannot reach the auditor ([Errno 111] Connection "
         "refused)"),
    ]  # fmt: skip
    for args, code, line in mistakes:
        done = gk(*args)
        assert (done.returncode, done.stderr) == (code, line + "\n"), (args, done.stderr)

    # 6. What the operator watches: every line a JSON object, the epochs published.
    published = wait_for("published epochs in the log", lambda: [
        e for e in _log(tmp_path) if str(e["msg"]).startswith("published epoch")])  # fmt: skip
    assert len(published) >= 2
    assert httpx.get(f"{url}/readyz").json()["epoch"] >= 2
