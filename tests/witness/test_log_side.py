"""The log side: checkpoints submitted to witnesses, 409 answers followed, cosignatures
verified, stored and served attached to the checkpoint; /readyz and /metrics per witness."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from glasskey.core.signing import Ed25519Signer
from glasskey.log.note import CosignatureV1Verifier, parse_note
from glasskey.log.profile import open_witnessed, verifier_key
from glasskey.server._witnessing import WitnessConfig, WitnessSubmitter
from glasskey.witness import Witness, WitnessStore, log_verifiers
from tests.server.conftest import Harness, make_harness

LOG = Ed25519Signer.from_seed(bytes(range(32)))
ORIGIN = "glasskey.local/log"


def make_witness(tmp_path: Path, name: str, seed: int) -> Witness:
    signer = Ed25519Signer.from_seed(bytes([seed]) * 32)
    logs = log_verifiers([verifier_key(ORIGIN, LOG.public_key)])
    return Witness(signer, name, logs, WitnessStore(tmp_path / f"{name}.db"))


def wire(submitter: WitnessSubmitter, witness: Witness, calls: list[int] | None = None) -> None:
    """Route the submitter's HTTP to the in-process witness (same bytes as over TCP)."""

    def handle(request: httpx.Request) -> httpx.Response:
        assert request.url.path == "/add-checkpoint" and request.method == "POST"
        answer = witness.add_checkpoint(request.read())
        if calls is not None:
            calls.append(answer.status)
        return httpx.Response(
            answer.status, headers={"content-type": answer.content_type}, content=answer.body
        )

    submitter._http = httpx.Client(transport=httpx.MockTransport(handle))


@pytest.fixture
def setup(tmp_path: Path) -> Iterator[tuple[Harness, list[Witness]]]:
    witnesses = [make_witness(tmp_path, f"w{i}.test", i + 10) for i in range(2)]
    specs = tuple(f"{w.vkey()}@http://w{i}.invalid" for i, w in enumerate(witnesses))
    for h in make_harness(signer=LOG, witnesses=specs):
        for submitter, witness in zip(h.service.witnesses, witnesses, strict=True):
            wire(submitter, witness)
        yield h, witnesses


def test_checkpoints_get_cosigned_and_served(setup: tuple[Harness, list[Witness]]) -> None:
    h, witnesses = setup
    token = h.register("alice")
    h.upload("alice", token, b"k" * 32)
    h.publish()
    for s in h.service.witnesses:
        assert s.run_once() is True
        assert s.run_once() is False  # nothing new to submit
    note = h.http.get("/api/transparency/root").json()["checkpoint"]
    lines = parse_note(note).signatures
    assert [sig.name for sig in lines] == [ORIGIN, ORIGIN, "w0.test", "w1.test"]
    vkeys = tuple(w.vkey() for w in witnesses)
    opened = open_witnessed(note, ORIGIN, verifier_key(ORIGIN, LOG.public_key), vkeys, 2)
    assert opened.witnesses == ("w0.test", "w1.test") and opened.witnessed_at is not None
    bundle = h.http.get("/api/crypto/bundles/alice").json()
    assert bundle["checkpoint"] == note  # bundles carry the same cosigned note
    # The next epoch: submitted with old size 1 and a proof; both witnesses move on.
    h.upload("alice", token, b"m" * 32)
    h.publish()
    for s in h.service.witnesses:
        assert s.run_once() is True
    for w in witnesses:
        assert w.store.head(ORIGIN) is not None and w.store.head(ORIGIN).size == 2  # type: ignore[union-attr]
    ready = h.http.get("/readyz").json()
    assert [(w["name"], w["cosigned_size"], w["lag"]) for w in ready["witnesses"]] == [
        ("w0.test", 2, 0),
        ("w1.test", 2, 0),
    ]
    metrics = h.http.get("/metrics").text
    assert 'glasskey_witness_lag_entries{witness="w0.test"} 0.0' in metrics
    assert 'glasskey_witness_failures_total{witness="w1.test"} 0.0' in metrics


def test_409_size_answer_is_followed(tmp_path: Path) -> None:
    witness = make_witness(tmp_path, "w.test", 7)
    for h in make_harness(signer=LOG, witnesses=(f"{witness.vkey()}@http://w.invalid",)):
        (submitter,) = h.service.witnesses
        calls: list[int] = []
        wire(submitter, witness, calls)
        token = h.register("bob")
        for i in range(3):
            h.upload("bob", token, bytes([i]) * 32)
            h.publish()
        assert submitter.run_once()
        # The log has no record of the witness's size (its cosignatures were lost, or another
        # process submitted): it submits with old size 0, gets 409 "3", retries from 3 at once.
        rootlog = h.service.rootlog
        with rootlog.db.transaction():
            rootlog.db.execute("DELETE FROM glasskey_cosignatures")
        submitter._known_size = None
        rootlog._cosigned.clear()
        rootlog._cosigs.clear()
        h.upload("bob", token, b"z" * 32)
        h.publish()
        calls.clear()
        assert submitter.run_once()
        assert calls == [409, 200]
        assert witness.store.head(ORIGIN).size == 4  # type: ignore[union-attr]


def test_failures_back_off_and_show(tmp_path: Path) -> None:
    witness = make_witness(tmp_path, "down.test", 8)
    for h in make_harness(signer=LOG, witnesses=(f"{witness.vkey()}@http://down.invalid",)):
        (submitter,) = h.service.witnesses

        def refuse(request: httpx.Request) -> httpx.Response:
            raise httpx.ConnectError("connection refused", request=request)

        submitter._http = httpx.Client(transport=httpx.MockTransport(refuse))
        h.publish()
        assert submitter.run_once() is False
        assert submitter.run_once() is False
        status = submitter.status()
        assert status.consecutive_failures == 2 and "connection refused" in (
            status.last_error or ""
        )
        ready = h.http.get("/readyz")
        assert ready.status_code == 200  # a down witness never makes the log unready
        assert ready.json()["witnesses"][0]["consecutive_failures"] == 2
        # A witness answering with a cosignature under another key is refused, not stored.
        impostor = make_witness(tmp_path, "down.test", 9)
        wire(submitter, impostor)
        assert submitter.run_once() is False
        assert "no cosignature by the configured witness key" in (submitter.last_error or "")
        assert h.service.rootlog.cosignature_count(h.service.rootlog.size) == 0


def test_witness_spec_parsing() -> None:
    w = CosignatureV1Verifier("w.test", bytes(32))
    cfg = WitnessConfig.parse(f"{w.vkey()}@https://w.example/sub/")
    assert cfg.url == "https://w.example/sub" and cfg.name == "w.test"
    from glasskey.core.errors import UsageError

    for bad in (w.vkey(), f"{w.vkey()}@ftp://x", f"{verifier_key('a', bytes(32))}@http://x"):
        with pytest.raises(UsageError):
            WitnessConfig.parse(bad)


def test_cosignatures_survive_a_restart(setup: tuple[Harness, list[Witness]]) -> None:
    """Another process (or a restart) reading the same database serves the same note."""
    from glasskey.server._rootlog import RootLog

    h, _ = setup
    h.publish()
    for s in h.service.witnesses:
        assert s.run_once()
    served = h.service.rootlog.latest_checkpoint()
    fresh = RootLog(h.service.db, LOG, ORIGIN)
    assert fresh.latest_checkpoint() == served
    assert fresh.cosigned_size("w0.test") == h.service.rootlog.size
    assert served is not None and served.note.count("\n— w") == 2
