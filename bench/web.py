"""Benchmark of the browser verifier in Chromium (prints a table; not a test).

Run: ``make bench`` or ``.venv/bin/python bench/web.py`` after ``make web``. Builds a real
directory in-process (memory storage), gives one user ten key versions, and has Debian's
Chromium verify its lookup answer and its complete history (10 versions) with the built
``glasskey-web.js`` bundle (web/tools/bench.ts), cold (caches cleared before every call)
and as a repeated lookup (VRF and checkpoint memo warm). Cold figures as the client verifies
(WebCrypto checks the Ed25519 signatures first, ``preverifySignatures``) and with noble's
Ed25519 alone (browsers without WebCrypto Ed25519). Also prints the gzipped size of
the bundles the server ships.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
# This folder holds bench/http.py, which would shadow the standard library's http package.
sys.path[:] = [str(ROOT), *(p for p in sys.path if Path(p or ".").resolve() != ROOT / "bench")]

from glasskey.client import GlasskeyClient
from tests.server.conftest import make_harness

GOALS = {"lookup verify, cold": 5.0, "bundle gzipped (KB)": 40.0}
WEBUI = ROOT / "src" / "glasskey" / "server" / "webui"


def main() -> None:
    chromium = shutil.which("chromium")
    if chromium is None or not (WEBUI / "glasskey-web.js").is_file():
        print("bench/web.py: needs chromium and `make web` (the built bundle); skipped")
        return
    for h in make_harness(user_write_limit=10_000):
        token = h.register("alice")
        for i in range(10):
            h.upload("alice", token, f"alice-device-{i}-key".encode())
            h.publish()
        http = h.http
        with GlasskeyClient("http://testserver", transport=http._transport) as client:
            trust = client.trust()
        cases = {
            "trust": {"origin": trust.origin, "log_public_key": trust.log_public_key,
                      "vrf_public_key": trust.vrf_public_key.hex(),
                      "configuration": trust.configuration},
            "user_id": "alice",
            "bundle": http.get("/api/crypto/bundles/alice").json(),
            "history": http.get("/api/crypto/history/alice").json(),
        }  # fmt: skip
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "cases.json"
        path.write_text(json.dumps(cases))
        run = subprocess.run(
            ["node", str(ROOT / "web" / "build" / "tools" / "bench.js"), str(path),
             str(WEBUI / "glasskey-web.js")],
            capture_output=True, text=True, check=True, env={**os.environ, "CHROMIUM": chromium},
        )  # fmt: skip
    got = json.loads(run.stdout)
    sizes = json.loads((WEBUI / "sri.json").read_text())
    print(f"Chromium: {got['user_agent']}")
    print(f"load: {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores (figures scale with it)")
    print(f"WebCrypto Ed25519: {'yes' if got['webcrypto_ed25519'] else 'no (noble verifies)'}")
    rows = [
        ("lookup verify, cold", got["lookup_cold"]["median_ms"], "ms"),
        ("  noble Ed25519 only", got["lookup_cold_noble"]["median_ms"], "ms"),
        ("lookup verify, repeated (memo)", got["lookup_repeat"]["median_ms"], "ms"),
        (f"history({got['versions']}) verify, cold", got["history_cold"]["median_ms"], "ms"),
        ("  noble Ed25519 only", got["history_cold_noble"]["median_ms"], "ms"),
        ("bundle gzipped (KB)", sizes["glasskey-web.js"]["gzip_bytes"] / 1024, "KB"),
        ("UI app.js gzipped (KB)", sizes["app.js"]["gzip_bytes"] / 1024, "KB"),
    ]
    for name, value, unit in rows:
        goal = GOALS.get(name)
        verdict = (
            "" if goal is None else f"  (goal <= {goal:g}: {'ok' if value <= goal else 'MISSED'})"
        )
        print(f"{name:34s} {value:8.2f} {unit}{verdict}")


if __name__ == "__main__":
    main()
