"""Item 1: a fork carrying a valid auditor signature.

The attack: the log operator held the auditor's admin token (the documented setup), created a
second namespace on the auditor and got a shadow log — same log keys, other history —
countersigned there; clients accepted any namespace, so ``glasskey lookup --require-auditor``
said "verified". Now the log holds only a publishing credential for its own namespace, the
auditor's operator creates namespaces, and a client pins the auditor as (key, namespace).
"""

from __future__ import annotations

import base64
import json
import shutil
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import pytest

from glasskey.client import AuditorPin, AuditorSignatureInvalid
from glasskey.client._verify import verify_auditor_signature
from glasskey.core.plexi import SignatureResponse
from glasskey.demo import free_port
from glasskey.server._keyfiles import DEV_KEY_DIR
from tests.security.procs import ADMIN_TOKEN, AUDITOR_ADMIN_TOKEN, Process, cli, wait_for

HONEST, SHADOW = "honest.log", "shadow.log"
BLOBS = "/api/transparency/blobs"


def owner_token(tmp_path: Path) -> tuple[str, str]:
    """A fresh log publishing token and the identity the auditor's operator registers."""
    done = cli("auditor", "owner-token", "--json", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    out = json.loads(done.stdout)
    return out["token"], out["owner"]


def create_namespace(auditor: Process, tmp_path: Path, name: str, owner: str, port: int) -> None:
    """What the auditor's operator does, with the auditor's admin token (never the log's)."""
    done = cli(
        "auditor", "create-namespace", name, "--remote-url", auditor.url, "--owner", owner,
        "--log-directory", f"http://127.0.0.1:{port}{BLOBS}", cwd=tmp_path,
        env={"GLASSKEY_AUDITOR_ADMIN_TOKEN": AUDITOR_ADMIN_TOKEN},
    )  # fmt: skip
    assert done.returncode == 0, done.stderr


def upload(server: Process, user: str, key: bytes) -> None:
    admin = {"Authorization": f"Bearer {ADMIN_TOKEN}"}
    token = httpx.post(
        f"{server.url}/api/auth/register", json={"user_id": user}, headers=admin
    ).json()["token"]
    r = httpx.post(
        f"{server.url}/api/crypto/keys/identity",
        json={"key": base64.b64encode(key).decode(), "upload_id": uuid.uuid4().hex},
        headers={"Authorization": f"Bearer {token}"},
    )
    assert r.status_code == 202, r.text


def countersigned_bundle(server: Process, user: str) -> dict[str, Any]:
    def signed() -> dict[str, Any] | None:
        r = httpx.get(f"{server.url}/api/crypto/bundles/{user}", timeout=5)
        body: dict[str, Any] = r.json()
        return body if r.status_code == 200 and body.get("auditor_signature") else None

    bundle: dict[str, Any] = wait_for(f"a countersigned bundle of {user}", signed, 30)
    return bundle


def test_the_log_credential_cannot_create_namespaces(
    auditor_server: Callable[..., tuple[Process, bytes]], tmp_path: Path
) -> None:
    auditor, _ = auditor_server()
    token, owner = owner_token(tmp_path)
    create_namespace(auditor, tmp_path, HONEST, owner, free_port())
    as_log = {"Authorization": f"Bearer {token}"}
    r = httpx.post(
        f"{auditor.url}/namespaces", json={"name": SHADOW, "signature_version": 1}, headers=as_log
    )
    assert r.status_code in (401, 403), r.text
    assert httpx.get(f"{auditor.url}/namespaces/{SHADOW}").status_code == 404
    # Nor may it touch evidence, or publish in a namespace it does not own.
    r = httpx.post(f"{auditor.url}/namespaces/{HONEST}/evidence/clear", json={"reason": "x"},
                   headers=as_log)  # fmt: skip
    assert r.status_code == 403, r.text
    other_token, other_owner = owner_token(tmp_path)
    r = httpx.post(
        f"{auditor.url}/namespaces/{HONEST}/audits",
        json={"epoch": 1, "digest": "11" * 32},
        headers={"Authorization": f"Bearer {other_token}"},
    )
    assert r.status_code in (401, 403), r.text
    assert other_owner != owner


@pytest.mark.slow
def test_a_shadow_namespace_countersignature_is_refused(
    log_server: Callable[..., Process],
    auditor_server: Callable[..., tuple[Process, bytes]],
    tmp_path: Path,
) -> None:
    auditor, auditor_public = auditor_server()
    honest_token, honest_owner = owner_token(tmp_path)
    shadow_token, shadow_owner = owner_token(tmp_path)
    honest_port, shadow_port = free_port(), free_port()
    create_namespace(auditor, tmp_path, HONEST, honest_owner, honest_port)
    # The shadow namespace exists on the auditor (another log, or an operator fooled once):
    # the client must not care that its signatures are genuine.
    create_namespace(auditor, tmp_path, SHADOW, shadow_owner, shadow_port)

    def serve(namespace: str, token: str, port: int) -> Process:
        return log_server(
            "--auditor-url", auditor.url, "--auditor-namespace", namespace,
            "--auditor-retry-max", "1", port=port,
            env={"GLASSKEY_AUDITOR_TOKEN": token},
        )  # fmt: skip

    honest = serve(HONEST, honest_token, honest_port)
    # The fork: a second server with the honest log's signing and VRF keys.
    shadow_folder = tmp_path / "server2"
    shadow_folder.mkdir()
    shutil.copytree(honest.folder / DEV_KEY_DIR, shadow_folder / DEV_KEY_DIR)
    shadow = serve(SHADOW, shadow_token, shadow_port)
    assert shadow.folder == shadow_folder
    upload(honest, "alice", b"alice-real-key")
    upload(shadow, "alice", b"attacker-key")
    honest_bundle = countersigned_bundle(honest, "alice")
    shadow_bundle = countersigned_bundle(shadow, "alice")
    assert shadow_bundle["auditor_signature"]["namespace"] == SHADOW

    key_hex = auditor_public.hex()
    pin = ["--auditor-key", key_hex, "--auditor-namespace", HONEST, "--require-auditor"]

    def lookup(server: Process, state: str, *extra: str) -> Any:
        return cli("lookup", "alice", "--server", server.url, "--state",
                   str(tmp_path / state), "--json", *extra, cwd=tmp_path)  # fmt: skip

    refused = lookup(shadow, "phone-a.db", *pin)
    assert refused.returncode == 1, refused.stdout + refused.stderr
    assert json.loads(refused.stdout)["error"] == "auditor_signature_invalid"
    assert SHADOW in json.loads(refused.stdout)["message"]
    accepted = lookup(honest, "phone-b.db", *pin)
    assert accepted.returncode == 0, accepted.stdout + accepted.stderr
    assert json.loads(accepted.stdout)["auditor"]["namespace"] == HONEST
    # A key without a namespace is no longer a pin.
    unpinned = lookup(shadow, "phone-c.db", "--auditor-key", key_hex, "--require-auditor")
    assert unpinned.returncode == 2, unpinned.stdout + unpinned.stderr
    assert "--auditor-namespace" in unpinned.stdout + unpinned.stderr

    # The library: the namespace is bound in the signed bytes, so relabelling fails too.
    library_pin = AuditorPin([auditor_public], HONEST, required=True)
    epoch = shadow_bundle["epoch"]
    root = bytes.fromhex(shadow_bundle["root_hash"])
    with pytest.raises(AuditorSignatureInvalid, match=SHADOW):
        verify_auditor_signature(
            shadow_bundle, epoch, root, library_pin.keys, namespace=HONEST, require=True
        )
    relabelled = dict(shadow_bundle["auditor_signature"], namespace=HONEST)
    relabelled["serialized_message"] = None  # the attacker drops the tell-tale bytes too
    assert SignatureResponse.from_json_obj(relabelled).namespace == HONEST
    with pytest.raises(AuditorSignatureInvalid, match="does not verify"):
        verify_auditor_signature(
            {**shadow_bundle, "auditor_signature": relabelled}, epoch, root, library_pin.keys,
            namespace=HONEST, require=True,
        )  # fmt: skip
    assert honest_bundle["auditor_signature"]["namespace"] == HONEST
