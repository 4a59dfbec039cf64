"""The Plexi HTTP API: JSON shapes, status codes and the publication constraints.

Each constraint violation must give its documented status and message *and* leave the
namespace and its epochs exactly as they were.
"""

from __future__ import annotations

import json
import threading
from typing import Any

import pytest

from glasskey.auditor._keys import Ed25519Signer
from glasskey.auditor._service import Identity
from glasskey.core.plexi import AuditorConfiguration, KeyInfo, SignatureResponse
from tests.auditor.conftest import AUTH, VECTOR_TIMESTAMP, Env

D1 = "11" * 32
VECTOR_PUBLIC = "606a878700158d92b3a14a0fd37ec82e0f05f92fcf23146abfda2e3a2f10a9bc"
VECTOR_SIGNATURES = {
    1: "769d1ae73792dd8da1515793ba29f2f33f2fca84ba7386f9a01d8272e67c4379bdcfd91ea4fa49eafd8f2"
    "43ac36fe3a7aae90ae92f1729c3c468ddf4e6d2a309",
    2: "a73807da5d7e12f7ed6328c918e2071173793fea3af96d98f0a649a5f498b5bfebbe96ce7b21b027ccc04"
    "e69ac8cf40c2ed2d45ee23b0c30c00abca9753f7909",
}


def digest(i: int) -> str:
    return f"{i:064x}"


def create(env: Env, name: str = "ns", **extra: Any) -> Any:
    body = {"name": name, **extra}
    if "ciphersuite" not in body:
        body.setdefault("signature_version", 1)
    response = env.client.post("/namespaces", json=body, headers=AUTH)
    assert response.status_code == 200, response.text
    return response.json()


def publish(env: Env, name: str, epoch: Any, dig: Any) -> Any:
    return env.client.post(
        f"/namespaces/{name}/audits", json={"epoch": epoch, "digest": dig}, headers=AUTH
    )


def snapshot(env: Env, name: str) -> tuple[str, list[str]]:
    ns = env.client.get(f"/namespaces/{name}").text
    audits = []
    epoch = 0
    while epoch < 50:
        r = env.client.get(f"/namespaces/{name}/audits/{epoch}")
        if r.status_code == 200:
            audits.append(r.text)
        epoch += 1
    return ns, audits


def test_info_lists_keys(env: Env) -> None:
    r = env.client.get("/info")
    assert r.status_code == 200
    assert r.headers["content-type"] == "application/json"
    assert r.headers["access-control-allow-origin"] == "*"
    assert r.text == f'{{"keys":[{{"public_key":"{VECTOR_PUBLIC}","not_before":0}}],"logs":[]}}'


@pytest.mark.parametrize("suite,name", [(1, "log1.example.com"), (2, "log2.example.com")])
def test_publish_reproduces_plexi_vectors(env: Env, suite: int, name: str) -> None:
    """Same key, namespace, clock, epoch and digest as the upstream vectors → same bytes."""
    created = env.client.post(
        "/namespaces",
        json={"name": name, "root": f"1/{D1}", "signature_version": suite},
        headers=AUTH,
    )
    assert created.status_code == 200
    assert created.text == (
        f'{{"name":"{name}","log_directory":null,"root":"1/{D1}","status":"Initialization",'
        f'"reports_uri":"/namespaces/{name}/reports","audits_uri":"/namespaces/{name}/audits",'
        f'"signature_version":{suite},"ciphersuite":{suite}}}'
    )
    r = publish(env, name, 1, D1.upper())
    assert r.status_code == 200, r.text
    body = r.json()
    assert list(body) == [
        "version",
        "ciphersuite",
        "namespace",
        "timestamp",
        "epoch",
        "digest",
        "signature",
        "key_id",
        "serialized_message",
    ]
    assert body["signature"] == VECTOR_SIGNATURES[suite]
    assert body["timestamp"] == VECTOR_TIMESTAMP
    assert body["digest"] == D1
    assert body["key_id"] == 188
    assert body["version"] == body["ciphersuite"] == suite
    response = SignatureResponse.from_json_obj(body)
    config = AuditorConfiguration.from_json_obj(env.client.get("/info").json())
    response.verify(config.keys)
    # Served back identically.
    assert env.client.get(f"/namespaces/{name}/audits/1").text == r.text
    assert env.client.get(f"/namespaces/{name}/audits/latest").text == r.text
    ns = env.client.get(f"/namespaces/{name}").json()
    assert ns["status"] == "Online" and ns["root"] == f"1/{D1}"
    assert ns["last_verified_epoch"] == 1  # the operator's anchor: verified as configured


def test_create_namespace_validation(env: Env) -> None:
    c = env.client
    assert c.post("/namespaces", json={"name": "a", "signature_version": 1}).status_code == 401
    bad_token = {"Authorization": "Bearer nope"}
    r = c.post("/namespaces", json={"name": "a", "signature_version": 1}, headers=bad_token)
    assert r.status_code == 401
    assert r.json() == {"error": "unauthorized", "message": "invalid credentials"}
    cases = [
        ({"name": "a/b", "signature_version": 1}, "invalid parameter `name`"),
        ({"name": "", "signature_version": 1}, "invalid parameter `name`"),
        ({"name": "a"}, "invalid parameter `signature_version`"),
        ({"name": "a", "signature_version": 3}, "invalid parameter `signature_version`"),
        ({"name": "a", "signature_version": 1, "root": "1/zz"}, "invalid parameter `root`"),
        ({"name": "a", "signature_version": 1, "public": "yes"}, "invalid parameter `public`"),
    ]
    for body, message in cases:
        r = c.post("/namespaces", json=body, headers=AUTH)
        assert (r.status_code, r.json()["message"]) == (400, message), body
    for raw in (b"{", b"[]", b"1", b"\xff"):
        r = c.post("/namespaces", content=raw, headers=AUTH)
        assert r.status_code == 400 and r.json()["error"] == "malformed", raw
    assert c.get("/namespaces").json() == {"namespaces": []}
    create(env, "a", ciphersuite=2)  # either name of the field
    r = c.post("/namespaces", json={"name": "a", "signature_version": 1}, headers=AUTH)
    assert r.status_code == 409
    assert [n["name"] for n in c.get("/namespaces").json()["namespaces"]] == ["a"]
    assert c.get("/namespaces/a").json()["ciphersuite"] == 2
    create(env, "hidden", public=False)
    assert [n["name"] for n in c.get("/namespaces").json()["namespaces"]] == ["a"]
    assert c.get("/namespaces/hidden").status_code == 200


def test_errors_are_json_or_text_never_500(env: Env) -> None:
    c = env.client
    r = c.get("/namespaces/missing")
    assert r.status_code == 404
    assert r.json() == {"error": "not_found", "message": "namespace missing does not exist"}
    r = c.get("/namespaces/missing", headers={"Accept": "text/plain"})
    assert (r.status_code, r.text) == (404, "namespace missing does not exist")
    create(env)
    assert c.get("/namespaces/ns/audits").status_code == 405
    assert c.get("/namespaces/ns/audits/abc").status_code == 400
    assert c.get("/namespaces/ns/audits/-1").status_code == 400
    assert c.get("/namespaces/ns/audits/99999999999999999999999").status_code == 400
    r = c.get("/namespaces/ns/audits/5")
    assert r.status_code == 404
    assert r.json()["message"] == "Signature not found for ns at epoch 5"
    assert c.get("/namespaces/ns/audits/latest").status_code == 404
    assert c.get("/namespaces/ns/last-verified-epoch").status_code == 404
    assert c.get("/nope").status_code == 404
    r = c.post("/namespaces/ns/audits", content=b"x" * 70_000, headers=AUTH)
    assert r.status_code == 400


def test_publication_constraints_no_state_change(env: Env) -> None:
    create(env)
    c = env.client
    # Without a root the first epoch must be 1.
    before = snapshot(env, "ns")
    r = publish(env, "ns", 2, digest(2))
    assert (r.status_code, r.json()["message"]) == (400, "Epoch must be 1")
    assert snapshot(env, "ns") == before
    assert publish(env, "ns", 1, digest(1)).status_code == 200
    assert c.get("/namespaces/ns").json()["root"] == f"1/{digest(1)}"
    assert publish(env, "ns", 2, digest(2)).status_code == 200
    before = snapshot(env, "ns")
    violations = [
        (2, digest(9), "Epoch 2 already published"),  # no republish (other digest)
        (2, digest(2), "Epoch 2 already published"),  # no republish (same digest)
        (1, digest(1), "Epoch 1 already published"),
        (4, digest(4), "Epoch must be 3"),  # strictly consecutive
        (3, digest(1), "Digest already published"),  # unique digests
        (3, digest(3)[:-1], "invalid parameter `digest`"),  # 63 hex
        (3, digest(3) + "00", "invalid parameter `digest`"),  # 66 hex
        (3, "zz" * 32, "invalid parameter `digest`"),
        (3, 17, "invalid parameter `digest`"),
        (-1, digest(3), "invalid parameter `epoch`"),
        (2**64, digest(3), "invalid parameter `epoch`"),
        (3.0, digest(3), "invalid parameter `epoch`"),
        ("3", digest(3), "invalid parameter `epoch`"),
        (True, digest(3), "invalid parameter `epoch`"),
    ]
    for epoch, dig, message in violations:
        r = publish(env, "ns", epoch, dig)
        assert (r.status_code, r.json()["message"]) == (400, message), (epoch, dig)
        assert r.json()["error"] in ("constraint_violation", "malformed")
    assert c.post("/namespaces/ns/audits", json=[1], headers=AUTH).status_code == 400
    assert (
        c.post("/namespaces/ns/audits", json={"digest": digest(3)}, headers=AUTH).status_code == 400
    )
    assert publish(env, "missing", 1, digest(1)).status_code == 404
    r = c.post("/namespaces/ns/audits", json={"epoch": 3, "digest": digest(3)})
    assert r.status_code == 401
    assert snapshot(env, "ns") == before
    assert publish(env, "ns", 3, digest(3)).status_code == 200


def test_root_anchor_and_large_epochs(env: Env) -> None:
    big = 2**64 - 3
    create(env, "r", root=f"{big}/{digest(7).upper()}")
    assert env.client.get("/namespaces/r").json()["root"] == f"{big}/{digest(7)}"
    r = publish(env, "r", big, digest(8))
    assert (r.status_code, r.json()["message"]) == (400, "Root is not valid")
    r = publish(env, "r", big + 1, digest(7))
    assert (r.status_code, r.json()["message"]) == (400, "Root is not valid")
    assert publish(env, "r", big, digest(7)).status_code == 200
    assert publish(env, "r", big + 1, digest(8)).status_code == 200
    assert publish(env, "r", big + 2, digest(9)).status_code == 200
    assert env.client.get(f"/namespaces/r/audits/{big + 2}").json()["epoch"] == 2**64 - 1
    r = publish(env, "r", 2**64, digest(10))
    assert r.status_code == 400


def test_disabled_namespace_is_read_only(env: Env) -> None:
    create(env)
    assert publish(env, "ns", 1, digest(1)).status_code == 200
    c = env.client
    r = c.patch("/namespaces/ns", json={"status": "Online"}, headers=AUTH)
    assert r.status_code == 400
    assert c.patch("/namespaces/ns", json={"status": "Disabled"}).status_code == 401
    r = c.patch("/namespaces/ns", json={"status": "Disabled"}, headers=AUTH)
    assert r.status_code == 200 and r.json()["status"] == "Disabled"
    before = snapshot(env, "ns")
    r = publish(env, "ns", 2, digest(2))
    assert r.status_code == 400
    assert r.json() == {
        "error": "namespace_disabled",
        "message": "Namespace is disabled and read-only.",
    }
    r = c.post(
        "/namespaces/ns/audits",
        json={"epoch": 2, "digest": digest(2)},
        headers={**AUTH, "Accept": "text/plain"},
    )
    assert (r.status_code, r.text) == (400, "Namespace is disabled and read-only.")
    r = c.patch("/namespaces/ns", json={"status": "Disabled"}, headers=AUTH)
    assert (r.status_code, r.json()["message"]) == (400, "Namespace is disabled and read-only.")
    assert snapshot(env, "ns") == before
    assert c.get("/namespaces/ns/audits/1").status_code == 200


def test_racing_publishers_exactly_one_wins(env: Env) -> None:
    """Two auditor processes (separate stores on one database) race for each epoch."""
    create(env)
    first, second = env.make_auditor(), env.make_auditor()
    admin = Identity(operator=True)
    for epoch in range(1, 21):
        barrier = threading.Barrier(2)
        results: list[Any] = [None, None]

        def run(
            index: int,
            auditor: Any,
            epoch: int = epoch,
            barrier: threading.Barrier = barrier,
            results: list[Any] = results,
        ) -> None:
            barrier.wait()
            try:
                body = {"epoch": epoch, "digest": digest(epoch * 10 + index)}
                results[index] = auditor.publish("ns", body, admin)
            except Exception as exc:
                results[index] = exc

        threads = [threading.Thread(target=run, args=(i, a)) for i, a in enumerate((first, second))]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        wins = [r for r in results if isinstance(r, SignatureResponse)]
        losses = [r for r in results if not isinstance(r, SignatureResponse)]
        assert len(wins) == 1 and len(losses) == 1, results
        assert str(losses[0]) == f"Epoch {epoch} already published"
        stored = env.client.get(f"/namespaces/ns/audits/{epoch}").json()
        assert stored["digest"] == wins[0].digest.hex()


def test_key_rotation_keeps_old_signatures_valid(env: Env) -> None:
    create(env)
    old = publish(env, "ns", 1, digest(1)).json()
    new_signer = Ed25519Signer.from_seed(bytes([9] * 32))
    from glasskey.auditor._keys import Ed25519Signer as S
    from tests.auditor.conftest import VECTOR_SEED

    # Stage the successor: announced now, valid from now + 1000 ms.
    rotated = env.make_auditor(
        [S.from_seed(VECTOR_SEED), new_signer], not_before=env.clock.now + 1000
    )
    keys = [k.public_key.hex() for k in rotated.info().keys]
    assert keys == [VECTOR_PUBLIC, new_signer.public_key.hex()]
    admin = Identity(operator=True)
    still_old = rotated.publish("ns", {"epoch": 2, "digest": digest(2)}, admin)
    assert still_old.key_id == 188
    env.clock.now += 1000
    fresh = rotated.publish("ns", {"epoch": 3, "digest": digest(3)}, admin)
    assert fresh.key_id == new_signer.public_key[-1]
    # The old key is dropped from the process but stays listed, so old signatures verify.
    only_new = env.make_auditor([new_signer])
    info = only_new.info()
    assert [k.public_key.hex() for k in info.keys] == keys
    for body in (old, still_old.to_json_dict(), fresh.to_json_dict()):
        SignatureResponse.from_json_obj(json.loads(json.dumps(body))).verify(info.keys)
    served = AuditorConfiguration.from_json_obj(env.client.get("/info").json())
    assert [k.public_key.hex() for k in served.keys] == keys
    assert KeyInfo(new_signer.public_key, env.clock.now) in served.keys
