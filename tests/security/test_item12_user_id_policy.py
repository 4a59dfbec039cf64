"""Item 12: which user ids are "the same user" is an explicit, configurable policy.

Under ``exact`` (the default) ``Alice`` and ``alice`` are two users — with open registration
anyone could claim ``Alice`` next to ``alice`` and be mistaken for her. ``casefold`` stores
and compares ids NFKC-case-folded; ``e164`` accepts only phone numbers in E.164 form.
"""

from __future__ import annotations

import base64
from collections.abc import Callable
from pathlib import Path

import httpx

from glasskey.client import GlasskeyClient
from tests.security.procs import ADMIN_TOKEN, Process, upload_body

ADMIN = {"Authorization": f"Bearer {ADMIN_TOKEN}"}


def _register(url: str, user: str) -> httpx.Response:
    return httpx.post(f"{url}/api/auth/register", json={"user_id": user}, headers=ADMIN,
                      timeout=10)  # fmt: skip


def test_casefold_makes_alice_one_user(log_server: Callable[..., Process], tmp_path: Path) -> None:
    server = log_server("--user-id-policy", "casefold")
    first = _register(server.url, "alice")
    assert first.status_code == 201, first.text
    again = _register(server.url, "Alice")
    assert again.status_code == 409, again.text
    assert again.json()["error"]["code"] == "conflict"

    token = first.json()["token"]
    body = {**upload_body(), "user_id": "ALICE", "key": base64.b64encode(b"alice-key").decode()}
    uploaded = httpx.post(f"{server.url}/api/crypto/keys/identity", json=body,
                          params={"wait": 10}, headers={"Authorization": f"Bearer {token}"},
                          timeout=20)  # fmt: skip
    assert uploaded.is_success, uploaded.text
    bundle = httpx.get(f"{server.url}/api/crypto/bundles/ALICE", timeout=10)
    assert bundle.status_code == 200, bundle.text
    assert bundle.json()["user_id"] == "alice"
    assert base64.b64decode(bundle.json()["key"]) == b"alice-key"
    history = httpx.get(f"{server.url}/api/crypto/history/Alice", timeout=10)
    assert history.status_code == 200, history.text
    bob = _register(server.url, "Bob")
    assert bob.status_code == 201 and bob.json()["user_id"] == "bob", bob.text

    # The key document declares the policy; the client pins it and looks up the label it
    # makes of an id, so the server's correct answer for "ALICE" is not a wrong_label alert.
    declared = httpx.get(f"{server.url}/api/transparency/keys", timeout=10).json()
    assert declared["user_id_policy"] == "casefold"
    with GlasskeyClient(server.url, state=tmp_path / "phone.db") as phone:
        key = phone.lookup("ALICE")
        assert (key.user_id, key.key) == ("alice", b"alice-key")
        assert phone.trust().user_id_policy == "casefold"
        assert [v.value for v in phone.history("Alice").versions] == [b"alice-key"]
        assert phone.monitor("aLiCe").ok


def test_e164_refuses_a_non_phone_number(log_server: Callable[..., Process]) -> None:
    server = log_server("--user-id-policy", "e164")
    refused = _register(server.url, "12345")
    assert refused.status_code == 400, refused.text
    assert "E.164" in refused.json()["error"]["message"]
    assert _register(server.url, "+4915112345678").status_code == 201
    assert httpx.get(f"{server.url}/api/crypto/bundles/12345", timeout=10).status_code == 400


def test_open_registration_warns_at_start_up(log_server: Callable[..., Process]) -> None:
    server = log_server("--open-registration")
    assert "open registration" in server.log.lower()
    assert "development" in server.log.lower()
