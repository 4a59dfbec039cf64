"""Fixtures: an auditor over SQLite (and PostgreSQL when configured) with a settable clock."""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from dataclasses import dataclass

import pytest
from fastapi.testclient import TestClient

from glasskey.auditor._keys import Ed25519Signer
from glasskey.auditor._proofs import ProofGate, Transition
from glasskey.auditor._service import Auditor, Keyring
from glasskey.auditor._store import AuditorStore, Evidence, open_auditor_store
from glasskey.auditor.app import AuthConfig, create_app

VECTOR_SEED = bytes.fromhex("d6af1bca3db4fc2766b0c483706c20bf4837a46d54c1d39c2a34a9088572d712")
VECTOR_TIMESTAMP = 1717084639921
TOKEN = "s3cret-admin-token"
AUTH = {"Authorization": f"Bearer {TOKEN}"}


class TrustingProofs(ProofGate):
    """Every proof verifies: for the tests of the publication rules and signing, which are
    not about proofs (``test_proofs`` checks the real gate)."""

    def __init__(self) -> None:
        super().__init__(lambda _name, _data: None, bytes(32))

    def check(self, log_directory: str | None, transition: Transition) -> Evidence | None:
        return None


class Clock:
    def __init__(self, now: int = VECTOR_TIMESTAMP) -> None:
        self.now = now

    def __call__(self) -> int:
        return self.now


@dataclass
class Env:
    url: str
    store: AuditorStore
    auditor: Auditor
    clock: Clock
    client: TestClient
    make_auditor: Callable[..., Auditor]


@pytest.fixture(params=["sqlite", "postgres"])
def auditor_db_url(request: pytest.FixtureRequest, tmp_path: os.PathLike[str]) -> str:
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path}/auditor.db"
    return str(request.getfixturevalue("postgres_url"))


@pytest.fixture
def env(auditor_db_url: str) -> Iterator[Env]:
    clock = Clock()
    stores: list[AuditorStore] = []

    def make_auditor(
        signers: list[Ed25519Signer] | None = None,
        not_before: int | None = 0,
        proofs: ProofGate | None = None,
    ) -> Auditor:
        store = open_auditor_store(auditor_db_url)
        stores.append(store)
        keyring = Keyring(signers or [Ed25519Signer.from_seed(VECTOR_SEED)], not_before)
        return Auditor(store, keyring, clock=clock, proofs=proofs or TrustingProofs())

    auditor = make_auditor()
    app = create_app(auditor, AuthConfig(admin_token=TOKEN))
    with TestClient(app) as client:
        yield Env(auditor_db_url, auditor.store, auditor, clock, client, make_auditor)
    for store in stores:
        store.close()
