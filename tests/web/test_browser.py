"""The web UI in a real Chromium against a real ``glasskey serve`` on 127.0.0.1.

A lookup verifies in the browser; behind a lying proxy (``MaliciousTransport`` wrapping the
real server: forged key, rollback, split view to a second server with the same keys) the
alert banner shows the right code and the key is blocked; pinned keys, the verified head and
the owner's device labels survive a reload (IndexedDB); a labelled and an unlabelled version
render as such. Screenshots of each state are saved under ``test-artifacts/web/``.

Skips, with the reason, without Node, the package's dependencies or Chromium; ``.ci/run``
installs all three.
"""

from __future__ import annotations

import base64
import json
import os
import secrets
import shutil
import subprocess
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import httpx
import pytest

from glasskey.server._malicious import Attack, MaliciousTransport
from glasskey.server.asgi import key_dir_for
from glasskey.server.http.routers.webui import WEBUI
from tests.security.procs import ADMIN_TOKEN, Process, start_log_server, wait_for
from tests.web._node import WEB, compiled_web, npm_run

ARTEFACTS = Path(__file__).resolve().parents[2] / "test-artifacts" / "web"
CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")


def _register(url: str, user: str) -> str:
    r = httpx.post(
        f"{url}/api/auth/register",
        json={"user_id": user},
        headers={"Authorization": f"Bearer {ADMIN_TOKEN}"},
        timeout=10,
    )
    assert r.status_code == 201, r.text
    return str(r.json()["token"])


def _publish(url: str, user: str, token: str, key: bytes) -> None:
    """Upload ``key`` and wait until it is the published version (one epoch each)."""
    body = {"key": base64.b64encode(key).decode(), "upload_id": secrets.token_hex(16)}
    r = httpx.post(
        f"{url}/api/crypto/keys/identity",
        json=body,
        headers={"Authorization": f"Bearer {token}"},
        timeout=10,
    )
    assert r.status_code == 202, r.text

    def published() -> bool:
        r = httpx.get(f"{url}/api/crypto/bundles/{user}", timeout=5)
        return r.status_code == 200 and base64.b64decode(r.json()["key"]) == key

    wait_for(f"{user}'s key {key!r} published", published, 30)


class _Rewrite(httpx.BaseTransport):
    """Sends every request to ``target`` instead (the fork server of a split view)."""

    def __init__(self, target: str) -> None:
        self.target = httpx.URL(target)
        self.inner = httpx.HTTPTransport()

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        url = request.url.copy_with(host=self.target.host, port=self.target.port)
        return self.inner.handle_request(
            httpx.Request(request.method, url, headers=request.headers)
        )


def _proxy(honest: str, fork: str, advance: Any) -> tuple[ThreadingHTTPServer, str]:
    transport = MaliciousTransport(httpx.HTTPTransport(), fork=_Rewrite(fork))
    client = httpx.Client(transport=transport, base_url=honest, timeout=30)

    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *args: Any) -> None:  # keep pytest output clean
            pass

        def _send(self, status: int, body: bytes, content_type: str) -> None:
            self.send_response(status)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def do_POST(self) -> None:
            if self.path.startswith("/__control/attack/"):
                transport.attack = Attack(self.path.rsplit("/", 1)[1])
            elif self.path == "/__control/advance":
                advance()
            else:
                self._send(404, b"no", "text/plain")
                return
            self._send(200, b"ok", "text/plain")

        def do_GET(self) -> None:
            response = client.get(self.path)
            self._send(
                response.status_code,
                response.content,
                response.headers.get("content-type", "application/octet-stream"),
            )

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server, f"http://127.0.0.1:{server.server_address[1]}"


def _dev_keys(folder: Path) -> Path:
    """Where a `start_log_server(folder)` server (db `folder/glasskey.db`) keeps its dev keys."""
    return key_dir_for(f"sqlite:///{folder / 'glasskey.db'}")


@pytest.fixture
def servers(tmp_path: Path) -> Iterator[tuple[Process, Process]]:
    started: list[Process] = []
    try:
        honest = start_log_server(tmp_path / "honest")
        started.append(honest)
        fork_dir = tmp_path / "fork"
        fork_dir.mkdir()
        # The fork gets the honest server's development keys, found where the server itself
        # looks for them (``key_dir_for`` of its database), so a move of that folder can't
        # break this test again.
        shutil.copytree(_dev_keys(honest.folder), _dev_keys(fork_dir))
        fork = start_log_server(fork_dir)
        started.append(fork)
        yield honest, fork
    finally:
        for p in reversed(started):
            p.stop()


def test_the_ui_verifies_in_chromium_and_shows_each_attack(
    servers: tuple[Process, Process],
) -> None:
    if CHROMIUM is None:
        pytest.skip("chromium is not installed (apt-get install chromium); .ci/run installs it")
    build = compiled_web()
    if not (WEB / "node_modules" / "playwright-core").is_dir():
        pytest.skip("playwright-core is missing from web/node_modules: run `make web`")
    npm_run("build", WEBUI / "app.js")
    honest, fork = servers
    assert fork.url != honest.url
    alice = _register(honest.url, "alice")
    _publish(honest.url, "alice", alice, b"alice-laptop-key")
    _publish(honest.url, "alice", alice, b"alice-phone-key")
    carol = _register(honest.url, "carol")
    # The fork: same log and VRF keys, another history, longer than the honest one.
    fork_alice = _register(fork.url, "alice")
    for i in range(6):
        _publish(fork.url, "alice", fork_alice, f"mallory-{i}".encode())
    counter = iter(range(100))

    def advance() -> None:
        _publish(honest.url, "carol", carol, f"carol-{next(counter)}".encode())

    proxy, url = _proxy(honest.url, fork.url, advance)
    ARTEFACTS.mkdir(parents=True, exist_ok=True)
    try:
        run = subprocess.run(
            ["node", str(build / "tools" / "browser.js"), url, str(ARTEFACTS)],
            capture_output=True,
            text=True,
            timeout=300,
            env={**os.environ, "CHROMIUM": CHROMIUM},
        )
    finally:
        proxy.shutdown()
    assert run.returncode == 0, run.stdout + run.stderr
    seen = json.loads(run.stdout)
    phone = base64.b64encode(b"alice-phone-key").decode()

    assert seen["honest"] == {"verified": "true", "key": phone, "codes": []}
    assert seen["labels"] == [
        {"version": "2", "label": "unknown"},
        {"version": "1", "label": "laptop"},
    ]
    assert seen["unknown_is_red"] == "rgb(192, 0, 24)"
    # After the reload the head verified before is still known (IndexedDB), and so are the
    # labels; the new epoch is accepted because it extends that head.
    assert seen["known_after_reload"].startswith("size ")
    assert seen["after_reload"] == {"verified": "true", "key": phone, "codes": []}
    assert seen["labels_after_reload"] == seen["labels"]
    assert seen["known_after_lookup"] != seen["known_after_reload"]
    assert seen["forge_key"] == {"verified": "false", "key": "", "codes": ["invalid_lookup_proof"]}
    assert seen["rollback"] == {"verified": "false", "key": "", "codes": ["rollback_detected"]}
    assert seen["split_view"] == {"verified": "false", "key": "", "codes": ["fork_detected"]}
    assert seen["console_errors"] == []
    for name in (
        "1-lookup-verified",
        "2-history-labels",
        "3-after-reload",
        "4-forge_key",
        "4-rollback",
        "4-split_view",
    ):
        assert (ARTEFACTS / f"{name}.png").stat().st_size > 10_000
