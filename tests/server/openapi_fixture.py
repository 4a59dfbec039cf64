"""The server's OpenAPI document, and the command that regenerates its pinned copy.

``openapi.json`` beside this file is the public HTTP API as last agreed; ``test_openapi``
fails when the app's document drifts from it. After a deliberate API change, regenerate it
with ``.venv/bin/python -m tests.server.openapi_fixture`` and commit the diff with the change.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from glasskey.core.ecvrf import VrfSecretKey
from glasskey.core.signing import Ed25519Signer
from glasskey.server._service import create_service
from glasskey.server._settings import ServerSettings
from glasskey.server.app import create_app

PINNED = Path(__file__).with_name("openapi.json")
REGENERATE = ".venv/bin/python -m tests.server.openapi_fixture"


def current_document() -> dict[str, Any]:
    """The OpenAPI document of an app over a throwaway in-memory service (never started)."""
    settings = ServerSettings(db_url="memory://", run_publisher=False)
    service = create_service(settings, Ed25519Signer.generate(), VrfSecretKey(bytes(32)))
    try:
        return create_app(service, manage_lifecycle=False).openapi()
    finally:
        service.close()


def render(document: dict[str, Any]) -> str:
    """The pinned form: pretty-printed with sorted keys, so diffs are readable."""
    return json.dumps(document, indent=2, sort_keys=True) + "\n"


if __name__ == "__main__":
    PINNED.write_text(render(current_document()), encoding="utf-8")
    print(f"wrote {PINNED}")
