"""Every shell and Python snippet in ``README.md`` and ``docs/*.md`` runs (issue 14, item 6).

The harness and its conventions (skip markers, hidden set-up, ports, background servers)
are in ``tests/docs/_runner.py``. Each file runs in its own process and temporary folder
with this venv's ``bin`` first on ``PATH``; a new ``docs/*.md`` is picked up automatically.
The newcomer walkthrough (``tests/newcomer``) runs the same files against a venv made from
the built wheel.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from tests.docs._runner import parse

REPO = Path(__file__).resolve().parents[2]
RUNNER = Path(__file__).with_name("_runner.py")


def doc_files() -> list[Path]:
    return [REPO / "README.md", *sorted((REPO / "docs").glob("*.md"))]


def run_docs(path: Path, workdir: Path, python: str = sys.executable) -> str:
    """Run ``path``'s snippets with ``python``'s venv; the output, or a failed assertion."""
    proc = subprocess.Popen(
        [python, str(RUNNER), str(path), str(workdir)], stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT, text=True, start_new_session=True, cwd=workdir.parent,
        env={k: v for k, v in os.environ.items() if not k.startswith("GLASSKEY_")
             or k == "GLASSKEY_TEST_SESSION"},
    )  # fmt: skip
    try:
        output, _ = proc.communicate(timeout=900)
    finally:
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(proc.pid, signal.SIGKILL)  # whatever the snippets left running
    assert proc.returncode == 0, output
    return output


@pytest.mark.parametrize("path", doc_files(), ids=lambda p: p.relative_to(REPO).as_posix())
def test_doc_snippets_run(path: Path, tmp_path: Path) -> None:
    output = run_docs(path, tmp_path / "work")
    assert output.rstrip().splitlines()[-1].startswith(f"{path}: "), output


def test_every_doc_has_its_snippets_run_or_skipped_with_a_reason() -> None:
    for path in doc_files():
        snippets, skip_file = parse(path.read_text())
        assert skip_file is None, f"{path} is skipped whole: {skip_file}"
        for snippet in snippets:
            assert snippet.skip is None or snippet.skip.strip(), f"{path}:{snippet.line}"


def test_parser_conventions() -> None:
    text = (
        "intro\n\n```sh\necho one\n```\n\n<!-- doctest: skip (needs docker) -->\n"
        "```bash\ndocker compose up\n```\n\n<!-- doctest: setup\n```python\nx = 1\n```\n-->\n\n"
        "* a list item:\n\n  ```python\n  print(x)\n  ```\n\n```text\nnot run\n```\n"
    )
    snippets, skip_file = parse(text)
    assert skip_file is None
    assert [(s.line, s.lang, s.code, s.skip, s.hidden) for s in snippets] == [
        (3, "sh", "echo one\n", None, False),  # line: the opening fence's
        (8, "sh", "docker compose up\n", "needs docker", False),
        (13, "python", "x = 1\n", None, True),
        (20, "python", "print(x)\n", None, False),
    ]
    assert parse("<!-- doctest: skip-file (generated) -->\n")[1] == "generated"
