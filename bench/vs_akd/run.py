"""glasskey vs the published akd crate, side by side on identical work (a benchmark, not a test).

    make bench-akd                                  # 10k base, 3 interleaved runs
    .venv/bin/python bench/vs_akd/run.py --base 100000 --runs 3 [--backends memory sqlite]

The akd side is ``bench/vs_akd/src/main.rs`` on akd 0.12.0 from crates.io (``whatsapp_v1``,
``HardCodedAkdVRF``, in-memory storage behind akd's caching ``StorageManager`` as its own
benches use it), built by ``bench/vs_akd/build.sh`` with the cargo target directory outside the
repository. Both sides run on one core: akd on a current-thread tokio runtime, glasskey with
``vrf_workers=1``, so the ratios compare implementations, not how many cores a loaded machine
happened to lend each; both measure the CPU time of their own process
(CLOCK_PROCESS_CPUTIME_ID: wall-clock time on a shared machine mostly measures the neighbours).
Every run of every side is its own process (peak RSS is its own); the runs interleave
(akd, glasskey memory, glasskey SQLite, akd, ...) so load changes on a shared machine hit all
sides alike, and the table shows medians.

Workload (the same on both sides, see ``Workload``): publish a base of N labels in one epoch,
then one epoch of U updates (U/2 new versions of base labels, U/2 new labels); L lookups at
that epoch (proof generation, protobuf encoding, verification decoded and from bytes); the
audit proof of the update epoch; 8 more versions of one label (10 in all) and its complete
history; V VRF evaluations. The run fails unless both sides produce the same root hash at
every epoch, byte-identical lookup and history proofs, the same VRF outputs and proofs, and
audit proofs of the same length with the same elements (akd's element order varies between
its own runs: it gathers them through hash maps).
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "src"))

HISTORY_LABEL = b"user-7"
HISTORY_VERSIONS = range(3, 11)


@dataclass(frozen=True)
class Workload:
    """Sizes; labels and values are made exactly as ``src/main.rs`` makes them."""

    base: int
    updates: int
    lookups: int
    history_reps: int
    vrf: int

    def args(self) -> list[str]:
        return [
            "--base", str(self.base), "--updates", str(self.updates),
            "--lookups", str(self.lookups), "--history-reps", str(self.history_reps),
            "--vrf", str(self.vrf),
        ]  # fmt: skip

    def base_batch(self) -> list[tuple[bytes, bytes]]:
        return [(b"user-%d" % i, b"key1-%d" % i) for i in range(self.base)]

    def update_batch(self) -> list[tuple[bytes, bytes]]:
        half = self.updates // 2
        out = [(b"user-%d" % i, b"key2-%d" % i) for i in range(half)]
        out += [(b"new-%d" % i, b"key1-new-%d" % i) for i in range(self.updates - half)]
        return out

    def lookup_labels(self) -> list[bytes]:
        half = self.updates // 2
        out = []
        for j in range(self.lookups):
            if j % 3 == 0:
                out.append(b"user-%d" % ((j * 7919) % max(half, 1)))
            elif j % 3 == 1:
                out.append(b"user-%d" % (half + (j * 7919) % max(self.base - half, 1)))
            else:
                out.append(b"new-%d" % ((j * 7919) % max(self.updates - half, 1)))
        return out


# -- the glasskey side ---------------------------------------------------------------------------


def _per(fn: Callable[[], object], n: int) -> float:
    start = time.process_time()
    fn()
    return (time.process_time() - start) / n


def glasskey_side(backend: str, w: Workload) -> dict[str, Any]:
    """Runs the workload on glasskey (``memory`` or ``sqlite``) and returns what akd-bench does."""
    from glasskey.core import ecvrf
    from glasskey.core.akd import wire
    from glasskey.core.akd.audit import audit_verify, verify_single_append_only
    from glasskey.core.akd.configuration import get_configuration
    from glasskey.core.akd.types import HistoryParams
    from glasskey.core.akd.verify import key_history_verify, lookup_verify
    from glasskey.directory import Directory
    from glasskey.storage import open_store
    from tests.vectors import AKD_TEST_VRF_SEED

    config = get_configuration("whatsapp_v1")
    tmp = Path(tempfile.mkdtemp(prefix="glasskey-vs-akd-"))
    url = "memory://" if backend == "memory" else f"sqlite:///{tmp / 'bench.db'}"
    key = ecvrf.VrfSecretKey(AKD_TEST_VRF_SEED)
    directory = Directory(open_store(url), config, key, vrf_workers=1)  # type: ignore[arg-type]
    t: dict[str, float] = {}
    roots = [directory.get_epoch_hash().root_hash.hex()]

    base = w.base_batch()
    start = time.process_time()
    directory.publish(base)
    t["base_s"] = time.process_time() - start
    del base
    roots.append(directory.get_epoch_hash().root_hash.hex())

    updates = w.update_batch()
    start = time.process_time()
    eh = directory.publish(updates)
    t["publish_s"] = time.process_time() - start
    del updates
    roots.append(eh.root_hash.hex())

    labels = w.lookup_labels()
    n = len(labels)
    proofs: list[Any] = []
    t["lookup_gen_s"] = _per(lambda: proofs.extend(directory.lookup(x)[0] for x in labels), n)
    encoded: list[bytes] = []
    t["lookup_encode_s"] = _per(
        lambda: encoded.extend(wire.encode_lookup_proof(p) for p in proofs), n
    )
    pk = directory.vrf_public_key
    ecvrf._verified_beta.cache_clear()
    t["lookup_verify_s"] = _per(
        lambda: [
            lookup_verify(config, pk, eh.root_hash, eh.epoch, x, p)
            for x, p in zip(labels, proofs, strict=True)
        ],
        n,
    )
    ecvrf._verified_beta.cache_clear()
    t["lookup_verify_bytes_s"] = _per(
        lambda: [
            lookup_verify(config, pk, eh.root_hash, eh.epoch, x, b)
            for x, b in zip(labels, encoded, strict=True)
        ],
        n,
    )
    ecvrf._verified_beta.cache_clear()

    # Stored VRF proofs (what the publisher's filler leaves) for the looked-up versions.
    # Stored directly for just these labels: filling all N + U versions would dominate the run.
    alpha = config.vrf_alpha
    with directory.store.read() as txn:
        states = txn.latest_states(sorted(set(labels)))
    rows = []
    for label, s in states.items():
        stale_proof, stale_beta = key.evaluate(alpha(label, False, s.version))
        rows.append((label, s.version, key.prove(alpha(label, True, s.version)),
                     stale_proof, stale_beta[:32]))  # fmt: skip
    with directory.store.write(publisher=False) as txn:
        txn.put_vrf_proofs(rows)
    stored: list[Any] = []
    t["lookup_stored_s"] = _per(lambda: stored.extend(directory.lookup(x)[0] for x in labels), n)
    if [wire.encode_lookup_proof(p) for p in stored] != encoded:
        raise SystemExit("glasskey: lookup proofs from stored VRF proofs differ from computed")

    h1, h2 = bytes.fromhex(roots[1]), bytes.fromhex(roots[2])
    audit: list[Any] = []
    t["audit_gen_s"] = _per(lambda: audit.append(directory.audit(1, 2)), 1)
    blob = wire.encode_single_append_only_proof(audit[0].proofs[0])
    t["audit_verify_s"] = _per(lambda: audit_verify(config, [h1, h2], audit[0]), 1)
    t["audit_verify_blob_s"] = _per(lambda: verify_single_append_only(config, blob, h1, h2, 2), 1)
    audit.clear()

    for v in HISTORY_VERSIONS:
        last = directory.publish([(HISTORY_LABEL, b"key%d-7" % v)])
        roots.append(last.root_hash.hex())
    history: list[Any] = []
    t["history_gen_s"] = _per(
        lambda: history.extend(
            directory.key_history(HISTORY_LABEL, HistoryParams.complete())[0]
            for _ in range(w.history_reps)
        ),
        w.history_reps,
    )

    def verify_history() -> None:
        for _ in range(w.history_reps):
            ecvrf._verified_beta.cache_clear()  # each repetition verifies from scratch
            key_history_verify(
                config, pk, last.root_hash, last.epoch, HISTORY_LABEL, history[0],
                HistoryParams.complete(),
            )  # fmt: skip

    t["history_verify_s"] = _per(verify_history, w.history_reps)

    vrf_alphas = [alpha(b"vrf-%d" % i, True, 1) for i in range(w.vrf)]
    outputs: list[bytes] = []
    t["vrf_output_s"] = _per(lambda: outputs.extend(key.output(a)[:32] for a in vrf_alphas), w.vrf)
    vrf_proofs: list[bytes] = []
    t["vrf_proof_s"] = _per(lambda: vrf_proofs.extend(key.prove(a) for a in vrf_alphas), w.vrf)
    t["peak_rss_mib"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    directory.close()
    return {
        "side": f"glasskey-{backend}",
        "package": str(Path(ecvrf.__file__).parents[1]),
        "timings": t,
        "roots": roots,
        "lookup_proofs": [b.hex() for b in encoded],
        "history_proof": wire.encode_history_proof(history[0]).hex(),
        "audit_blob": blob.hex(),
        "vrf_outputs": [o.hex() for o in outputs],
        "vrf_proofs": [p.hex() for p in vrf_proofs],
    }


# -- orchestration -------------------------------------------------------------------------------

CHECKED = ("roots", "lookup_proofs", "history_proof", "vrf_outputs", "vrf_proofs")


def akd_binary() -> Path:
    cache = Path(os.environ.get("GLASSKEY_INTEROP_CACHE", Path.home() / ".cache/glasskey-interop"))
    return cache / "akd-bench-target" / "release" / "akd-bench"


def run_side(side: str, w: Workload, baseline: Path | None) -> dict[str, Any]:
    env = dict(os.environ)
    if side == "akd":
        cmd = [str(akd_binary()), *w.args()]
    else:
        cmd = [sys.executable, __file__, "--side", side, *w.args()]
        if side.endswith("@baseline"):
            assert baseline is not None
            cmd += ["--src", str(baseline.resolve())]
    proc = subprocess.run(cmd, capture_output=True, text=True, check=False, env=env)
    if proc.returncode != 0:
        raise SystemExit(f"{side} failed ({proc.returncode}):\n{proc.stderr[-4000:]}")
    result: dict[str, Any] = json.loads(proc.stdout.strip().splitlines()[-1])
    result["side"] = side
    return result


def _audit_elements(blob_hex: str) -> tuple[list[Any], list[Any]]:
    """The audit proof's inserted and unchanged elements, each list sorted: akd collects them
    through hash maps, so its order (not its content) varies from run to run."""
    from glasskey.core.akd import wire

    proof = wire.decode_single_append_only_proof(bytes.fromhex(blob_hex))
    key = lambda e: (e.label.val, e.label.length, e.value)  # noqa: E731
    return sorted(proof.inserted, key=key), sorted(proof.unchanged_nodes, key=key)


def check_identical(reference: dict[str, Any], other: dict[str, Any]) -> None:
    if _audit_elements(reference["audit_blob"]) != _audit_elements(other["audit_blob"]):
        raise SystemExit(f"{other['side']}: the audit proof's elements differ from akd's")
    for key in CHECKED:
        if reference[key] != other[key]:
            if key == "roots":
                for e, (a, b) in enumerate(zip(reference[key], other[key], strict=False)):
                    if a != b:
                        raise SystemExit(f"{other['side']}: root of epoch {e} differs: {b} != {a}")
            raise SystemExit(f"{other['side']}: {key} differs from akd's")


ROWS: list[tuple[str, str, str]] = [
    # (title, glasskey timing, akd timing)
    ("publish {updates:,} updates (akd {akd_rate:,.0f} upd/s)", "publish_s", "publish_s"),
    ("build the {base:,} base in one epoch", "base_s", "base_s"),
    ("lookup proof generation, VRF proofs computed per call", "lookup_gen_s", "lookup_gen_s"),
    ("lookup proof generation, stored VRF proofs", "lookup_stored_s", "lookup_gen_s"),
    ("lookup proof → protobuf bytes", "lookup_encode_s", "lookup_encode_s"),
    ("lookup verify, decoded", "lookup_verify_s", "lookup_verify_s"),
    ("lookup verify, from bytes", "lookup_verify_bytes_s", "lookup_verify_bytes_s"),
    ("history (10 versions) generation", "history_gen_s", "history_gen_s"),
    ("history (10 versions) verify", "history_verify_s", "history_verify_s"),
    ("audit proof generation, {updates:,}-update epoch", "audit_gen_s", "audit_gen_s"),
    ("audit verify, decoded", "audit_verify_s", "audit_verify_s"),
    ("audit verify, from the {blob_mib:.1f} MB blob", "audit_verify_blob_s", "audit_verify_blob_s"),
    ("VRF per label, one core: output", "vrf_output_s", "vrf_output_s"),
    ("VRF per label, one core: proof", "vrf_proof_s", "vrf_proof_s"),
    ("peak RSS", "peak_rss_mib", "peak_rss_mib"),
]


def _fmt(seconds_or_mib: float, key: str) -> str:
    if key == "peak_rss_mib":
        return f"{seconds_or_mib:,.0f} MiB"
    if seconds_or_mib >= 1:
        return f"{seconds_or_mib:.2f} s"
    if seconds_or_mib >= 1e-3:
        return f"{seconds_or_mib * 1e3:.2f} ms"
    return f"{seconds_or_mib * 1e6:.0f} µs"


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawTextHelpFormatter
    )
    parser.add_argument("--base", type=int, default=10_000)
    parser.add_argument("--updates", type=int, default=10_000)
    parser.add_argument("--lookups", type=int, default=300)
    parser.add_argument("--history-reps", type=int, default=20)
    parser.add_argument("--vrf", type=int, default=2_000)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--backends", nargs="+", default=["memory", "sqlite"],
                        choices=["memory", "sqlite"])  # fmt: skip
    parser.add_argument("--json", type=Path, help="also write every run's timings here")
    parser.add_argument(
        "--baseline-src", type=Path, metavar="DIR",
        help="also run the glasskey sides on another source tree (e.g. `git archive` of an\n"
        "older commit's src/), interleaved with the others: before/after in one run",
    )  # fmt: skip
    parser.add_argument("--src", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--side", help=argparse.SUPPRESS)
    args = parser.parse_args()
    w = Workload(args.base, args.updates, args.lookups, args.history_reps, args.vrf)
    if args.updates // 2 > args.base:
        parser.error("--updates must be at most twice --base")
    if args.side:
        backend = args.side.removeprefix("glasskey-").split("@")[0]
        if args.src:  # the baseline tree shadows the installed package
            sys.path.insert(0, str(args.src))
        print(json.dumps(glasskey_side(backend, w)))
        return
    if not akd_binary().exists():
        raise SystemExit(f"{akd_binary()} is missing: run bash bench/vs_akd/build.sh first")
    sides = ["akd", *(f"glasskey-{b}" for b in args.backends)]
    if args.baseline_src:
        sides += [f"glasskey-{b}@baseline" for b in args.backends]
    runs: dict[str, list[dict[str, Any]]] = {s: [] for s in sides}
    reference: dict[str, Any] | None = None
    for r in range(args.runs):
        for side in sides:
            result = run_side(side, w, args.baseline_src)
            if reference is None:
                reference = result
            else:
                check_identical(reference, result)
            runs[side].append(result)
            where = f" ({result['package']})" if "package" in result else ""
            print(f"run {r + 1}/{args.runs} {side}: done{where}", file=sys.stderr)
    assert reference is not None
    med = {
        s: {k: statistics.median(r["timings"][k] for r in rs) for k in rs[0]["timings"]}
        for s, rs in runs.items()
    }
    if args.json:
        args.json.write_text(json.dumps({"workload": w.__dict__, "runs": runs}, indent=1))
    a = med["akd"]
    fields = {
        "base": w.base, "updates": w.updates, "akd_rate": w.updates / a["publish_s"],
        "blob_mib": len(reference["audit_blob"]) / 2e6,
    }  # fmt: skip
    print(
        f"\nglasskey vs akd 0.12 — base {w.base:,}, one epoch of {w.updates:,} updates, "
        f"{w.lookups} lookups, medians of {args.runs} interleaved runs; "
        f"ratio = glasskey / akd (>1: glasskey slower). Identical roots at all "
        f"{len(reference['roots'])} epochs, byte-identical proofs.\n"
    )
    backends = [s for s in sides if s != "akd"]
    print("| workload | akd | " + " | ".join(f"{s} | ratio" for s in backends) + " |")
    print("| --- | --- |" + " --- | --- |" * len(backends))
    for title, gk, ak in ROWS:
        cells = [title.format(**fields), _fmt(a[ak], ak)]
        for s in backends:
            cells += [_fmt(med[s][gk], gk), f"{med[s][gk] / a[ak]:.2f}×"]
        print("| " + " | ".join(cells) + " |")


if __name__ == "__main__":
    main()
