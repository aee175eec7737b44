"""Liveness and readiness for load balancers and operators."""

from __future__ import annotations

import logging
from typing import Any

from fastapi import APIRouter
from fastapi.responses import JSONResponse

from rathaus.api.deps import ServicesDep
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
