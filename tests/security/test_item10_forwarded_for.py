"""Item 10: ``X-Forwarded-For`` is believed only from configured proxies.

uvicorn trusted the header from 127.0.0.1 by default, so a client on loopback (or anything
behind a local proxy that passes the header through) got a fresh rate-limit bucket per
request by inventing addresses: 300 of 300 got through. Now the TCP peer is the client
unless it is a configured ``--trusted-proxy``; then the right-most address in the header
that is not a trusted proxy is.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from pathlib import Path

import httpx

from tests.security.procs import Process, cli

ROOT = "/api/transparency/root"


def _random_address() -> str:
    return ".".join(str(random.randrange(1, 255)) for _ in range(4))


def _statuses(http: httpx.Client, count: int, forwarded: Callable[[], str]) -> list[int]:
    return [http.get(ROOT, headers={"X-Forwarded-For": forwarded()}).status_code
            for _ in range(count)]  # fmt: skip


def test_forged_forwarded_for_does_not_bypass_the_limit(
    log_server: Callable[..., Process],
) -> None:
    server = log_server("--rate-limit", "5")  # bursts of 10
    with httpx.Client(base_url=server.url, timeout=30) as http:
        statuses = _statuses(http, 60, _random_address)
    assert statuses.count(200) <= 15, f"{statuses.count(200)} of 60 got through"


def test_a_trusted_proxy_names_the_client(log_server: Callable[..., Process]) -> None:
    server = log_server("--rate-limit", "5", "--trusted-proxy", "127.0.0.0/8",
                        "--trusted-proxy", "10.1.2.3")  # fmt: skip
    with httpx.Client(base_url=server.url, timeout=30) as http:
        # One client behind the proxy chain: whatever it puts left of the proxies is ignored.
        first = _statuses(http, 40, lambda: f"{_random_address()}, 203.0.113.9, 10.1.2.3")
        assert first.count(200) <= 15, f"{first.count(200)} of 40 got through"
        assert 429 in first
        # A different client through the same proxy has its own bucket.
        other = _statuses(http, 3, lambda: "198.51.100.4")
        assert other == [200, 200, 200]


def test_a_bad_trusted_proxy_is_refused(tmp_path: Path) -> None:
    result = cli("serve", "--trusted-proxy", "not-an-address", "--port", "1", cwd=tmp_path)
    assert result.returncode == 2
    assert "trusted-proxy" in result.stderr
