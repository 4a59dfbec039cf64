"""Issue 14: mistakes and edge cases answered by one clear, honest line.

Against real processes: a user with no key and a wrong base URL are told apart (words and
exit code); API errors carry no Python reprs; ``audit show --verify`` says what it checked
for the epoch at the namespace's root; a ``str`` key given to ``upload()`` is a TypeError.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import httpx
import pytest

from glasskey.client import GlasskeyClient
from glasskey.core.akd.audit import format_audit_blob_name
from glasskey.core.errors import UsageError
from tests.auditor.history import write_history
from tests.security.procs import AUDITOR_ADMIN_TOKEN, Process, cli, register_user


def test_no_key_and_wrong_base_url_are_told_apart(
    log_server: Callable[..., Process], tmp_path: Path
) -> None:
    server = log_server()
    state = str(tmp_path / "c.db")
    # The API's own words carry no bytes repr.
    body = httpx.get(f"{server.url}/api/crypto/bundles/nobody").json()
    assert body["error"] == {
        "code": "not_found",
        "message": "nobody has no published key (proof of absence attached)",
    }
    assert body["absence"]["user_id"] == "nobody"
    no_key = cli("lookup", "nobody", "--server", server.url, "--state", state, cwd=tmp_path)
    assert (no_key.returncode, no_key.stderr.strip()) == (
        1,
        "REFUSED: user_not_found (proven): nobody has no published key (proven absent in epoch 0)",
    )
    for wrong in (f"{server.url}/v1", f"{server.url}/api"):
        bad = cli("lookup", "nobody", "--server", wrong, "--state", state, cwd=tmp_path)
        assert (bad.returncode, bad.stderr.strip()) == (
            2,
            f"error: {wrong} does not look like a glasskey server: GET "
            f"{wrong}/api/transparency/keys answered 404 (no such endpoint); check --server",
        )


def test_a_str_key_is_a_type_error(log_server: Callable[..., Process], tmp_path: Path) -> None:
    server = log_server()
    token = register_user(server.url, "alice", tmp_path)
    with GlasskeyClient(server.url) as client:
        with pytest.raises(TypeError) as caught:
            client.upload("alice", "my-key", token)  # type: ignore[arg-type]
        assert str(caught.value) == (
            "key must be bytes (the raw public key), not str: encode it first, e.g. "
            "key.encode() or base64.b64decode(key)"
        )
        assert isinstance(caught.value, UsageError)  # glasskey's vocabulary: code "usage"
        assert client.state.own_uploads(client.trust().log_id, "alice") == []  # nothing sent


def _namespace(auditor: Process, name: str, folder: Path, tmp_path: Path, *extra: str) -> None:
    admin = {"GLASSKEY_AUDITOR_ADMIN_TOKEN": AUDITOR_ADMIN_TOKEN}
    created = cli("auditor", "create-namespace", name, "--remote-url", auditor.url,
                  "--log-directory", str(folder), *extra, cwd=tmp_path, env=admin)  # fmt: skip
    assert created.returncode == 0, created.stderr


def _publish(auditor: Process, name: str, epoch: int, digest: bytes) -> None:
    admin = {"Authorization": f"Bearer {AUDITOR_ADMIN_TOKEN}"}
    body = {"epoch": epoch, "digest": digest.hex()}
    r = httpx.post(f"{auditor.url}/namespaces/{name}/audits", json=body, headers=admin, timeout=30)
    assert r.status_code == 200, r.text


def _show(auditor: Process, name: str, epoch: int, tmp_path: Path) -> tuple[int, str]:
    done = cli("audit", "show", "--remote-url", auditor.url, "--namespace", name, "--epoch",
               str(epoch), "--verify", cwd=tmp_path)  # fmt: skip
    return done.returncode, done.stdout.strip()


def test_audit_show_verify_checks_the_first_epoch_and_names_an_anchor(
    auditor_server: Callable[..., tuple[Process, bytes]], tmp_path: Path
) -> None:
    folder = tmp_path / "log-directory"
    folder.mkdir()
    roots = write_history(folder, 3, 4)
    auditor, _ = auditor_server()
    # A namespace from the empty tree: epoch 1's proof exists and is really checked.
    _namespace(auditor, "from.empty", folder, tmp_path)
    for epoch in (1, 2):
        _publish(auditor, "from.empty", epoch, roots[epoch])
    assert _show(auditor, "from.empty", 1, tmp_path) == (0, "success")
    first = folder / format_audit_blob_name(1, roots[0], roots[1])
    first.write_bytes(first.read_bytes()[:-1] + bytes([first.read_bytes()[-1] ^ 1]))
    code, out = _show(auditor, "from.empty", 1, tmp_path)
    assert code == 3 and out.startswith("failed - verifying raw proof: "), out
    # An anchored namespace (--root): the anchor has no proof, and the output says so.
    _namespace(auditor, "anchored", folder, tmp_path, "--root", f"2/{roots[2].hex()}")
    _publish(auditor, "anchored", 2, roots[2])
    _publish(auditor, "anchored", 3, roots[3])
    assert _show(auditor, "anchored", 3, tmp_path) == (0, "success")
    assert _show(auditor, "anchored", 2, tmp_path) == (
        0,
        "root - epoch 2 is the namespace's root (an anchor): its digest matches the root, "
        "but no audit proof exists for it (nothing before it was checked)",
    )
