"""Item 9: writes are rate limited, and ``?wait`` never brings an epoch forward.

One user used to force 320 epochs in 20 s: every ``?wait=1`` upload woke the publisher.
Now uploads are limited per user and in total (429 with Retry-After), and consecutive epochs
are at least the epoch interval apart whatever the uploads ask for.
"""

from __future__ import annotations

import itertools
import threading
import time
from collections.abc import Callable

import httpx

from tests.security.procs import ADMIN_TOKEN, Process, upload_body

UPLOAD = "/api/crypto/keys/identity"


def _register(http: httpx.Client, user: str) -> dict[str, str]:
    """Register ``user``, waiting out the global write limit (registrations count too)."""
    while True:
        r = http.post(
            "/api/auth/register", json={"user_id": user},
            headers={"Authorization": f"Bearer {ADMIN_TOKEN}"},
        )  # fmt: skip
        if r.status_code != 429:
            break
        time.sleep(float(r.headers["retry-after"]))
    assert r.status_code == 201, r.text
    return {"Authorization": f"Bearer {r.json()['token']}"}


def test_one_user_cannot_upload_without_limit(log_server: Callable[..., Process]) -> None:
    server = log_server()  # default limits
    with httpx.Client(base_url=server.url, timeout=30) as http:
        alice = _register(http, "alice")
        codes = [http.post(UPLOAD, json=upload_body(), headers=alice) for _ in range(30)]
        statuses = [r.status_code for r in codes]
        assert statuses[0] == 202
        assert 429 in statuses, statuses
        refused = next(r for r in codes if r.status_code == 429)
        assert refused.json()["error"]["code"] == "rate_limited"
        assert int(refused.headers["retry-after"]) >= 1
        # Another user is not affected by alice's limit.
        bob = _register(http, "bob")
        assert http.post(UPLOAD, json=upload_body(), headers=bob).status_code == 202


def test_the_global_write_limit(log_server: Callable[..., Process]) -> None:
    server = log_server("--write-rate-limit", "2")
    with httpx.Client(base_url=server.url, timeout=30) as http:
        users = [_register(http, f"user{i}") for i in range(12)]
        time.sleep(2.5)  # the bucket refills to its burst of 4
        statuses = [http.post(UPLOAD, json=upload_body(), headers=u).status_code for u in users]
    assert statuses.count(202) <= 6, statuses
    assert 429 in statuses


def test_wait_does_not_bring_epochs_forward(log_server: Callable[..., Process]) -> None:
    interval = 1.5
    server = log_server("--epoch-interval", str(interval), epoch_interval=interval)
    with httpx.Client(base_url=server.url, timeout=30) as http:
        users = [_register(http, f"user{i}") for i in range(8)]

        def hammer(headers: dict[str, str]) -> None:
            with httpx.Client(base_url=server.url, timeout=30) as own:
                for _ in range(3):
                    own.post(UPLOAD, params={"wait": 1}, json=upload_body(), headers=headers)

        threads = [threading.Thread(target=hammer, args=(u,)) for u in users]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        entries = http.get("/api/transparency/audit-log", params={"limit": 100}).json()["entries"]
    times = sorted(e["appended_at"] for e in entries)
    gaps = [b - a for a, b in itertools.pairwise(times)]
    assert len(times) >= 2
    assert min(gaps) >= interval * 0.9, f"epochs {gaps} apart; the cadence is {interval} s"
