"""End to end with real processes: ``glasskey auditor serve`` + ``glasskey serve --auditor-url``.

The log publishes epochs, countersigns each with the auditor, the auditor's worker fetches the
audit blobs from the log's S3-style listing and verifies them, and the client checks the
countersignature it is served against the pinned auditor key — and refuses a tampered one.
"""

from __future__ import annotations

import base64
import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from glasskey.client import (
    AuditorPin,
    AuditorSignatureInvalid,
    GlasskeyClient,
    VerificationPolicy,
)
from glasskey.demo import free_port, start_server, stop_server, wait_ready
from tests.security.procs import PY_MAIN, cli, wait_for

AUDITOR_TOKEN = "e2e-auditor-admin-token-not-for-logs"
NAMESPACE = "e2e.glasskey.test"


@pytest.fixture
def auditor(tmp_path: Path) -> Iterator[tuple[str, bytes]]:
    """A real auditor process; yields its URL and public key."""
    key = Ed25519PrivateKey.from_private_bytes(bytes(range(7, 39)))
    pem = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )  # fmt: skip
    public = key.public_key().public_bytes(
        serialization.Encoding.Raw, serialization.PublicFormat.Raw
    )
    port = free_port()
    env = {
        **os.environ,
        "GLASSKEY_AUDITOR_SIGNING_KEY": base64.b64encode(pem).decode(),
        "GLASSKEY_AUDITOR_ADMIN_TOKEN": AUDITOR_TOKEN,
    }
    folder = tmp_path / "auditor"
    folder.mkdir()
    log = open(folder / "auditor.log", "ab")  # noqa: SIM115 - closed after the process ends
    proc = subprocess.Popen(
        [sys.executable, "-c", PY_MAIN, "auditor", "serve", "--port", str(port),
         "--db", f"sqlite:///{folder / 'auditor.db'}"],
        cwd=folder, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
    )  # fmt: skip
    url = f"http://127.0.0.1:{port}"
    try:
        wait_for("the auditor", lambda: httpx.get(f"{url}/info", timeout=1).status_code == 200)
        yield url, public
    finally:
        stop_server(proc)
        log.close()


def test_log_auditor_client_loop(
    tmp_path: Path, auditor: tuple[str, bytes], monkeypatch: pytest.MonkeyPatch
) -> None:
    auditor_url, auditor_key = auditor
    port = free_port()
    server_url = f"http://127.0.0.1:{port}"
    blobs = f"{server_url}/api/transparency/blobs"
    # The log makes its publishing token and hands the auditor's operator only its owner id;
    # the operator registers the namespace, pointing the auditor at the log's blobs.
    made = cli("auditor", "owner-token", "--json", cwd=tmp_path)
    assert made.returncode == 0, made.stderr
    log_token, owner = json.loads(made.stdout)["token"], json.loads(made.stdout)["owner"]
    created = cli(
        "auditor", "create-namespace", NAMESPACE, "--remote-url", auditor_url,
        "--log-directory", blobs, "--owner", owner, cwd=tmp_path,
        env={"GLASSKEY_AUDITOR_ADMIN_TOKEN": AUDITOR_TOKEN},
    )  # fmt: skip
    assert created.returncode == 0, created.stderr
    assert json.loads(created.stdout)["status"] == "Initialization"
    # plexi would ask {server_url}/EPOCH/...: the operator is told, the namespace still made
    assert created.stderr == (
        f"warning: plexi reads proofs at the root of the log directory's host "
        f"({server_url}/EPOCH/PREVIOUS/ROOT) and ignores the path '/api/transparency/blobs'; "
        "glasskey reads this URL, but for plexi users serve the blobs at a host root (a CDN "
        "or a bucket's custom domain in front of it)\n"
    )

    monkeypatch.setenv("GLASSKEY_AUDITOR_TOKEN", log_token)
    server_dir = tmp_path / "server"
    proc = start_server(
        server_dir, port, epoch_interval=0.2,
        extra=["--auditor-url", auditor_url, "--auditor-namespace", NAMESPACE,
               "--auditor-retry-max", "1", "--log-level", "info"],
    )  # fmt: skip
    try:
        wait_ready(server_url, proc)
        with GlasskeyClient(server_url, state=tmp_path / "uploader.db") as uploader:
            for user, key in (("alice", b"alice-1"), ("bob", b"bob-1"), ("alice", b"alice-2")):
                token = uploader.register(user) if user != "alice" or key == b"alice-1" else None
                if token:
                    (tmp_path / f"{user}.token").write_text(token)
                token = (tmp_path / f"{user}.token").read_text()
                receipt = uploader.upload(user, key, token, wait=10)
                assert receipt.status == "published"
        served = httpx.get(f"{server_url}/api/transparency/root").json()["epoch"]
        assert served == 3

        # The auditor countersigned every epoch and its worker verified the blobs up to it.
        def countersigned() -> dict[str, Any] | None:
            body = httpx.get(f"{server_url}/api/crypto/bundles/alice", timeout=5).json()
            return body if body["auditor_signature"] is not None else None

        bundle = wait_for("the countersignature", countersigned)
        signature = bundle["auditor_signature"]
        assert (signature["namespace"], signature["epoch"]) == (NAMESPACE, served)
        assert signature["digest"] == bundle["root_hash"]
        assert signature["key_id"] == auditor_key[31]
        verified = wait_for(
            "the auditor's worker",
            lambda: httpx.get(f"{auditor_url}/namespaces/{NAMESPACE}", timeout=5).json().get(
                "last_verified_epoch"
            ) == served,
        )  # fmt: skip
        assert verified is True
        info = httpx.get(f"{auditor_url}/namespaces/{NAMESPACE}").json()
        assert info["status"] == "Online"
        assert "verification_error" not in info or info["verification_error"] is None
        lve = httpx.get(f"{auditor_url}/namespaces/{NAMESPACE}/last-verified-epoch").json()
        assert lve["end_hash"] == bundle["root_hash"]
        assert httpx.get(f"{server_url}/readyz").json()["auditor"]["lag"] == 0
        published = httpx.get(f"{server_url}/api/transparency/auditor").json()
        assert published["keys"][0]["public_key"] == auditor_key.hex()

        # The client verifies it with the pinned auditor key, and requires it.
        pin = AuditorPin([auditor_key], NAMESPACE, required=True)
        with GlasskeyClient(server_url, policy=VerificationPolicy(auditor=pin)) as client:
            key = client.lookup("alice")
        assert key.key == b"alice-2"
        assert key.auditor_signature is not None
        assert key.auditor_signature.epoch == served

        # A tampered countersignature (one byte of the signature) is an alert.
        def tamper(request: httpx.Request) -> httpx.Response:
            upstream = httpx.get(str(request.url), timeout=5)
            if "/api/crypto/bundles/" not in request.url.path:
                return httpx.Response(upstream.status_code, content=upstream.content,
                                      headers={"content-type": "application/json"})  # fmt: skip
            body = upstream.json()
            sig = bytearray(bytes.fromhex(body["auditor_signature"]["signature"]))
            sig[0] ^= 1
            body["auditor_signature"]["signature"] = sig.hex()
            return httpx.Response(200, json=body)

        with (
            GlasskeyClient(
                server_url,
                policy=VerificationPolicy(auditor=AuditorPin([auditor_key], NAMESPACE)),
                transport=httpx.MockTransport(tamper),
            ) as client,
            pytest.raises(AuditorSignatureInvalid, match="does not verify"),
        ):
            client.lookup("alice")

        # The CLI: --auditor-key with --auditor-namespace pins it; a wrong key is exit 1.
        ok = cli("lookup", "bob", "--server", server_url, "--state", str(tmp_path / "c.db"),
                  "--auditor-key", auditor_key.hex(), "--auditor-namespace", NAMESPACE,
                  "--require-auditor", "--json", cwd=tmp_path)  # fmt: skip
        assert ok.returncode == 0, ok.stdout + ok.stderr
        out = json.loads(ok.stdout)
        assert out["auditor"]["epoch"] == served and out["auditor"]["namespace"] == NAMESPACE
        bad = cli("lookup", "bob", "--server", server_url, "--state", str(tmp_path / "d.db"),
                   "--auditor-key", "11" * 32, "--auditor-namespace", NAMESPACE, "--json",
                   cwd=tmp_path)  # fmt: skip
        assert bad.returncode == 1, bad.stdout + bad.stderr
        assert json.loads(bad.stdout)["error"] == "auditor_signature_invalid"
    finally:
        stop_server(proc)
    server_log = (server_dir / "server.log").read_text()
    assert AUDITOR_TOKEN not in server_log
    assert log_token not in server_log
