"""Witness cost: cosigning latency per epoch with 1 and 3 witnesses, and what verifying k
cosignatures costs a client. Prints one table.

    .venv/bin/python -P bench/witness.py [--epochs 20]   # -P: bench/http.py is not stdlib http

Latency: an in-process ``glasskey`` service (SQLite file, its real background submitter
threads) and N ``glasskey witness`` apps, each served by uvicorn on 127.0.0.1 with its own
SQLite state (``synchronous=FULL``). Per epoch: one upload, ``publish_once``, then the time
until every witness's verified cosignature of the new size is stored and attached — i.e. the
whole path log → HTTP → witness (proof check, fsync, sign) → HTTP → verify → store. Publishing
itself never waits for it (measured separately: the publish time with and without witnesses).

Client: ``open_witnessed`` (parse, log signature, log timestamp, k witness cosignatures) on
a checkpoint with k cosignatures, uncached, against the plain ``open_checkpoint``.
"""

from __future__ import annotations

import argparse
import secrets
import statistics
import tempfile
import threading
import time
from pathlib import Path

import uvicorn

from glasskey.core.ecvrf import VrfSecretKey
from glasskey.core.signing import Ed25519Signer
from glasskey.log.note import cosign_note, parse_note
from glasskey.log.profile import open_checkpoint, open_witnessed, sign_checkpoint, verifier_key
from glasskey.server._service import DirectoryService, create_service
from glasskey.server._settings import ServerSettings
from glasskey.witness import Witness, WitnessStore, create_app, log_verifiers

ORIGIN = "glasskey.local/log"


def serve_witness(witness: Witness) -> tuple[str, uvicorn.Server]:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    server = uvicorn.Server(
        uvicorn.Config(create_app(witness), host="127.0.0.1", port=port, log_level="error")
    )
    threading.Thread(target=server.run, daemon=True).start()
    while not server.started:
        time.sleep(0.01)
    return f"http://127.0.0.1:{port}", server


def latency(n: int, epochs: int, folder: Path) -> tuple[list[float], list[float]]:
    signer = Ed25519Signer.generate()
    vkey = verifier_key(ORIGIN, signer.public_key)
    servers, specs = [], []
    for i in range(n):
        w = Witness(Ed25519Signer.generate(), f"w{i}.bench", log_verifiers([vkey]),
                    WitnessStore(folder / f"w{n}-{i}.db"))  # fmt: skip
        url, server = serve_witness(w)
        servers.append(server)
        specs.append(f"{w.vkey()}@{url}")
    settings = ServerSettings(
        db_url=f"sqlite:///{folder / f'log{n}.db'}", run_publisher=False, rate_limit=0,
        admin_token=None, witnesses=tuple(specs), witness_retry_base=0.05,
    )  # fmt: skip
    service = create_service(settings, signer, VrfSecretKey(bytes(range(32))))
    for s in service.witnesses:
        s.is_leader = lambda: True
        s.start()
    token = ""
    cosign, publish = [], []
    try:
        for e in range(epochs + 1):
            _upload(service, token, e)
            started = time.perf_counter()
            service.publish_once()
            published = time.perf_counter()
            size = service.rootlog.size
            while service.rootlog.cosignature_count(size) < n:
                time.sleep(0.0005)
            if e:  # the first one also pays connection set-up
                publish.append(published - started)
                cosign.append(time.perf_counter() - published)
    finally:
        for s in service.witnesses:
            s.stop()
        service.close()
        for server in servers:
            server.should_exit = True
    return cosign, publish


def _upload(service: DirectoryService, token: str, e: int) -> None:
    """Queue one key update (the upload endpoint's synchronous part)."""
    service.uploads.submit("bench", "bench", e.to_bytes(4, "big") * 8, secrets.token_hex(16))


def client_cost(k: int, rounds: int = 300) -> float:
    signer = Ed25519Signer.generate()
    note = parse_note(sign_checkpoint(signer, ORIGIN, 1000, bytes(32), int(time.time())))
    vkeys = []
    for i in range(k):
        w = Ed25519Signer.generate()
        note = cosign_note(note, w, f"w{i}.bench", int(time.time()))
        from glasskey.log.note import CosignatureV1Verifier

        vkeys.append(CosignatureV1Verifier(f"w{i}.bench", w.public_key).vkey())
    text, vkey = note.to_text(), verifier_key(ORIGIN, signer.public_key)
    fn = open_witnessed.__wrapped__ if k else None  # type: ignore[attr-defined]
    base = open_checkpoint.__wrapped__  # type: ignore[attr-defined]
    started = time.perf_counter()
    for _ in range(rounds):
        if fn is None:
            base(text, ORIGIN, vkey)
        else:
            open_checkpoint.cache_clear()
            fn(text, ORIGIN, vkey, tuple(vkeys), k)
    return (time.perf_counter() - started) / rounds


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--epochs", type=int, default=20)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        rows = []
        for n in (0, 1, 3):
            cosign, publish = latency(n, args.epochs, Path(tmp)) if n else ([], [])
            if n == 0:
                _, publish = latency_baseline(args.epochs, Path(tmp))
            rows.append((n, cosign, publish))
    print("witnesses  publish p50 (ms)  cosigned after publish: p50 / p90 / max (ms)")
    for n, cosign, publish in rows:
        cs = "-" if not cosign else (
            f"{statistics.median(cosign) * 1e3:.1f} / "
            f"{statistics.quantiles(cosign, n=10)[-1] * 1e3:.1f} / {max(cosign) * 1e3:.1f}"
        )  # fmt: skip
        print(f"{n:>9}  {statistics.median(publish) * 1e3:>16.1f}  {cs}")
    print("\nclient: open a checkpoint with k witness cosignatures (uncached)")
    for k in (0, 1, 3, 5):
        print(f"  k={k}: {client_cost(k) * 1e3:.3f} ms")


def latency_baseline(epochs: int, folder: Path) -> tuple[list[float], list[float]]:
    signer = Ed25519Signer.generate()
    settings = ServerSettings(db_url=f"sqlite:///{folder / 'log0.db'}", run_publisher=False,
                              rate_limit=0)  # fmt: skip
    service = create_service(settings, signer, VrfSecretKey(bytes(range(32))))
    token = ""
    publish = []
    try:
        for e in range(epochs + 1):
            _upload(service, token, e)
            started = time.perf_counter()
            service.publish_once()
            if e:
                publish.append(time.perf_counter() - started)
    finally:
        service.close()
    return [], publish


if __name__ == "__main__":
    main()
