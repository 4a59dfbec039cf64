"""Fuzz the HTTP API from its own OpenAPI document (schemathesis): never a 500.

The app is seeded with users, keys and a few epochs so that generated requests reach the
proof-serving code paths, not only the 404s. Authenticated routes are fuzzed both without a
token and with alice's token (via a header hook), so the auth and body-parsing paths run too.
"""

from __future__ import annotations

import base64
from collections.abc import Iterator
from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, settings

from tests.server.conftest import Harness, make_harness

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")

_state: dict[str, Harness] = {}


def _harness() -> Harness:
    if "h" not in _state:
        gen: Iterator[Harness] = make_harness()
        h = next(gen)
        _state["gen"] = gen  # type: ignore[assignment]  # keep the TestClient open
        tokens = {u: h.register(u) for u in ("alice", "bob")}
        for key in (b"a1", b"a2"):
            h.upload("alice", tokens["alice"], key)
            h.publish()
        h.upload("bob", tokens["bob"], b"b1")
        h.publish()
        _state["h"] = h
        _state["token"] = tokens["alice"]  # type: ignore[assignment]
    return _state["h"]


def _without_lifespan(app: Any) -> Any:
    """The app minus its lifespan: schemathesis runs startup/shutdown around every call,
    and the shutdown handler would close the shared service under the next request."""

    async def asgi(scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] == "lifespan":
            while True:
                message = await receive()
                if message["type"] == "lifespan.startup":
                    await send({"type": "lifespan.startup.complete"})
                elif message["type"] == "lifespan.shutdown":
                    await send({"type": "lifespan.shutdown.complete"})
                    return
        await app(scope, receive, send)

    return asgi


schema = schemathesis.openapi.from_asgi("/openapi.json", _without_lifespan(_harness().http.app))


@schema.parametrize()
@settings(
    max_examples=40,
    deadline=None,
    suppress_health_check=list(HealthCheck),
)
def test_no_server_errors(case: schemathesis.Case) -> None:
    headers = {}
    if "{update_id}" in case.path or case.method == "POST":
        headers["Authorization"] = f"Bearer {_state['token']}"
    response = case.call(headers=headers)
    assert response.status_code < 500, response.text
    content_type = response.headers.get("content-type") or ""
    if isinstance(content_type, list):
        content_type = content_type[0] if content_type else ""
    if response.status_code >= 400 and content_type.startswith("application/json"):
        body = response.json()
        assert set(body) == {"error"} and {"code", "message"} <= set(body["error"])


def test_fuzzed_server_still_answers_correctly() -> None:
    h = _harness()
    body = h.http.get("/api/crypto/bundles/alice").json()
    assert base64.b64decode(body["key"]) in (b"a1", b"a2") or body["version"] >= 1


@pytest.fixture(scope="module", autouse=True)
def _close_shared_harness() -> Iterator[None]:
    """Shut the module's server down after its tests (its threads would keep pytest alive)."""
    yield
    gen = _state.pop("gen", None)
    _state.clear()
    if gen is not None:
        gen.close()  # type: ignore[attr-defined]
