"""Liveness and readiness for load balancers and operators."""

from __future__ import annotations

import hmac
import logging
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse, Response

from rathaus.accounting.metrics import CONTENT_TYPE
from rathaus.api.deps import ServicesDep
from rathaus.api.errors import ApiError
from rathaus.llm.catalogue import UnknownModel
from rathaus.services import Services

router = APIRouter(tags=["health"])
logger = logging.getLogger(__name__)


@router.get("/healthz", operation_id="healthz")
def healthz() -> dict[str, str]:
    """The process is alive."""
    return {"status": "ok"}


def readiness(services: Services) -> dict[str, Any]:
    """Checks: the database answers, the default model is registered and its weights are present."""
    checks: dict[str, Any] = {}
    try:
        services.db.ping()
        checks["database"] = {"ok": True, "dialect": services.db.dialect}
    except Exception as exc:  # any failure means not ready; the log tells the operator why
        logger.error("readiness: database not reachable: %s", exc)
        checks["database"] = {"ok": False, "error": "not reachable (details in the server log)"}
    model_id = services.settings.default_model
    try:
        profile = services.catalogue.get(model_id)
        backend = services.pool.backend(profile)
        available = getattr(backend, "available", True)
        checks["default_model"] = {"ok": bool(available), "id": model_id}
        if not available:
            checks["default_model"]["error"] = f"weights missing: run `rathaus models install {model_id}`"
    except (UnknownModel, RuntimeError) as exc:
        checks["default_model"] = {"ok": False, "id": model_id, "error": str(exc)}
    return {"status": "ok" if all(c["ok"] for c in checks.values()) else "unavailable", "checks": checks}


@router.get("/readyz", operation_id="readyz")
def readyz(services: ServicesDep) -> JSONResponse:
    """Ready to serve: 200 with the checks, or 503 naming what is missing."""
    report = readiness(services)
    return JSONResponse(report, status_code=200 if report["status"] == "ok" else 503)


LOOPBACK = frozenset({"127.0.0.1", "::1", "localhost", "testclient"})


@router.get("/metrics", operation_id="metrics", response_class=Response)
def metrics(request: Request, services: ServicesDep) -> Response:
    """Prometheus metrics. With RATHAUS_METRICS_TOKEN set, scrapers send it as a bearer token; without
    it, only this machine may scrape."""
    token = services.settings.metrics_token
    if token is not None:
        sent = request.headers.get("authorization", "").removeprefix("Bearer ").strip()
        if not hmac.compare_digest(sent.encode(), token.get_secret_value().encode()):
            raise ApiError(401, "Metrics need the bearer token set in RATHAUS_METRICS_TOKEN.", "unauthorized")
    elif (request.client.host if request.client else "") not in LOOPBACK:
        raise ApiError(403, "Metrics are open to this machine only; set RATHAUS_METRICS_TOKEN.", "forbidden")
    return Response(services.gateway.metrics.exposition(), media_type=CONTENT_TYPE)
