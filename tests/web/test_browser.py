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
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import httpx
import pytest

from glasskey.log.note import CosignatureV1Verifier
from glasskey.log.profile import verifier_key
from glasskey.server._malicious import Attack, MaliciousTransport
from glasskey.server.asgi import key_dir_for
from glasskey.server.http.routers.webui import WEBUI
from tests.security.procs import (
    ADMIN_TOKEN,
    Process,
    _spawn,
    auditor_key,
    free_port,
    start_log_server,
    wait_for,
)
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


def _proxy(
    honest: str, fork: str, controls: dict[str, Callable[[], None]]
) -> tuple[ThreadingHTTPServer, str]:
    """The lying proxy; ``POST /__control/attack/NAME`` switches the attack, ``POST
    /__control/NAME`` runs ``controls[NAME]`` (a publication on the honest server)."""
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
            elif self.path.removeprefix("/__control/") in controls:
                controls[self.path.removeprefix("/__control/")]()
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


def _iso(at: float) -> str:
    """``at`` as JavaScript's ``Date.toISOString`` writes it (milliseconds, ``Z``)."""
    moment = datetime.fromtimestamp(0, UTC) + timedelta(milliseconds=int(at * 1000))
    return moment.isoformat(timespec="milliseconds").replace("+00:00", "Z")


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


def _browser_build() -> tuple[Path, str]:
    """The compiled verifier (the UI bundle built too) and the Chromium binary, or a skip
    saying what is missing."""
    if CHROMIUM is None:
        pytest.skip("chromium is not installed (apt-get install chromium); .ci/run installs it")
    build = compiled_web()
    if not (WEB / "node_modules" / "playwright-core").is_dir():
        pytest.skip("playwright-core is missing from web/node_modules: run `make web`")
    npm_run("build", WEBUI / "app.js")
    return build, CHROMIUM


def test_the_ui_verifies_in_chromium_and_shows_each_attack(
    servers: tuple[Process, Process],
) -> None:
    build, chromium = _browser_build()
    honest, fork = servers
    assert fork.url != honest.url
    alice = _register(honest.url, "alice")
    _publish(honest.url, "alice", alice, b"alice-laptop-key")
    carol = _register(honest.url, "carol")
    # The fork: same log and VRF keys, another history, longer than the honest one.
    fork_alice = _register(fork.url, "alice")
    for i in range(6):
        _publish(fork.url, "alice", fork_alice, f"mallory-{i}".encode())
    counter = iter(range(100))

    def advance() -> None:
        _publish(honest.url, "carol", carol, f"carol-{next(counter)}".encode())

    def publish() -> None:  # alice's second version, after the page has loaded
        _publish(honest.url, "alice", alice, b"alice-phone-key")

    proxy, url = _proxy(honest.url, fork.url, {"advance": advance, "publish": publish})
    ARTEFACTS.mkdir(parents=True, exist_ok=True)
    try:
        run = subprocess.run(
            ["node", str(build / "tools" / "browser.js"), url, str(ARTEFACTS)],
            capture_output=True,
            text=True,
            timeout=300,
            env={**os.environ, "CHROMIUM": chromium},
        )
    finally:
        proxy.shutdown()
    assert run.returncode == 0, run.stdout + run.stderr
    seen = json.loads(run.stdout)
    phone = base64.b64encode(b"alice-phone-key").decode()

    assert seen["honest"] == {"verified": "true", "key": phone, "codes": []}
    # Each row's publication time is the one the verifier checked (the history answer's
    # published_at), also for the version published after the page loaded.
    served = httpx.get(f"{honest.url}/api/crypto/history/alice", timeout=5).json()["versions"]
    assert [(r["version"], float(r["at"]), r["shown"]) for r in seen["published"]] == [
        (str(v["version"]), v["published_at"], _iso(v["published_at"])) for v in served
    ]
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
    # The auditor pin: a 31-byte key is refused; a whole pin (key stored in lower case) is
    # back in the form and the log panel after the reload (IndexedDB), and in force: the
    # client asks that auditor (nothing listens there) and blocks the key.
    assert seen["auditor_refused"] == ["usage"]
    assert seen["auditor_after_reload"] == {
        "url": "http://127.0.0.1:9/",
        "key": "ab" * 32,
        "namespace": "glasskey.local/log",
        "shown": f"glasskey.local/log at http://127.0.0.1:9/, key {'ab' * 8}\u2026",
    }
    unreachable = {"verified": "false", "key": "", "codes": ["server_error"]}
    assert seen["auditor_unreachable"] == unreachable
    assert seen["console_errors"] == []
    for name in (
        "1-lookup-verified",
        "2-history-labels",
        "3-after-reload",
        "4-forge_key",
        "4-rollback",
        "4-split_view",
        "6-auditor-pinned",
    ):
        assert (ARTEFACTS / f"{name}.png").stat().st_size > 10_000


def test_the_ui_applies_a_witness_policy_in_chromium(tmp_path: Path) -> None:
    """A real ``glasskey witness serve`` cosigns a real ``glasskey serve --witness`` log: with
    that witness pinned (1 of 1) in the UI a lookup verifies; with a witness the log does not
    have, the banner says ``unwitnessed_head`` and the key is blocked."""
    build, chromium = _browser_build()
    log_pem, log_public = auditor_key(51)
    witness_pem, witness_public = auditor_key(52)
    _, other_public = auditor_key(53)
    witness = CosignatureV1Verifier("witness.web.test", witness_public)
    other = CosignatureV1Verifier("other-witness.web.test", other_public)
    port = free_port()
    started: list[Process] = []
    try:
        folder = tmp_path / "witness"
        proc = _spawn(
            folder,
            ["witness", "serve", "--port", str(port), "--db", str(folder / "witness.db"),
             "--name", witness.name, "--log", verifier_key("glasskey.local/log", log_public)],
            {"GLASSKEY_WITNESS_KEY": witness_pem},
        )  # fmt: skip
        started.append(Process(folder, f"http://127.0.0.1:{port}", proc))
        wait_for("glasskey witness", lambda: httpx.get(started[0].url + "/", timeout=1).text, 30)
        server = start_log_server(
            tmp_path / "log", "--witness", f"{witness.vkey()}@{started[0].url}",
            env={"GLASSKEY_SIGNING_KEY": log_pem},
        )  # fmt: skip
        started.append(server)
        alice = _register(server.url, "alice")
        _publish(server.url, "alice", alice, b"alice-witnessed-key")

        def cosigned() -> bool:
            note = httpx.get(f"{server.url}/api/crypto/bundles/alice", timeout=5).json()
            return f"\u2014 {witness.name} " in note["checkpoint"]

        wait_for("the witness's cosignature on alice's epoch", cosigned, 30)
        ARTEFACTS.mkdir(parents=True, exist_ok=True)
        run = subprocess.run(
            ["node", str(build / "tools" / "browser-witness.js"), server.url, str(ARTEFACTS),
             witness.vkey(), other.vkey()],
            capture_output=True, text=True, timeout=300, env={**os.environ, "CHROMIUM": chromium},
        )  # fmt: skip
    finally:
        for p in reversed(started):
            p.stop()
    assert run.returncode == 0, run.stdout + run.stderr
    seen = json.loads(run.stdout)
    key = base64.b64encode(b"alice-witnessed-key").decode()
    assert seen["witnessed"] == {"verified": "true", "key": key, "codes": []}
    assert seen["witness_status"].startswith(
        "1 of 1 pinned cosigned (1 required): witness.web.test"
    )
    assert seen["unwitnessed"] == {"verified": "false", "key": "", "codes": ["unwitnessed_head"]}
    assert seen["other_status"] == "0 of 1 pinned cosigned (1 required)"
    assert seen["bad_key"] == ["usage"]
    assert seen["console_errors"] == []
    for name in ("5-witnessed", "5-unwitnessed"):
        assert (ARTEFACTS / f"{name}.png").stat().st_size > 10_000
