"""Finding Node and the compiled glasskey-web package for the cross-language tests.

The tests skip, with the reason shown, when Node or the package's dependencies are missing;
``make web`` (run by ``make test`` and ``.ci/run``) installs them with ``npm ci``.
"""

from __future__ import annotations

import shutil
import subprocess
from functools import cache
from pathlib import Path

import pytest

WEB = Path(__file__).resolve().parents[2] / "web"


@cache
def compiled_web() -> Path:
    """``web/build`` after one ``npm run compile`` per test session (tsc is incremental-free
    but takes a few seconds); skips when Node or ``web/node_modules`` is missing."""
    if shutil.which("node") is None or shutil.which("npm") is None:
        pytest.skip("node/npm not installed: the browser verifier cannot be tested (apt-get install nodejs npm)")
    if not (WEB / "node_modules").is_dir():
        pytest.skip("web/node_modules is missing: run `make web` (npm ci) first")
    subprocess.run(["npm", "run", "--silent", "compile"], cwd=WEB, check=True)
    return WEB / "build"
