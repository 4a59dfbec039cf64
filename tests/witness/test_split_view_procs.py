"""The same-size split view against real processes: one ``glasskey witness serve``, two
``glasskey serve`` sharing the log's signing and VRF keys but with different histories, and
the ``glasskey`` client commands as people run them.

* Under a 1-of-1 witness policy ``glasskey lookup`` verifies the witnessed log (exit 0) and
  refuses the fork, which the witness would not cosign (exit 1, ``unwitnessed_head``).
* Without witnesses both phones verify their own view; ``glasskey head`` from one phone's
  state handed to ``glasskey gossip`` on the other is exit 1 ``fork_detected`` with an
  evidence file that ``glasskey verify fork-evidence`` re-checks offline (exit 0), while a
  one-byte tamper of it is exit 1; the honest server's own ``POST /api/transparency/gossip``
  answers ``fork`` for the other view and ``consistent`` for its own.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from glasskey.core.signing import Ed25519Signer
from glasskey.demo import free_port
from glasskey.keys import generate_pem
from glasskey.log.note import CosignatureV1Verifier
from glasskey.log.profile import verifier_key
from tests.security.procs import (
    Process,
    _spawn,
    cli,
    register_user,
    start_log_server,
    upload_key,
    wait_for,
)

ORIGIN = "glasskey.local/log"
WITNESS_NAME = "witness.split.test"


@dataclass
class SplitView:
    honest: Process
    fork: Process
    witness_vkey: str
    log_vkey: str


def _key_env() -> dict[str, str]:
    """The log's signing key and VRF key, the same for both servers (one operator, two views)."""
    pem = generate_pem()
    return {
        "GLASSKEY_SIGNING_KEY": base64.b64encode(pem).decode(),
        "GLASSKEY_VRF_KEY": "07" * 32,
    }


@pytest.fixture(scope="module")
def split(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SplitView]:
    base = tmp_path_factory.mktemp("split-procs")
    keys = _key_env()
    log_key = Ed25519Signer.from_pem(base64.b64decode(keys["GLASSKEY_SIGNING_KEY"]))
    log_vkey = verifier_key(ORIGIN, log_key.public_key)
    witness_pem = generate_pem()
    witness_vkey = CosignatureV1Verifier(
        WITNESS_NAME, Ed25519Signer.from_pem(witness_pem).public_key
    ).vkey()
    wport = free_port()
    witness = Process(
        base / "witness",
        f"http://127.0.0.1:{wport}",
        _spawn(
            base / "witness",
            ["witness", "serve", "--port", str(wport), "--db", str(base / "witness" / "w.db"),
             "--name", WITNESS_NAME, "--log", log_vkey],
            {"GLASSKEY_WITNESS_KEY": base64.b64encode(witness_pem).decode()},
        ),
    )  # fmt: skip
    started = [witness]
    try:
        wait_for("the witness", lambda: httpx.get(witness.url, timeout=1).status_code == 200)
        spec = ["--witness", f"{witness_vkey}@{witness.url}"]
        honest = start_log_server(base / "honest", *spec, env=keys)
        started.append(honest)
        cwd = base / "owners"
        cwd.mkdir()
        token = register_user(honest.url, "alice", cwd)
        done = upload_key(honest.url, "alice", b"alice-real-key", token, str(cwd / "a.db"), cwd, 10)
        assert done.returncode == 0, done.stderr
        # the witness has cosigned the honest view of size 1 before the fork shows up
        root = f"{honest.url}/api/transparency/root"
        wait_for("the honest cosignature", lambda: WITNESS_NAME in httpx.get(root).text)
        fork = start_log_server(base / "fork", *spec, env=keys)
        started.append(fork)
        token = register_user(fork.url, "alice", cwd)
        done = upload_key(fork.url, "alice", b"alice-forged-key", token, str(cwd / "f.db"), cwd, 10)
        assert done.returncode == 0, done.stderr
        ready = f"{fork.url}/readyz"
        wait_for("the witness's refusal of the fork",
                 lambda: httpx.get(ready).json()["witnesses"][0]["total_failures"])  # fmt: skip
        yield SplitView(honest, fork, witness_vkey, log_vkey)
    finally:
        for proc in reversed(started):
            proc.stop()


def _size(url: str) -> int:
    note = httpx.get(f"{url}/api/transparency/root").json()["checkpoint"]
    return int(note.splitlines()[1])


def test_the_witness_policy_refuses_the_view_it_did_not_cosign(
    split: SplitView, tmp_path: Path
) -> None:
    assert _size(split.honest.url) == _size(split.fork.url) == 1  # the same size, two roots
    policy = ["--witness", split.witness_vkey, "--witness-threshold", "1", "--json"]
    carol = cli("lookup", "alice", "--server", split.honest.url, "--state",
                str(tmp_path / "carol.db"), *policy, cwd=tmp_path)  # fmt: skip
    assert carol.returncode == 0, carol.stdout + carol.stderr
    assert base64.b64decode(json.loads(carol.stdout)["key"]) == b"alice-real-key"
    dave = cli("lookup", "alice", "--server", split.fork.url, "--state",
               str(tmp_path / "dave.db"), *policy, cwd=tmp_path)  # fmt: skip
    assert dave.returncode == 1, dave.stdout + dave.stderr
    answer = json.loads(dave.stdout)
    assert answer["verified"] is False and answer["error"] == "unwitnessed_head"
    assert "alice-forged-key" not in dave.stdout


def test_gossip_between_two_phones_proves_the_fork(split: SplitView, tmp_path: Path) -> None:
    states = {name: str(tmp_path / f"{name}.db") for name in ("carol", "dave")}
    for name, url in (("carol", split.honest.url), ("dave", split.fork.url)):
        done = cli("lookup", "alice", "--server", url, "--state", states[name], cwd=tmp_path)
        assert done.returncode == 0, done.stderr  # without witnesses each view verifies alone
    head = cli("head", "--server", split.fork.url, "--state", states["dave"], cwd=tmp_path)
    assert head.returncode == 0, head.stderr
    assert head.stdout.startswith(f"{ORIGIN}\n1\n")
    daves = tmp_path / "dave-head.txt"
    daves.write_text(head.stdout)
    evidence = tmp_path / "evidence"
    caught = cli("gossip", str(daves), "--server", split.honest.url, "--state", states["carol"],
                 "--evidence-dir", str(evidence), "--json", cwd=tmp_path)  # fmt: skip
    assert caught.returncode == 1, caught.stdout + caught.stderr
    answer = json.loads(caught.stdout)
    assert answer["consistent"] is False and answer["error"] == "fork_detected"
    (written,) = evidence.iterdir()
    assert answer["evidence"] == str(written)
    proven = cli("verify", "fork-evidence", str(written), cwd=tmp_path)
    assert proven.returncode == 0, proven.stdout + proven.stderr
    body = json.loads(written.read_text())
    lines = body["checkpoints"][1].split("\n")
    lines[2] = ("B" if lines[2][0] != "B" else "C") + lines[2][1:]  # one byte of a signed root
    body["checkpoints"][1] = "\n".join(lines)
    tampered = tmp_path / "tampered.json"
    tampered.write_text(json.dumps(body))
    rejected = cli("verify", "fork-evidence", str(tampered), cwd=tmp_path)
    assert rejected.returncode == 1, rejected.stdout + rejected.stderr
    # carol's own head handed back to her is one tree with hers
    mine = cli("head", "--server", split.honest.url, "--state", states["carol"], cwd=tmp_path)
    own = tmp_path / "carol-head.txt"
    own.write_text(mine.stdout)
    same = cli("gossip", str(own), "--server", split.honest.url, "--state", states["carol"],
               cwd=tmp_path)  # fmt: skip
    assert same.returncode == 0, same.stderr
    assert same.stdout == "consistent: their checkpoint (size 1) and ours (size 1) are one tree\n"


def test_the_honest_server_takes_gossip_and_names_the_fork(split: SplitView) -> None:
    forked = httpx.get(f"{split.fork.url}/api/transparency/root").json()["checkpoint"]
    answer = httpx.post(f"{split.honest.url}/api/transparency/gossip",
                        json={"checkpoint": forked})  # fmt: skip
    assert answer.status_code == 200, answer.text
    assert answer.json()["status"] == "fork" and answer.json()["size"] == 1
    own = httpx.get(f"{split.honest.url}/api/transparency/root").json()["checkpoint"]
    again = httpx.post(f"{split.honest.url}/api/transparency/gossip", json={"checkpoint": own})
    assert again.json()["status"] == "consistent"
    metrics = httpx.get(f"{split.honest.url}/metrics").text
    assert "glasskey_gossip_forks_total 1.0" in metrics or "glasskey_gossip_forks_total 1\n" in (
        metrics
    )
