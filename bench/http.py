"""HTTP benchmark of a real ``glasskey serve`` process on loopback: prints one table.

    .venv/bin/python bench/http.py [--labels 100000] [--duration 10] [--connections 16]
                                   [--server-workers 1] [--verify-procs 2] [--skip-wrk]

What it does, in order (everything on 127.0.0.1; the server is terminated even on failure):

1. **Directory.** Builds a directory of ``--labels`` users (``user000000``, ``user000001``, …,
   each with a random 32-byte key) by publishing straight through ``glasskey.directory.
   Directory`` into a SQLite file, in batches of 25k (the VRF runs in a process pool). The
   result is cached under ``~/.cache/glasskey-bench/whatsapp_v1-N/`` together with the VRF
   seed it was built with, and copied into a temporary folder for each run, so reruns start
   in seconds and every run starts from the same state.
2. **Server.** ``glasskey serve --db COPY --rate-limit 0`` (the per-address limit would
   otherwise throttle a single-address load generator). The VRF seed is handed over the way
   a development server finds it — the ``glasskey-vrf-key.hex`` file next to the database —
   and the server creates its own dev signing key, signs the root log and checkpoint. The
   bench waits for ``/readyz``.
3. **Raw lookups** with ``wrk`` (``apt-get install -y wrk``; skipped with a note if it is
   missing): ``GET /api/crypto/bundles/{user}`` rotating over all user ids through a Lua
   script, JSON and ``Accept: application/x-protobuf``. Throughput and p50/p99 from wrk.
4. **Verified lookups**: ``--verify-procs`` processes, each running an
   ``AsyncGlasskeyClient`` with ``--connections / procs`` concurrent tasks. One call =
   fetch + full verification (checkpoint signature, root-log inclusion and consistency,
   the AKD lookup proof with its three VRF proofs). Latency is measured per call.
5. **Updates**: ``--update-users`` users are registered through ``POST /api/auth/register``
   with the admin token, then ``--connections`` concurrent tasks ``POST
   /api/crypto/keys/identity`` new keys for ``--duration`` seconds; accepted (202) per second
   is reported, then the time the publisher needs to drain the queue into epochs.

The goal line (from the issue): at least 1,000 verified lookups/s with p99 under 50 ms.
On a 2-core machine the load generator and the verifying clients share the CPUs with the
server, so the numbers are a floor for what the server alone can do.
"""

from __future__ import annotations

import sys
from pathlib import Path

# This file is named http.py: keep its folder off sys.path so that it does not shadow the
# standard library's ``http`` package (which httpx and uvicorn import).
HERE = Path(__file__).resolve().parent
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != HERE]

import argparse
import asyncio
import base64
import json
import multiprocessing
import os
import shutil
import signal
import socket
import statistics
import subprocess
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))

import httpx

from glasskey.core.akd.configuration import get_configuration
from glasskey.core.ecvrf import VrfSecretKey
from glasskey.directory import Directory, FolderBlobStore

CONFIG_NAME = "whatsapp_v1"
CACHE = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "glasskey-bench"
BATCH = 25_000
ADMIN_TOKEN = "bench-admin-token"
GOAL_RATE, GOAL_P99_MS = 1000.0, 50.0
VRF_FILE = "glasskey-vrf-key.hex"  # what `glasskey serve` reads next to a SQLite database


def user_id(i: int) -> str:
    return f"user{i:06d}"


# -- 1. the directory ------------------------------------------------------------------------------


def prepared_directory(labels: int) -> Path:
    """The cached folder holding ``glasskey.db``, its audit blobs and the VRF seed."""
    folder = CACHE / f"{CONFIG_NAME}-{labels}-v2"  # v2: schema 2, VRF proofs stored
    if (folder / "complete").exists():
        return folder
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir(parents=True)
    seed = os.urandom(32)
    (folder / VRF_FILE).write_text(seed.hex() + "\n")
    os.chmod(folder / VRF_FILE, 0o600)
    db = folder / "glasskey.db"
    print(f"building a {labels}-label directory in {folder} (cached for next time) ...", flush=True)
    started = time.perf_counter()
    directory = Directory.open(
        f"sqlite:///{db}",
        get_configuration(CONFIG_NAME),
        VrfSecretKey(seed),
        FolderBlobStore(str(db.with_suffix(".audit"))),
    )
    try:
        for start in range(0, labels, BATCH):
            batch = [
                (user_id(i).encode(), os.urandom(32))
                for i in range(start, min(labels, start + BATCH))
            ]
            epoch = directory.publish(batch)
            print(f"  epoch {epoch.epoch}: {start + len(batch)} labels", flush=True)
        # What the server's publisher does between epochs: store the lookups' VRF proofs.
        while directory.fill_vrf_proofs(BATCH):
            pass
    finally:
        directory.close()
    (folder / "complete").write_text(f"{time.perf_counter() - started:.1f}s\n")
    print(f"  built in {time.perf_counter() - started:.1f}s", flush=True)
    return folder


def copy_directory(src: Path, dst: Path) -> Path:
    for item in src.iterdir():
        if item.name == "complete":
            continue
        if item.is_dir():
            shutil.copytree(item, dst / item.name)
        else:
            shutil.copy2(item, dst / item.name)
    return dst / "glasskey.db"


# -- 2. the server -----------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextmanager
def server(db: Path, port: int, workers: int, log_path: Path) -> Iterator[subprocess.Popen[bytes]]:
    env = dict(os.environ, GLASSKEY_ADMIN_TOKEN=ADMIN_TOKEN)
    for var in ("GLASSKEY_SIGNING_KEY", "GLASSKEY_VRF_KEY"):
        env.pop(var, None)  # use the key files next to the database
    cmd = [
        str(Path(sys.executable).with_name("glasskey")), "serve", "--db", str(db),
        "--host", "127.0.0.1", "--port", str(port), "--rate-limit", "0",
        "--epoch-interval", "1", "--log-level", "warning", "--workers", str(workers),
    ]  # fmt: skip
    log = log_path.open("wb")
    proc = subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT, env=env,
                            start_new_session=True)  # fmt: skip
    try:
        base = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 120
        while True:
            if proc.poll() is not None:
                raise RuntimeError(f"server exited with {proc.returncode}; see {log_path}")
            try:
                if httpx.get(base + "/readyz", timeout=2).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if time.monotonic() > deadline:
                raise RuntimeError(f"server not ready after 120s; see {log_path}")
            time.sleep(0.2)
        yield proc
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGTERM)  # the server and its uvicorn workers
            try:
                proc.wait(40)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait()
        log.close()


# -- 3. raw lookups with wrk -------------------------------------------------------------------

WRK_SCRIPT = """
local n = %(labels)d
local counter = 0
local accept = %(accept)s
local thread_id = 0
local threads = {}
function setup(thread)
  thread:set("thread_id", #threads)
  table.insert(threads, thread)
end
function init(args)
  counter = thread_id * 7919
end
function request()
  counter = counter + 1
  local id = (counter * 104729) %% n
  local headers = {}
  if accept then headers["Accept"] = accept end
  return wrk.format("GET", string.format("/api/crypto/bundles/user%%06d", id), headers)
end
function done(summary, latency, requests)
  local non2xx = 0
  for _, t in pairs(threads) do non2xx = non2xx + t:get("non2xx") end
  io.write(string.format(
    "RESULT {\\"requests\\": %%d, \\"duration_us\\": %%d, \\"p50_us\\": %%d, \\"p99_us\\": %%d, "
    .. "\\"errors\\": %%d, \\"non2xx\\": %%d}\\n",
    summary.requests, summary.duration, latency:percentile(50), latency:percentile(99),
    summary.errors.connect + summary.errors.read + summary.errors.write
      + summary.errors.timeout, non2xx))
end
non2xx = 0
function response(status, headers, body)
  if status < 200 or status > 299 then non2xx = non2xx + 1 end
end
"""


def run_wrk(base: str, labels: int, duration: float, connections: int, accept: str | None,
            workdir: Path) -> dict[str, Any]:  # fmt: skip
    script = workdir / ("wrk-proto.lua" if accept else "wrk-json.lua")
    accept_lua = f'"{accept}"' if accept else "nil"
    script.write_text(WRK_SCRIPT % {"labels": labels, "accept": accept_lua})
    threads = max(1, min(2, connections))
    cmd = ["wrk", "-t", str(threads), "-c", str(connections), "-d", f"{int(duration)}s",
           "--timeout", "10s", "-s", str(script), base]  # fmt: skip
    out = subprocess.run(cmd, capture_output=True, text=True, timeout=duration + 60)
    for line in out.stdout.splitlines():
        if line.startswith("RESULT "):
            data = json.loads(line[len("RESULT ") :])
            seconds = data["duration_us"] / 1e6
            return {
                "rate": data["requests"] / seconds,
                "p50": data["p50_us"] / 1000,
                "p99": data["p99_us"] / 1000,
                "n": data["requests"],
                "errors": data["errors"] + data["non2xx"],
            }
    raise RuntimeError(f"wrk printed no result:\n{out.stdout}\n{out.stderr}")


# -- 4. verified lookups -----------------------------------------------------------------------


def _verify_worker(base: str, labels: int, duration: float, tasks: int, offset: int,
                   out: Any) -> None:  # fmt: skip
    from glasskey.client import AsyncGlasskeyClient

    async def main() -> tuple[list[float], int, float]:
        latencies: list[float] = []
        failures = 0
        async with AsyncGlasskeyClient(base, max_age=3600.0, timeout=30.0) as client:
            await client.lookup(user_id(offset % labels))  # pins the keys (trust on first use)
            started = time.perf_counter()
            deadline = started + duration

            async def task(k: int) -> None:
                nonlocal failures
                i = offset + k * 7919
                while time.perf_counter() < deadline:
                    i += 104729
                    t0 = time.perf_counter()
                    try:
                        await client.lookup(user_id(i % labels))
                    except Exception as exc:  # counted and shown, never silently dropped
                        failures += 1
                        if failures <= 3:
                            print(f"verified lookup failed: {type(exc).__name__}: {exc}",
                                  file=sys.stderr)  # fmt: skip
                        continue
                    latencies.append(time.perf_counter() - t0)

            await asyncio.gather(*(task(k) for k in range(tasks)))
            return latencies, failures, time.perf_counter() - started

    out.put(asyncio.run(main()))


def run_verified(base: str, labels: int, duration: float, connections: int,
                 procs: int) -> dict[str, Any]:  # fmt: skip
    ctx = multiprocessing.get_context("spawn")
    queue = ctx.Queue()
    per = max(1, connections // procs)
    workers = [
        ctx.Process(target=_verify_worker, args=(base, labels, duration, per, p * 1_000_003, queue))
        for p in range(procs)
    ]
    for w in workers:
        w.start()
    results = []
    try:
        for _ in workers:
            results.append(queue.get(timeout=duration + 120))
    finally:
        for w in workers:
            w.join(10)
            if w.is_alive():
                w.terminate()
    latencies = sorted(x for r in results for x in r[0])
    elapsed = max(r[2] for r in results)
    return summarize(latencies, elapsed, sum(r[1] for r in results))


def summarize(latencies: list[float], elapsed: float, errors: int) -> dict[str, Any]:
    latencies = sorted(latencies)
    if not latencies:
        return {"rate": 0.0, "p50": float("nan"), "p99": float("nan"), "n": 0, "errors": errors}
    q = statistics.quantiles(latencies, n=100, method="inclusive")
    return {
        "rate": len(latencies) / elapsed,
        "p50": q[49] * 1000,
        "p99": q[98] * 1000,
        "n": len(latencies),
        "errors": errors,
    }


# -- 5. updates ----------------------------------------------------------------------------------


def register_users(base: str, count: int) -> dict[str, str]:
    tokens = {}
    with httpx.Client(base_url=base, timeout=30) as http:
        for i in range(count):
            r = http.post("/api/auth/register", json={"user_id": user_id(i)},
                          headers={"Authorization": f"Bearer {ADMIN_TOKEN}"})  # fmt: skip
            r.raise_for_status()
            tokens[user_id(i)] = r.json()["token"]
    return tokens


async def _updates(base: str, tokens: dict[str, str], duration: float,
                   connections: int) -> dict[str, Any]:  # fmt: skip
    users = list(tokens)
    latencies: list[float] = []
    errors = 0
    limits = httpx.Limits(max_connections=connections, max_keepalive_connections=connections)
    async with httpx.AsyncClient(base_url=base, timeout=30, limits=limits) as http:
        started = time.perf_counter()
        deadline = started + duration

        async def task(k: int) -> None:
            nonlocal errors
            n = k
            while time.perf_counter() < deadline:
                user = users[n % len(users)]
                n += connections
                key = base64.b64encode(os.urandom(32)).decode()
                t0 = time.perf_counter()
                auth = {"Authorization": f"Bearer {tokens[user]}"}
                r = await http.post("/api/crypto/keys/identity", json={"key": key}, headers=auth)
                if r.status_code == 202:
                    latencies.append(time.perf_counter() - t0)
                else:
                    errors += 1

        await asyncio.gather(*(task(k) for k in range(connections)))
        return summarize(latencies, time.perf_counter() - started, errors)


def publish_drain(base: str, timeout: float = 120) -> tuple[float, int, float]:
    """Seconds until the queue is empty, epochs published, mean seconds per publish."""
    started = time.perf_counter()
    with httpx.Client(base_url=base, timeout=30) as http:
        while time.perf_counter() - started < timeout:
            if http.get("/readyz").json().get("queue_depth") == 0:
                break
            time.sleep(0.1)
        drained = time.perf_counter() - started
        metrics = http.get("/metrics").text
    values = {}
    for line in metrics.splitlines():
        if line.startswith(("glasskey_publish_seconds_sum", "glasskey_publish_seconds_count")):
            name, value = line.split()
            values[name] = float(value)
    count = int(values.get("glasskey_publish_seconds_count", 0))
    mean = values.get("glasskey_publish_seconds_sum", 0.0) / count if count else float("nan")
    return drained, count, mean


# -- the table ---------------------------------------------------------------------------------


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--labels", type=int, default=100_000)
    parser.add_argument("--duration", type=float, default=10.0, help="seconds per measurement")
    parser.add_argument("--connections", type=int, default=16, help="concurrent requests")
    parser.add_argument("--server-workers", type=int, default=1, help="glasskey serve --workers")
    parser.add_argument("--verify-procs", type=int, default=2, help="verifying client processes")
    parser.add_argument("--update-users", type=int, default=200)
    parser.add_argument("--skip-wrk", action="store_true")
    args = parser.parse_args()
    if args.labels < 1 or args.duration <= 0 or args.connections < 1:
        parser.error("--labels, --duration and --connections must be positive")

    cached = prepared_directory(args.labels)
    rows: list[tuple[str, dict[str, Any] | None, str]] = []
    with tempfile.TemporaryDirectory(prefix="glasskey-bench-http-") as tmp:
        work = Path(tmp)
        db = copy_directory(cached, work)
        port = free_port()
        base = f"http://127.0.0.1:{port}"
        log_path = work / "server.log"
        try:
            with server(db, port, args.server_workers, log_path) as proc:
                print(f"server pid {proc.pid} on {base} (log {log_path})", flush=True)
                if args.skip_wrk or shutil.which("wrk") is None:
                    note = "skipped" if args.skip_wrk else "wrk not installed (apt-get install wrk)"
                    rows.append(("raw lookup, JSON (wrk)", None, note))
                else:
                    for label, accept in (("JSON", None), ("protobuf", "application/x-protobuf")):
                        print(f"wrk: {label} lookups ...", flush=True)
                        result = run_wrk(base, args.labels, args.duration, args.connections,
                                         accept, work)  # fmt: skip
                        rows.append((f"raw lookup, {label} (wrk)", result, "lookups"))
                print("verified lookups ...", flush=True)
                verified = run_verified(base, args.labels, args.duration, args.connections,
                                        args.verify_procs)  # fmt: skip
                rows.append(("verified lookup (AsyncGlasskeyClient)", verified, "lookups"))
                print("updates ...", flush=True)
                tokens = register_users(base, min(args.update_users, args.labels))
                updates = asyncio.run(_updates(base, tokens, args.duration, args.connections))
                rows.append(("key update POST accepted", updates, "updates"))
                drained, epochs, mean_publish = publish_drain(base)
        except BaseException:
            if log_path.exists():
                sys.stderr.write(log_path.read_text(errors="replace")[-4000:])
            raise

    cpus = os.cpu_count()
    print()
    print(f"glasskey HTTP benchmark: {args.labels} labels, SQLite, {args.server_workers} server "
          f"process(es), {args.connections} connections, {args.duration:g}s each, "
          f"{cpus} CPUs shared by server and load")  # fmt: skip
    print(f"{'measurement':40} {'per second':>11} {'p50 ms':>8} {'p99 ms':>8} {'count':>8} "
          f"{'errors':>7}")  # fmt: skip
    print("-" * 86)
    for name, result, unit in rows:
        if result is None:
            print(f"{name:40} {unit}")
            continue
        print(f"{name:40} {result['rate']:>11.0f} {result['p50']:>8.1f} {result['p99']:>8.1f} "
              f"{result['n']:>8} {result['errors']:>7}")  # fmt: skip
    published = (
        f"{epochs} epoch(s), {mean_publish:.2f}s each on average"
        if epochs
        else "epoch metrics are per process; this one did not publish"
    )
    print(f"{'publisher: queue drained after':40} {drained:>10.1f}s  ({published})")
    print("-" * 86)
    ok = verified["rate"] >= GOAL_RATE and verified["p99"] < GOAL_P99_MS and not verified["errors"]
    print(f"goal: verified lookups >= {GOAL_RATE:.0f}/s with p99 < {GOAL_P99_MS:.0f} ms: "
          f"{verified['rate']:.0f}/s, p99 {verified['p99']:.1f} ms -> "
          f"{'OK' if ok else 'MISSED'}")  # fmt: skip
    return 0


if __name__ == "__main__":
    sys.exit(main())
