"""The public HTTP API is pinned: paths, methods, parameters, bodies and statuses."""

from __future__ import annotations

from tests.server.openapi_fixture import PINNED, REGENERATE, current_document, render


def test_openapi_document_equals_the_pinned_one() -> None:
    assert render(current_document()) == PINNED.read_text(encoding="utf-8"), (
        "the server's OpenAPI document differs from tests/server/openapi.json: the public "
        "HTTP API changed. If that is intended, regenerate the pinned copy with "
        f"`{REGENERATE}` and commit it with the change; otherwise undo the API change."
    )


def test_openapi_declares_every_credential_and_where_it_is_accepted() -> None:
    document = current_document()
    schemes = document["components"]["securitySchemes"]
    assert {name: (s["type"], s["scheme"]) for name, s in schemes.items()} == {
        "userToken": ("http", "bearer"),
        "serviceCredential": ("http", "bearer"),
        "adminToken": ("http", "bearer"),
    }
    secured = {
        (path, method): [next(iter(r)) for r in op["security"]]
        for path, ops in document["paths"].items()
        for method, op in ops.items()
        if "security" in op
    }
    assert secured == {
        ("/api/auth/register", "post"): ["adminToken"],
        ("/api/crypto/keys/identity", "post"): ["userToken", "serviceCredential"],
        ("/api/crypto/keys/identity/updates/{update_id}", "get"): [
            "userToken",
            "serviceCredential",
        ],
        ("/api/admin/users/{user_id}/token", "post"): ["adminToken"],
        ("/api/admin/users/{user_id}/token", "delete"): ["adminToken"],
        ("/api/admin/service-credentials", "post"): ["adminToken"],
        ("/api/admin/service-credentials/{name}", "delete"): ["adminToken"],
    }
