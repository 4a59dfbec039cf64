"""The log → auditor → client loop in process: countersigning, retries, S3 listings, alerts.

A real glasskey auditor app (SQLite) sits behind an ``AuditorClient`` whose transport can be
switched off, so "the auditor is down" is a real connection error seen by the real client.
"""

from __future__ import annotations

import base64
import json
import re
import secrets
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import pytest
from fastapi.testclient import TestClient

from glasskey.auditor._client import AuditorClient
from glasskey.auditor._keys import Ed25519Signer as AuditorSigner
from glasskey.auditor._proofs import ProofGate, ProofUnavailable, Transition
from glasskey.auditor._service import Auditor, Identity, Keyring
from glasskey.auditor._sources import HttpSource
from glasskey.auditor._store import Evidence, open_auditor_store
from glasskey.auditor.app import AuthConfig
from glasskey.auditor.app import create_app as create_auditor_app
from glasskey.client import (
    AuditorPin,
    AuditorSignatureInvalid,
    AuditorSignatureMissing,
    GlasskeyClient,
    VerificationPolicy,
)
from glasskey.core.ecvrf import VrfSecretKey
from glasskey.core.signing import Ed25519Signer
from glasskey.server._countersign import SignatureStore
from glasskey.server._service import DirectoryService, create_service
from glasskey.server._settings import ServerSettings
from glasskey.server.app import create_app
from glasskey.server.http.s3 import decode_continuation, list_objects_v2
from tests.auditor.conftest import TrustingProofs
from tests.server.conftest import ADMIN, VRF_SEED

AUDITOR_SEED = bytes(range(100, 132))
AUDITOR_TOKEN = "auditor-admin-token"
ORIGIN = "glasskey.test/log"
NAMESPACE = "glasskey.test-log"  # the origin made a valid Plexi name


class SwitchableTransport(httpx.BaseTransport):
    """Forwards to the in-process auditor, or fails to connect while ``down``."""

    def __init__(self, inner: httpx.BaseTransport) -> None:
        self.inner = inner
        self.down = False
        self.requests = 0

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        self.requests += 1
        if self.down:
            raise httpx.ConnectError("connection refused", request=request)
        return self.inner.handle_request(request)


@dataclass
class Loop:
    service: DirectoryService
    http: TestClient
    auditor: Auditor
    auditor_http: TestClient
    transport: SwitchableTransport
    auditor_public_key: bytes
    tokens: dict[str, str] = field(default_factory=dict)

    def upload(self, user: str, key: bytes) -> None:
        if user not in self.tokens:
            self.tokens[user] = self.http.post(
                "/api/auth/register", json={"user_id": user},
                headers={"Authorization": f"Bearer {ADMIN}"},
            ).json()["token"]  # fmt: skip
        token = self.tokens[user]
        r = self.http.post(
            "/api/crypto/keys/identity",
            json={"key": base64.b64encode(key).decode(), "upload_id": secrets.token_hex(16)},
            headers={"Authorization": f"Bearer {token}"},
        )
        assert r.status_code == 202, r.text
        self.service.publish_once()

    def client(self, auditor: AuditorPin | None = None) -> GlasskeyClient:
        return GlasskeyClient(
            "http://testserver",
            policy=VerificationPolicy(auditor=auditor),
            transport=self.http._transport,
        )


@pytest.fixture
def loop(tmp_path: Path) -> Iterator[Loop]:
    signer = AuditorSigner.from_seed(AUDITOR_SEED)
    store = open_auditor_store(f"sqlite:///{tmp_path}/auditor.db")
    # The countersigner's behaviour, not the proofs (test_proof_gate_reads_the_servers_blobs).
    auditor = Auditor(store, Keyring([signer], 0), proofs=TrustingProofs())
    auditor.create_namespace({"name": NAMESPACE, "signature_version": 1}, Identity(operator=True))
    with TestClient(create_auditor_app(auditor, AuthConfig(admin_token=AUDITOR_TOKEN))) as ahttp:
        transport = SwitchableTransport(ahttp._transport)
        api = AuditorClient("http://auditor.test", AUDITOR_TOKEN, transport=transport)
        settings = ServerSettings(
            db_url="memory://", run_publisher=False, rate_limit=0, admin_token=ADMIN,
            origin=ORIGIN, auditor_url="http://auditor.test", auditor_token=AUDITOR_TOKEN,
            auditor_retry_base=0.01, auditor_retry_max=0.05,
        )  # fmt: skip
        service = create_service(
            settings, Ed25519Signer.generate(), VrfSecretKey(VRF_SEED), None, api
        )
        with TestClient(create_app(service)) as http:
            yield Loop(service, http, auditor, ahttp, transport, _public_key(ahttp))
        store.close()


def _public_key(ahttp: TestClient) -> bytes:
    keys = ahttp.get("/info").json()["keys"]
    assert len(keys) == 1
    return bytes.fromhex(keys[0]["public_key"])


def _countersigner(loop: Loop):  # type: ignore[no-untyped-def]
    signer = loop.service.countersigner
    assert signer is not None
    return signer


# -- countersigning -------------------------------------------------------------------------------


def test_every_epoch_is_countersigned_in_order_and_served(loop: Loop) -> None:
    loop.upload("alice", b"alice-key-1")
    loop.upload("bob", b"bob-key-1")
    assert loop.service.rootlog.size == 2
    assert _countersigner(loop).run_once() == 2
    for epoch in (1, 2):
        stored = loop.service.signatures.get(NAMESPACE, epoch)
        assert stored is not None
        assert stored.digest == loop.service.rootlog.epoch_root(epoch)
        stored.verify([], pinned=loop.auditor_public_key)
        assert loop.auditor_http.get(f"/namespaces/{NAMESPACE}/audits/{epoch}").json() == (
            stored.to_json_dict()
        )
    body = loop.http.get("/api/crypto/bundles/bob").json()
    assert body["epoch"] == 2
    assert body["auditor_signature"] == loop.service.signatures.get(NAMESPACE, 2).to_json_dict()  # type: ignore[union-attr]
    root = loop.http.get("/api/transparency/root").json()
    assert root["auditor_signature"]["epoch"] == 2
    info = loop.http.get("/api/transparency/auditor").json()
    assert info["configured"] is True
    assert info["namespace"] == NAMESPACE
    assert info["url"] == "http://auditor.test"
    assert info["keys"] == [
        {"public_key": loop.auditor_public_key.hex(), "not_before": 0,
         "key_id": loop.auditor_public_key[31]}
    ]  # fmt: skip
    assert info["status"]["countersigned_epoch"] == 2
    assert info["status"]["lag"] == 0
    ready = loop.http.get("/readyz").json()
    assert ready["auditor"]["countersigned_epoch"] == 2
    metrics = loop.http.get("/metrics").text
    assert "glasskey_auditor_signatures_total 2" in metrics
    assert "glasskey_auditor_countersigned_epoch 2.0" in metrics
    # Protobuf form carries it in a header.
    proto = loop.http.get("/api/crypto/bundles/bob", headers={"Accept": "application/x-protobuf"})
    header = json.loads(base64.b64decode(proto.headers["X-Glasskey-Auditor-Signature"]))
    assert header == body["auditor_signature"]


def test_auditor_down_publishing_continues_and_signatures_catch_up(loop: Loop) -> None:
    signer = _countersigner(loop)
    loop.transport.down = True
    loop.upload("alice", b"k1")
    loop.upload("alice", b"k2")
    assert signer.run_once() == 0
    assert loop.service.rootlog.size == 2  # publishing went on
    assert signer.failures == 1
    assert signer.last_error is not None and "cannot reach the auditor" in signer.last_error
    assert AUDITOR_TOKEN not in signer.last_error
    status = loop.http.get("/readyz")
    assert status.status_code == 200
    assert status.json()["auditor"]["lag"] == 2
    assert status.json()["auditor"]["consecutive_failures"] == 1
    assert "glasskey_auditor_failures_total 1" in loop.http.get("/metrics").text
    assert loop.http.get("/api/crypto/bundles/alice").json()["auditor_signature"] is None
    signer.run_once()
    assert signer.failures == 2
    loop.transport.down = False
    loop.upload("alice", b"k3")
    assert signer.run_once() == 3
    assert signer.failures == 0 and signer.last_error is None
    assert [loop.service.signatures.get(NAMESPACE, e) is not None for e in (1, 2, 3)] == [
        True, True, True,
    ]  # fmt: skip
    assert loop.auditor_http.get(f"/namespaces/{NAMESPACE}").json()["root"] == (
        f"1/{loop.service.rootlog.epoch_root(1).hex()}"
    )


def test_background_thread_backs_off_and_recovers(loop: Loop) -> None:
    import time

    signer = _countersigner(loop)
    loop.transport.down = True
    signer.start()
    try:
        loop.upload("alice", b"k1")
        deadline = time.monotonic() + 5
        while signer.failures < 2 and time.monotonic() < deadline:
            time.sleep(0.01)
        assert signer.failures >= 2
        loop.transport.down = False
        while signer.status().countersigned_epoch != 1 and time.monotonic() < deadline:
            time.sleep(0.01)
        assert signer.status().countersigned_epoch == 1
        assert signer.failures == 0
    finally:
        signer._stop.set()
        signer._wake.set()


def test_already_signed_epoch_is_recovered_not_duplicated(loop: Loop) -> None:
    loop.upload("alice", b"k1")
    root1 = loop.service.rootlog.epoch_root(1)
    # The auditor signed epoch 1 but we "crashed" before storing it.
    direct = AuditorClient("http://auditor.test", AUDITOR_TOKEN, transport=loop.transport)
    signed = direct.publish(NAMESPACE, 1, root1)
    assert _countersigner(loop).run_once() == 0  # nothing new: latest() already covers 1
    assert loop.service.signatures.get(NAMESPACE, 1) == signed
    # Same while running: epoch 2 signed behind our back → "already published" → fetched.
    loop.upload("alice", b"k2")
    signed2 = direct.publish(NAMESPACE, 2, loop.service.rootlog.epoch_root(2))
    assert _countersigner(loop).run_once() == 1
    assert loop.service.signatures.get(NAMESPACE, 2) == signed2
    assert _countersigner(loop).failures == 0


def test_fork_at_the_auditor_is_reported_and_nothing_stored(loop: Loop) -> None:
    loop.upload("alice", b"k1")
    direct = AuditorClient("http://auditor.test", AUDITOR_TOKEN, transport=loop.transport)
    direct.publish(NAMESPACE, 1, b"\x42" * 32)  # someone else's history
    signer = _countersigner(loop)
    assert signer.run_once() == 0
    assert signer.last_error is not None and "fork" in signer.last_error
    assert loop.service.signatures.latest(NAMESPACE) is None
    assert loop.http.get("/api/crypto/bundles/alice").json()["auditor_signature"] is None


def test_namespace_anchored_at_a_later_root(tmp_path: Path, loop: Loop) -> None:
    """A namespace created with root E/digest (auditor joined late) starts at epoch E."""
    loop.upload("a", b"1")
    loop.upload("b", b"2")
    loop.upload("c", b"3")
    late = "late.ns"
    root = f"2/{loop.service.rootlog.epoch_root(2).hex()}"
    loop.auditor.create_namespace(
        {"name": late, "signature_version": 1, "root": root}, Identity(operator=True)
    )
    signer = _countersigner(loop)
    signer.namespace = late
    assert signer.run_once() == 2
    assert loop.service.signatures.get(late, 1) is None
    assert [loop.service.signatures.get(late, e) is not None for e in (2, 3)] == [True, True]


def test_missing_namespace_is_an_error_not_a_crash(loop: Loop) -> None:
    signer = _countersigner(loop)
    signer.namespace = "nobody.created.this"
    loop.upload("a", b"1")
    assert signer.run_once() == 0
    assert signer.last_error is not None and "NotFound" in signer.last_error


# -- client ---------------------------------------------------------------------------------------


def test_client_verifies_the_countersignature_with_the_pinned_key(loop: Loop) -> None:
    loop.upload("alice", b"alice-key")
    _countersigner(loop).run_once()
    pin = AuditorPin([loop.auditor_public_key.hex()], NAMESPACE, required=True)
    with loop.client(pin) as client:
        key = client.lookup("alice")
    assert key.key == b"alice-key"
    assert key.auditor_signature is not None
    assert key.auditor_signature.epoch == 1
    assert key.auditor_signature.namespace == NAMESPACE
    assert key.auditor_signature.digest == key.root_hash


def _tampering(loop: Loop, edit) -> httpx.BaseTransport:  # type: ignore[no-untyped-def]
    class Tamper(httpx.BaseTransport):
        def handle_request(self, request: httpx.Request) -> httpx.Response:
            response = loop.http._transport.handle_request(request)
            if not request.url.path.startswith("/api/crypto/bundles/"):
                return response
            response.read()
            body = json.loads(response.content)
            edit(body)
            return httpx.Response(200, json=body)

    return Tamper()


@pytest.mark.parametrize(
    ("edit", "message"),
    [
        (lambda s: s.update(signature="00" * 64), "does not verify"),
        (lambda s: s.update(timestamp=s["timestamp"] + 1), "serialized_message"),
        (
            lambda s: s.update(timestamp=s["timestamp"] + 1, serialized_message=None),
            "does not verify",
        ),
        (lambda s: s.update(epoch=s["epoch"] + 1), "covers epoch 2"),
        (lambda s: s.update(digest="11" * 32), "covers epoch 1 digest 1111"),
        (lambda s: s.update(signature="zz"), "malformed"),
        (lambda s: s.pop("namespace"), "malformed"),
    ],
)
def test_tampered_countersignature_is_an_alert(loop: Loop, edit, message: str) -> None:  # type: ignore[no-untyped-def]
    loop.upload("alice", b"alice-key")
    _countersigner(loop).run_once()

    def change(body: dict) -> None:  # type: ignore[type-arg]
        edit(body["auditor_signature"])

    client = GlasskeyClient(
        "http://testserver", transport=_tampering(loop, change),
        policy=VerificationPolicy(auditor=AuditorPin([loop.auditor_public_key], NAMESPACE)),
    )  # fmt: skip
    with client, pytest.raises(AuditorSignatureInvalid, match=message) as info:
        client.lookup("alice")
    assert info.value.code == "auditor_signature_invalid"
    assert client.state.logs() == []  # nothing was accepted


def test_other_auditor_key_and_other_namespace_are_alerts(loop: Loop) -> None:
    loop.upload("alice", b"alice-key")
    _countersigner(loop).run_once()
    other = AuditorSigner.from_seed(bytes(32))
    other_pk = other.public_key if isinstance(other.public_key, bytes) else None
    wrong_key = other_pk or bytes(31) + b"\x01"
    with (
        loop.client(AuditorPin([wrong_key], NAMESPACE)) as client,
        pytest.raises(AuditorSignatureInvalid, match="pinned auditor key"),
    ):
        client.lookup("alice")
    with (
        loop.client(AuditorPin([loop.auditor_public_key], "another.log")) as client,
        pytest.raises(AuditorSignatureInvalid, match="namespace"),
    ):
        client.lookup("alice")


def test_missing_countersignature(loop: Loop) -> None:
    loop.upload("alice", b"alice-key")  # not countersigned yet
    with loop.client(AuditorPin([loop.auditor_public_key], NAMESPACE)) as client:
        assert client.lookup("alice").auditor_signature is None  # optional: accepted
    strict = loop.client(AuditorPin([loop.auditor_public_key], NAMESPACE, required=True))
    with strict, pytest.raises(AuditorSignatureMissing, match="epoch 1"):
        strict.lookup("alice")
    with loop.client() as client:  # no pinned key: the signature is not checked at all
        assert client.lookup("alice").auditor_signature is None


def test_stripped_signature_with_require_auditor(loop: Loop) -> None:
    loop.upload("alice", b"alice-key")
    _countersigner(loop).run_once()
    client = GlasskeyClient(
        "http://testserver", transport=_tampering(loop, lambda b: b.update(auditor_signature=None)),
        policy=VerificationPolicy(
            auditor=AuditorPin([loop.auditor_public_key], NAMESPACE, required=True)
        ),
    )  # fmt: skip
    with client, pytest.raises(AuditorSignatureMissing):
        client.lookup("alice")


# -- S3 listing -----------------------------------------------------------------------------------

_KEYS = re.compile(r"<Key>([^<]*)</Key>")


def test_list_objects_v2_pagination_and_prefix() -> None:
    names = [f"{e}/{'a' * 4}/{'b' * 4}" for e in (1, 2, 10, 11, 3)]
    xml = list_objects_v2(names, "", None, None, None, 2).decode()
    assert _KEYS.findall(xml) == ["1/aaaa/bbbb", "10/aaaa/bbbb"]  # S3 byte order
    assert "<IsTruncated>true</IsTruncated>" in xml and "<KeyCount>2</KeyCount>" in xml
    token = re.search(r"<NextContinuationToken>([^<]+)<", xml).group(1)  # type: ignore[union-attr]
    page2 = list_objects_v2(names, "", decode_continuation(token), None, token, 2).decode()
    assert _KEYS.findall(page2) == ["11/aaaa/bbbb", "2/aaaa/bbbb"]
    assert f"<ContinuationToken>{token}</ContinuationToken>" in page2
    page3 = list_objects_v2(names, "", "2/aaaa/bbbb", None, None, 2).decode()
    assert _KEYS.findall(page3) == ["3/aaaa/bbbb"]
    assert "<IsTruncated>false</IsTruncated>" in page3 and "NextContinuationToken" not in page3
    only1 = list_objects_v2(names, "1/", None, None, None, 1000).decode()
    assert _KEYS.findall(only1) == ["1/aaaa/bbbb"]  # not 10/ or 11/
    assert "<Prefix>1/</Prefix>" in only1
    assert _KEYS.findall(list_objects_v2(names, "1", "10/aaaa/bbbb", "10/aaaa/bbbb", None,
                                         1000).decode()) == ["11/aaaa/bbbb"]  # fmt: skip


def test_blob_listing_over_http(loop: Loop) -> None:
    for i in range(3):
        loop.upload(f"u{i}", b"k")
    names = loop.http.get("/api/transparency/blobs").json()["blobs"]
    assert [n.split("/")[0] for n in names] == ["1", "2", "3"]
    r = loop.http.get("/api/transparency/blobs", params={"list-type": 2, "prefix": "2/"})
    assert r.status_code == 200
    assert r.headers["content-type"].startswith("application/xml")
    assert _KEYS.findall(r.text) == [names[1]]
    size = len(loop.http.get(f"/api/transparency/blobs/{names[1]}").content)
    assert f"<Size>{size}</Size>" in r.text
    r = loop.http.get("/api/transparency/blobs", params={"list-type": 2, "max-keys": 1})
    assert _KEYS.findall(r.text) == [names[0]]
    token = re.search(r"<NextContinuationToken>([^<]+)<", r.text).group(1)  # type: ignore[union-attr]
    r = loop.http.get(
        "/api/transparency/blobs", params={"list-type": 2, "continuation-token": token}
    )
    assert _KEYS.findall(r.text) == names[1:]
    r = loop.http.get("/api/transparency/blobs", params={"list-type": 2, "start-after": names[1]})
    assert _KEYS.findall(r.text) == [names[2]]
    for bad in ({"list-type": 1}, {"list-type": 2, "max-keys": -1},
                {"list-type": 2, "continuation-token": "%%%"}):  # fmt: skip
        r = loop.http.get("/api/transparency/blobs", params=bad)
        assert r.status_code in (400, 422), (bad, r.text)
        assert "error" in r.json()


def test_proof_gate_reads_the_servers_listing_and_blobs(loop: Loop) -> None:
    """The auditor's HTTP source (S3 form) against the server: equivocation check + verify."""
    for i in range(3):
        loop.upload(f"u{i}", b"k")
    base = "http://testserver/api/transparency/blobs"
    source = HttpSource(base, transport=loop.http._transport)
    assert source.names_for_epoch(2) == loop.service.directory.blob_store.list()[1:2]  # type: ignore[union-attr]
    real = ProofGate.for_configuration()
    gate = ProofGate(real.verify_blob, real.empty_root, source_for=lambda _: source)
    roots = [real.empty_root] + [loop.service.rootlog.epoch_root(e) for e in (1, 2, 3)]
    for epoch in (1, 2, 3):  # the first from the empty tree
        assert gate.check(base, (NAMESPACE, epoch, roots[epoch - 1], roots[epoch])) is None
    evidence = gate.check(base, (NAMESPACE, 3, roots[2], roots[1]))
    assert evidence is not None and evidence.kind == "equivocation"
    gate.close()


class LateProofs(TrustingProofs):
    """The log's proof appears only after ``late`` sign requests (an object store lagging)."""

    def __init__(self, late: int) -> None:
        super().__init__()
        self.late = late

    def check(self, log_directory: str | None, transition: Transition) -> Evidence | None:
        if self.late > 0:
            self.late -= 1
            raise ProofUnavailable(f"the audit proof of epoch {transition[1]} is not available yet")
        return None


def test_a_proof_not_published_yet_is_retried_quietly(
    loop: Loop, caplog: pytest.LogCaptureFixture
) -> None:
    loop.auditor.proofs = LateProofs(2)
    loop.upload("alice", b"k1")
    signer = _countersigner(loop)
    with caplog.at_level("INFO", logger="glasskey.server.countersign"):
        assert signer.run_once() == 0
        assert signer.last_error is not None and "not available yet" in signer.last_error
        assert signer.run_once() == 0
        assert signer.run_once() == 1
    assert signer.failures == 0
    assert loop.service.signatures.get(NAMESPACE, 1) is not None
    retries = [r for r in caplog.records if "not obtained" in r.getMessage()]
    assert len(retries) == 2 and all(r.levelname == "INFO" for r in retries)


def test_signature_store_caches_hits_and_rechecks_misses(
    loop: Loop, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Every lookup attaches the epoch's signature, so it is read from memory; a miss (no
    signature yet) is believed for MISS_TTL only, and a signature stored by another process
    (another SignatureStore over the same database) shows up after that."""
    loop.upload("alice", b"alice-key-1")
    here = SignatureStore(loop.service.db)
    elsewhere = SignatureStore(loop.service.db)
    monkeypatch.setattr(SignatureStore, "MISS_TTL", 0.2)
    assert here.get(NAMESPACE, 1) is None
    assert _countersigner(loop).run_once() == 1
    signature = loop.service.signatures.get(NAMESPACE, 1)
    assert signature is not None
    assert here.get(NAMESPACE, 1) is None  # the miss is still believed
    time.sleep(0.25)
    assert here.get(NAMESPACE, 1) == signature
    loop.service.db.execute("DELETE FROM glasskey_auditor_signatures")
    assert here.get(NAMESPACE, 1) == signature  # immutable once stored: served from memory
    assert elsewhere.get(NAMESPACE, 1) is None
    elsewhere.put(signature)  # our own put is visible at once, miss or not
    assert elsewhere.get(NAMESPACE, 1) == signature
