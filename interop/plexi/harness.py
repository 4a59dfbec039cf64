"""Build Cloudflare's published ``plexi`` CLI and run glasskey's auditor for it to audit.

* ``build()`` runs ``cargo install --locked plexi --version 0.1.2`` into
  ``$GLASSKEY_INTEROP_CACHE/plexi`` (target dir ``.../plexi-target``), outside the repository.
  plexi's build script needs ``protoc``; when none is installed a two-line wrapper around
  ``grpc_tools.protoc`` (already a dev dependency) is written into the cache.
* ``Servers`` starts, on loopback, a glasskey auditor (uvicorn in a thread, SQLite in a temp
  folder) and a static HTTP server for the audit blobs (plexi fetches
  ``{log_directory}/{epoch}/{prev}/{cur}``).
"""

from __future__ import annotations

import contextlib
import fcntl
import functools
import http.server
import os
import shutil
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

PLEXI_VERSION = "0.1.2"
CACHE_DIR = Path(
    os.environ.get("GLASSKEY_INTEROP_CACHE") or Path.home() / ".cache" / "glasskey-interop"
)
ROOT = CACHE_DIR / "plexi"
TARGET_DIR = CACHE_DIR / "plexi-target"
BINARY = ROOT / "bin" / "plexi"


class CargoMissing(RuntimeError):
    pass


class BuildFailed(RuntimeError):
    pass


def find_cargo() -> str | None:
    found = shutil.which("cargo")
    if found:
        return found
    home = Path(os.environ.get("CARGO_HOME") or Path.home() / ".cargo") / "bin" / "cargo"
    return str(home) if home.exists() else None


def _protoc() -> str:
    found = os.environ.get("PROTOC") or shutil.which("protoc")
    if found:
        return found
    wrapper = CACHE_DIR / "bin" / "protoc"
    wrapper.parent.mkdir(parents=True, exist_ok=True)
    wrapper.write_text(f'#!/bin/sh\nexec "{sys.executable}" -m grpc_tools.protoc "$@"\n')
    wrapper.chmod(0o755)
    return str(wrapper)


def build() -> Path:
    """The plexi binary, built once per cache (a file lock serialises parallel sessions)."""
    if BINARY.exists() and _version_ok():
        return BINARY
    cargo = find_cargo()
    if cargo is None:
        raise CargoMissing("cargo is not installed")
    CACHE_DIR.mkdir(parents=True, exist_ok=True)
    with open(CACHE_DIR / "plexi-build.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if BINARY.exists() and _version_ok():
            return BINARY
        env = {**os.environ, "CARGO_TARGET_DIR": str(TARGET_DIR), "PROTOC": _protoc()}
        start = time.monotonic()
        done = subprocess.run(
            [
                cargo,
                "install",
                "--locked",
                "plexi",
                "--version",
                PLEXI_VERSION,
                "--root",
                str(ROOT),
            ],
            env=env,
            capture_output=True,
            text=True,
        )
        if done.returncode != 0 or not BINARY.exists():
            raise BuildFailed(done.stderr[-4000:])
        print(f"plexi {PLEXI_VERSION} built in {time.monotonic() - start:.0f}s", file=sys.stderr)
    return BINARY


def _version_ok() -> bool:
    try:
        out = subprocess.run([str(BINARY), "--version"], capture_output=True, text=True)
    except OSError:
        return False
    return out.stdout.strip() == f"plexi {PLEXI_VERSION}"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: object) -> None:
        pass


@contextlib.contextmanager
def blob_server(folder: Path) -> Iterator[str]:
    """Serve ``folder`` over HTTP on loopback; yields the base URL."""
    with _http_server(functools.partial(_QuietHandler, directory=str(folder))) as url:
        yield url


@contextlib.contextmanager
def _http_server(handler: Callable[..., http.server.BaseHTTPRequestHandler]) -> Iterator[str]:
    """A threading HTTP server with this handler on a free loopback port; yields its URL."""
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


@contextlib.contextmanager
def cdn_server(origin: str) -> Iterator[str]:
    """A pull-through front (what a CDN or a bucket's custom domain is) on loopback: ``GET
    /{path}`` answers with ``GET {origin}/{path}``. plexi needs it because it resolves a
    proof at the root of the ``log_directory``'s host (``Url::join("/{epoch}/...")`` drops
    the path), so a path-style bucket URL ``http://host/BUCKET/PREFIX`` cannot be read by it.
    """
    import httpx

    upstream = httpx.Client(timeout=30)

    class Front(http.server.BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            answer = upstream.get(origin.rstrip("/") + self.path)
            self.send_response(answer.status_code)
            self.send_header("Content-Length", str(len(answer.content)))
            self.end_headers()
            self.wfile.write(answer.content)

        def log_message(self, format: str, *args: object) -> None:
            pass

    with upstream, _http_server(Front) as url:
        yield url


@contextlib.contextmanager
def auditor_server(app: object) -> Iterator[str]:
    """Run an ASGI app with uvicorn in a thread on a free loopback port."""
    import uvicorn

    port = free_port()
    config = uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning")  # type: ignore[arg-type]
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started:
        if time.monotonic() > deadline:
            raise RuntimeError("auditor did not start")
        time.sleep(0.02)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=10)


def run(args: list[str], **env: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        args,
        capture_output=True,
        text=True,
        timeout=120,
        env={**os.environ, "NO_COLOR": "1", **env},
    )


def glasskey(*args: str) -> subprocess.CompletedProcess[str]:
    return run([sys.executable, "-m", "glasskey.cli", *args])
