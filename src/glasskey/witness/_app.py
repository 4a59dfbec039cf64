"""The witness's HTTP face: ``POST /add-checkpoint`` (tlog-witness), ``GET /`` (its vkey).

Starlette rather than FastAPI: the protocol is plain-text bodies and status codes, with no
JSON models to validate; the body is read with a hard size cap before anything parses it.
"""

from __future__ import annotations

import asyncio

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response
from starlette.routing import Route

from glasskey.log.witness import MAX_REQUEST_BYTES
from glasskey.witness._witness import Witness


async def _read_capped(request: Request, limit: int) -> bytes | None:
    chunks: list[bytes] = []
    total = 0
    async for chunk in request.stream():
        total += len(chunk)
        if total > limit:
            return None
        chunks.append(chunk)
    return b"".join(chunks)


def create_app(witness: Witness) -> Starlette:
    async def add_checkpoint(request: Request) -> Response:
        body = await _read_capped(request, MAX_REQUEST_BYTES)
        if body is None:
            return PlainTextResponse("request body too large\n", status_code=413)
        answer = await asyncio.to_thread(witness.add_checkpoint, body)
        # Exactly the content type given: tlog-witness clients compare text/x.tlog.size as is.
        return Response(
            answer.body, status_code=answer.status, headers={"content-type": answer.content_type}
        )

    async def index(request: Request) -> Response:
        return PlainTextResponse(witness.vkey() + "\n")

    return Starlette(
        routes=[
            Route("/add-checkpoint", add_checkpoint, methods=["POST"]),
            Route("/", index, methods=["GET"]),
        ]
    )
