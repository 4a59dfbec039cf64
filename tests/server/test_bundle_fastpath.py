"""``BundleFastPath``: the bundle route's hot requests answered beside FastAPI, byte for byte
as the route answers them; every other request still goes to the route."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient
from starlette.types import Receive, Scope, Send

from glasskey.server.app import create_app
from glasskey.server.http.routers.lookups import BundleFastPath
from tests.server.conftest import Harness

PROTOBUF = {"Accept": "application/x-protobuf"}


class _Inner:
    """The rest of the app, as the fast path sees it: records what reached it."""

    def __init__(self) -> None:
        self.paths: list[tuple[str, str, bytes]] = []

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        self.paths.append((scope["method"], scope["path"], scope["query_string"]))
        await send({"type": "http.response.start", "status": 299, "headers": []})
        await send({"type": "http.response.body", "body": b"inner"})


@pytest.fixture
def published(harness: Harness) -> Harness:
    alice = harness.register("alice")
    harness.upload("alice", alice, b"v1")
    harness.publish()
    harness.upload("alice", alice, b"v2")
    harness.publish()
    return harness


def _route_only(harness: Harness) -> TestClient:
    """The same service's app without the fast path: every bundle request takes the route."""
    app = create_app(harness.service, manage_lifecycle=False)
    app.user_middleware = [m for m in app.user_middleware if m.cls is not BundleFastPath]
    return TestClient(app)


SIMPLE = [
    ("/api/crypto/bundles/alice", {}),
    ("/api/crypto/bundles/alice?known_size=0", {}),
    ("/api/crypto/bundles/alice?known_size=1", {}),
    ("/api/crypto/bundles/alice?known_size=2", {}),
    ("/api/crypto/bundles/alice?known_size=7", {}),  # beyond the log: no consistency proof
    ("/api/crypto/bundles/alice", PROTOBUF),
    ("/api/crypto/bundles/alice?known_size=1", PROTOBUF),
    ("/api/crypto/bundles/nobody", {}),  # 404 with the proof of absence
    ("/api/crypto/bundles/bad%20id", {}),  # 400 usage: the user id policy refuses it
    ("/api/crypto/bundles/" + "a" * 256, {}),  # the longest id the route accepts
]


@pytest.mark.parametrize(("url", "headers"), SIMPLE)
def test_simple_requests_are_answered_exactly_as_the_route_answers(
    published: Harness, url: str, headers: dict[str, str]
) -> None:
    inner = _Inner()
    fast = TestClient(BundleFastPath(inner, reads=published.service.reads))
    answer = fast.get(url, headers=headers)
    assert inner.paths == []  # answered by the fast path itself
    expected = _route_only(published).get(url, headers=headers)
    assert answer.status_code == expected.status_code != 299
    assert answer.headers.items() == expected.headers.items()
    assert answer.content == expected.content


OTHER = [
    ("GET", "/api/crypto/bundles/alice?version=1"),
    ("GET", "/api/crypto/bundles/alice?known_size=01"),  # not canonical: FastAPI decides
    ("GET", "/api/crypto/bundles/alice?known_size=-1"),
    ("GET", "/api/crypto/bundles/alice?known_size=4611686018427387905"),  # over 2**62
    ("GET", "/api/crypto/bundles/alice?known_size=1&known_size=2"),
    ("GET", "/api/crypto/bundles/alice?known_size="),
    ("GET", "/api/crypto/bundles/alice?known_sizes=1"),
    ("GET", "/api/crypto/bundles/" + "a" * 257),  # over the route's max_length: its 422
    ("GET", "/api/crypto/bundles/"),
    ("GET", "/api/crypto/bundles/alice/extra"),
    ("GET", "/api/crypto/bundlesalice"),
    ("GET", "/api/crypto/history/alice"),
    ("HEAD", "/api/crypto/bundles/alice"),
    ("DELETE", "/api/crypto/bundles/alice"),
]


@pytest.mark.parametrize(("method", "url"), OTHER)
def test_every_other_request_goes_on_to_the_app(published: Harness, method: str, url: str) -> None:
    inner = _Inner()
    fast = TestClient(BundleFastPath(inner, reads=published.service.reads))
    answer = fast.request(method, url)
    path, _, query = url.partition("?")
    assert inner.paths == [(method, path, query.encode())]
    assert (answer.status_code, answer.content) == (299, b"" if method == "HEAD" else b"inner")


def test_the_app_answers_through_the_fast_path_with_its_limits_and_metrics(
    published: Harness,
) -> None:
    http = published.http
    assert http.get("/api/crypto/bundles/alice").status_code == 200
    assert http.get("/api/crypto/bundles/nobody").status_code == 404
    assert http.get("/api/crypto/bundles/alice?version=1").status_code == 200  # the route
    text = http.get("/metrics").text
    route = 'method="GET",route="/api/crypto/bundles/{user_id}"'
    assert f'glasskey_http_requests_total{{{route},status="200"}} 2' in text
    assert f'glasskey_http_requests_total{{{route},status="404"}} 1' in text
