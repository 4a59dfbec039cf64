"""The verification policy: validated when built, immutable, and the same for every caller.

The sync client, the async client and the pure ``verify_bundle`` must refuse exactly the same
answers when given the same policy; ``verify_bundle`` with an auditor pin must check the
countersignature itself (one call, not a second one the caller could forget).
"""

from __future__ import annotations

import asyncio
import dataclasses
import time
from collections.abc import Callable, Iterator
from typing import Any

import httpx
import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

from glasskey.client import (
    LOG_DECLARED,
    AsyncGlasskeyClient,
    AuditorPin,
    AuditorSignatureInvalid,
    AuditorSignatureMissing,
    ClientState,
    GlasskeyClient,
    Trust,
    VerificationPolicy,
)
from glasskey.client._verify import verify_bundle, verify_history
from glasskey.core.akd.types import HistoryParams
from glasskey.core.errors import GlasskeyError, UsageError, VerificationError
from glasskey.core.plexi import SignatureResponse
from glasskey.core.plexi.signing import Ciphersuite, EpochStatement, signed_bytes
from glasskey.server._malicious import Attack, MaliciousTransport
from tests.server.conftest import Harness, make_harness

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")

AUDITOR = Ed25519PrivateKey.from_private_bytes(bytes(range(200, 232)))
AUDITOR_KEY = AUDITOR.public_key().public_bytes(Encoding.Raw, PublicFormat.Raw)
OTHER_KEY = bytes(31) + b"\x01"
NAMESPACE = "glasskey.local-log"


@pytest.fixture
def server() -> Iterator[Harness]:
    for h in make_harness():
        token = h.register("alice")
        h.upload("alice", token, b"alice-key")
        h.publish()
        yield h


def _trust(h: Harness) -> Trust:
    with GlasskeyClient("http://testserver", transport=h.http._transport) as client:
        return client.trust()


def _countersign(body: dict[str, Any], namespace: str = NAMESPACE) -> dict[str, Any]:
    """``body`` with an auditor countersignature of its epoch and root by ``AUDITOR``."""
    statement = EpochStatement(
        Ciphersuite.PROTOBUF_ED25519, namespace, int(time.time() * 1000), body["epoch"],
        bytes.fromhex(body["root_hash"]),
    )  # fmt: skip
    message = signed_bytes(statement)
    response = SignatureResponse(
        statement.ciphersuite, statement.namespace, statement.timestamp, statement.epoch,
        statement.digest, AUDITOR.sign(message), serialized_message=message,
    )  # fmt: skip
    return {**body, "auditor_signature": response.to_json_dict()}


# -- validation -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("keys", "message"),
    [
        ([], "at least one"),
        (["zz" * 32], "64 hex characters"),
        (["ab" * 31], "32-byte Ed25519"),
        ([bytes(31)], "32-byte Ed25519"),
        ([32], "32-byte Ed25519"),
        ("ab" * 32, "wrap a single key"),
        (AUDITOR_KEY, "wrap a single key"),
    ],
)
def test_auditor_pin_refuses_unusable_keys(keys: Any, message: str) -> None:
    with pytest.raises(UsageError, match=message):
        AuditorPin(keys, NAMESPACE)


def test_auditor_pin_normalises_hex_and_checks_its_options() -> None:
    pin = AuditorPin([AUDITOR_KEY.hex(), OTHER_KEY], NAMESPACE, required=True)
    assert pin.keys == (AUDITOR_KEY, OTHER_KEY)
    assert (pin.namespace, pin.required) == (NAMESPACE, True)
    for bad in ("", "a/b", None):
        with pytest.raises(UsageError, match="namespace"):
            AuditorPin([AUDITOR_KEY], bad)  # type: ignore[arg-type]
    with pytest.raises(TypeError):  # a key alone is not a pin: which log would it vouch for?
        AuditorPin([AUDITOR_KEY])  # type: ignore[call-arg]
    with pytest.raises(UsageError, match="required"):
        AuditorPin([AUDITOR_KEY], NAMESPACE, required="yes")  # type: ignore[arg-type]


@pytest.mark.parametrize("max_age", [0, -1.0, True, "3600"])
def test_policy_refuses_a_meaningless_max_age(max_age: Any) -> None:
    with pytest.raises(UsageError, match="max_age"):
        VerificationPolicy(max_age=max_age)


def test_policy_refuses_fields_of_the_wrong_kind() -> None:
    with pytest.raises(UsageError, match="Trust"):
        VerificationPolicy(trust="glasskey.local/log")  # type: ignore[arg-type]
    with pytest.raises(UsageError, match="AuditorPin"):
        VerificationPolicy(auditor=[AUDITOR_KEY])  # type: ignore[arg-type]
    with pytest.raises(UsageError, match="VerificationPolicy"):
        GlasskeyClient("http://testserver", policy={"max_age": 60})  # type: ignore[arg-type]


def test_policies_are_values() -> None:
    raw = VerificationPolicy(max_age=60, auditor=AuditorPin((AUDITOR_KEY,), NAMESPACE))
    hexed = VerificationPolicy(max_age=60, auditor=AuditorPin([AUDITOR_KEY.hex()], NAMESPACE))
    assert raw == hexed and hash(raw) == hash(hexed)
    assert raw != dataclasses.replace(raw, max_age=None)
    assert VerificationPolicy() == VerificationPolicy(None, LOG_DECLARED, None)
    assert AUDITOR_KEY.hex() in repr(raw)  # keys shown as operators publish them
    with pytest.raises(dataclasses.FrozenInstanceError):
        raw.max_age = None  # type: ignore[misc]
    with pytest.raises(dataclasses.FrozenInstanceError):
        raw.auditor.required = True  # type: ignore[misc, union-attr]


def test_with_trust_pins_without_changing_the_original(server: Harness) -> None:
    trust = _trust(server)
    first_use = VerificationPolicy(max_age=60)
    pinned = first_use.with_trust(trust)
    assert (pinned.trust, pinned.max_age, first_use.trust) == (trust, 60, None)
    assert pinned.with_trust(trust) is pinned


# -- one call applies the whole policy -------------------------------------------------------------


def test_verify_bundle_checks_the_countersignature_in_the_same_call(server: Harness) -> None:
    body = server.http.get("/api/crypto/bundles/alice").json()
    assert body["auditor_signature"] is None
    policy = VerificationPolicy(trust=_trust(server), max_age=None)

    required = dataclasses.replace(
        policy, auditor=AuditorPin([AUDITOR_KEY], NAMESPACE, required=True)
    )
    with pytest.raises(AuditorSignatureMissing, match="epoch 1"):
        verify_bundle(required, "alice", body, None)
    signed = _countersign(body)
    key = verify_bundle(required, "alice", signed, None)
    assert key.auditor_signature is not None and key.auditor_signature.epoch == 1

    other_key = dataclasses.replace(policy, auditor=AuditorPin([OTHER_KEY], NAMESPACE))
    with pytest.raises(AuditorSignatureInvalid, match="pinned auditor key"):
        verify_bundle(other_key, "alice", signed, None)
    other_namespace = dataclasses.replace(policy, auditor=AuditorPin([AUDITOR_KEY], "other.log"))
    with pytest.raises(AuditorSignatureInvalid, match="namespace"):
        verify_bundle(other_namespace, "alice", signed, None)
    forged = _countersign(body)
    forged["auditor_signature"]["signature"] = "00" * 64
    with pytest.raises(AuditorSignatureInvalid, match="does not verify"):
        pinned = dataclasses.replace(policy, auditor=AuditorPin([AUDITOR_KEY], NAMESPACE))
        verify_bundle(pinned, "alice", forged, None)
    # Without a pin the countersignature is not looked at, whatever it holds.
    assert verify_bundle(policy, "alice", forged, None).auditor_signature is None


def test_verify_history_checks_the_countersignature_too(server: Harness) -> None:
    body = server.http.get("/api/crypto/history/alice").json()
    policy = VerificationPolicy(
        trust=_trust(server),
        max_age=None,
        auditor=AuditorPin([AUDITOR_KEY], NAMESPACE, required=True),
    )
    with pytest.raises(AuditorSignatureMissing):
        verify_history(policy, "alice", body, None, HistoryParams())
    history = verify_history(policy, "alice", _countersign(body), None, HistoryParams())
    assert history.auditor_signature is not None
    assert [v.value for v in history.versions] == [b"alice-key"]


def test_verify_functions_need_pinned_keys(server: Harness) -> None:
    body = server.http.get("/api/crypto/bundles/alice").json()
    with pytest.raises(UsageError, match="trust"):
        verify_bundle(VerificationPolicy(), "alice", body, None)


# -- sync and async clients refuse the same answers ------------------------------------------------


def _bridge(transport: httpx.BaseTransport) -> httpx.AsyncBaseTransport:
    """The same (sync) server and middlebox, for the async client."""

    def forward(request: httpx.Request) -> httpx.Response:
        response = transport.handle_request(request)
        return httpx.Response(response.status_code, headers=response.headers,
                              content=response.read())  # fmt: skip

    return httpx.MockTransport(forward)


def _log_id(state: ClientState) -> str:
    trust = state.trust("http://testserver")
    assert trust is not None
    return trust.log_id


def _sync_lookup(
    transport: httpx.BaseTransport, policy: VerificationPolicy, state: ClientState
) -> bytes:
    with GlasskeyClient(
        "http://testserver", policy=policy, state=state, transport=transport
    ) as client:
        return client.lookup("alice").key


def _async_lookup(
    transport: httpx.BaseTransport, policy: VerificationPolicy, state: ClientState
) -> bytes:
    async def main() -> bytes:
        async with AsyncGlasskeyClient(
            "http://testserver", policy=policy, state=state, transport=_bridge(transport)
        ) as client:
            return (await client.lookup("alice")).key

    return asyncio.run(main())


def _outcome(lookup: Callable[[], object]) -> object:
    try:
        return lookup()
    except GlasskeyError as exc:
        return (type(exc), exc.code)


def _signing_transport(inner: httpx.BaseTransport) -> httpx.BaseTransport:
    """Adds a countersignature by ``AUDITOR`` to every bundle (an honest auditor)."""

    class Countersigning(httpx.BaseTransport):
        def handle_request(self, request: httpx.Request) -> httpx.Response:
            response = inner.handle_request(request)
            if not request.url.path.startswith("/api/crypto/bundles/"):
                return response
            response.read()
            return httpx.Response(200, json=_countersign(response.json()))

    return Countersigning()


@pytest.mark.parametrize(
    ("case", "expected"),
    [
        ("honest", b"alice-key"),
        ("auditor_required", (AuditorSignatureMissing, "auditor_signature_missing")),
        ("auditor_other_key", (AuditorSignatureInvalid, "auditor_signature_invalid")),
        ("auditor_signed", b"alice-key"),
        ("wrong_vrf_key", "refused"),
        ("forged_key", "refused"),
    ],
)
def test_sync_and_async_clients_refuse_the_same_answers(
    server: Harness, case: str, expected: object
) -> None:
    transport: httpx.BaseTransport = server.http._transport  # type: ignore[assignment]
    policy = VerificationPolicy()
    if case == "auditor_required":
        policy = VerificationPolicy(auditor=AuditorPin([AUDITOR_KEY], NAMESPACE, required=True))
    elif case in ("auditor_other_key", "auditor_signed"):
        transport = _signing_transport(transport)
        keys = [OTHER_KEY] if case == "auditor_other_key" else [AUDITOR_KEY]
        policy = VerificationPolicy(auditor=AuditorPin(keys, NAMESPACE, required=True))
    elif case == "wrong_vrf_key":
        policy = VerificationPolicy(
            trust=dataclasses.replace(_trust(server), vrf_public_key=bytes(32))
        )
    elif case == "forged_key":
        mitm = MaliciousTransport(transport)
        mitm.attack = Attack.FORGE_KEY
        transport = mitm

    sync = _outcome(lambda: _sync_lookup(transport, policy, ClientState()))
    async_ = _outcome(lambda: _async_lookup(transport, policy, ClientState()))
    assert sync == async_
    if expected == "refused":
        assert isinstance(sync, tuple) and issubclass(sync[0], VerificationError)
    else:
        assert sync == expected


def test_sync_and_async_clients_write_the_same_state(server: Harness) -> None:
    transport: httpx.BaseTransport = server.http._transport  # type: ignore[assignment]
    written = []
    for lookup in (_sync_lookup, _async_lookup):
        state = ClientState()
        lookup(transport, VerificationPolicy(), state)
        written.append((state.head(_log_id(state)), state.observations(_log_id(state), "alice")))
    assert written[0] == written[1]
    assert written[0][0] is not None
