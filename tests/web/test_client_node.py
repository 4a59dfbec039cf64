"""The glasskey-web client API in Node against a real ``glasskey serve`` on 127.0.0.1.

Trust on first use, a JSON-file state that a second process picks up (the verified head is
remembered, so the next lookup is checked for consistency with it), ``monitor`` with and
without ``own`` (versions this device never uploaded are ``unexpected_version``), a
configured key that differs from the pinned one (``trust_mismatch``), a wrongly configured VRF
key (``vrf_key_mismatch``), a proof for another label (``wrong_label``), a missing user proven
absent (``user_not_found``; ``unproven_absence`` for a bare or altered 404), a first look at
the empty log followed by its first epoch, an old own key published again as a new version
(``unexpected_version``, as tests/security/test_item05_replayed_upload.py for the Python
client), and an old countersigned answer refused by asking the pinned auditor.
"""

from __future__ import annotations

import json
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.security.procs import (
    Process,
    free_port,
    replay_upload,
    start_auditor,
    start_log_server,
    wait_for,
)
from tests.security.test_item01_auditor_fork import (
    HONEST,
    countersigned_bundle,
    create_namespace,
    owner_token,
)
from tests.web._node import compiled_web
from tests.web.test_browser import _publish, _register


@pytest.fixture
def server(tmp_path: Path) -> Iterator[Process]:
    process = start_log_server(tmp_path / "server")
    try:
        yield process
    finally:
        process.stop()


def _run(build: Path, url: str, state: Path, step: str, *keys: str) -> dict[str, Any]:
    done = subprocess.run(
        ["node", str(build / "tools" / "client.js"), url, str(state), step, *keys],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    result: dict[str, Any] = json.loads(done.stdout)
    return result


def test_the_node_client_pins_remembers_and_monitors(server: Process, tmp_path: Path) -> None:
    build = compiled_web()
    token = _register(server.url, "alice")
    _publish(server.url, "alice", token, b"alice-1")
    _publish(server.url, "alice", token, b"alice-2")
    state = tmp_path / "state.json"

    first = _run(build, server.url, state, "first")
    assert first["lookup"] == {"key": "YWxpY2UtMg==", "version": 2, "size": 2}
    assert first["history"] == [2, 1]
    # A 404 with a proof of absence that verifies; one that does not is unproven_absence.
    assert first["missing"] == {"error": "user_not_found"}
    assert first["bare_404"] == {"error": "unproven_absence"}
    assert first["absence_tampered"] == {"error": "unproven_absence"}
    assert first["absence_of_another"] == {"error": "unproven_absence"}
    assert first["absence_relabelled"] == {"error": "unproven_absence"}
    saved = json.loads(state.read_text())
    assert any(k.startswith("trust:") for k in saved) and any(k.startswith("head:") for k in saved)

    _publish(server.url, "alice", token, b"alice-3")
    second = _run(build, server.url, state, "second")
    assert second["head_before"] == 2
    assert second["lookup"] == 3
    assert second["monitor"] == []
    assert second["monitor_own"] == [
        ["unexpected_version", 1],
        ["unexpected_version", 2],
        ["unexpected_version", 3],
    ]
    assert second["other_keys"] == {"error": "trust_mismatch"}
    # A proof failing under the pinned VRF key is explained by the key document, as in
    # GlasskeyClient: another declared VRF key, or the server's own key (a proof for
    # another label). The verifier alone says invalid_vrf (tests/web/test_differential.py).
    assert second["wrong_vrf_key"] == {"error": "vrf_key_mismatch"}
    assert second["other_label"] == {"error": "wrong_label"}


def test_a_node_client_that_saw_the_empty_log_accepts_its_first_epoch(
    server: Process, tmp_path: Path
) -> None:
    """tests/client/test_ietf_client.py::test_a_client_that_saw_the_empty_log_accepts_its_first_epoch
    for glasskey-web: its first look proves alice absent on the still-empty log (a head of
    size 0), the next sees epoch 1 without a consistency proof from size 0."""
    build = compiled_web()
    state = tmp_path / "state.json"
    assert _run(build, server.url, state, "empty") == {
        "lookup": {"error": "user_not_found"},
        "head": 0,
    }
    token = _register(server.url, "alice")
    _publish(server.url, "alice", token, b"a1")
    assert _run(build, server.url, state, "after_empty") == {
        "lookup": {"key": "YTE=", "version": 1},
        "head": 1,
    }


def test_the_node_owner_monitor_flags_an_old_own_key_published_again(
    server: Process, tmp_path: Path
) -> None:
    build = compiled_web()
    token = _register(server.url, "alice")
    for key in (b"alice-key-1", b"alice-key-2"):
        _publish(server.url, "alice", token, key)
    state = tmp_path / "alice-phone.json"
    assert _run(build, server.url, state, "own", "alice-key-1", "alice-key-2") == {
        "monitor_own": []
    }

    # A server that accepts a replayed upload: alice's first key again, as version 3.
    replay_upload(server, "alice", b"alice-key-1")
    assert _run(build, server.url, state, "own") == {"monitor_own": [["unexpected_version", 3]]}


@pytest.mark.slow
def test_the_node_client_asks_the_pinned_auditor_for_its_newest_epoch(tmp_path: Path) -> None:
    """As tests/security/test_item06_rollback.py for the Python client: an old, genuinely
    countersigned bundle replayed whole to a fresh client is refused once the client asks
    the auditor (its pinned URL) for the newest epoch it countersigned."""
    build = compiled_web()
    auditor, auditor_public = start_auditor(tmp_path / "auditor")
    processes = [auditor]
    try:
        token, owner = owner_token(tmp_path)
        port = free_port()
        create_namespace(auditor, tmp_path, HONEST, owner, port)
        server = start_log_server(
            tmp_path / "server", "--auditor-url", auditor.url, "--auditor-namespace", HONEST,
            "--auditor-retry-max", "1", port=port, env={"GLASSKEY_AUDITOR_TOKEN": token},
        )  # fmt: skip
        processes.append(server)
        alice = _register(server.url, "alice")
        _publish(server.url, "alice", alice, b"alice-old-key")
        old = countersigned_bundle(server, "alice")
        _publish(server.url, "alice", alice, b"alice-new-key")
        wait_for(
            "the new epoch countersigned",
            lambda: countersigned_bundle(server, "alice")["epoch"] > old["epoch"],
        )
        bundle = tmp_path / "old-bundle.json"
        bundle.write_text(json.dumps(old))
        done = subprocess.run(
            ["node", str(build / "tools" / "auditor.js"), server.url, auditor.url, HONEST,
             auditor_public.hex(), str(bundle)],
            capture_output=True, text=True, timeout=120,
        )  # fmt: skip
        assert done.returncode == 0, done.stdout + done.stderr
        assert json.loads(done.stdout) == {
            "replayed": {"error": "rollback_detected"},
            "asked": 2,  # its last verified epoch, then that epoch's countersignature
            "replayed_again": {"error": "rollback_detected"},
            "asked_again": 0,
            "honest": "alice-new-key",
            "without_url": "alice-old-key",
            "other_auditor_key": {"error": "auditor_signature_invalid"},
        }
    finally:
        for process in reversed(processes):
            process.stop()
