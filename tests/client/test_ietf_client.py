"""The client's IETF features in process: proofs of absence, fixed-version search, contact
monitoring and offline credentials — honest answers verify, lies raise typed alerts."""

from __future__ import annotations

import base64
import json
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from glasskey.client import (
    ClientState,
    ContactHistoryInconsistent,
    GlasskeyClient,
    NotFound,
    UnprovenAbsence,
    UserNotFound,
    WrongLabel,
)
from glasskey.core.errors import StaleHead, VerificationError, VersionProofError
from glasskey.log import CredentialError, CredentialPolicy, verify_credential
from glasskey.log.profile import open_checkpoint
from tests.server.conftest import Harness, make_harness

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")

#: The bearer tokens of the seeded users, by id() of their harness.
TOKENS: dict[int, dict[str, str]] = {}
Rewrite = Callable[[httpx.Request, httpx.Response], httpx.Response]


class Rewriting(httpx.BaseTransport):
    """Forwards to the honest in-process server; ``rewrite`` may change each answer."""

    def __init__(self, honest: httpx.BaseTransport) -> None:
        self.honest = honest
        self.rewrite: Rewrite | None = None
        self.paths: list[str] = []

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        self.paths.append(request.url.path)
        response = self.honest.handle_request(request)
        response.read()
        return self.rewrite(request, response) if self.rewrite else response


def _json(response: httpx.Response, body: Any) -> httpx.Response:
    return httpx.Response(
        response.status_code, headers={"content-type": "application/json"},
        content=json.dumps(body).encode(),
    )  # fmt: skip


@pytest.fixture
def server() -> Iterator[Harness]:
    yield from make_harness()


@pytest.fixture
def seeded(server: Harness) -> Harness:
    tokens = {u: server.register(u) for u in ("alice", "bob")}
    for user, key in [("alice", b"a1"), ("bob", b"b1"), ("alice", b"a2"), ("alice", b"a3")]:
        server.upload(user, tokens[user], key)
        server.publish()
    TOKENS[id(server)] = tokens
    return server


def _client(h: Harness, state: ClientState | str = ":memory:") -> tuple[GlasskeyClient, Rewriting]:
    transport = Rewriting(h.http._transport)
    return GlasskeyClient("http://testserver", state=state, transport=transport), transport


# -- proofs of absence --------------------------------------------------------------------------


def test_a_user_that_never_published_is_proven_absent(seeded: Harness) -> None:
    client, _ = _client(seeded)
    with pytest.raises(UserNotFound) as caught:
        client.lookup("carol")
    assert caught.value.code == "user_not_found" and isinstance(caught.value, NotFound)
    assert caught.value.absence.epoch == 4
    assert client.state.head(client.trust().log_id).size == 4  # type: ignore[union-attr]
    assert client.watched() == []  # nothing to watch: no key was accepted


def test_a_client_that_saw_the_empty_log_accepts_its_first_epoch(server: Harness) -> None:
    """CI saw ForkDetected ("a consistency proof from an empty tree proves nothing") when a
    client's first look proved absence on the still-empty log and the next saw epoch 1."""
    client, _ = _client(server)
    with pytest.raises(UserNotFound):
        client.lookup("alice")
    assert client.state.head(client.trust().log_id).size == 0  # type: ignore[union-attr]
    token = server.register("alice")
    server.upload("alice", token, b"a1")
    server.publish()
    assert client.lookup("alice").key == b"a1"
    assert client.state.head(client.trust().log_id).size == 1  # type: ignore[union-attr]


def test_a_bare_404_is_unproven_absence(seeded: Harness) -> None:
    client, transport = _client(seeded)

    def strip(request: httpx.Request, response: httpx.Response) -> httpx.Response:
        if response.status_code == 404:
            body = response.json()
            del body["absence"]
            return _json(response, body)
        return response

    transport.rewrite = strip
    with pytest.raises(UnprovenAbsence) as caught:
        client.lookup("carol")
    assert caught.value.code == "unproven_absence"


def test_hiding_a_present_user_behind_another_users_absence_proof_is_refused(
    seeded: Harness,
) -> None:
    client, transport = _client(seeded)
    carol = seeded.http.get("/api/crypto/bundles/carol").json()

    def hide(request: httpx.Request, response: httpx.Response) -> httpx.Response:
        if request.url.path.endswith("/alice"):
            forged = dict(carol)
            forged["absence"] = {**carol["absence"], "user_id": "alice"}
            return httpx.Response(404, json=forged)
        return response

    transport.rewrite = hide
    with pytest.raises(UnprovenAbsence, match="invalid"):
        client.lookup("alice")
    carol["absence"]["user_id"] = "dave"  # a proof for carol, claimed for dave
    with pytest.raises(UnprovenAbsence):
        client2, t2 = _client(seeded)
        t2.rewrite = lambda req, resp: (
            httpx.Response(404, json=carol) if "/bundles/" in req.url.path else resp
        )
        client2.lookup("dave")


def test_an_absence_contradicting_a_key_verified_earlier_is_inconsistent(seeded: Harness) -> None:
    client, transport = _client(seeded)
    client.lookup("alice")
    # Absence proofs are for a tree; replay carol's proof (same epoch) as alice's absence.
    carol = seeded.http.get("/api/crypto/bundles/carol").json()
    transport.rewrite = lambda req, resp: httpx.Response(404, json=carol)
    with pytest.raises(UnprovenAbsence):
        client.lookup("alice")
    # A *valid* absence for a user verified before (a rewritten directory) is inconsistent.
    fresh, _ = _client(seeded)
    fresh.state.observe(fresh.trust().log_id, "carol", 1, 1, b"x" * 32)
    with pytest.raises(ContactHistoryInconsistent, match="verified version 1"):
        fresh.lookup("carol")


# -- fixed-version search -----------------------------------------------------------------------


def test_fixed_version_search(seeded: Harness) -> None:
    client, _ = _client(seeded)
    for version, key in [(1, b"a1"), (2, b"a2"), (3, b"a3")]:
        found = client.lookup("alice", version=version)
        assert (found.key, found.version, found.epoch) == (key, version, 4)
    with pytest.raises(NotFound) as caught:
        client.lookup("alice", version=4)
    assert not isinstance(caught.value, UserNotFound)
    assert seeded.http.get("/api/crypto/bundles/alice?version=0").status_code == 422


def test_another_version_or_label_is_refused(seeded: Harness) -> None:
    client, transport = _client(seeded)

    def other_version(request: httpx.Request, response: httpx.Response) -> httpx.Response:
        if request.url.params.get("version") == "1":
            other = request.url.copy_set_param("version", "2")
            return transport.honest.handle_request(httpx.Request("GET", other))
        return response

    transport.rewrite = other_version
    with pytest.raises(VersionProofError, match="asked for version 1"):
        client.lookup("alice", version=1)

    def relabel(request: httpx.Request, response: httpx.Response) -> httpx.Response:
        other = request.url.copy_with(path="/api/crypto/bundles/bob")
        answer = transport.honest.handle_request(httpx.Request("GET", other))
        answer.read()
        body = answer.json()
        body["user_id"] = "alice"
        return _json(answer, body)

    transport.rewrite = relabel
    with pytest.raises(VersionProofError, match="not for version 1"):
        client.lookup("alice", version=1)
    transport.rewrite = None

    def swap_key(request: httpx.Request, response: httpx.Response) -> httpx.Response:
        body = response.json()
        body["key"] = base64.b64encode(b"evil").decode()
        return _json(response, body)

    transport.rewrite = swap_key
    with pytest.raises(VersionProofError, match="differ"):
        client.lookup("alice", version=2)
    with pytest.raises(WrongLabel):
        transport.rewrite = lambda req, resp: _json(resp, {**resp.json(), "user_id": "bob"})
        client.lookup("alice", version=2)


# -- contact monitoring -------------------------------------------------------------------------


def test_lookups_watch_contacts_persistently_and_opt_out(seeded: Harness, tmp_path: Path) -> None:
    path = str(tmp_path / "state.db")
    client, _ = _client(seeded, path)
    client.lookup("alice")
    client.lookup("bob", watch=False)
    assert client.watched() == ["alice"]
    client.watch("bob")
    client.unwatch("alice")
    again, _ = _client(seeded, path)
    assert again.watched() == ["bob"]


def test_monitor_contacts_costs_one_request_per_contact_and_reports_new_keys(
    seeded: Harness,
) -> None:
    client, transport = _client(seeded)
    client.lookup("alice")
    client.lookup("bob")
    transport.paths.clear()
    report = client.monitor_contacts()
    assert report.ok and report.checked == ("alice", "bob")
    assert transport.paths == ["/api/crypto/history/alice", "/api/crypto/history/bob"]

    seeded.upload("bob", TOKENS[id(seeded)]["bob"], b"b2")
    seeded.publish()
    report = client.monitor_contacts()
    assert [(a.code, a.label, a.version, a.epoch) for a in report.alerts] == [
        ("contact_key_changed", "bob", 2, 5)
    ]
    assert client.monitor_contacts().ok  # reported once


def test_monitor_contacts_catches_a_rewritten_or_hidden_version(seeded: Harness) -> None:
    client, transport = _client(seeded)
    client.lookup("alice", version=1)
    client.lookup("alice")

    def rewrite_v1(request: httpx.Request, response: httpx.Response) -> httpx.Response:
        body = response.json()
        body["versions"][-1]["key"] = base64.b64encode(b"other").decode()
        return _json(response, body)

    transport.rewrite = rewrite_v1
    report = client.monitor_contacts()
    assert [a.code for a in report.alerts] == ["contact_history_inconsistent"]
    assert "invalid_history_proof" in report.alerts[0].message

    transport.rewrite = lambda req, resp: httpx.Response(404, json={"error": {
        "code": "not_found", "message": "no such label"}})  # fmt: skip
    report = client.monitor_contacts()
    assert [(a.code, a.label) for a in report.alerts] == [("contact_history_inconsistent", "alice")]


def test_history_alerts_for_missing_and_changed_versions() -> None:
    from glasskey.client._contacts import history_alerts
    from glasskey.core.akd.types import VerifyResult

    seen = [(1, 1, b"d1"), (2, 2, b"d2")]
    proven = (VerifyResult(3, 3, b"v3"), VerifyResult(2, 2, b"v2"))
    alerts = history_alerts("x", seen, proven, {3: b"d3", 2: b"other"})
    assert [(a.code, a.version) for a in alerts] == [
        ("contact_history_inconsistent", 1),
        ("contact_history_inconsistent", 2),
        ("contact_key_changed", 3),
    ]
    assert issubclass(ContactHistoryInconsistent, VerificationError)


# -- offline credentials -------------------------------------------------------------------------


def _policy(client: GlasskeyClient, **changes: Any) -> CredentialPolicy:
    trust = client.trust()
    base: dict[str, Any] = {
        "origin": trust.origin, "log_public_key": trust.log_public_key,
        "vrf_public_key": trust.vrf_public_key, "configuration": trust.configuration,
        "max_age": 3600.0, "domain_label": trust.domain_label,
    }  # fmt: skip
    base.update(changes)
    return CredentialPolicy(**base)


@pytest.fixture
def credential(seeded: Harness) -> tuple[bytes, CredentialPolicy, float]:
    client, _ = _client(seeded)
    data = client.credential("alice")
    policy = _policy(client)
    signed = json.loads(data)["checkpoint"]
    stamp = open_checkpoint(signed, policy.origin, policy.log_public_key).timestamp
    assert stamp is not None
    return data, policy, float(stamp)


def test_a_credential_verifies_offline(credential: tuple[bytes, CredentialPolicy, float]) -> None:
    data, policy, now = credential
    result = verify_credential(data, policy, now=now)
    assert (result.user_id, result.key, result.version, result.epoch) == ("alice", b"a3", 3, 4)
    assert (result.auditor_signed, result.witnesses) == (False, 0)
    with pytest.raises(StaleHead):
        verify_credential(data, policy, now=now + 3601)
    with pytest.raises(CredentialError, match="no auditor"):
        verify_credential(data, _policy_from(policy, require_auditor=True), now=now)
    with pytest.raises(CredentialError, match="witness"):
        verify_credential(data, _policy_from(policy, witness_quorum=1), now=now)
    body = json.loads(data)
    body["user_id"] = "bob"
    forged = json.dumps(body, sort_keys=True, separators=(",", ":")).encode()
    with pytest.raises(CredentialError, match="not for user 'bob'"):
        verify_credential(forged, policy, now=now)
    with pytest.raises(VerificationError):
        verify_credential(data, _policy_from(policy, vrf_public_key=bytes(32)), now=now)


def _policy_from(policy: CredentialPolicy, **changes: Any) -> CredentialPolicy:
    from dataclasses import replace

    return replace(policy, **changes)


@settings(
    max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(data=st.data())
def test_every_single_byte_change_of_a_credential_is_refused(
    credential: tuple[bytes, CredentialPolicy, float], data: st.DataObject
) -> None:
    blob, policy, now = credential
    position = data.draw(st.integers(0, len(blob) - 1))
    tampered = bytearray(blob)
    tampered[position] = data.draw(st.integers(0, 255).filter(lambda b: b != blob[position]))
    with pytest.raises(VerificationError):
        verify_credential(bytes(tampered), policy, now=now)


def test_every_truncation_of_a_credential_is_refused(
    credential: tuple[bytes, CredentialPolicy, float],
) -> None:
    blob, policy, now = credential
    for length in range(0, len(blob), 7):
        with pytest.raises(VerificationError):
            verify_credential(blob[:length], policy, now=now)
