"""Fixtures: an in-process service on ``memory://`` driven through the real ASGI app."""

from __future__ import annotations

import base64
import secrets
from collections.abc import Iterator
from dataclasses import dataclass

import pytest
from fastapi.testclient import TestClient

from glasskey.core.ecvrf import VrfSecretKey
from glasskey.core.signing import Ed25519Signer
from glasskey.server._service import DirectoryService, create_service
from glasskey.server._settings import ServerSettings
from glasskey.server.app import create_app

VRF_SEED = bytes(range(32))
ADMIN = "admin-secret-token"


@dataclass
class Harness:
    service: DirectoryService
    http: TestClient
    signer: Ed25519Signer

    def register(self, user: str) -> str:
        r = self.http.post(
            "/api/auth/register",
            json={"user_id": user},
            headers={"Authorization": f"Bearer {ADMIN}"},
        )
        assert r.status_code == 201, r.text
        return str(r.json()["token"])

    def upload(self, user: str, token: str, key: bytes) -> dict:
        r = self.http.post(
            "/api/crypto/keys/identity",
            json={"key": base64.b64encode(key).decode(), "upload_id": secrets.token_hex(16)},
            headers={"Authorization": f"Bearer {token}"},
        )
        assert r.status_code == 202, r.text
        return dict(r.json())

    def publish(self) -> None:
        self.service.publish_once()


def make_harness(
    signer: Ed25519Signer | None = None, vrf_seed: bytes = VRF_SEED, **settings: object
) -> Iterator[Harness]:
    options: dict[str, object] = {
        "db_url": "memory://",
        "run_publisher": False,
        "rate_limit": 0,
        "admin_token": ADMIN,
    }
    options.update(settings)
    signer = signer or Ed25519Signer.generate()
    service = create_service(
        ServerSettings(**options),  # type: ignore[arg-type]
        signer,
        VrfSecretKey(vrf_seed),
    )
    with TestClient(create_app(service)) as http:
        yield Harness(service, http, signer)


@pytest.fixture
def harness() -> Iterator[Harness]:
    yield from make_harness()
