"""``/`` serves the built web UI (or says how to build it) and ``/docs`` works offline."""

from __future__ import annotations

from pathlib import Path

import pytest

from glasskey.server.http.routers import webui
from tests.server.conftest import Harness


def test_root_explains_how_to_build_the_ui_when_it_is_missing(
    harness: Harness, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(webui, "WEBUI", tmp_path / "missing")
    r = harness.http.get("/")
    assert r.status_code == 503
    assert "text/html" in r.headers["content-type"]
    assert "make web" in r.text
    assert harness.http.get("/ui/app.js").status_code == 404


def test_root_and_assets_come_from_the_built_folder(
    harness: Harness, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "index.html").write_text("<!doctype html><title>ui</title>")
    (tmp_path / "app.js").write_text("export {};")
    (tmp_path / "secret.txt").write_text("not an asset")
    monkeypatch.setattr(webui, "WEBUI", tmp_path)
    r = harness.http.get("/")
    assert r.status_code == 200 and r.text == "<!doctype html><title>ui</title>"
    assert "script-src 'self'" in r.headers["content-security-policy"]
    js = harness.http.get("/ui/app.js")
    assert js.status_code == 200 and js.text == "export {};"
    assert js.headers["content-type"].startswith("text/javascript")
    assert harness.http.get("/ui/secret.txt").status_code == 404
    assert harness.http.get("/ui/..%2Fsecret.txt").status_code == 404


def test_docs_lists_every_operation_without_external_assets(harness: Harness) -> None:
    r = harness.http.get("/docs")
    assert r.status_code == 200
    for path in harness.http.get("/openapi.json").json()["paths"]:
        assert f"<code>{path}</code>" in r.text
    assert "http://" not in r.text and "https://" not in r.text
    assert harness.http.get("/redoc").status_code == 404
