"""Auditor benchmark: signing throughput and audit-blob verification cost.

Prints one table:

* publish (countersign) throughput, signatures/s — through the service on SQLite (durable
  commit per signature), and through the real HTTP API (uvicorn on loopback, httpx keep-alive
  clients, 1 and 8 concurrent publishers, each on its own namespace);
* audit-blob verification (decode + strict append-only rebuild, whatsapp_v1) for epochs of
  1k and 10k inserts: wall time and peak memory, measured in a fresh child process (peak RSS
  growth over the baseline after the blob is read from disk, and Python's tracemalloc peak).

Goals (issue): sign >= 500 epochs/s; verify a 10k-insert epoch in <= 1 s.

Usage: ``python bench/auditor.py [--quick]``.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import httpx

from glasskey.auditor._service import Auditor, Identity, Keyring
from glasskey.auditor._store import open_auditor_store
from glasskey.auditor.app import AuthConfig, create_app
from glasskey.core.signing import Ed25519Signer

TOKEN = "bench"


def _auditor(folder: Path) -> Auditor:
    store = open_auditor_store(f"sqlite:///{folder}/auditor.db")
    return Auditor(store, Keyring([Ed25519Signer.from_seed(bytes([1] * 32))], 0))


def bench_service(n: int) -> float:
    with tempfile.TemporaryDirectory() as tmp:
        auditor = _auditor(Path(tmp))
        admin = Identity(operator=True)
        auditor.create_namespace({"name": "bench", "signature_version": 1}, admin)
        start = time.perf_counter()
        for epoch in range(1, n + 1):
            auditor.publish("bench", {"epoch": epoch, "digest": f"{epoch:064x}"}, admin)
        elapsed = time.perf_counter() - start
        auditor.store.close()
    return n / elapsed


def bench_http(n: int, concurrency: int) -> float:
    import socket

    import uvicorn

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = int(sock.getsockname()[1])
    with tempfile.TemporaryDirectory() as tmp:
        auditor = _auditor(Path(tmp))
        app = create_app(auditor, AuthConfig(admin_token=TOKEN))
        server = uvicorn.Server(
            uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", access_log=False)
        )
        thread = threading.Thread(target=server.run, daemon=True)
        thread.start()
        while not server.started:
            time.sleep(0.01)
        base = f"http://127.0.0.1:{port}"
        headers = {"Authorization": f"Bearer {TOKEN}"}
        with httpx.Client(base_url=base, headers=headers) as c:
            for i in range(concurrency):
                c.post("/namespaces", json={"name": f"ns{i}", "signature_version": 1})
        per_client = n // concurrency
        errors: list[str] = []

        def publisher(index: int) -> None:
            with httpx.Client(base_url=base, headers=headers) as c:
                for epoch in range(1, per_client + 1):
                    r = c.post(
                        f"/namespaces/ns{index}/audits",
                        json={"epoch": epoch, "digest": f"{index:032x}{epoch:032x}"},
                    )
                    if r.status_code != 200:
                        errors.append(r.text)

        threads = [threading.Thread(target=publisher, args=(i,)) for i in range(concurrency)]
        start = time.perf_counter()
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        elapsed = time.perf_counter() - start
        server.should_exit = True
        thread.join(timeout=10)
        auditor.store.close()
        if errors:
            raise RuntimeError(f"{len(errors)} publish errors, first: {errors[0]}")
    return per_client * concurrency / elapsed


def make_blob(inserts: int, folder: Path) -> tuple[str, int]:
    """A real audit blob: a tree of ``inserts`` leaves, then an epoch adding ``inserts`` more."""
    from glasskey.directory._blobs import FolderBlobStore
    from glasskey.directory._directory import Directory

    store = FolderBlobStore(folder)
    with Directory.in_memory("whatsapp_v1", vrf_seed=bytes(32), blob_store=store) as directory:
        directory.publish([(f"base-{i}".encode(), b"key") for i in range(inserts)])
        directory.publish([(f"new-{i}".encode(), b"key") for i in range(inserts)])
    name = next(n for n in store.list() if n.startswith("2/"))
    return name, (folder / name).stat().st_size


_CHILD = r"""
import json, sys, time, tracemalloc
def kib(field):
    for line in open("/proc/self/status"):
        if line.startswith(field + ":"):
            return int(line.split()[1])
    return 0
from glasskey.auditor._sources import FolderSource, default_verify_blob
verify = default_verify_blob("whatsapp_v1")
source = FolderSource(sys.argv[1])
data = source.fetch(sys.argv[2])
baseline = kib("VmRSS")
tracemalloc.start()
start = time.perf_counter()
verify(sys.argv[2], data)
elapsed = time.perf_counter() - start
_, traced = tracemalloc.get_traced_memory()
tracemalloc.stop()
print(json.dumps({"seconds": elapsed, "rss_growth_kib": kib("VmHWM") - baseline,
                  "traced_peak_bytes": traced}))
"""

_CHILD_NO_TRACE = _CHILD.replace("tracemalloc.start()", "").replace(
    "_, traced = tracemalloc.get_traced_memory()\ntracemalloc.stop()", "traced = 0"
)


def measure_verify(folder: Path, name: str, *, trace: bool) -> dict[str, float]:
    code = _CHILD if trace else _CHILD_NO_TRACE
    out = subprocess.run(
        [sys.executable, "-c", code, str(folder), name],
        capture_output=True,
        text=True,
        check=True,
        env={**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)},
    )
    result: dict[str, float] = json.loads(out.stdout)
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="fewer publishes, 1k blob only")
    args = parser.parse_args()
    n = 500 if args.quick else 3000
    rows: list[tuple[str, str]] = []
    rows.append(("publish via service (SQLite, durable)", f"{bench_service(n):,.0f} sig/s"))
    rows.append(("publish via HTTP, 1 client", f"{bench_http(n, 1):,.0f} sig/s"))
    rows.append(("publish via HTTP, 8 clients", f"{bench_http(n, 8):,.0f} sig/s"))
    sizes = [1000] if args.quick else [1000, 10000]
    with tempfile.TemporaryDirectory() as tmp:
        for inserts in sizes:
            folder = Path(tmp) / str(inserts)
            name, size = make_blob(inserts, folder)
            timed = min(
                (measure_verify(folder, name, trace=False) for _ in range(3)),
                key=lambda r: r["seconds"],
            )
            traced = measure_verify(folder, name, trace=True)
            label = f"verify {inserts:,}-insert epoch ({size / 1e6:.2f} MB blob)"
            rows.append((f"{label}: time", f"{timed['seconds'] * 1000:,.0f} ms"))
            rows.append((f"{label}: peak RSS growth", f"{timed['rss_growth_kib'] / 1024:,.1f} MiB"))
            rows.append(
                (
                    f"{label}: tracemalloc peak",
                    f"{traced['traced_peak_bytes'] / 2**20:,.1f} MiB",
                )
            )
    width = max(len(r[0]) for r in rows)
    print(f"| {'measurement':<{width}} | {'result':>16} |")
    print(f"|{'-' * (width + 2)}|{'-' * 18}|")
    for label, value in rows:
        print(f"| {label:<{width}} | {value:>16} |")


if __name__ == "__main__":
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
    main()
