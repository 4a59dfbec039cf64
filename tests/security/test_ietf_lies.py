"""IETF client features against a real lying server process (``LYING_SERVE_MAIN``).

* A server that hides a user behind a bare 404 is caught as ``unproven_absence``, while the
  honest 404 of a user that never published verifies as ``user_not_found``.
* A server that showed a client a contact's key and later hides the contact, or rewrites
  its history so the version seen earlier is gone, is caught by ``monitor --contacts``
  (``contact_history_inconsistent``); a legitimate new key is ``contact_key_changed``.
* An offline credential written by one client verifies with ``glasskey verify credential``
  against pinned keys, and a tampered or stale one is refused.
"""

from __future__ import annotations

import json
import subprocess
from collections.abc import Callable
from pathlib import Path

import httpx
import pytest

from glasskey.server._malicious import LYING_SERVE_MAIN
from tests.security.procs import Process, cli, register_user, upload_key

pytestmark = pytest.mark.slow


def _publish(url: str, user: str, key: bytes, token: str, state: str, cwd: Path) -> None:
    done = upload_key(url, user, key, token, state, cwd, wait=10)
    assert done.returncode == 0 and "published" in done.stdout, done.stdout + done.stderr


def _restart_lying(log_server: Callable[..., Process], honest: Process, **lies: str) -> Process:
    """The same log (database, keys, address) restarted as a liar."""
    port = int(honest.url.rsplit(":", 1)[1])
    honest.stop()
    env = {f"GLASSKEY_MALICIOUS_{k.upper()}": v for k, v in lies.items()}
    return log_server(db=str(honest.folder / "glasskey.db"), port=port,
                      program=LYING_SERVE_MAIN, env=env)  # fmt: skip


def test_hidden_user_is_unproven_absence_and_contact_monitoring_catches_it(
    log_server: Callable[..., Process], tmp_path: Path
) -> None:
    honest = log_server()
    token = register_user(honest.url, "bob", tmp_path)
    _publish(honest.url, "bob", b"bob-key-1", token, str(tmp_path / "bob.db"), tmp_path)
    alice = str(tmp_path / "alice.db")

    # Honest server: bob verifies (and is watched); carol is *proven* absent.
    seen = cli("lookup", "bob", "--server", honest.url, "--state", alice, cwd=tmp_path)
    assert seen.returncode == 0 and "version 1" in seen.stdout, seen.stdout + seen.stderr
    absent = cli("lookup", "carol", "--server", honest.url, "--state", alice, "--json",
                 cwd=tmp_path)  # fmt: skip
    assert absent.returncode == 1
    assert json.loads(absent.stdout)["error"] == "user_not_found", absent.stdout
    body = httpx.get(f"{honest.url}/api/crypto/bundles/carol").json()
    assert body["error"]["code"] == "not_found" and body["absence"]["user_id"] == "carol"
    ok = cli("monitor", "--contacts", "--server", honest.url, "--state", alice, "--json",
             cwd=tmp_path)  # fmt: skip
    assert ok.returncode == 0, ok.stdout + ok.stderr
    assert json.loads(ok.stdout) == {"verified": True, "checked": ["bob"], "alerts": []}

    # The same log now hides bob behind a bare 404.
    liar = _restart_lying(log_server, honest, hide="bob")
    fresh = str(tmp_path / "dave.db")
    hidden = cli("lookup", "bob", "--server", liar.url, "--state", fresh, "--json", cwd=tmp_path)
    assert hidden.returncode == 1
    assert json.loads(hidden.stdout)["error"] == "unproven_absence", hidden.stdout
    still = cli("lookup", "carol", "--server", liar.url, "--state", fresh, "--json", cwd=tmp_path)
    assert json.loads(still.stdout)["error"] == "user_not_found", still.stdout

    caught = cli("monitor", "--contacts", "--server", liar.url, "--state", alice, "--json",
                 cwd=tmp_path)  # fmt: skip
    assert caught.returncode == 1, caught.stdout + caught.stderr
    report = json.loads(caught.stdout)
    assert [(a["code"], a["label"]) for a in report["alerts"]] == [
        ("contact_history_inconsistent", "bob")
    ]


def test_rewritten_history_and_new_keys_are_reported_by_contact_monitoring(
    log_server: Callable[..., Process], tmp_path: Path
) -> None:
    honest = log_server()
    token = register_user(honest.url, "bob", tmp_path)
    bob = str(tmp_path / "bob.db")
    _publish(honest.url, "bob", b"bob-key-1", token, bob, tmp_path)
    alice = str(tmp_path / "alice.db")
    assert cli("lookup", "bob", "--server", honest.url, "--state", alice,
               cwd=tmp_path).returncode == 0  # fmt: skip

    # A legitimate new key: reported once as contact_key_changed, then quiet.
    _publish(honest.url, "bob", b"bob-key-2", token, bob, tmp_path)
    changed = cli("monitor", "--contacts", "--server", honest.url, "--state", alice, "--json",
                  cwd=tmp_path)  # fmt: skip
    assert changed.returncode == 1
    alerts = json.loads(changed.stdout)["alerts"]
    assert [(a["code"], a["version"]) for a in alerts] == [("contact_key_changed", 2)]
    again = cli("monitor", "--contacts", "--server", honest.url, "--state", alice, cwd=tmp_path)
    assert again.returncode == 0, again.stdout + again.stderr

    # The log now claims a "complete" history with only the newest version: version 1,
    # which alice verified, is gone.
    liar = _restart_lying(log_server, honest, truncate="bob")
    caught = cli("monitor", "--contacts", "--server", liar.url, "--state", alice, "--json",
                 cwd=tmp_path)  # fmt: skip
    assert caught.returncode == 1, caught.stdout + caught.stderr
    alerts = json.loads(caught.stdout)["alerts"]
    assert [(a["code"], a["label"]) for a in alerts] == [("contact_history_inconsistent", "bob")]
    assert "invalid_history_proof" in alerts[0]["message"]


def test_offline_credential_verifies_and_tampered_or_stale_ones_are_refused(
    log_server: Callable[..., Process], tmp_path: Path
) -> None:
    server = log_server()
    token = register_user(server.url, "bob", tmp_path)
    _publish(server.url, "bob", b"bob-key-1", token, str(tmp_path / "bob.db"), tmp_path)
    keys = httpx.get(f"{server.url}/api/transparency/keys").json()
    made = cli("credential", "bob", "--server", server.url, "--out", "bob.cred",
               "--state", str(tmp_path / "bob.db"), cwd=tmp_path)  # fmt: skip
    assert made.returncode == 0, made.stdout + made.stderr
    pins = ["--log-key", keys["log_public_key"], "--vrf-key", keys["vrf_public_key"]]

    def check(path: str, max_age: str = "3600") -> subprocess.CompletedProcess[str]:
        return cli("verify", "credential", path, *pins, "--max-age", max_age, "--json",
                   cwd=tmp_path)  # fmt: skip

    good = check("bob.cred")
    assert good.returncode == 0, good.stdout + good.stderr
    out = json.loads(good.stdout)
    assert (out["user_id"], out["key_hex"], out["version"]) == ("bob", b"bob-key-1".hex(), 1)

    data = (tmp_path / "bob.cred").read_bytes()
    body = json.loads(data)
    body["user_id"] = "mallory"
    (tmp_path / "mallory.cred").write_text(json.dumps(body, sort_keys=True, separators=(",", ":")))
    wrong = check("mallory.cred")
    assert wrong.returncode == 1 and json.loads(wrong.stdout)["error"] == "invalid_credential"
    stale = check("bob.cred", max_age="0")
    assert stale.returncode == 1 and json.loads(stale.stdout)["error"] == "stale_head"
    missing = check("nothing-here.cred")
    assert missing.returncode == 2
