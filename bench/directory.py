"""Directory engine benchmark: prints a table (a benchmark, not a timed test).

    .venv/bin/python bench/directory.py [--sizes N ...] [--backends memory sqlite postgresql]

Each (backend, size) scenario runs in its own process so peak RSS is that scenario's own.
The base directory of N labels is bulk-loaded with *synthetic* leaf labels (SHA-256 instead
of the VRF) because building a 1M-label base through the VRF alone takes minutes and says
nothing about publish cost; everything measured afterwards — the 10k-update publish, proofs,
audits — uses the real VRF and real commitments. PostgreSQL runs when
GLASSKEY_TEST_POSTGRES_URL (or --postgres-url) is set.

``--publish-only`` measures just the scale figures (base build time, 10k-update publish
rate, peak RSS, database size), e.g. ``--sizes 1000000 --backends sqlite postgresql
--publish-only``; ``GLASSKEY_BENCH_PROFILE=/tmp/prof`` also writes a cProfile of each
10k-update publish to ``/tmp/prof-BACKEND-SIZE.pstats``.
"""

from __future__ import annotations

import argparse
import cProfile
import hashlib
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from glasskey.core.akd import wire
from glasskey.core.akd.audit import verify_single_append_only
from glasskey.core.akd.configuration import get_configuration
from glasskey.core.akd.types import HistoryParams
from glasskey.core.ecvrf import VrfSecretKey
from glasskey.directory import Directory
from glasskey.directory.akd import _labels as label_module
from glasskey.storage import open_store
from tests.vectors import AKD_TEST_VRF_SEED

CONFIG = get_configuration("whatsapp_v1")


class CountingStore:
    """Wraps a store and counts the batched calls its transactions make (= round trips)."""

    CALLS = ("get_nodes", "latest_states", "label_states", "put_nodes", "put_states",
             "epoch_root", "latest_epoch", "add_epoch", "pending", "mark_published",
             "states_at")  # fmt: skip

    def __init__(self, inner: Any) -> None:
        self.inner = inner
        self.url = inner.url
        self.calls = 0

    def _wrap(self, cm: Any) -> Any:
        outer = self

        class _Txn:
            def __init__(self, txn: Any) -> None:
                self._txn = txn

            def __getattr__(self, name: str) -> Any:
                attr = getattr(self._txn, name)
                if name in CountingStore.CALLS:

                    def counted(*a: Any, **k: Any) -> Any:
                        outer.calls += 1
                        return attr(*a, **k)

                    return counted
                return attr

        class _Cm:
            def __enter__(self) -> Any:
                return _Txn(cm.__enter__())

            def __exit__(self, *exc: Any) -> Any:
                return cm.__exit__(*exc)

        return _Cm()

    def read(self) -> Any:
        return self._wrap(self.inner.read())

    def write(self, publisher: bool = True) -> Any:
        return self._wrap(self.inner.write(publisher))

    def close(self) -> None:
        self.inner.close()


def _synthetic_labels(self: Any, alphas: list[bytes]) -> list[bytes]:
    return [hashlib.sha256(a).digest() for a in alphas]


def _timed(fn: Any, repeat: int = 1) -> float:
    start = time.perf_counter()
    for _ in range(repeat):
        fn()
    return (time.perf_counter() - start) / repeat


def _disk_bytes(url: str, path: Path | None) -> int | None:
    if url.startswith("sqlite:///") and path is not None:
        return sum(p.stat().st_size for p in path.parent.glob(path.name + "*"))
    if url.startswith("postgres"):
        import psycopg

        with psycopg.connect(url) as conn:
            row = conn.execute(
                "SELECT SUM(pg_total_relation_size(c.oid)) FROM pg_class c "
                "JOIN pg_namespace n ON n.oid = c.relnamespace "
                "WHERE n.nspname = current_schema() AND c.relkind = 'r'"
            ).fetchone()
            return int(row[0]) if row and row[0] is not None else None
    return None


def scenario(
    backend: str, size: int, postgres_url: str | None, publish_only: bool = False
) -> dict[str, Any]:
    tmp = Path(tempfile.mkdtemp(prefix="glasskey-bench-"))
    db_path: Path | None = None
    schema = None
    if backend == "memory":
        url = "memory://"
    elif backend == "sqlite":
        db_path = tmp / "bench.db"
        url = f"sqlite:///{db_path}"
    else:
        import psycopg

        assert postgres_url
        schema = f"bench_{uuid.uuid4().hex[:10]}"
        with psycopg.connect(postgres_url, autocommit=True) as conn:
            conn.execute(f"CREATE SCHEMA {schema}")
        sep = "&" if "?" in postgres_url else "?"
        url = f"{postgres_url}{sep}options=-csearch_path%3D{schema}"
    store = CountingStore(open_store(url))
    directory = Directory(store, CONFIG, VrfSecretKey(AKD_TEST_VRF_SEED))  # type: ignore[arg-type]
    out: dict[str, Any] = {"backend": backend, "size": size}
    try:
        real_labels = label_module.LabelComputer.labels
        label_module.LabelComputer.labels = _synthetic_labels  # type: ignore[method-assign]
        start = time.perf_counter()
        chunk = 100_000
        for base in range(0, size, chunk):
            directory.publish(
                # "z…": sorts after the real labels, so fill_vrf_proofs below (which goes in
                # label order) fills the real ones and never the synthetic base.
                [(b"zbase-%d" % i, b"base-key") for i in range(base, min(size, base + chunk))]
            )
        out["base_load_s"] = time.perf_counter() - start
        label_module.LabelComputer.labels = real_labels  # type: ignore[method-assign]

        # 10k updates: 5k new labels + 5k new versions of real (VRF-labelled) users.
        directory.publish([(b"user-%d" % i, b"v1") for i in range(5000)])
        batch = [(b"user-%d" % i, b"v2") for i in range(5000)]
        batch += [(b"new-%d" % i, b"v1") for i in range(5000)]
        store.calls = 0
        profile = os.environ.get("GLASSKEY_BENCH_PROFILE")
        profiler = cProfile.Profile() if profile else None
        start = time.perf_counter()
        if profiler is not None:
            profiler.enable()
        result = directory.publish(batch)
        elapsed = time.perf_counter() - start
        if profiler is not None and profile:
            profiler.disable()
            profiler.dump_stats(f"{profile}-{backend}-{size}.pstats")
        out["publish_10k_s"] = elapsed
        out["publish_10k_per_s"] = len(batch) / elapsed
        out["publish_round_trips"] = store.calls
        out["epoch"] = result.epoch
        if publish_only:
            disk = _disk_bytes(url, db_path)
            out["db_mib"] = None if disk is None else disk / 2**20
            out["peak_rss_mib"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
            return out

        directory.lookup(b"user-1")
        store.calls = 0
        out["lookup_cold_ms"] = _timed(lambda: directory.lookup(b"user-2")) * 1000
        out["lookup_round_trips"] = store.calls
        out["lookup_warm_ms"] = _timed(lambda: directory.lookup(b"user-3"), 50) * 1000

        # What the publisher does after the epoch: store the 15k new versions' VRF proofs.
        start = time.perf_counter()
        filled = directory.fill_vrf_proofs(15_000)
        out["fill_per_s"] = filled / (time.perf_counter() - start)
        assert filled == 15_000, filled
        directory.lookup(b"user-3")
        out["lookup_filled_ms"] = _timed(lambda: directory.lookup(b"user-4"), 50) * 1000

        for v in range(3, 11):
            directory.publish([(b"user-7", b"v%d" % v)])
        out["history_10_versions_ms"] = (
            _timed(lambda: directory.key_history(b"user-7", HistoryParams.complete()), 5) * 1000
        )

        for inserts in (1000, 10_000):
            directory.publish(
                [(b"audit-%d-%d" % (inserts, i), b"k") for i in range(inserts // 2)]
                + [(b"user-%d" % i, b"a%d" % inserts) for i in range(inserts // 4)]
            )
            end = directory.get_epoch_hash()
            start_hash = directory.epoch_root(end.epoch - 1)
            gen = time.perf_counter()
            proof = directory.audit(end.epoch - 1, end.epoch).proofs[0]
            blob = wire.encode_single_append_only_proof(proof)
            out[f"audit_{inserts}_gen_s"] = time.perf_counter() - gen
            ver = time.perf_counter()
            verify_single_append_only(CONFIG, blob, start_hash, end.root_hash, end.epoch)
            out[f"audit_{inserts}_verify_s"] = time.perf_counter() - ver
            out[f"audit_{inserts}_leaves"] = len(proof.inserted)
            out[f"audit_{inserts}_blob_kib"] = len(blob) / 1024
        disk = _disk_bytes(url, db_path)
        labels = size + 5000 + 5000 + 2 * 5000
        out["bytes_per_label"] = None if disk is None else disk / labels
        out["db_mib"] = None if disk is None else disk / 2**20
        out["peak_rss_mib"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    finally:
        directory.close()
        if schema and postgres_url:
            import psycopg

            with psycopg.connect(postgres_url, autocommit=True) as conn:
                conn.execute(f"DROP SCHEMA {schema} CASCADE")
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--sizes", type=int, nargs="+", default=[100_000, 1_000_000])
    parser.add_argument("--backends", nargs="+", default=["memory", "sqlite", "postgresql"])
    parser.add_argument("--postgres-url", default=os.environ.get("GLASSKEY_TEST_POSTGRES_URL"))
    parser.add_argument(
        "--publish-only", action="store_true",
        help="only build the base and publish the 10k updates (the scale figures: base build "
        "time, publish updates/s, peak RSS, database size); skips lookups, histories, audits",
    )  # fmt: skip
    parser.add_argument("--scenario", nargs=2, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.scenario:
        result = scenario(args.scenario[0], int(args.scenario[1]), args.postgres_url,
                          args.publish_only)  # fmt: skip
        print(json.dumps(result))
        return
    rows = []
    for size in args.sizes:
        for backend in args.backends:
            if backend == "postgresql" and not args.postgres_url:
                print("(skipping postgresql: set GLASSKEY_TEST_POSTGRES_URL)", file=sys.stderr)
                continue
            proc = subprocess.run(
                [sys.executable, __file__, "--scenario", backend, str(size)]
                + (["--publish-only"] if args.publish_only else []),
                capture_output=True, text=True, env={**os.environ,
                "GLASSKEY_TEST_POSTGRES_URL": args.postgres_url or ""},
            )  # fmt: skip
            if proc.returncode != 0:
                print(f"{backend} {size}: failed\n{proc.stderr}", file=sys.stderr)
                continue
            rows.append(json.loads(proc.stdout.strip().splitlines()[-1]))
            print(f"done {backend} {size}", file=sys.stderr)
    columns = [
        ("backend", "backend", "{}"), ("size", "labels", "{:,}"),
        ("base_load_s", "base build s", "{:,.1f}"),
        ("publish_10k_per_s", "publish/s", "{:,.0f}"), ("publish_round_trips", "RTs", "{}"),
        ("peak_rss_mib", "RSS MiB", "{:,.0f}"), ("db_mib", "DB MiB", "{:,.0f}"),
        ("lookup_cold_ms", "lookup cold ms", "{:.2f}"),
        ("lookup_warm_ms", "lookup warm ms", "{:.2f}"), ("lookup_round_trips", "lookup RTs", "{}"),
        ("fill_per_s", "fill proofs/s", "{:,.0f}"),
        ("lookup_filled_ms", "lookup stored-proofs ms", "{:.2f}"),
        ("history_10_versions_ms", "history(10) ms", "{:.1f}"),
        ("audit_1000_gen_s", "audit 1k gen s", "{:.3f}"),
        ("audit_1000_verify_s", "audit 1k verify s", "{:.3f}"),
        ("audit_10000_gen_s", "audit 10k gen s", "{:.3f}"),
        ("audit_10000_verify_s", "audit 10k verify s", "{:.3f}"),
        ("bytes_per_label", "bytes/label", "{:,.0f}"),
    ]  # fmt: skip
    # Only the columns some row measured (--publish-only measures the first few).
    columns = [c for c in columns if any(row.get(c[0]) is not None for row in rows)]
    print(" | ".join(title for _, title, _ in columns))
    print(" | ".join("---" for _ in columns))
    for row in rows:
        cells = []
        for key, _, fmt in columns:
            value = row.get(key)
            cells.append("-" if value is None else fmt.format(value))
        print(" | ".join(cells))
    print(
        "\nakd 0.12 in memory publishes 10k updates into a 100k base at 5,035 updates/s "
        "(bench/vs_akd on this machine, issue 13): the goal for 1M on SQLite and PostgreSQL. "
        "'base build s' bulk-loads synthetic labels (no VRF) in epochs of 100k."
    )
    if args.publish_only:
        return
    print(
        "\nGoals: publish >= 2,500 updates/s into 1M on SQLite; lookup proof <= 2 ms warm; "
        "audit verify of a 10k-insert epoch <= 1 s. 'audit 10k' inserts 5k new labels + 2.5k "
        "new versions (= 10k leaves with stale markers). 'lookup warm' computes its three VRF "
        "proofs; 'lookup stored-proofs' reads them after 'fill' (what the publisher does "
        "after each epoch) stored them for the 15k versions just published."
    )


if __name__ == "__main__":
    main()
