"""HTTP benchmark of a real ``glasskey serve`` on loopback: prints one table.

    .venv/bin/python bench/http.py [--labels 100000] [--duration 10] [--connections 16]
                                   [--server-workers 2] [--verify-procs 2] [--skip-wrk]
                                   [--postgres postgresql://postgres@127.0.0.1/postgres]

What it does, in order (everything on 127.0.0.1; the server is terminated even on failure):

1. **Directory.** Builds a directory of ``--labels`` users (``user000000``, ``user000001``, …,
   each with a random 32-byte key) by publishing straight through ``glasskey.directory.
   Directory`` into a SQLite file, in batches of 25k (the VRF runs in a process pool), then
   stores the lookups' VRF proofs as the server's publisher does between epochs. The result
   is cached under ``~/.cache/glasskey-bench/whatsapp_v1-N-sqlite-v3/`` with the VRF seed it
   was built with and copied into a temporary folder for each run, so reruns start in
   seconds and every run starts from the same state. With ``--postgres ADMIN_URL`` the
   directory is built into a template database ``glasskey_bench_tN_v3`` on that server and
   each run serves a fresh clone of it (``CREATE DATABASE … TEMPLATE``, dropped after).
2. **Server.** ``glasskey serve --db COPY --rate-limit 0 --user-write-limit 0
   --write-rate-limit 0 --workers W`` (the read and write limits would otherwise throttle a
   single-address load generator). The VRF seed is handed over
   the way a development server finds it — ``glasskey-vrf-key.hex`` next to the database —
   and the server creates its own dev signing key and signs the root log and checkpoint.
3. **Verified lookups** with ``wrk`` (``apt-get install -y wrk``; skipped with a note if it
   is missing), the load generator: ``GET /api/crypto/bundles/{user}`` rotating over all
   user ids, JSON. Throughput and p50/p99 are wrk's. Its Lua script writes **every** 2xx
   body to disk; afterwards each one is verified with the client's own checks
   (``glasskey.client._verify.verify_bundle``: key, AKD lookup proof with its VRF proofs,
   checkpoint signature, root-log inclusion) in ``--verify-procs`` processes. A response
   that fails, a non-2xx answer or a body not recorded fails the goal. Then the same with
   ``Accept: application/x-protobuf`` (not recorded: the same proofs, other encoding).
4. **End-to-end verifying clients**: ``--verify-procs`` processes, each running an
   ``AsyncGlasskeyClient`` with ``--connections / procs`` concurrent tasks; one call = fetch
   + full verification + client state update. Here the clients' verification (Python, about
   1-2 ms of CPU per lookup, mostly VRF and HTTP-client work) runs on the same cores as the
   server, so this row measures the machine, not the server.
5. **Updates**: ``--update-users`` users are registered through ``POST /api/auth/register``
   with the admin token, then ``--connections`` concurrent tasks ``POST
   /api/crypto/keys/identity`` new keys for ``--duration`` seconds; accepted (202) per second
   is reported, then the time the publisher needs to drain the queue into epochs.

The goal line (from the issue): at least 1,000 verified lookups/s with p99 under 50 ms,
against the wrk row of step 3 with every response verified.
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
from urllib.parse import urlsplit, urlunsplit

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))

import secrets

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
RUN_DATABASE = "glasskey_bench_run"  # PostgreSQL: the per-run clone of the template


def user_id(i: int) -> str:
    return f"user{i:06d}"


# -- 1. the directory ------------------------------------------------------------------------------


def _postgres_url(admin_url: str, database: str) -> str:
    parts = urlsplit(admin_url)
    return urlunsplit(parts._replace(path="/" + database))


def _template_name(labels: int) -> str:
    return f"glasskey_bench_t{labels}_v3"


def _postgres_admin(admin_url: str, *statements: str) -> list[list[Any]]:
    """Run each statement on the admin connection; the rows each one returned."""
    import psycopg

    out = []
    with psycopg.connect(admin_url, autocommit=True) as conn:
        for sql in statements:
            cursor = conn.execute(sql)
            out.append(cursor.fetchall() if cursor.description else [])
    return out


def prepared_directory(labels: int, postgres: str | None = None) -> Path:
    """The cached folder holding the VRF seed, the audit blobs and (SQLite) ``glasskey.db``.

    With ``postgres`` (an admin URL) the directory goes into a template database instead,
    which each run clones (``CREATE DATABASE … TEMPLATE``, a file copy) so that every run
    starts from the same state there too.
    """
    kind = "pg" if postgres else "sqlite"
    folder = CACHE / f"{CONFIG_NAME}-{labels}-{kind}-v3"  # v3: schema 2, VRF proofs stored
    template = _template_name(labels)
    if (folder / "complete").exists() and (
        not postgres
        or _postgres_admin(postgres, f"SELECT 1 FROM pg_database WHERE datname = '{template}'")[0]
    ):
        return folder
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir(parents=True)
    seed = os.urandom(32)
    (folder / VRF_FILE).write_text(seed.hex() + "\n")
    os.chmod(folder / VRF_FILE, 0o600)
    db = folder / "glasskey.db"
    url = f"sqlite:///{db}"
    if postgres:
        _postgres_admin(postgres, f"DROP DATABASE IF EXISTS {template}",
                        f"CREATE DATABASE {template}")  # fmt: skip
        url = _postgres_url(postgres, template)
    print(f"building a {labels}-label directory in {folder} (cached for next time) ...", flush=True)
    started = time.perf_counter()
    directory = Directory.open(
        url,
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


def copy_directory(src: Path, dst: Path, labels: int, postgres: str | None) -> str:
    """Copy the cached directory for one run; returns the ``--db`` URL to serve."""
    for item in src.iterdir():
        if item.name == "complete":
            continue
        if item.is_dir():
            shutil.copytree(item, dst / item.name)
        else:
            shutil.copy2(item, dst / item.name)
    if postgres is None:
        return f"sqlite:///{dst / 'glasskey.db'}"
    template = _template_name(labels)
    _postgres_admin(postgres, f"DROP DATABASE IF EXISTS {RUN_DATABASE}",
                    f"CREATE DATABASE {RUN_DATABASE} TEMPLATE {template}")  # fmt: skip
    return _postgres_url(postgres, RUN_DATABASE)


# -- 2. the server -----------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextmanager
def server(db_url: str, work: Path, port: int, workers: int,
           log_path: Path) -> Iterator[subprocess.Popen[bytes]]:  # fmt: skip
    env = dict(os.environ, GLASSKEY_ADMIN_TOKEN=ADMIN_TOKEN)
    for var in ("GLASSKEY_SIGNING_KEY", "GLASSKEY_VRF_KEY"):
        env.pop(var, None)  # dev key files: next to a SQLite file, else in the working folder
    cmd = [
        str(Path(sys.executable).with_name("glasskey")), "serve", "--db", db_url,
        "--blob-dir", str(work / "glasskey.audit"),
        "--host", "127.0.0.1", "--port", str(port), "--rate-limit", "0",
        # A load generator is one address and a few users: the per-address read limit and
        # the write limits would measure themselves, not the server.
        "--user-write-limit", "0", "--write-rate-limit", "0",
        "--epoch-interval", "1", "--log-level", "warning", "--workers", str(workers),
    ]  # fmt: skip
    log = log_path.open("wb")
    proc = subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT, env=env, cwd=work,
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
local record = %(record)s
thread_id = 0  -- a global: setup() gives each thread its own through thread:set
local threads = {}
local out = nil
function setup(thread)
  thread:set("thread_id", #threads)
  table.insert(threads, thread)
end
function init(args)
  counter = thread_id * 7919
  if record then
    out = io.open(record .. "/bodies-" .. thread_id .. ".jsonl", "w")
    out:setvbuf("line")
  end
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
    "RESULT {\\"requests\\": %%d, \\"duration_us\\": %%d, \\"p50_us\\": %%d, "
    .. "\\"p99_us\\": %%d, \\"errors\\": %%d, \\"non2xx\\": %%d}\\n",
    summary.requests, summary.duration, latency:percentile(50), latency:percentile(99),
    summary.errors.connect + summary.errors.read + summary.errors.write
      + summary.errors.timeout, non2xx))
end
non2xx = 0
function response(status, headers, body)
  if status < 200 or status > 299 then
    non2xx = non2xx + 1
  elseif out then
    out:write(body, "\\n")
  end
end
"""


def run_wrk(base: str, labels: int, duration: float, connections: int, accept: str | None,
            workdir: Path, record: Path | None = None) -> dict[str, Any]:  # fmt: skip
    """wrk's figures; with ``record`` every 2xx body is also written there (one per line)."""
    script = workdir / ("wrk-proto.lua" if accept else "wrk-json.lua")
    accept_lua = f'"{accept}"' if accept else "nil"
    record_lua = f'"{record}"' if record else "nil"
    script.write_text(WRK_SCRIPT % {"labels": labels, "accept": accept_lua, "record": record_lua})
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


def _verify_bodies(args: tuple[dict[str, Any], list[str]]) -> tuple[int, list[str]]:
    """Verify recorded bundle responses exactly as the client does (one worker process)."""
    from glasskey.client import Trust, VerificationPolicy
    from glasskey.client._verify import verify_bundle

    trust_fields, lines = args
    trust = Trust(
        **{**trust_fields, "vrf_public_key": bytes.fromhex(trust_fields["vrf_public_key"])}
    )
    # Recorded answers are verified later than they were served: no freshness check, and no
    # previous head (each body stands alone).
    policy = VerificationPolicy(trust=trust, max_age=None)
    verified, problems = 0, []
    for line in lines:
        try:
            body = json.loads(line)
            # Each response must verify for the user it names: key, lookup proof (its three
            # VRF proofs and four tree paths), checkpoint signature, root-log inclusion.
            verify_bundle(policy, body["user_id"], body, None)
            verified += 1
        except Exception as exc:  # counted and shown, never silently dropped
            problems.append(f"{type(exc).__name__}: {exc}"[:200])
    return verified, problems


def verify_recorded(base: str, folder: Path, expected: int, procs: int) -> dict[str, Any]:
    """Verify every body wrk recorded; missing bodies (fewer than wrk counted) are errors."""
    keys = httpx.get(base + "/api/transparency/keys", timeout=30).json()
    trust = {
        "origin": keys["origin"], "log_public_key": keys["log_public_key"],
        "vrf_public_key": keys["vrf_public_key"], "configuration": keys["configuration"],
        "domain_label": keys["domain_label"].encode() if keys.get("domain_label") else None,
    }  # fmt: skip
    lines = [
        line for f in sorted(folder.glob("bodies-*.jsonl"))
        for line in f.read_text().splitlines() if line
    ]  # fmt: skip
    chunks = [(trust, lines[i :: procs * 8]) for i in range(procs * 8)]
    started = time.perf_counter()
    with multiprocessing.get_context("spawn").Pool(procs) as pool:
        results = pool.map(_verify_bodies, chunks)
    seconds = time.perf_counter() - started
    verified = sum(r[0] for r in results)
    problems = [p for r in results for p in r[1]]
    for problem in problems[:3]:
        print(f"recorded response failed verification: {problem}", file=sys.stderr)
    return {
        "verified": verified, "recorded": len(lines), "failed": len(problems),
        "missing": max(0, expected - len(lines)), "seconds": seconds,
    }  # fmt: skip


# -- 4. verified lookups -----------------------------------------------------------------------


def _verify_worker(base: str, labels: int, duration: float, tasks: int, offset: int,
                   out: Any) -> None:  # fmt: skip
    from glasskey.client import AsyncGlasskeyClient, VerificationPolicy

    async def main() -> tuple[list[float], int, float]:
        latencies: list[float] = []
        failures = 0
        policy = VerificationPolicy(max_age=3600.0)  # trust on first use, fresh heads only
        async with AsyncGlasskeyClient(base, policy=policy, timeout=30.0) as client:
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
                body = {"key": key, "upload_id": secrets.token_hex(16)}
                r = await http.post("/api/crypto/keys/identity", json=body, headers=auth)
                if r.status_code == 202:
                    latencies.append(time.perf_counter() - t0)
                else:
                    errors += 1

        await asyncio.gather(*(task(k) for k in range(connections)))
        return summarize(latencies, time.perf_counter() - started, errors)


def publish_drain(base: str, timeout: float = 120) -> tuple[float, float]:
    """Seconds until the queue is empty; mean seconds per publish if the process that
    answered /metrics is the publisher (metrics are per process), else NaN."""
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
    return drained, mean


# -- the table ---------------------------------------------------------------------------------


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--labels", type=int, default=100_000)
    parser.add_argument("--duration", type=float, default=10.0, help="seconds per measurement")
    parser.add_argument("--connections", type=int, default=16, help="concurrent requests")
    parser.add_argument("--server-workers", type=int, default=2, help="glasskey serve --workers")
    parser.add_argument("--verify-procs", type=int, default=2, help="verifying client processes")
    parser.add_argument("--update-users", type=int, default=200)
    parser.add_argument("--skip-wrk", action="store_true")
    parser.add_argument("--postgres", metavar="ADMIN_URL",
                        help="serve from PostgreSQL (e.g. postgresql://postgres@127.0.0.1/postgres;"
                        " template and per-run databases are created there)")  # fmt: skip
    args = parser.parse_args()
    if args.labels < 1 or args.duration <= 0 or args.connections < 1:
        parser.error("--labels, --duration and --connections must be positive")

    cached = prepared_directory(args.labels, args.postgres)
    rows: list[tuple[str, dict[str, Any] | None, str]] = []
    with tempfile.TemporaryDirectory(prefix="glasskey-bench-http-") as tmp:
        work = Path(tmp)
        db_url = copy_directory(cached, work, args.labels, args.postgres)
        port = free_port()
        base = f"http://127.0.0.1:{port}"
        log_path = work / "server.log"
        try:
            with server(db_url, work, port, args.server_workers, log_path) as proc:
                print(f"server pid {proc.pid} on {base} (log {log_path})", flush=True)
                checked: dict[str, Any] | None = None
                if args.skip_wrk or shutil.which("wrk") is None:
                    note = "skipped" if args.skip_wrk else "wrk not installed (apt-get install wrk)"
                    rows.append(("lookup, JSON (wrk)", None, note))
                else:
                    print("wrk: JSON lookups, recording every response ...", flush=True)
                    record = work / "bodies"
                    record.mkdir()
                    looked_up = run_wrk(base, args.labels, args.duration, args.connections,
                                        None, work, record)  # fmt: skip
                    rows.append(("lookup, JSON (wrk)", looked_up, "lookups"))
                    print("verifying every recorded response ...", flush=True)
                    checked = verify_recorded(
                        base, record, looked_up["n"] - looked_up["errors"], args.verify_procs
                    )
                    shutil.rmtree(record)
                    print("wrk: protobuf lookups ...", flush=True)
                    proto = run_wrk(base, args.labels, args.duration, args.connections,
                                    "application/x-protobuf", work)  # fmt: skip
                    rows.append(("lookup, protobuf (wrk)", proto, "lookups"))
                print("end-to-end verifying clients ...", flush=True)
                client = run_verified(base, args.labels, args.duration, args.connections,
                                      args.verify_procs)  # fmt: skip
                rows.append(("lookup + verify in AsyncGlasskeyClient", client, "lookups"))
                print("updates ...", flush=True)
                tokens = register_users(base, min(args.update_users, args.labels))
                size_before = httpx.get(base + "/api/transparency/root").json()["tree_size"]
                updates = asyncio.run(_updates(base, tokens, args.duration, args.connections))
                rows.append(("key update POST accepted", updates, "updates"))
                drained, mean_publish = publish_drain(base)
                epochs = httpx.get(base + "/api/transparency/root").json()["tree_size"]
                epochs -= size_before
        except BaseException:
            if log_path.exists():
                sys.stderr.write(log_path.read_text(errors="replace")[-4000:])
            raise
        finally:
            if args.postgres:
                _postgres_admin(args.postgres, f"DROP DATABASE IF EXISTS {RUN_DATABASE}")

    cpus = os.cpu_count()
    print()
    backend = "PostgreSQL" if args.postgres else "SQLite"
    print(f"glasskey HTTP benchmark: {args.labels} labels, {backend}, {args.server_workers} server "
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
    published = f"{epochs} epoch(s)" + (
        f", {mean_publish:.2f}s each on average" if mean_publish == mean_publish else ""
    )
    print(f"{'publisher: queue drained after':40} {drained:>10.1f}s  ({published})")
    print("-" * 86)
    if checked is None:
        print("goal: not measured (needs wrk)")
        return 1
    print(f"recorded responses verified (client checks, {args.verify_procs} processes, "
          f"{checked['seconds']:.1f}s): {checked['verified']} of {checked['recorded']}, "
          f"{checked['failed']} failed, {checked['missing']} not recorded")  # fmt: skip
    ok = (
        looked_up["rate"] >= GOAL_RATE and looked_up["p99"] < GOAL_P99_MS
        and not looked_up["errors"] and not checked["failed"] and not checked["missing"]
    )  # fmt: skip
    print(f"goal: >= {GOAL_RATE:.0f} verified lookups/s with p99 < {GOAL_P99_MS:.0f} ms: "
          f"{looked_up['rate']:.0f}/s, p99 {looked_up['p99']:.1f} ms, every response "
          f"verified: {'yes' if not checked['failed'] and not checked['missing'] else 'NO'} "
          f"-> {'OK' if ok else 'MISSED'}")  # fmt: skip
    print(f"(end-to-end, the verifying clients on the server's own {cpus} cores: "
          f"{client['rate']:.0f}/s, p99 {client['p99']:.1f} ms)")  # fmt: skip
    return 0


if __name__ == "__main__":
    sys.exit(main())
