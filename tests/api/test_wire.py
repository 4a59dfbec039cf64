"""The wire contract: what the server writes parses back to the same values, and what a
client must refuse is a one-line MalformedError, never a pydantic or KeyError traceback."""

from __future__ import annotations

import base64
import copy
from collections.abc import Iterator
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from glasskey.api.headers import signed_state_from_headers
from glasskey.api.wire import (
    BundleResponse,
    HistoryResponse,
    SignedState,
    UpdateReceipt,
    parse,
)
from glasskey.core.errors import MalformedError
from tests.server.conftest import Harness, make_harness


@pytest.fixture(scope="module")
def served() -> Iterator[Harness]:
    for harness in make_harness():
        token = harness.register("alice")
        for key in (b"k1", b"k2"):
            harness.upload("alice", token, key)
            harness.publish()
        yield harness


def _bundle(h: Harness) -> dict[str, Any]:
    return dict(h.http.get("/api/crypto/bundles/alice", params={"known_size": 1}).json())


def test_served_bundle_parses_back_to_the_same_values(served: Harness) -> None:
    body = _bundle(served)
    bundle = parse(BundleResponse, body, "bundle")
    assert bundle.key == b"k2" and bundle.version == 2 and bundle.published_epoch == 2
    assert bundle.root_hash.hex() == body["root_hash"]
    assert [h.hex() for h in bundle.log_consistency or []] == body["log_consistency"]
    assert base64.b64encode(bundle.proof).decode() == body["proof"]
    assert bundle.model_dump(mode="json") == body
    assert parse(BundleResponse, bundle.model_dump(mode="json"), "bundle") == bundle


def test_history_and_receipt_round_trip(served: Harness) -> None:
    body = served.http.get("/api/crypto/history/alice").json()
    history = parse(HistoryResponse, body, "history")
    assert [(v.version, v.key) for v in history.versions] == [(2, b"k2"), (1, b"k1")]
    assert history.model_dump(mode="json") == body
    token = served.register("bob")
    receipt = served.upload("bob", token, b"b1")
    assert parse(UpdateReceipt, receipt, "receipt").model_dump(mode="json") == receipt


def test_protobuf_headers_carry_the_same_signed_state(served: Harness) -> None:
    response = served.http.get(
        "/api/crypto/bundles/alice",
        params={"known_size": 1},
        headers={"Accept": "application/x-protobuf"},
    )
    from_headers = signed_state_from_headers(response.headers, known_size=1)
    from_json = parse(BundleResponse, _bundle(served), "bundle")
    for name in SignedState.model_fields:
        assert getattr(from_headers, name) == getattr(from_json, name), name


_HASH = "ab" * 32

# (field, bad value): each must be refused by the parse.
_BAD = [
    ("epoch", True),
    ("epoch", "2"),
    ("epoch", 2.0),
    ("tree_size", None),
    ("version", False),
    ("root_hash", "zz" * 32),
    ("root_hash", "ab" * 31),
    ("root_hash", "ab" * 33),
    ("root_hash", b"\x00" * 32),
    ("log_inclusion", [_HASH] * 129),
    ("log_inclusion", ["ab" * 31]),
    ("log_inclusion", [1]),
    ("log_inclusion", _HASH),
    ("log_consistency", [_HASH, "not hex"]),
    ("consistency_from", "1"),
    ("key", "a!=="),
    ("key", "abc"),
    ("proof", 123),
    ("user_id", 7),
    ("checkpoint", ["x"]),
]


@pytest.mark.parametrize(("field", "value"), _BAD)
def test_malformed_field_is_a_one_line_malformed_error(
    served: Harness, field: str, value: object
) -> None:
    body = _bundle(served)
    body[field] = value
    with pytest.raises(MalformedError) as refused:
        parse(BundleResponse, body, "the bundle response")
    message = str(refused.value)
    assert "\n" not in message and repr(field) in message


@pytest.mark.parametrize("field", ["epoch", "root_hash", "log_inclusion", "proof", "key"])
def test_missing_field_is_malformed(served: Harness, field: str) -> None:
    body = _bundle(served)
    del body[field]
    with pytest.raises(MalformedError, match=field):
        parse(BundleResponse, body, "the bundle response")


_JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(), inner, max_size=4),
    max_leaves=12,
)


@settings(max_examples=200, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(field=st.sampled_from(sorted(BundleResponse.model_fields)), value=_JSON)
def test_any_json_in_any_field_parses_or_is_malformed(
    served: Harness, field: str, value: object
) -> None:
    body = copy.deepcopy(_bundle(served))
    body[field] = value
    try:
        parse(BundleResponse, body, "the bundle response")
    except MalformedError as exc:
        assert "\n" not in str(exc)


@given(body=_JSON)
def test_any_json_body_parses_or_is_malformed(body: object) -> None:
    try:
        parse(BundleResponse, body, "the bundle response")
    except MalformedError as exc:
        assert "\n" not in str(exc)


def test_verify_bundle_refuses_malformed_json_before_anything_else(served: Harness) -> None:
    from glasskey.client import GlasskeyClient, VerificationPolicy
    from glasskey.client._verify import verify_bundle

    with GlasskeyClient("http://testserver", transport=served.http._transport) as client:  # type: ignore[arg-type]
        policy = VerificationPolicy(trust=client.trust(), max_age=None)
    body = _bundle(served)
    assert verify_bundle(policy, "alice", body, None).key == b"k2"
    for field, value in _BAD:
        tampered = {**body, field: value}
        with pytest.raises(MalformedError):
            verify_bundle(policy, "alice", tampered, None)
