"""Run every shell and Python snippet of a Markdown file, in order, as a reader would.

This is the doc-test harness (``tests/docs/test_snippets.py`` runs it for ``README.md`` and
every ``docs/*.md``; the newcomer walkthrough runs it with a venv made from the wheel). It is
a script using only the standard library, so it runs under any venv's Python:

    python tests/docs/_runner.py FILE.md WORKDIR

Conventions (what a doc author needs to know):

* Fenced blocks tagged ``sh``, ``bash``, ``shell``, ``python`` or ``py`` run; any other tag
  (``text``, ``console``, ``json``, none) is shown, not run. Blocks run top to bottom, one
  file per fresh temporary working folder, with the venv's ``bin`` first on ``PATH`` (so
  ``glasskey`` and ``python3`` are the installed ones) and no ``GLASSKEY_*`` variable set.
* Shell blocks run with ``bash -e -o pipefail``; what a block ``export``\\ s is seen by
  later blocks (shell and Python). Python blocks share one namespace per file, like one
  interpreter session; changes to ``os.environ`` are seen by later shell blocks.
* ``127.0.0.1:8080`` and ``127.0.0.1:8788`` (and ``--port 8080`` / ``--port 8788``) are
  replaced by free ports, the same ones throughout a file, so files can run in parallel.
* A server a snippet starts in the background (``glasskey serve ... &``) must send its
  output to a file (``> serve.log 2>&1 &``); every process a file started is killed (its
  whole process group) when the file is done, pass or fail.
* ``<!-- doctest: skip (reason) -->`` on the line(s) before a block skips that block (other
  one-line HTML comments may stand between them);
  ``<!-- doctest: skip-file (reason) -->`` anywhere skips the file. Say why: a block that
  cannot run here (``make test`` itself, docker, a production URL).
* ``<!-- doctest: setup`` ... ``-->`` is hidden set-up: the fenced blocks inside that comment
  run in their place but are not rendered (a server the snippet below talks to, a proof file
  it verifies).
* Each block must finish within ``DOCTEST_TIMEOUT`` seconds (default 120).
"""

from __future__ import annotations

import contextlib
import os
import re
import signal
import socket
import subprocess
import sys
import tempfile
import textwrap
import time
import traceback
from dataclasses import dataclass
from pathlib import Path

RUN_LANGS = {"sh": "sh", "bash": "sh", "shell": "sh", "python": "python", "py": "python"}
FENCE = re.compile(r"^(?P<indent>[ \t]*)(?P<fence>```+|~~~+)[ \t]*(?P<lang>[\w+-]*)[^\n]*$")
SKIP = re.compile(r"<!--\s*doctest:\s*skip\s*\((?P<reason>[^)]*)\)\s*-->")
SKIP_FILE = re.compile(r"<!--\s*doctest:\s*skip-file\s*\((?P<reason>[^)]*)\)\s*-->")
# A one-line HTML comment between a skip marker and its block (another tool's marker, such as
# ``<!-- integration-example: NAME -->``) does not end the marker's reach.
OTHER_COMMENT = re.compile(r"^\s*<!--.*-->\s*$")
SETUP_OPEN = re.compile(r"^\s*<!--\s*doctest:\s*setup\s*$")
PORTS = {"8080": "DOC_PORT", "8788": "DOC_AUDITOR_PORT"}


@dataclass
class Snippet:
    line: int  # of the opening fence (1-based)
    lang: str  # "sh" or "python"
    code: str
    skip: str | None = None
    hidden: bool = False


def parse(text: str) -> tuple[list[Snippet], str | None]:
    """The runnable snippets of a Markdown text, and the file's skip reason (if any)."""
    whole = SKIP_FILE.search(text)
    lines = text.splitlines()
    snippets: list[Snippet] = []
    pending_skip: str | None = None
    hidden = False
    i = 0
    while i < len(lines):
        line = lines[i]
        if SETUP_OPEN.match(line):
            hidden = True
            i += 1
            continue
        if hidden and line.strip() == "-->":
            hidden = False
            i += 1
            continue
        skip = SKIP.search(line)
        if skip:
            pending_skip = skip.group("reason").strip() or "no reason given"
            i += 1
            continue
        match = FENCE.match(line)
        if not match:
            if line.strip() and not OTHER_COMMENT.match(line):
                pending_skip = None  # a marker applies to the block right after it
            i += 1
            continue
        fence, indent = match.group("fence"), match.group("indent")
        body: list[str] = []
        start = i + 1
        i += 1
        while i < len(lines) and not lines[i].strip().startswith(fence):
            body.append(lines[i])
            i += 1
        i += 1  # the closing fence
        lang = RUN_LANGS.get(match.group("lang").lower())
        if lang is not None:
            code = textwrap.dedent("\n".join(b[len(indent):] if b.startswith(indent) else b
                                              for b in body))  # fmt: skip
            snippets.append(Snippet(start, lang, code + "\n", pending_skip, hidden))
        pending_skip = None
    return snippets, (whole.group("reason").strip() if whole else None)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def with_ports(code: str, ports: dict[str, int]) -> str:
    for fixed, _ in PORTS.items():
        port = str(ports[fixed])
        code = re.sub(rf"(127\.0\.0\.1:|localhost:|--port[ =]){fixed}\b", rf"\g<1>{port}", code)
    return code


class Session:
    """One Markdown file's run: its environment, Python namespace and process groups."""

    def __init__(self, workdir: Path, timeout: float) -> None:
        self.workdir = workdir
        self.timeout = timeout
        # No GLASSKEY_* setting leaks in from the caller, except the test suite's mark
        # (tests/_leftovers.py), by which a process a snippet forgot is still found.
        self.env = {k: v for k, v in os.environ.items()
                    if not k.startswith("GLASSKEY_") or k == "GLASSKEY_TEST_SESSION"}  # fmt: skip
        self.env["XDG_STATE_HOME"] = str(workdir / ".state")  # client state stays in here
        self.env["PYTHONUNBUFFERED"] = "1"
        bin_dir = str(Path(sys.executable).parent)  # the venv's bin (not resolved: a symlink)
        self.env["PATH"] = f"{bin_dir}{os.pathsep}{self.env.get('PATH', '')}"
        self.ports = {fixed: free_port() for fixed in PORTS}
        for fixed, name in PORTS.items():
            self.env[name] = str(self.ports[fixed])
        self.namespace: dict[str, object] = {"__name__": "__doctest__"}
        self.groups: list[int] = []

    def run_shell(self, code: str) -> tuple[bool, str]:
        env_file = self.workdir / ".doctest-env"
        script = f"{code}\n__doctest_status=$?\nenv -0 > {env_file}\nexit $__doctest_status\n"
        with tempfile.TemporaryFile() as out:
            proc = subprocess.Popen(
                ["bash", "-e", "-o", "pipefail", "-c", script], cwd=self.workdir, env=self.env,
                stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                start_new_session=True,
            )  # fmt: skip
            self.groups.append(proc.pid)
            try:
                status = proc.wait(self.timeout)
            except subprocess.TimeoutExpired:
                kill_group(proc.pid)
                status = -1
            out.seek(0)
            output = out.read().decode(errors="replace")
        if status == -1:
            return False, output + f"\n[timed out after {self.timeout:g} s]"
        if status == 0 and env_file.exists():
            pairs = env_file.read_bytes().split(b"\0")
            self.env = dict(p.decode(errors="replace").split("=", 1) for p in pairs if b"=" in p)
            for name in ("_", "SHLVL", "PWD", "OLDPWD", "__doctest_status"):
                self.env.pop(name, None)
            env_file.unlink()
        return status == 0, output

    def run_python(self, code: str, line: int, path: Path) -> tuple[bool, str]:
        saved = dict(os.environ)
        os.environ.clear()
        os.environ.update(self.env)
        os.chdir(self.workdir)
        try:
            exec(compile(code, f"{path}:{line}", "exec"), self.namespace)
            return True, ""
        except BaseException:
            return False, traceback.format_exc()
        finally:
            self.env = dict(os.environ)
            os.environ.clear()
            os.environ.update(saved)

    def close(self) -> None:
        for group in self.groups:
            kill_group(group, signal.SIGTERM)
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline and any(alive(g) for g in self.groups):
            time.sleep(0.1)
        for group in self.groups:
            kill_group(group)


def alive(group: int) -> bool:
    try:
        os.killpg(group, 0)
        return True
    except (ProcessLookupError, PermissionError):
        return False


def kill_group(group: int, sig: signal.Signals = signal.SIGKILL) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(group, sig)


def run_file(path: Path, workdir: Path, timeout: float) -> int:
    snippets, skip_file = parse(path.read_text())
    if skip_file:
        print(f"{path}: skipped ({skip_file})")
        return 0
    session = Session(workdir, timeout)
    ran = skipped = 0
    try:
        for snippet in snippets:
            where = f"{path}:{snippet.line}"
            if snippet.skip:
                print(f"{where}: skipped ({snippet.skip})", flush=True)
                skipped += 1
                continue
            code = with_ports(snippet.code, session.ports)
            if snippet.lang == "sh":
                ok, output = session.run_shell(code)
            else:
                ok, output = session.run_python(code, snippet.line, path)
            ran += 1
            if not ok:
                print(f"{where}: {snippet.lang} snippet FAILED\n--- snippet ---\n{code}"
                      f"--- output ---\n{output}", flush=True)  # fmt: skip
                return 1
            print(f"{where}: ok ({snippet.lang}{', hidden set-up' if snippet.hidden else ''})",
                  flush=True)  # fmt: skip
    finally:
        session.close()
    print(f"{path}: {ran} snippet(s) ran, {skipped} skipped")
    return 0


def main() -> int:
    path, workdir = Path(sys.argv[1]).resolve(), Path(sys.argv[2]).resolve()
    workdir.mkdir(parents=True, exist_ok=True)
    return run_file(path, workdir, float(os.environ.get("DOCTEST_TIMEOUT", "120")))


if __name__ == "__main__":
    sys.exit(main())
