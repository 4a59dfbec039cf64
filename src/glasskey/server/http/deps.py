"""What routes take besides their own parameters: the service, the caller, the wanted format.

The service and the wanted format are read from the ``Request`` by plain functions rather
than injected with ``Depends``: each FastAPI sub-dependency costs about a quarter of a whole
lookup on the bundle route (measured in-process), which is the hot path. Authentication is a
real dependency — it declares the ``Authorization`` header, documented in the OpenAPI.
"""

from __future__ import annotations

from typing import Annotated, cast

from fastapi import Depends, Header, Path, Query, Request
from starlette.requests import HTTPConnection

from glasskey.api.headers import PROTOBUF
from glasskey.server._auth import Caller
from glasskey.server._service import DirectoryService
from glasskey.server.http.middleware import PRINCIPAL_STATE


def service_of(request: Request) -> DirectoryService:
    """The service the app was built around (``create_app`` puts it in the app's state)."""
    return cast(DirectoryService, request.app.state.service)


def wants_protobuf(request: HTTPConnection) -> bool:
    """Whether the client asked for AKD protobuf bytes instead of JSON (a route's ``Request``,
    or ``HTTPConnection(scope)`` in an ASGI middleware)."""
    return PROTOBUF in request.headers.get("accept", "")


#: The raw ``Authorization`` header (a bearer token), if any.
Authorization = Annotated[str | None, Header()]


async def principal(request: Request, authorization: Authorization = None) -> Caller:
    """The authenticated caller (a user or a service); a missing or unknown token is a 401.

    An upload was already authenticated from its headers before its body was read
    (``WriteGuardMiddleware``), which left the user in the request's state.
    """
    known = request.scope.get("state", {}).get(PRINCIPAL_STATE)
    if isinstance(known, Caller):
        return known
    return await service_of(request).uploads.authenticate(authorization)


Principal = Annotated[Caller, Depends(principal)]
UserId = Annotated[str, Path(max_length=256, description="The user id (directory label).")]
KnownSize = Annotated[
    int | None, Query(ge=0, le=2**62, description="Root-log size the client last verified.")
]
