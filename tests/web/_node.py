"""Finding Node and the compiled glasskey-web package for the cross-language tests.

The tests skip, with the reason shown, when Node or the package's dependencies are missing;
``make web`` (run by ``make test`` and ``.ci/run``) installs them with ``npm ci``.
"""

from __future__ import annotations

import fcntl
import shutil
import subprocess
from functools import cache
from pathlib import Path

import pytest

WEB = Path(__file__).resolve().parents[2] / "web"


def _newest_source() -> float:
    sources = [
        p for d in ("src", "test", "tools", "ui") for p in (WEB / d).rglob("*") if p.is_file()
    ]
    return max(p.stat().st_mtime for p in sources)


def npm_run(script: str, output: Path) -> None:
    """``npm run SCRIPT`` unless ``output`` is newer than every source file; under a file
    lock, so that parallel test workers never build into the same folder at once."""
    with open(WEB / ".build.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if not output.exists() or output.stat().st_mtime < _newest_source():
            subprocess.run(["npm", "run", "--silent", script], cwd=WEB, check=True)


@cache
def compiled_web() -> Path:
    """``web/build``, compiled (tsc) if older than the sources; skips, with the reason, when
    Node or ``web/node_modules`` is missing."""
    if shutil.which("node") is None or shutil.which("npm") is None:
        pytest.skip("node/npm not installed: the browser verifier cannot be tested")
    if not (WEB / "node_modules").is_dir():
        pytest.skip("web/node_modules is missing: run `make web` (npm ci) first")
    npm_run("compile", WEB / "build" / "tools" / "browser.js")
    return WEB / "build"
