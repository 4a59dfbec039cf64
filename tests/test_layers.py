"""The import contracts in pyproject.toml (run by ``make lint``) refuse a wrong-way import.

Each case copies the package, adds one import that breaks a rule, and runs ``lint-imports``
with the repository's own configuration against the copy: the run must fail and name both the
broken contract and the offending import. The unmodified copy must keep every contract.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
LINT_IMPORTS = Path(sys.executable).with_name("lint-imports")
LAYERS = "glasskey layers: imports point downwards only"


@pytest.fixture
def tree(tmp_path: Path) -> Path:
    """A copy of ``src/glasskey`` under ``tmp_path/src`` (and of the configuration beside it)
    that a case may break."""
    shutil.copy(REPO / "pyproject.toml", tmp_path)
    shutil.copytree(
        REPO / "src" / "glasskey",
        tmp_path / "src" / "glasskey",
        ignore=shutil.ignore_patterns("__pycache__"),
    )
    return tmp_path / "src"


def lint_imports(src: Path) -> tuple[int, str]:
    """Run lint-imports on the package in ``src``; its exit code and its output, unwrapped."""
    env = {**os.environ, "PYTHONPATH": str(src), "COLUMNS": "200", "NO_COLOR": "1"}
    result = subprocess.run(
        [str(LINT_IMPORTS), "--no-cache"],
        cwd=src.parent,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    return result.returncode, " ".join((result.stdout + result.stderr).split())


def add_line(src: Path, module: str, code: str) -> None:
    path = src / "glasskey" / module
    path.write_text(path.read_text() + "\n" + code + "\n")


def test_the_tree_as_it_is_keeps_every_contract(tree: Path) -> None:
    code, output = lint_imports(tree)
    assert code == 0, output
    assert "0 broken" in output


@pytest.mark.parametrize(
    ("module", "code", "contract", "offence"),
    [
        (
            "core/errors.py",
            "import glasskey.server",
            LAYERS,
            "glasskey.core.errors -> glasskey.server",
        ),
        # A function-level import is an import all the same.
        (
            "log/note.py",
            "def _late() -> None:\n    import glasskey.client._client",
            LAYERS,
            "glasskey.log.note -> glasskey.client._client",
        ),
        (
            "server/_rootlog.py",
            "from glasskey.client import GlasskeyClient",
            "the server never imports the client it is checked by",
            "glasskey.server._rootlog -> glasskey.client",
        ),
        (
            "client/_state.py",
            "import glasskey.storage",
            "glasskey.client uses only core, log and api",
            "glasskey.client._state -> glasskey.storage",
        ),
        (
            "core/ecvrf.py",
            "import httpx",
            "core, log and api stay pure",
            "glasskey.core.ecvrf -> httpx",
        ),
        (
            "server/_settings.py",
            "def _late() -> None:\n    from glasskey.server import _service as service",
            "no import cycles between the modules of any glasskey package",
            "No cycles are allowed in glasskey.server",
        ),
    ],
)
def test_a_wrong_way_import_fails_the_lint_and_names_the_contract(
    tree: Path, module: str, code: str, contract: str, offence: str
) -> None:
    add_line(tree, module, code)
    status, output = lint_imports(tree)
    assert status != 0, output
    broken = output.split("Broken contracts", 1)[1]
    assert contract in broken, output
    assert offence in broken, output
