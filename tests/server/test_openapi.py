"""The public HTTP API is pinned: paths, methods, parameters, bodies and statuses."""

from __future__ import annotations

from tests.server.openapi_fixture import PINNED, REGENERATE, current_document, render


def test_openapi_document_equals_the_pinned_one() -> None:
    assert render(current_document()) == PINNED.read_text(encoding="utf-8"), (
        "the server's OpenAPI document differs from tests/server/openapi.json: the public "
        "HTTP API changed. If that is intended, regenerate the pinned copy with "
        f"`{REGENERATE}` and commit it with the change; otherwise undo the API change."
    )
