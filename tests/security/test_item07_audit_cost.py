"""Item 7: anonymous audit requests must not exhaust the server's CPU.

An audit proof over a long range used to be recomputed from the latest tree for every epoch
(seconds of pure-Python work per request, megabytes per answer), so four anonymous requests
were enough to make every lookup wait. Now a request audits a bounded page of epochs served
from the stored audit blobs, says where to continue, and expensive requests have their own
cost-aware limit, so lookups keep their latency.
"""

from __future__ import annotations

import base64
import statistics
import threading
import time
from collections.abc import Callable
from pathlib import Path

import httpx
import pytest

from glasskey.core.akd.audit import audit_verify, parse_audit_blob_name
from glasskey.core.akd.configuration import get_configuration
from glasskey.core.akd.types import AppendOnlyProof
from glasskey.core.akd.wire import (
    decode_append_only_proof,
    decode_single_append_only_proof,
    encode_append_only_proof,
    encode_single_append_only_proof,
)
from glasskey.core.ecvrf import VrfSecretKey
from glasskey.directory import Directory, FolderBlobStore
from tests.security.procs import Process

EPOCHS = 60
USERS_PER_EPOCH = 60
VRF_SEED = bytes(range(32))


def build_log(db: Path) -> dict[int, bytes]:
    """A ``EPOCHS``-epoch directory written straight to SQLite (uploading it over HTTP would
    take minutes under the write limits); returns each epoch's audit proof as the directory
    computed it when it published that epoch."""
    directory = Directory.open(
        f"sqlite:///{db}", get_configuration("whatsapp_v1"), VrfSecretKey(VRF_SEED),
        FolderBlobStore(db.with_suffix(".audit")),
    )  # fmt: skip
    at_publication: dict[int, bytes] = {}
    try:
        for epoch in range(1, EPOCHS + 1):
            updates = [
                (f"user{(epoch * 7 + i) % 400}".encode(), b"key-%d-%d" % (epoch, i))
                for i in range(USERS_PER_EPOCH)
            ]
            directory.publish(updates)
            proof = directory.audit(epoch - 1, epoch).proofs[0]
            at_publication[epoch] = encode_single_append_only_proof(proof)
    finally:
        directory.close()
    return at_publication


@pytest.fixture(scope="module")
def built_log(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[int, bytes]]:
    folder = tmp_path_factory.mktemp("audit-log")
    db = folder / "glasskey.db"
    return db, build_log(db)


def _server(log_server: Callable[..., Process], built: tuple[Path, dict[int, bytes]],
            tmp_path: Path, *extra: str) -> Process:  # fmt: skip
    source, _ = built
    db = tmp_path / "copy" / "glasskey.db"
    db.parent.mkdir()
    db.write_bytes(source.read_bytes())
    blobs = source.with_suffix(".audit")
    for path in blobs.glob("*/*/*"):
        target = db.with_suffix(".audit") / path.relative_to(blobs)
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(path.read_bytes())
    return log_server(*extra, db=str(db), env={"GLASSKEY_VRF_KEY": VRF_SEED.hex()})


def test_audit_pages_are_bounded_and_are_the_published_proofs(
    log_server: Callable[..., Process], built_log: tuple[Path, dict[int, bytes]], tmp_path: Path
) -> None:
    # Bounds of one page are under test here, not the expensive-bytes budget (tested below):
    # a 4 MiB page would put this client a second in debt and make its next page a 429.
    server = _server(log_server, built_log, tmp_path, "--rate-limit", "0",
                     "--expensive-bytes", str(1 << 30))  # fmt: skip
    _, at_publication = built_log
    config = get_configuration("whatsapp_v1")
    covered: list[int] = []
    url: str | None = f"/api/transparency/audit?start=0&end={EPOCHS}"
    with httpx.Client(base_url=server.url, timeout=60) as http:
        while url is not None:
            started = time.monotonic()
            page = http.get(url)
            assert page.status_code == 200, page.text
            assert time.monotonic() - started < 2.0
            body = page.json()
            start, end = body["start"], body["end"]
            assert 1 <= end - start <= 16, "a page audits a bounded number of epochs"
            assert len(page.content) < 4 * 1024 * 1024
            proof_bytes = base64.b64decode(body["proof"])
            proof = decode_append_only_proof(proof_bytes)
            assert list(proof.epochs) == list(range(start, end))
            audit_verify(config, [bytes.fromhex(h) for h in body["hashes"]], proof_bytes)
            # Byte for byte the proofs the directory computed when it published each epoch
            # (the stored audit blobs auditors read), encoded as one AppendOnlyProof.
            epochs = range(start + 1, end + 1)
            singles = tuple(decode_single_append_only_proof(at_publication[e]) for e in epochs)
            assert proof_bytes == encode_append_only_proof(
                AppendOnlyProof(singles, tuple(range(start, end)))
            )
            protobuf = http.get(url, headers={"Accept": "application/x-protobuf"})
            assert protobuf.content == proof_bytes
            covered.extend(proof.epochs)
            url = body["next"]
            if url is not None:
                assert f'<{url}>; rel="next"' in page.headers["link"]
                assert f'<{url}>; rel="next"' in protobuf.headers["link"]
            else:
                assert "link" not in page.headers
    assert covered == list(range(EPOCHS))
    blobs = http_blobs = httpx.get(f"{server.url}/api/transparency/blobs").json()["blobs"]
    assert [parse_audit_blob_name(b).epoch for b in http_blobs] == list(range(1, EPOCHS + 1))
    assert len(blobs) == EPOCHS


def _p99(samples: list[float]) -> float:
    return statistics.quantiles(samples, n=100)[98]


def _lookup_latencies(http: httpx.Client, count: int) -> list[float]:
    out = []
    for i in range(count):
        started = time.perf_counter()
        r = http.get(f"/api/crypto/bundles/user{i % 400}")
        out.append(time.perf_counter() - started)
        assert r.status_code == 200, r.text
    return out


@pytest.mark.slow
def test_four_worst_case_audits_leave_lookup_latency_alone(
    log_server: Callable[..., Process], built_log: tuple[Path, dict[int, bytes]], tmp_path: Path
) -> None:
    # The per-address request limit is off: it cannot tell the attackers from the lookups on
    # loopback anyway, and the point is what the cost-aware limit does on its own.
    server = _server(log_server, built_log, tmp_path, "--rate-limit", "0")
    stop = threading.Event()
    answered: list[int] = []

    def attacker() -> None:
        with httpx.Client(base_url=server.url, timeout=600) as http:
            while not stop.is_set():
                r = http.get("/api/transparency/audit", params={"start": 0, "end": EPOCHS})
                answered.append(r.status_code)
                if r.status_code == 429:
                    time.sleep(0.05)  # impatient: retries long before its Retry-After

    with httpx.Client(base_url=server.url, timeout=60) as http:
        _lookup_latencies(http, 100)  # warm up
        idle = _lookup_latencies(http, 400)
        threads = [threading.Thread(target=attacker, daemon=True) for _ in range(4)]
        for thread in threads:
            thread.start()
        time.sleep(0.5)
        try:
            loaded = _lookup_latencies(http, 400)
        finally:
            stop.set()
        for thread in threads:
            thread.join(30)
    idle_p99, loaded_p99 = _p99(idle), _p99(loaded)
    print(f"lookup p99 idle {idle_p99 * 1000:.1f} ms, with 4 audits {loaded_p99 * 1000:.1f} ms")
    assert answered, "the attackers got answers"
    assert loaded_p99 <= 2 * max(idle_p99, 0.005), (
        f"lookup p99 {loaded_p99 * 1000:.1f} ms with four audit requests running, "
        f"{idle_p99 * 1000:.1f} ms idle"
    )
