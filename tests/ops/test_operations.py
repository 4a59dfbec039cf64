"""Operations (issue 14, item 3): what an operator sees, from real processes.

Every mistake a newcomer made is answered by one line on stderr and the documented exit code
(no traceback); every process logs JSON (every ``--workers`` process, the auditor too); the
auditor has ``/readyz`` and ``/metrics`` and says what a stuck verification waits for; the
first start says how to register the first user; ``serve --help`` names every environment
variable the server reads.
"""

from __future__ import annotations

import json
import re
import socket
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from glasskey.demo import free_port
from tests.conftest import POSTGRES_SKIP_REASON, POSTGRES_URL
from tests.security.procs import (
    AUDITOR_ADMIN_TOKEN,
    Process,
    cli,
    register_user,
    upload_key,
    wait_for,
)

SRC = Path(__file__).resolve().parents[2] / "src" / "glasskey"
WIDE = {"COLUMNS": "250", "TERM": "dumb"}  # help text unwrapped, no colour codes


def json_lines(log: str) -> list[dict[str, Any]]:
    """Every line of a process log, parsed: a line that is not a JSON object fails."""
    entries = []
    for line in log.splitlines():
        entry = json.loads(line)
        assert isinstance(entry, dict), line
        entries.append(entry)
    return entries


def only_line(text: str) -> str:
    """The one line of ``text`` that is not a JSON log entry (a start-up warning may come
    before a refusal); more than one, such as a traceback, fails."""
    lines = [line for line in text.splitlines() if not line.startswith("{")]
    assert len(lines) == 1, text
    return lines[0]


# -- one-line errors ---------------------------------------------------------------------------


@pytest.mark.parametrize("command", [["serve"], ["auditor", "serve"]])
def test_port_out_of_range_is_refused(tmp_path: Path, command: list[str]) -> None:
    done = cli(*command, "--port", "99999", cwd=tmp_path)
    assert done.returncode == 2
    assert only_line(done.stderr) == "error: --port must be between 1 and 65535, got 99999"
    assert list(tmp_path.iterdir()) == []  # refused before anything was created


@pytest.mark.parametrize(
    ("flag", "value", "line"),
    [
        ("--epoch-interval", "-1", "error: --epoch-interval must be a number above 0, got -1"),
        ("--epoch-interval", "0", "error: --epoch-interval must be a number above 0, got 0"),
        ("--epoch-interval", "nan", "error: --epoch-interval must be a number above 0, got nan"),
        ("--checkpoint-refresh", "-5", "error: --checkpoint-refresh must be a number above 0, "
         "got -5"),
        ("--auditor-retry-max", "0", "error: --auditor-retry-max must be a number above 0, got 0"),
        ("--rate-limit", "-1", "error: --rate-limit must be 0 (off) or above 0, got -1"),
    ],
)  # fmt: skip
def test_bad_intervals_are_refused(tmp_path: Path, flag: str, value: str, line: str) -> None:
    done = cli("serve", "--port", str(free_port()), flag, value, cwd=tmp_path)
    assert (done.returncode, only_line(done.stderr)) == (2, line)
    assert list(tmp_path.iterdir()) == []


@pytest.mark.postgres
def test_missing_postgres_database_is_one_line(tmp_path: Path) -> None:
    if not POSTGRES_URL:
        pytest.skip(POSTGRES_SKIP_REASON)
    name = f"glasskey_missing_{uuid.uuid4().hex[:8]}"
    base = POSTGRES_URL.split("?", 1)[0].rsplit("/", 1)[0]
    done = cli("serve", "--port", str(free_port()), "--db", f"{base}/{name}", cwd=tmp_path)
    assert done.returncode == 2
    line = only_line(done.stderr)
    assert re.fullmatch(
        rf'error: cannot connect to PostgreSQL [^ ]+:\d+/{name}: database "{name}" does not exist',
        line,
    ), line


@pytest.mark.parametrize(
    ("command", "request_line"),
    [
        (["auditor", "create-namespace", "ns"], "POST {url}/namespaces"),
        (["auditor", "publish", "-n", "ns", "--epoch", "1", "--digest", "11" * 32],
         "POST {url}/namespaces/ns/audits"),
    ],
)  # fmt: skip
def test_auditor_down_is_one_line(tmp_path: Path, command: list[str], request_line: str) -> None:
    url = f"http://127.0.0.1:{free_port()}"  # nobody listens there
    done = cli(*command, "--remote-url", url, cwd=tmp_path)
    assert done.returncode == 1
    assert only_line(done.stderr) == (
        f"error: {request_line.format(url=url)}: cannot reach the auditor "
        "([Errno 111] Connection refused)"
    )


@pytest.mark.parametrize(
    ("where", "reason"),
    [("folder", "unable to open database file"), ("missing/x.db", "File exists")],
)
def test_unwritable_state_is_one_line(tmp_path: Path, where: str, reason: str) -> None:
    (tmp_path / "folder").mkdir()
    (tmp_path / "missing").write_text("a file where a folder should be")
    state = tmp_path / where
    done = cli("lookup", "alice", "--server", "http://127.0.0.1:9", "--state", str(state),
               cwd=tmp_path)  # fmt: skip
    assert done.returncode == 2
    assert only_line(done.stderr) == (
        f"error: cannot use {state} as the client state (--state): {reason}"
    )


def test_register_without_admin_token_says_what_is_missing(
    tmp_path: Path, log_server: Callable[..., Process]
) -> None:
    server = log_server()
    done = cli("register", "alice", "--server", server.url, cwd=tmp_path,
               env={"GLASSKEY_ADMIN_TOKEN": ""})  # fmt: skip
    assert done.returncode == 2
    assert only_line(done.stderr) == (
        "error: registration needs the admin token (--admin-token or $GLASSKEY_ADMIN_TOKEN: "
        "the token the server was started with)"
    )


# -- start-up ----------------------------------------------------------------------------------


def test_first_start_without_admin_token_says_how_to_register(
    tmp_path: Path, log_server: Callable[..., Process]
) -> None:
    server = log_server(env={"GLASSKEY_ADMIN_TOKEN": ""})
    warnings = [e["msg"] for e in json_lines(server.log) if e["logger"] == "glasskey.serve"]
    assert warnings == [
        "nobody can register users: GLASSKEY_ADMIN_TOKEN is not set. Set it (any long random "
        "secret), restart, and register the first user with: glasskey register USER --server "
        f'{server.url} --admin-token "$GLASSKEY_ADMIN_TOKEN"'
    ]


def test_start_with_admin_token_prints_the_register_command(
    log_server: Callable[..., Process],
) -> None:
    server = log_server()
    lines = [e for e in json_lines(server.log) if e["logger"] == "glasskey.serve"]
    assert [(e["level"], e["msg"]) for e in lines] == [
        ("info", f'register users with: glasskey register USER --server {server.url} '
                 '--admin-token "$GLASSKEY_ADMIN_TOKEN"'),
    ]  # fmt: skip


def test_missing_auditor_token_is_said_once_at_start_up(
    log_server: Callable[..., Process],
) -> None:
    auditor_url = f"http://127.0.0.1:{free_port()}"
    server = log_server("--auditor-url", auditor_url, env={"GLASSKEY_AUDITOR_TOKEN": ""})
    said = [e["msg"] for e in json_lines(server.log) if "GLASSKEY_AUDITOR_TOKEN" in e["msg"]]
    assert said == [
        f"GLASSKEY_AUDITOR_TOKEN is not set: the auditor at {auditor_url} will refuse every "
        "epoch (401) until it is. Make one with `glasskey auditor owner-token`."
    ]


# Not read by ``glasskey serve``: the deliberately lying server of the demo and the tests
# (``LYING_SERVE_MAIN``) reads its own ``GLASSKEY_MALICIOUS_*`` variables; an operator never
# sets them, so ``serve --help`` does not advertise them.
NOT_SERVES = {SRC / "server" / "_malicious.py"}


def _env_vars(*paths: Path) -> set[str]:
    names: set[str] = set()
    for path in paths:
        files = path.rglob("*.py") if path.is_dir() else [path]
        for file in files:
            if file not in NOT_SERVES:
                names |= set(re.findall(r"GLASSKEY_[A-Z_]+[A-Z]", file.read_text()))
    return names


def test_serve_help_names_every_environment_variable(tmp_path: Path) -> None:
    names = _env_vars(SRC / "server", SRC / "keys.py")
    assert {"GLASSKEY_ADMIN_TOKEN", "GLASSKEY_SIGNING_KEY", "GLASSKEY_VRF_KEY",
            "GLASSKEY_AUDITOR_TOKEN", "GLASSKEY_SERVE_SETTINGS"} <= names  # fmt: skip
    shown = cli("serve", "--help", cwd=tmp_path, env=WIDE)
    assert shown.returncode == 0
    assert sorted(n for n in names if n not in shown.stdout) == []


def test_auditor_serve_help_names_every_environment_variable(tmp_path: Path) -> None:
    names = _env_vars(SRC / "auditor" / "_keys.py") | {
        "GLASSKEY_AUDITOR_ADMIN_TOKEN",
        "GLASSKEY_AUDITOR_DB",
    }
    shown = cli("auditor", "serve", "--help", cwd=tmp_path, env=WIDE)
    assert shown.returncode == 0
    assert sorted(n for n in names if n not in shown.stdout) == []


# -- logs --------------------------------------------------------------------------------------


def test_every_worker_logs_json(tmp_path: Path, log_server: Callable[..., Process]) -> None:
    server = log_server("--workers", "2")
    workers = wait_for(
        "both workers' start-up lines",
        lambda: {e["pid"] for e in json_lines(server.log) if e["msg"].endswith(" serving")}
        if server.log.count(" serving") >= 2 else None,
    )  # fmt: skip
    assert len(workers) == 2 and server.proc.pid not in workers
    token = register_user(server.url, "alice", tmp_path)
    done = upload_key(server.url, "alice", b"k1", token, str(tmp_path / "s.db"), tmp_path, 10)
    assert done.returncode == 0, done.stderr
    published = wait_for(
        "a published-epoch line",
        lambda: [e for e in json_lines(server.log) if e["msg"].startswith("published epoch")],
    )
    assert published[0]["pid"] in workers and published[0]["level"] == "info"


# -- the auditor -------------------------------------------------------------------------------


@pytest.fixture
def hanging_http() -> Iterator[str]:
    """An HTTP "server" that accepts connections and never answers."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(8)
    held: list[socket.socket] = []
    stop = threading.Event()

    def accept() -> None:
        listener.settimeout(0.2)
        while not stop.is_set():
            try:
                held.append(listener.accept()[0])
            except TimeoutError:
                continue

    thread = threading.Thread(target=accept, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{listener.getsockname()[1]}/blobs"
    stop.set()
    thread.join()
    for conn in held:
        conn.close()
    listener.close()


def _namespace(url: str, name: str, log_directory: str) -> None:
    body = {"name": name, "signature_version": 1, "log_directory": log_directory}
    operator = {"Authorization": f"Bearer {AUDITOR_ADMIN_TOKEN}"}
    httpx.post(f"{url}/namespaces", json=body, headers=operator).raise_for_status()


def _publish(url: str, name: str, timeout: float = 10) -> httpx.Response:
    operator = {"Authorization": f"Bearer {AUDITOR_ADMIN_TOKEN}"}
    body = {"epoch": 1, "digest": "22" * 32}  # the first epoch: proven from the empty tree
    return httpx.post(f"{url}/namespaces/{name}/audits", json=body, headers=operator,
                      timeout=timeout)  # fmt: skip


def test_auditor_logs_json_and_has_readyz_and_metrics(
    tmp_path: Path, auditor_server: Callable[..., tuple[Process, bytes]]
) -> None:
    auditor, _ = auditor_server("--stall-warning", "0.5")
    ready = httpx.get(f"{auditor.url}/readyz")
    assert (ready.status_code, ready.json()) == (200, {"status": "ready", "namespaces": 0})
    blobs = tmp_path / "no-blobs-here"
    blobs.mkdir()
    _namespace(auditor.url, "ns", str(blobs))
    first = _publish(auditor.url, "ns")
    assert (first.status_code, first.json()["error"]) == (503, "proof_unavailable")
    time.sleep(0.6)
    assert _publish(auditor.url, "ns").status_code == 503
    metrics = httpx.get(f"{auditor.url}/metrics").text
    assert 'glasskey_auditor_publish_refused_total{code="proof_unavailable"} 2' in metrics
    assert "glasskey_auditor_epochs_signed_total 0" in metrics
    assert "glasskey_auditor_namespaces 1" in metrics
    blob = f"1/[0-9a-f]{{64}}/{'22' * 32}"
    waits = [e for e in json_lines(auditor.log) if "is not signed" in e["msg"]]
    assert [e["level"] for e in waits] == ["warning", "warning"]
    assert re.fullmatch(
        rf"namespace ns: epoch 1 is not signed: waiting \d+ s for the audit proof {blob} "
        rf"from {re.escape(str(blobs))} \(.+\)",
        waits[0]["msg"],
    ), waits[0]["msg"]


def test_stuck_auditor_verification_says_what_it_waits_for(
    auditor_server: Callable[..., tuple[Process, bytes]], hanging_http: str
) -> None:
    auditor, _ = auditor_server("--stall-warning", "0.5")
    _namespace(auditor.url, "ns", hanging_http)
    with pytest.raises(httpx.ReadTimeout):
        _publish(auditor.url, "ns", timeout=2.5)
    stuck = [e for e in json_lines(auditor.log) if "verifying the audit proof" in e["msg"]]
    assert stuck and all(e["level"] == "warning" for e in stuck)
    assert re.fullmatch(
        rf"namespace ns: verifying the audit proof of epoch 1 for \d+ s, still listing "
        rf"epoch 1's blobs in {re.escape(hanging_http)}",
        stuck[0]["msg"],
    ), stuck[0]["msg"]
