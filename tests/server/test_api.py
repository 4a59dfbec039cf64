"""The HTTP API in-process: status codes, JSON error bodies, auth rules, proof formats."""

from __future__ import annotations

import base64
import secrets
import time

import httpx

from glasskey.api.wire import BundleResponse
from glasskey.core.akd.configuration import get_configuration
from glasskey.core.akd.verify import lookup_verify
from glasskey.core.akd.wire import decode_append_only_proof
from glasskey.server._auth import hash_token
from tests.server.conftest import ADMIN, Harness, make_harness


def _error(response, status: int, code: str) -> str:
    assert response.status_code == status, response.text
    body = response.json()
    assert set(body) == {"error"}
    assert body["error"]["code"] == code
    return str(body["error"]["message"])


def test_register_needs_admin_token_unless_open(harness: Harness) -> None:
    r = harness.http.post("/api/auth/register", json={"user_id": "alice"})
    _error(r, 401, "unauthenticated")
    r = harness.http.post(
        "/api/auth/register", json={"user_id": "alice"}, headers={"Authorization": "Bearer no"}
    )
    _error(r, 403, "forbidden")
    token = harness.register("alice")
    assert token.startswith("gk_")
    r = harness.http.post(
        "/api/auth/register",
        json={"user_id": "alice"},
        headers={"Authorization": f"Bearer {ADMIN}"},
    )
    assert "already registered" in _error(r, 409, "conflict")


def test_tokens_are_stored_only_hashed(harness: Harness) -> None:
    token = harness.register("alice")
    rows = harness.service.db.query("SELECT token_hash, user_id FROM glasskey_tokens")
    assert rows == [(hash_token(token), "alice")]
    dump = repr(harness.service.db.query("SELECT * FROM glasskey_tokens"))
    assert token not in dump


def test_upload_requires_auth_and_own_label(harness: Harness) -> None:
    alice = harness.register("alice")
    harness.register("bob")
    body = {"key": base64.b64encode(b"k").decode(), "upload_id": secrets.token_hex(16)}
    r = harness.http.post("/api/crypto/keys/identity", json=body)
    _error(r, 401, "unauthenticated")
    assert r.headers["www-authenticate"] == "Bearer"
    r = harness.http.post(
        "/api/crypto/keys/identity", json=body, headers={"Authorization": "Bearer gk_wrong"}
    )
    _error(r, 401, "unauthenticated")
    r = harness.http.post(
        "/api/crypto/keys/identity",
        json={**body, "user_id": "bob"},
        headers={"Authorization": f"Bearer {alice}"},
    )
    assert "only change your own label" in _error(r, 403, "forbidden")
    assert harness.service.directory.pending_count() == 0


def test_upload_bad_input_is_400(harness: Harness) -> None:
    alice = harness.register("alice")
    auth = {"Authorization": f"Bearer {alice}"}
    r = harness.http.post("/api/crypto/keys/identity", json={"key": "!!!"}, headers=auth)
    assert "base64" in _error(r, 400, "usage")
    r = harness.http.post("/api/crypto/keys/identity", json={"key": ""}, headers=auth)
    assert "empty" in _error(r, 400, "usage")
    r = harness.http.post("/api/crypto/keys/identity", json={}, headers=auth)
    _error(r, 422, "invalid_request")
    r = harness.http.post("/api/crypto/keys/identity", content=b"{not json", headers=auth)
    _error(r, 422, "invalid_request")


def test_receipt_then_published_bundle_verifies(harness: Harness) -> None:
    alice = harness.register("alice")
    receipt = harness.upload("alice", alice, b"alice-key-1")
    assert receipt["status"] == "pending" and receipt["epoch"] is None
    assert receipt["update_id"] >= 1
    status = harness.http.get(
        f"/api/crypto/keys/identity/updates/{receipt['update_id']}",
        headers={"Authorization": f"Bearer {alice}"},
    ).json()
    assert status["status"] == "pending"
    harness.publish()
    status = harness.http.get(
        f"/api/crypto/keys/identity/updates/{receipt['update_id']}",
        headers={"Authorization": f"Bearer {alice}"},
    ).json()
    assert status["status"] == "published" and status["epoch"] == 1
    bundle = status["bundle"]
    assert base64.b64decode(bundle["key"]) == b"alice-key-1"
    config = get_configuration("whatsapp_v1")
    result = lookup_verify(
        config,
        harness.service.directory.vrf_public_key,
        bytes.fromhex(bundle["root_hash"]),
        bundle["epoch"],
        b"alice",
        base64.b64decode(bundle["proof"]),
    )
    assert (result.value, result.version, result.epoch) == (b"alice-key-1", 1, 1)


def test_update_status_is_owner_only(harness: Harness) -> None:
    alice = harness.register("alice")
    bob = harness.register("bob")
    receipt = harness.upload("alice", alice, b"a")
    r = harness.http.get(
        f"/api/crypto/keys/identity/updates/{receipt['update_id']}",
        headers={"Authorization": f"Bearer {bob}"},
    )
    _error(r, 403, "forbidden")
    r = harness.http.get(
        "/api/crypto/keys/identity/updates/999", headers={"Authorization": f"Bearer {bob}"}
    )
    _error(r, 404, "not_found")


def test_keys_are_never_deleted_rotation_is_a_new_version(harness: Harness) -> None:
    alice = harness.register("alice")
    harness.upload("alice", alice, b"v1")
    harness.publish()
    harness.upload("alice", alice, b"v2")
    harness.publish()
    history = harness.http.get("/api/crypto/history/alice").json()
    assert [(v["version"], base64.b64decode(v["key"])) for v in history["versions"]] == [
        (2, b"v2"),
        (1, b"v1"),
    ]
    assert history["params"] == "complete"
    recent = harness.http.get("/api/crypto/history/alice", params={"most_recent": 1}).json()
    assert [v["version"] for v in recent["versions"]] == [2]
    assert recent["params"] == "most_recent:1"


def test_lookup_errors(harness: Harness) -> None:
    absent = harness.http.get("/api/crypto/bundles/nobody")
    assert absent.status_code == 404 and set(absent.json()) == {"error", "absence"}
    assert absent.json()["error"]["code"] == "not_found"
    assert absent.json()["absence"]["user_id"] == "nobody"
    _error(harness.http.get("/api/crypto/bundles/nobody?version=1"), 404, "not_found")
    _error(harness.http.get("/api/crypto/bundles/bad%20id"), 400, "usage")
    _error(harness.http.get("/api/crypto/bundles/x?known_size=-1"), 422, "invalid_request")
    _error(harness.http.get("/api/no/such/route"), 404, "no_such_endpoint")
    _error(harness.http.delete("/api/crypto/bundles/x"), 405, "method_not_allowed")


def test_bundle_has_signed_state_and_consistency(harness: Harness) -> None:
    alice = harness.register("alice")
    harness.upload("alice", alice, b"v1")
    harness.publish()
    harness.upload("alice", alice, b"v2")
    harness.publish()
    body = harness.http.get("/api/crypto/bundles/alice", params={"known_size": 1}).json()
    assert body["epoch"] == body["tree_size"] == 2
    assert body["consistency_from"] == 1 and len(body["log_consistency"]) == 1
    assert body["checkpoint"].startswith("glasskey.local/log\n2\n")
    assert len(body["log_inclusion"]) == 1
    assert body["auditor_signature"] is None
    # The endpoint builds its JSON itself (no response-model pass): it must still be exactly
    # the documented BundleResponse, field for field.
    assert set(body) == set(BundleResponse.model_fields)
    assert BundleResponse.model_validate(body).model_dump(mode="json") == body
    # A client claiming a bigger log than exists gets no proof (it will call it a rollback).
    body = harness.http.get("/api/crypto/bundles/alice", params={"known_size": 7}).json()
    assert body["consistency_from"] == 7 and body["log_consistency"] is None


def test_protobuf_on_request(harness: Harness) -> None:
    alice = harness.register("alice")
    harness.upload("alice", alice, b"v1")
    harness.publish()
    r = harness.http.get("/api/crypto/bundles/alice", headers={"Accept": "application/x-protobuf"})
    assert r.status_code == 200
    assert r.headers["content-type"] == "application/x-protobuf"
    assert r.headers["x-glasskey-epoch"] == "1"
    json_body = harness.http.get("/api/crypto/bundles/alice").json()
    assert r.content == base64.b64decode(json_body["proof"])
    assert base64.b64decode(r.headers["x-glasskey-checkpoint"]).decode() == json_body["checkpoint"]


def test_transparency_endpoints(harness: Harness) -> None:
    alice = harness.register("alice")
    for key in (b"v1", b"v2", b"v3"):
        harness.upload("alice", alice, key)
        harness.publish()
    root = harness.http.get("/api/transparency/root").json()
    assert root["epoch"] == 3 and root["origin"] == "glasskey.local/log"
    cons = harness.http.get("/api/transparency/consistency", params={"from": 1, "to": 3})
    assert cons.status_code == 200 and cons.json()["from"] == 1 and cons.json()["to"] == 3
    r = harness.http.get("/api/transparency/consistency", params={"from": 3, "to": 1})
    _error(r, 400, "usage")
    r = harness.http.get("/api/transparency/consistency", params={"from": 1, "to": 9})
    _error(r, 400, "usage")
    inc = harness.http.get("/api/transparency/inclusion", params={"root": root["root_hash"]})
    assert inc.status_code == 200 and inc.json()["epoch"] == 3
    _error(harness.http.get("/api/transparency/inclusion"), 400, "usage")
    r = harness.http.get("/api/transparency/inclusion", params={"root": "00" * 32})
    _error(r, 404, "not_found")
    r = harness.http.get("/api/transparency/inclusion", params={"root": "zz"})
    _error(r, 400, "usage")
    by_user = harness.http.get("/api/transparency/inclusion", params={"user_id": "alice"})
    assert by_user.json() == harness.http.get("/api/crypto/bundles/alice").json()
    r = harness.http.get(
        "/api/transparency/inclusion", params={"user_id": "alice", "root": "00" * 32}
    )
    assert "only served for the current epoch root" in _error(r, 400, "usage")
    _error(harness.http.get("/api/transparency/inclusion", params={"user_id": "bob"}), 404,
           "not_found")  # fmt: skip
    log = harness.http.get("/api/transparency/audit-log", params={"limit": 2}).json()
    assert [e["epoch"] for e in log["entries"]] == [3, 2]
    audit = harness.http.get("/api/transparency/audit", params={"start": 1, "end": 3}).json()
    proof = decode_append_only_proof(base64.b64decode(audit["proof"]))
    assert list(proof.epochs) == [1, 2]
    assert len(audit["hashes"]) == 3
    r = harness.http.get("/api/transparency/audit", params={"start": 3, "end": 1})
    _error(r, 400, "invalid_epoch")
    blobs = harness.http.get("/api/transparency/blobs").json()["blobs"]
    assert [b.split("/")[0] for b in blobs] == ["1", "2", "3"]
    blob = harness.http.get(f"/api/transparency/blobs/{blobs[0]}")
    assert blob.status_code == 200 and blob.headers["content-type"] == "application/octet-stream"
    _error(harness.http.get("/api/transparency/blobs/1/zz/zz"), 404, "not_found")
    keys = harness.http.get("/api/transparency/keys").json()
    assert keys["vrf_public_key"] == harness.service.directory.vrf_public_key.hex()
    assert keys["log_public_key"].startswith("glasskey.local/log+")
    assert keys["configuration"] == "whatsapp_v1"


def test_health_ready_metrics(harness: Harness) -> None:
    assert harness.http.get("/healthz").json() == {
        "status": "ok", "epoch": None, "publisher": None, "queue_depth": None, "auditor": None,
        "witnesses": None,
        "replica": None,
    }  # fmt: skip
    ready = harness.http.get("/readyz").json()
    assert ready["status"] == "ready" and ready["epoch"] == 0 and ready["publisher"] is True
    assert ready["auditor"] is None  # no auditor configured
    assert ready["witnesses"] is None  # no witness configured
    assert ready["replica"] is None  # not a read replica
    assert harness.http.get("/api/transparency/auditor").json() == {
        "configured": False, "url": None, "namespace": None, "keys": [], "latest": None,
        "status": None,
    }  # fmt: skip
    alice = harness.register("alice")
    harness.upload("alice", alice, b"v1")
    text = harness.http.get("/metrics").text
    assert "glasskey_queue_depth 1.0" in text
    harness.publish()
    text = harness.http.get("/metrics").text
    assert "glasskey_epochs_published_total 1" in text
    assert "glasskey_queue_depth 0.0" in text
    assert "glasskey_publish_seconds_count 1" in text
    assert 'glasskey_http_requests_total{method="POST",route="/api/crypto/keys/identity"' in text


def test_public_endpoints_are_rate_limited() -> None:
    for harness in make_harness(rate_limit=1, rate_burst=2):
        codes = [harness.http.get("/api/transparency/root").status_code for _ in range(4)]
        assert codes[:2] == [200, 200] and codes[2:] == [429, 429]
        r = harness.http.get("/api/transparency/root")
        _error(r, 429, "rate_limited")
        assert int(r.headers["retry-after"]) >= 1
        assert harness.http.get("/healthz").status_code == 200  # operations are not limited


def test_openapi_document_lists_the_api(harness: Harness) -> None:
    paths = harness.http.get("/openapi.json").json()["paths"]
    for path in (
        "/api/crypto/keys/identity",
        "/api/crypto/bundles/{user_id}",
        "/api/crypto/history/{user_id}",
        "/api/transparency/root",
        "/api/transparency/consistency",
        "/api/transparency/inclusion",
        "/api/transparency/audit-log",
        "/api/transparency/audit",
        "/api/transparency/blobs",
        "/api/transparency/keys",
    ):
        assert path in paths


def test_the_publisher_stores_lookup_vrf_proofs_between_epochs() -> None:
    """What the publisher thread does after each epoch: fill in the stored VRF proofs, in
    batches, stopping early when it has an epoch to publish; bundles are the same bytes."""
    harnesses = make_harness(vrf_fill_batch=2)
    harness = next(harnesses)
    try:
        _fill_proofs_in_batches(harness)
    finally:
        harnesses.close()


def _fill_proofs_in_batches(harness: Harness) -> None:
    service = harness.service
    for user in ("alice", "bob", "carol"):
        harness.upload(user, harness.register(user), f"{user}-key".encode())
    harness.publish()
    before = harness.http.get("/api/crypto/bundles/bob").json()
    assert service.fill_vrf_proofs(time.monotonic() + 30, lambda: True) == 0  # interrupted
    assert service.fill_vrf_proofs(time.monotonic() - 1, lambda: False) == 0  # out of time
    assert service.fill_vrf_proofs(time.monotonic() + 30, lambda: False) == 3
    with service.directory.store.read() as txn:
        assert txn.unproven_states(10) == []
    assert "glasskey_vrf_proofs_filled_total 3" in harness.http.get("/metrics").text
    assert harness.http.get("/api/crypto/bundles/bob").json() == before


def _post_key(harness: Harness, token: str, key: bytes, upload_id: str | None) -> httpx.Response:
    body = {"key": base64.b64encode(key).decode()}
    if upload_id is not None:
        body["upload_id"] = upload_id
    return harness.http.post(
        "/api/crypto/keys/identity", json=body, headers={"Authorization": f"Bearer {token}"}
    )


def test_an_upload_without_a_valid_upload_id_is_refused(harness: Harness) -> None:
    alice = harness.register("alice")
    assert "upload_id is required" in _error(_post_key(harness, alice, b"k", None), 400, "usage")
    assert "16-64 characters" in _error(_post_key(harness, alice, b"k", "short"), 400, "usage")
    assert harness.service.directory.pending_count() == 0


def test_a_repeated_upload_id_is_a_retry_or_a_refused_replay(harness: Harness) -> None:
    alice = harness.register("alice")
    first = _post_key(harness, alice, b"k1", "a" * 32)
    retry = _post_key(harness, alice, b"k1", "a" * 32)  # the answer got lost: same receipt
    assert retry.status_code == 202 and retry.json()["update_id"] == first.json()["update_id"]
    assert harness.service.directory.pending_count() == 1
    assert "another key" in _error(
        _post_key(harness, alice, b"k2", "a" * 32), 409, "replayed_upload"
    )
    assert _post_key(harness, alice, b"k2", "b" * 32).status_code == 202
    harness.publish()
    replay = _post_key(harness, alice, b"k1", "a" * 32)  # superseded: would revert the key
    assert "older key back" in _error(replay, 409, "replayed_upload")
    harness.publish()
    bundle = harness.http.get("/api/crypto/bundles/alice").json()
    assert base64.b64decode(bundle["key"]) == b"k2" and bundle["version"] == 1
    bob = harness.register("bob")  # ids are per user: bob's "a"*32 is his own first upload
    assert _post_key(harness, bob, b"b1", "a" * 32).status_code == 202
