"""The web UI at ``/`` and an offline API reference at ``/docs``.

The UI is static files that ``make web`` builds (esbuild, from ``web/``) into the git-ignored
package folder ``glasskey/server/webui/``; the wheel ships them, nothing is loaded from a CDN.
Why the build is not committed: the bundle contains third-party code (@noble, @bufbuild, idb).
When it has not been built, ``/`` says so instead of failing.

``/docs`` replaces FastAPI's Swagger UI, which loads its scripts from a CDN and so cannot work
offline: a self-contained page listing every operation of ``/openapi.json``.
"""

from __future__ import annotations

import html
from pathlib import Path

from fastapi import APIRouter, Request
from fastapi.responses import FileResponse, HTMLResponse, Response

WEBUI = Path(__file__).resolve().parents[2] / "webui"
#: The files the built UI consists of (nothing else under the folder is served).
_ASSETS = {
    "app.js": "text/javascript",
    "glasskey-web.js": "text/javascript",
    "app.css": "text/css",
    "sri.json": "application/json",
}
_CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; "
    "connect-src 'self'; img-src 'self' data:; object-src 'none'; base-uri 'none'; "
    "frame-ancestors 'none'"
)
_NOT_BUILT = """<!doctype html><html lang="en"><head><meta charset="utf-8">
<title>glasskey: web UI not built</title></head><body>
<h1>The glasskey web UI is not built</h1>
<p>This server runs, and its API is available (<a href="/openapi.json">OpenAPI document</a>,
<a href="/docs">API reference</a>), but the browser verifier has not been built into this
installation. Build it from a checkout with <code>make web</code> (Node 20 and npm;
runs <code>npm ci</code> and esbuild) and restart the server.</p></body></html>"""

router = APIRouter(include_in_schema=False)


@router.get("/")
def index() -> Response:
    page = WEBUI / "index.html"
    if not page.is_file():
        return HTMLResponse(_NOT_BUILT, status_code=503, headers={"Cache-Control": "no-store"})
    return FileResponse(page, media_type="text/html", headers={"Content-Security-Policy": _CSP})


@router.get("/ui/{name}")
def asset(name: str) -> Response:
    media_type = _ASSETS.get(name)
    path = WEBUI / name
    if media_type is None or not path.is_file():
        return HTMLResponse("not found", status_code=404)
    return FileResponse(path, media_type=media_type, headers={"Cache-Control": "no-cache"})


@router.get("/docs")
def docs(request: Request) -> Response:
    """Every operation of the OpenAPI document, rendered here (no external assets)."""
    schema = request.app.openapi()
    rows = []
    for path, operations in sorted(schema.get("paths", {}).items()):
        for method, op in operations.items():
            summary = html.escape(op.get("summary") or "")
            description = html.escape((op.get("description") or "").strip())
            rows.append(
                f"<tr><td><code>{method.upper()}</code></td><td><code>{html.escape(path)}"
                f"</code></td><td><strong>{summary}</strong><br>{description}</td></tr>"
            )
    body = (
        '<!doctype html><html lang="en"><head><meta charset="utf-8"><title>glasskey API</title>'
        "<style>body{font-family:system-ui,sans-serif;max-width:1000px;margin:auto;padding:1rem}"
        "td{vertical-align:top;padding:.3rem .5rem;border-bottom:1px solid #ddd}</style></head>"
        f"<body><h1>{html.escape(schema['info']['title'])} API "
        f"{html.escape(schema['info']['version'])}"
        '</h1><p>Machine-readable: <a href="/openapi.json">/openapi.json</a>. '
        'Web UI: <a href="/">/</a>.</p><table>' + "".join(rows) + "</table></body></html>"
    )
    return HTMLResponse(
        body, headers={"Content-Security-Policy": "default-src 'none'; style-src 'unsafe-inline'"}
    )
