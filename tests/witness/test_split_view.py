"""End to end (in process): a server showing two clients different roots at the same size.

Under a 1-of-1 witness policy the view the witness did not cosign is refused
(``unwitnessed_head``), and a log that submits neither view gets both refused; without
witnesses, gossip between the two clients raises ``fork_detected`` and writes evidence that
verifies offline (library and ``glasskey verify fork-evidence``), while tampered evidence
does not.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from typer.testing import CliRunner

from glasskey.cli import _register, app
from glasskey.client import (
    ClientState,
    GlasskeyClient,
    GossipFork,
    GossipUnverified,
    InvalidGossip,
    StaleHead,
    UnwitnessedHead,
    VerificationPolicy,
)
from glasskey.core.errors import ConsistencyError, SignatureError, UsageError
from glasskey.core.signing import Ed25519Signer
from glasskey.log.forkevidence import verify_fork_evidence
from glasskey.log.note import sign_note
from glasskey.log.profile import verifier_key
from glasskey.server._malicious import Attack, MaliciousTransport
from tests.server.conftest import Harness, make_harness
from tests.witness.test_log_side import ORIGIN, make_witness, wire

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")
LOG = Ed25519Signer.from_seed(bytes(range(32)))


def seed(h: Harness, key: bytes) -> None:
    token = h.register("alice")
    h.upload("alice", token, key)
    h.publish()


def client(h: Harness, policy: VerificationPolicy, **kw: object) -> GlasskeyClient:
    return GlasskeyClient("http://testserver", policy=policy, transport=h.http._transport, **kw)  # type: ignore[arg-type]


@pytest.fixture
def views(tmp_path: Path) -> Iterator[tuple[Harness, Harness, list]]:  # type: ignore[type-arg]
    """Two servers with the same log key and different histories, one shared witness."""
    witness = make_witness(tmp_path, "w.test", 3)
    spec = (f"{witness.vkey()}@http://w.invalid",)
    for honest in make_harness(signer=LOG, witnesses=spec):
        for evil in make_harness(signer=LOG, witnesses=spec):
            for h in (honest, evil):
                wire(h.service.witnesses[0], witness)
            seed(honest, b"alice-real")
            seed(evil, b"alice-evil")
            yield honest, evil, [witness]


def test_unwitnessed_view_is_refused_under_1_of_1(views) -> None:  # type: ignore[no-untyped-def]
    honest, evil, (witness,) = views
    assert honest.service.witnesses[0].run_once() is True  # the witness sees view A first
    assert evil.service.witnesses[0].run_once() is False  # view B: same size, other root
    assert "409" in (evil.service.witnesses[0].last_error or "")
    policy = VerificationPolicy(witnesses=(witness.vkey(),), witness_threshold=1)
    with client(honest, policy) as a:
        assert a.lookup("alice").key == b"alice-real"
    with client(evil, policy) as b, pytest.raises(UnwitnessedHead) as err:
        b.lookup("alice")
    assert err.value.code == "unwitnessed_head"
    assert b.state.head(b.trust().log_id) is None  # a refused answer leaves no trace


def test_both_views_refused_when_the_log_hides_them_from_witnesses(views) -> None:  # type: ignore[no-untyped-def]
    honest, evil, (witness,) = views
    policy = VerificationPolicy(witnesses=(witness.vkey(),), witness_threshold=1)
    for h in (honest, evil):  # neither view was ever submitted
        with client(h, policy) as c, pytest.raises(UnwitnessedHead):
            c.lookup("alice")
    # A malicious server relaying view B to a client of A: refused too.
    mitm = MaliciousTransport(honest.http._transport, fork=evil.http._transport)
    mitm.attack = Attack.SPLIT_VIEW
    with (
        GlasskeyClient("http://testserver", policy=policy, transport=mitm) as c,
        pytest.raises(UnwitnessedHead),
    ):
        c.lookup("alice")


def test_witness_time_counts_for_freshness(views) -> None:  # type: ignore[no-untyped-def]
    honest, _, (witness,) = views
    witness.clock = lambda: time.time() - 7200  # cosigned two hours ago
    honest.service.witnesses[0].run_once()
    strict = VerificationPolicy(witnesses=(witness.vkey(),), witness_threshold=1, max_age=3600)
    with client(honest, strict) as c, pytest.raises(StaleHead):
        c.lookup("alice")  # the log's own timestamp is fresh; the witness's is not
    with client(honest, VerificationPolicy(max_age=3600)) as c:
        assert c.lookup("alice").key == b"alice-real"


def test_gossip_between_split_clients_proves_fork(views, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    honest, evil, _ = views
    with client(honest, VerificationPolicy()) as a, client(evil, VerificationPolicy()) as b:
        a.lookup("alice")
        b.lookup("alice")
        note_a = a.state.head(a.trust().log_id).note  # type: ignore[union-attr]
        note_b = b.state.head(b.trust().log_id).note  # type: ignore[union-attr]
        assert a.gossip(note_a).theirs_size == 1  # our own view: consistent
        with pytest.raises(GossipFork) as err:
            a.gossip(note_b, evidence_dir=tmp_path / "ev")
        assert err.value.code == "fork_detected"
        path = err.value.evidence_path
        assert path is not None and path.parent == tmp_path / "ev"
        fork = verify_fork_evidence(path.read_bytes())
        assert {fork.first.root, fork.second.root} == {
            honest.service.rootlog.root(1),
            evil.service.rootlog.root(1),
        }
        with pytest.raises(GossipFork):
            b.gossip(note_a)
        # Not signed by the log: invalid gossip, not a fork.
        forged = sign_note(note_b.split("\n\n")[0] + "\n", Ed25519Signer.generate(), ORIGIN)
        with pytest.raises(InvalidGossip) as bad:
            a.gossip(forged.to_text())
        assert bad.value.code == "invalid_gossip"
    _register()
    runner = CliRunner()
    ok = runner.invoke(app, ["verify", "fork-evidence", str(path)])
    assert ok.exit_code == 0, ok.output
    assert "fork proven" in ok.output
    body = json.loads(path.read_text())
    body["checkpoints"][1] = body["checkpoints"][0]  # same note twice: no fork
    same = tmp_path / "same.json"
    same.write_text(json.dumps(body))
    assert runner.invoke(app, ["verify", "fork-evidence", str(same)]).exit_code == 1
    with pytest.raises(ConsistencyError):
        verify_fork_evidence(same.read_text())


def test_gossip_different_sizes(tmp_path: Path) -> None:
    for h in make_harness(signer=LOG):
        seed(h, b"a1")
        with client(h, VerificationPolicy()) as early:
            early.lookup("alice")
            old_note = early.state.head(early.trust().log_id).note  # type: ignore[union-attr]
            h.upload("bob", h.register("bob"), b"b1")
            h.publish()
            h.upload("carol", h.register("carol"), b"c1")
            h.publish()
            with client(h, VerificationPolicy()) as late:
                late.lookup("alice")
                new_note = late.state.head(late.trust().log_id).note  # type: ignore[union-attr]
                assert late.gossip(old_note).theirs_size == 1
            assert early.gossip(new_note).theirs_size == 3
        # A server that will not prove it: gossip_unverified after retries.
        with client(h, VerificationPolicy()) as c:
            c.lookup("alice")
        for other in make_harness(signer=LOG):
            seed(other, b"other")
            for i in range(4):
                other.upload(f"u{i}", other.register(f"u{i}"), bytes([i]))
                other.publish()
            with client(other, VerificationPolicy()) as o:
                o.lookup("alice")
                foreign = o.state.head(o.trust().log_id).note  # type: ignore[union-attr]
        with client(h, VerificationPolicy(), state=ClientState()) as c:
            c.lookup("alice")  # size 3 here; the foreign note is size 5 of another tree
            with pytest.raises(GossipUnverified) as err:
                c.gossip(foreign)
            assert err.value.code == "gossip_unverified"


def test_server_gossip_endpoint(views) -> None:  # type: ignore[no-untyped-def]
    honest, evil, _ = views
    note_a = honest.http.get("/api/transparency/root").json()["checkpoint"]
    note_b = evil.http.get("/api/transparency/root").json()["checkpoint"]
    r = honest.http.post("/api/transparency/gossip", json={"checkpoint": note_a})
    assert r.status_code == 200 and r.json()["status"] == "consistent"
    r = honest.http.post("/api/transparency/gossip", json={"checkpoint": note_b})
    assert r.json() == {"status": "fork", "size": 1, "checkpoint": note_a}
    assert "glasskey_gossip_forks_total 1" in honest.http.get("/metrics").text
    forged = sign_note(note_b.split("\n\n")[0] + "\n", Ed25519Signer.generate(), ORIGIN)
    r = honest.http.post("/api/transparency/gossip", json={"checkpoint": forged.to_text()})
    assert r.status_code == 400 and r.json()["error"]["code"] == "constraint_violation"
    r = honest.http.post("/api/transparency/gossip", json={"checkpoint": "x" * 20000})
    assert r.status_code in (400, 422)


def test_policy_validation() -> None:
    from glasskey.log.note import CosignatureV1Verifier

    vkey = CosignatureV1Verifier("w.test", bytes(32)).vkey()
    assert VerificationPolicy(witnesses=(vkey,), witness_threshold=1).witness_threshold == 1
    for bad in (
        dict(witnesses=(vkey,), witness_threshold=2),
        dict(witnesses=(verifier_key("log", bytes(32)),), witness_threshold=1),
        dict(witnesses=(vkey, vkey), witness_threshold=1),
        dict(witnesses=vkey, witness_threshold=0),
        dict(witnesses=("garbage",), witness_threshold=0),
    ):
        with pytest.raises(UsageError):
            VerificationPolicy(**bad)  # type: ignore[arg-type]
    with pytest.raises(SignatureError):
        raise UnwitnessedHead("x")
