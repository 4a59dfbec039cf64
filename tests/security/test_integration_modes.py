"""Issue 14, integration modes, against real ``glasskey serve`` processes.

(a) backend mode: a service credential (admin-issued) uploads for users with ``user_id``;
(b) per-user tokens with admin reissue and revocation (CLI and API);
(c) a plug-in authenticator (``--authenticator module:factory``) with ``--workers``, built from
the worked example in docs/integration.md, which is run as written.
"""

from __future__ import annotations

import base64
import hashlib
import os
import re
import sqlite3
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import httpx

from glasskey.client import GlasskeyClient
from tests.security.procs import (
    ADMIN_TOKEN,
    Process,
    cli,
    register_user,
    upload_body,
    wait_for,
)

DOC = Path(__file__).resolve().parents[2] / "docs" / "integration.md"
UPLOAD = "/api/crypto/keys/identity"


def doc_example(name: str) -> str:
    """The python block under ``<!-- integration-example: NAME -->`` in docs/integration.md."""
    text = DOC.read_text()
    match = re.search(
        rf"<!-- integration-example: {re.escape(name)} -->\n```python\n(.*?)```", text, re.S
    )
    assert match, f"docs/integration.md has no example {name}"
    return match.group(1)


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def upload(url: str, token: str, user_id: str | None, key: bytes) -> httpx.Response:
    body = {**upload_body(), "key": base64.b64encode(key).decode()}
    if user_id is not None:
        body["user_id"] = user_id
    return httpx.post(f"{url}{UPLOAD}", json=body, headers=bearer(token), timeout=10)


def test_backend_mode_service_credential_uploads_for_users(
    log_server: Callable[..., Process], tmp_path: Path
) -> None:
    server = log_server()
    url = server.url
    # Before: the admin token cannot upload, and says what to use instead.
    refused = upload(url, ADMIN_TOKEN, "alice", b"k")
    assert refused.status_code == 403
    assert "service credential" in refused.json()["error"]["message"]

    issued = cli("tokens", "issue-service", "chat-backend", "--server", url,
                 "--admin-token", ADMIN_TOKEN, cwd=tmp_path)  # fmt: skip
    assert issued.returncode == 0, issued.stderr
    service = issued.stdout.strip()
    assert service.startswith("gks_") and "\n" not in service

    # Hashed at rest: the database holds its SHA-256, never the secret.
    db = server.folder / "glasskey.db"
    rows = (
        sqlite3.connect(db)
        .execute("SELECT name, token_hash, scope FROM glasskey_service_tokens")
        .fetchall()
    )
    assert rows == [("chat-backend", hashlib.sha256(service.encode()).digest(), "upload")]
    assert service.encode() not in db.read_bytes()

    # Uploads on behalf of users who never registered with glasskey (backend mode).
    for user in ("alice", "bob"):
        answer = upload(url, service, user, f"{user}-key".encode())
        assert answer.status_code == 202, answer.text
        assert answer.json()["user_id"] == user
        update_id = answer.json()["update_id"]
        status = httpx.get(f"{url}{UPLOAD}/updates/{update_id}", headers=bearer(service))
        assert status.status_code == 200 and status.json()["user_id"] == user
    # Without user_id a service cannot say whose key it is.
    missing = upload(url, service, None, b"k")
    assert missing.status_code == 400
    assert missing.json()["error"]["message"] == (
        "user_id is required: service chat-backend uploads on behalf of users and must say "
        "whose key this is"
    )
    # Scoped to uploads: it cannot register users or manage credentials.
    reg = httpx.post(f"{url}/api/auth/register", json={"user_id": "carol"}, headers=bearer(service))
    assert reg.status_code == 403
    mint = httpx.post(f"{url}/api/admin/service-credentials", json={"name": "x"},
                      headers=bearer(service))  # fmt: skip
    assert mint.status_code == 403

    # The verifying client sees the backend's upload, proven.
    with GlasskeyClient(url) as client:
        key = wait_for("bob's key", lambda: _lookup(client, "bob"))
    assert key.key == b"bob-key"

    # Rotation: the old secret stops working, the new one works.
    rotated = cli("tokens", "issue-service", "chat-backend", "--rotate", "--server", url,
                  "--admin-token", ADMIN_TOKEN, cwd=tmp_path)  # fmt: skip
    assert rotated.returncode == 0, rotated.stderr
    assert upload(url, service, "alice", b"k2").status_code == 401
    new = rotated.stdout.strip()
    assert upload(url, new, "alice", b"k2").status_code == 202
    # Revocation, through the CLI.
    revoked = cli("tokens", "revoke-service", "chat-backend", "--server", url,
                  "--admin-token", ADMIN_TOKEN, cwd=tmp_path)  # fmt: skip
    assert revoked.returncode == 0, revoked.stderr
    assert upload(url, new, "alice", b"k3").status_code == 401
    again = cli("tokens", "revoke-service", "chat-backend", "--server", url,
                "--admin-token", ADMIN_TOKEN, cwd=tmp_path)  # fmt: skip
    assert (again.returncode, again.stderr.strip()) == (
        2,
        "error: server error 404 (not_found): no service credential named chat-backend",
    )


def _lookup(client: GlasskeyClient, user: str) -> object:
    from glasskey.client import NotFound

    try:
        return client.lookup(user)
    except NotFound:
        return None


def test_user_tokens_reissue_and_revoke(log_server: Callable[..., Process], tmp_path: Path) -> None:
    server = log_server()
    url = server.url
    old = register_user(url, "alice", tmp_path)
    assert upload(url, old, None, b"k1").status_code == 202
    # A user's token never uploads for another user.
    assert upload(url, old, "bob", b"k1").status_code == 403

    # Registering again is still refused (first come, first served) ...
    again = httpx.post(f"{url}/api/auth/register", json={"user_id": "alice"},
                       headers=bearer(ADMIN_TOKEN))  # fmt: skip
    assert again.status_code == 409
    # ... but the admin can reissue (a reinstalled app): the old token stops working.
    reissued = cli("tokens", "reissue", "alice", "--server", url, "--admin-token", ADMIN_TOKEN,
                   cwd=tmp_path)  # fmt: skip
    assert reissued.returncode == 0, reissued.stderr
    new = reissued.stdout.strip()
    assert new.startswith("gk_") and new != old
    assert upload(url, old, None, b"k2").status_code == 401
    assert upload(url, new, None, b"k2").status_code == 202
    stored = (
        sqlite3.connect(server.folder / "glasskey.db")
        .execute("SELECT token_hash FROM glasskey_tokens WHERE user_id = 'alice'")
        .fetchall()
    )
    assert stored == [(hashlib.sha256(new.encode()).digest(),)]

    # Revocation over the API: every token stops, and the id stays taken.
    gone = httpx.delete(f"{url}/api/admin/users/alice/token", headers=bearer(ADMIN_TOKEN))
    assert gone.status_code == 204
    assert upload(url, new, None, b"k3").status_code == 401
    taken = httpx.post(f"{url}/api/auth/register", json={"user_id": "alice"},
                       headers=bearer(ADMIN_TOKEN))  # fmt: skip
    assert taken.status_code == 409
    back = httpx.post(f"{url}/api/admin/users/alice/token", headers=bearer(ADMIN_TOKEN))
    assert back.status_code == 201 and back.json()["user_id"] == "alice"
    assert upload(url, back.json()["token"], None, b"k3").status_code == 202

    # Only the admin: no token is a 401, a user's token a 403; an unknown user a 404.
    assert httpx.post(f"{url}/api/admin/users/alice/token").status_code == 401
    assert httpx.post(f"{url}/api/admin/users/alice/token", headers=bearer(new)).status_code == 403
    unknown = cli("tokens", "reissue", "nobody", "--server", url, "--admin-token", ADMIN_TOKEN,
                  cwd=tmp_path)  # fmt: skip
    assert (unknown.returncode, unknown.stderr.strip()) == (
        2,
        "error: server error 404 (not_found): user nobody is not registered",
    )
    no_admin = cli("tokens", "revoke", "alice", "--server", url, cwd=tmp_path,
                   env={"GLASSKEY_ADMIN_TOKEN": ""})  # fmt: skip
    assert (no_admin.returncode, no_admin.stderr.strip()) == (
        2,
        "error: the admin token is needed (--admin-token or $GLASSKEY_ADMIN_TOKEN)",
    )


def test_plugin_authenticator_with_workers(
    log_server: Callable[..., Process], tmp_path: Path
) -> None:
    plugin_dir = tmp_path / "plugin"
    plugin_dir.mkdir()
    (plugin_dir / "session_auth.py").write_text(doc_example("session_auth.py"))
    (plugin_dir / "device.py").write_text(doc_example("device.py"))
    secret = "shared-with-the-login-server"
    env = {"PYTHONPATH": str(plugin_dir), "APP_SESSION_SECRET": secret}
    server = log_server(
        "--workers", "2", "--authenticator", "session_auth:from_env", env=env, ready_timeout=120
    )
    url = server.url

    # The doc's device script, as written, uploads with its session and gets it verified.
    done = subprocess.run(
        [sys.executable, "device.py", url], cwd=plugin_dir, capture_output=True, text=True,
        timeout=60, env={**os.environ, **env},
    )  # fmt: skip
    assert (done.returncode, done.stdout) == (0, "published 1\n"), done.stderr

    sys.path.insert(0, str(plugin_dir))
    try:
        import session_auth
    finally:
        sys.path.remove(str(plugin_dir))
    token = session_auth.session_token(secret.encode(), "bob")
    # Every worker built the plug-in: many requests, all authenticated the same way.
    for n in range(6):
        assert upload(url, token, None, f"b{n}".encode()).status_code == 202
    assert upload(url, token, "alice", b"x").status_code == 403  # bob's session, not alice's
    forged = token[:-1] + ("0" if token[-1] != "0" else "1")
    assert upload(url, forged, None, b"x").status_code == 401
    expired = session_auth.session_token(secret.encode(), "bob", ttl=-10)
    assert upload(url, expired, None, b"x").status_code == 401
    # Service credentials still work next to the plug-in; glasskey's own tokens do not exist.
    reg = httpx.post(f"{url}/api/auth/register", json={"user_id": "carol"},
                     headers=bearer(ADMIN_TOKEN))  # fmt: skip
    assert reg.status_code == 403
    assert "own authenticator" in reg.json()["error"]["message"]
    issued = cli("tokens", "issue-service", "backend", "--server", url, "--admin-token",
                 ADMIN_TOKEN, cwd=tmp_path)  # fmt: skip
    assert upload(url, issued.stdout.strip(), "carol", b"c").status_code == 202


def test_bad_authenticator_is_one_line(tmp_path: Path) -> None:
    for spec, message in [
        (
            "nosuchmodule:factory",
            "error: --authenticator nosuchmodule:factory: cannot import "
            "nosuchmodule (No module named 'nosuchmodule'); is it installed or on PYTHONPATH?",
        ),
        (
            "glasskey.keys:nothing",
            "error: --authenticator glasskey.keys:nothing: glasskey.keys has no callable nothing",
        ),
        ("just-a-name", "error: --authenticator just-a-name: expected module:factory"),
    ]:
        done = cli("serve", "--port", "1", "--db", str(tmp_path / "g.db"), "--authenticator",
                   spec, cwd=tmp_path, timeout=60)  # fmt: skip
        assert (done.returncode, done.stderr.strip().splitlines()[-1]) == (2, message)
        assert "Traceback" not in done.stderr
