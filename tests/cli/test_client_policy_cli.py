"""The CLI's client commands build the policy the library would: a fixed one-hour ``--max-age``
default let an old head be replayed for an hour, and without ``--auditor-url`` a fresh CLI
client could not ask the auditor for its newest countersigned epoch (issue 10, items 1 and 6).
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from glasskey.cli._client_options import PolicyOptions, open_client
from glasskey.client import LOG_DECLARED, AuditorPin
from glasskey.core.errors import UsageError

AUDITOR_KEY = "11" * 32


def _policy(tmp_path: Path, max_age: float | None, **auditor: Any) -> Any:
    options = PolicyOptions(max_age=max_age, **auditor)
    with open_client("http://127.0.0.1:9", str(tmp_path / "state.db"), options) as client:
        return client.policy


@pytest.mark.parametrize(("given", "expected"), [(None, LOG_DECLARED), (0, None), (30.0, 30.0)])
def test_max_age_defaults_to_the_log_declared_interval(
    tmp_path: Path, given: float | None, expected: object
) -> None:
    assert _policy(tmp_path, given).max_age == expected


def test_auditor_url_is_part_of_the_pin(tmp_path: Path) -> None:
    policy = _policy(
        tmp_path, None, auditor_keys=[AUDITOR_KEY], auditor_namespace="chat-log",
        require_auditor=True, auditor_url="http://127.0.0.1:7/",
    )  # fmt: skip
    assert policy.auditor == AuditorPin(
        [AUDITOR_KEY], "chat-log", required=True, url="http://127.0.0.1:7"
    )


def test_auditor_url_without_a_pinned_auditor_is_a_usage_error(tmp_path: Path) -> None:
    with pytest.raises(UsageError, match="--auditor-url needs the auditor pinned"):
        _policy(tmp_path, None, auditor_url="http://127.0.0.1:7")


@pytest.mark.parametrize("command", ["lookup", "history", "monitor"])
def test_every_client_command_takes_the_auditor_pin(command: str) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "glasskey.cli", command, "--help"],
        capture_output=True, text=True, timeout=60, env={**os.environ, "COLUMNS": "200"},
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    for option in ("--auditor-key", "--auditor-namespace", "--auditor-url", "--require-auditor"):
        assert option in result.stdout, (command, option)
    assert "declared checkpoint re-signing" in " ".join(result.stdout.split())
