"""Operations: liveness, readiness, Prometheus metrics."""

from __future__ import annotations

from fastapi import APIRouter, Request, Response
from fastapi.responses import PlainTextResponse

from glasskey.api.wire import Health
from glasskey.server.http import encoding
from glasskey.server.http.deps import service_of

router = APIRouter(tags=["operations"])


@router.get("/healthz", response_model=Health)
def healthz() -> Response:
    """Liveness: the process is up."""
    return encoding.json_response(encoding.alive_model())


@router.get("/readyz", response_model=Health)
def readyz(request: Request) -> Response:
    """Readiness: the database answers and a signed checkpoint exists."""
    return encoding.json_response(encoding.readiness_model(service_of(request).readiness()))


@router.get("/metrics", response_class=PlainTextResponse)
def prometheus_metrics(request: Request) -> Response:
    """Prometheus text exposition."""
    return PlainTextResponse(
        service_of(request).metrics.render(), media_type="text/plain; version=0.0.4"
    )
