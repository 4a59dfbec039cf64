"""Issue 14: client state keyed by log identity, and alert codes that mean what docs say.

Real ``glasskey serve`` processes: every development server has the same default origin, so
a client state keyed by origin alone mistook a second server for a rollback, and a re-created
server (new log key at the same URL) for a forged signature.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

from glasskey.client import ClientState, GlasskeyClient
from tests.security.procs import Process, cli, register_user, upload_key


def _published(server: Process, user: str, keys: list[bytes], tmp_path: Path) -> None:
    token = register_user(server.url, user, tmp_path)
    for key in keys:
        done = upload_key(server.url, user, key, token, str(server.folder / f"{user}-owner.db"),
                          tmp_path, wait=20)  # fmt: skip
        assert done.returncode == 0 and "published" in done.stdout, done.stdout + done.stderr


def _lookup(url: str, user: str, state: Path, tmp_path: Path, *extra: str) -> dict[str, object]:
    done = cli("lookup", user, "--server", url, "--state", str(state), "--json", *extra,
               cwd=tmp_path)  # fmt: skip
    answer: dict[str, object] = json.loads(done.stdout)
    answer["exit"] = done.returncode
    return answer


def test_two_dev_servers_with_the_default_origin_are_two_logs(
    log_server: Callable[..., Process], tmp_path: Path
) -> None:
    first, second = log_server(), log_server()
    _published(first, "alice", [b"a1", b"a2", b"a3"], tmp_path)  # a longer log
    _published(second, "bob", [b"b1"], tmp_path)
    state = tmp_path / "phone.db"
    assert _lookup(first.url, "alice", state, tmp_path)["verified"] is True
    answer = _lookup(second.url, "bob", state, tmp_path)
    assert (answer["exit"], answer["verified"], answer.get("version")) == (0, True, 1), answer
    # Each log has its own head in the state, under its own identity.
    with (
        GlasskeyClient(first.url, state=str(state)) as a,
        GlasskeyClient(second.url, state=str(state)) as b,
    ):
        ta, tb = a.trust(), b.trust()
        assert ta.origin == tb.origin == "glasskey.local/log"
        assert ta.log_id != tb.log_id
        heads = ClientState(state)
        assert (heads.head(ta.log_id).size, heads.head(tb.log_id).size) == (3, 1)  # type: ignore[union-attr]


def test_recreated_server_is_a_trust_mismatch(
    log_server: Callable[..., Process], tmp_path: Path
) -> None:
    first = log_server()
    _published(first, "alice", [b"a1"], tmp_path)
    state = tmp_path / "phone.db"
    assert _lookup(first.url, "alice", state, tmp_path)["verified"] is True
    port = int(first.url.rsplit(":", 1)[1])
    first.stop()
    second = log_server(port=port)  # same URL, new database, new development keys
    _published(second, "alice", [b"a1"], tmp_path)
    answer = _lookup(second.url, "alice", state, tmp_path)
    assert (answer["exit"], answer["error"]) == (1, "trust_mismatch"), answer
    assert "log key" in str(answer["message"])


def test_wrongly_pinned_vrf_key_has_its_own_code(
    log_server: Callable[..., Process], tmp_path: Path
) -> None:
    server = log_server()
    _published(server, "alice", [b"a1"], tmp_path)
    with GlasskeyClient(server.url) as client:
        trust = client.trust()
    wrong_vrf = bytes(32 - 1) + b"\x07"
    answer = _lookup(server.url, "alice", tmp_path / "p.db", tmp_path,
                     "--log-key", trust.log_public_key, "--vrf-key", wrong_vrf.hex())  # fmt: skip
    assert (answer["exit"], answer["error"]) == (1, "vrf_key_mismatch"), answer
    assert trust.vrf_public_key.hex() in str(answer["message"])
    # The right keys verify.
    pins = ("--log-key", trust.log_public_key, "--vrf-key", trust.vrf_public_key.hex())
    right = _lookup(server.url, "alice", tmp_path / "q.db", tmp_path, *pins)
    assert right["verified"] is True
