"""Operations: liveness, readiness, Prometheus metrics."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import PlainTextResponse

from glasskey.server.http import encoding
from glasskey.server.http.deps import service_of
from glasskey.server.http.schemas import Health

router = APIRouter(tags=["operations"])


@router.get("/healthz", response_model=Health)
def healthz() -> Any:
    """Liveness: the process is up."""
    return {"status": "ok"}


@router.get("/readyz", response_model=Health)
def readyz(request: Request) -> Any:
    """Readiness: the database answers and a signed checkpoint exists."""
    return encoding.readiness_json(service_of(request).readiness())


@router.get("/metrics", response_class=PlainTextResponse)
def prometheus_metrics(request: Request) -> Any:
    """Prometheus text exposition."""
    return PlainTextResponse(
        service_of(request).metrics.render(), media_type="text/plain; version=0.0.4"
    )
