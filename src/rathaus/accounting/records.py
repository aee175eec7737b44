"""Writing request records: every model request, successful or not, leaves one row."""

from __future__ import annotations

from typing import Any

from rathaus.accounting.costing import Costed
from rathaus.accounting.models import RequestRecord
from rathaus.identity.principal import Principal
from rathaus.llm.backend import Usage
from rathaus.llm.catalogue import Profile
from rathaus.store.db import Database


def record_request(
    db: Database,
    principal: Principal,
    profile: Profile,
    endpoint: str,
    usage: Usage | None,
    status: str,
    error: str | None = None,
    costed: Costed | None = None,
    route: dict[str, Any] | None = None,
) -> str:
    """Store one request record in the principal's tenant; returns its id."""
    usage = usage or Usage()
    footprint = costed.footprint if costed else None
    reference = costed.reference if costed else None
    with db.session(principal.tenant_id) as session:
        record = RequestRecord(
            user_id=principal.user_id,
            api_key_id=principal.api_key_id,
            endpoint=endpoint,
            profile_id=profile.id,
            backend=profile.backend,
            location=profile.location,
            status=status,
            error=error[:2000] if error else None,
            tokens_in=usage.tokens_in,
            tokens_out=usage.tokens_out,
            ttft_ms=usage.ttft_ms,
            duration_ms=usage.duration_ms,
            cpu_seconds=usage.cpu_seconds,
            wh=footprint.wh if footprint else None,
            wh_method=footprint.method if footprint else "unknown",
            wh_uncertainty=footprint.uncertainty if footprint else None,
            co2_g=footprint.co2_g if footprint else None,
            eur=footprint.eur if footprint else 0.0,
            reference_profile_id=costed.reference_id if costed else None,
            reference_wh=reference.wh if reference else None,
            reference_eur=reference.eur if reference else None,
            route=route,
            tier=profile.tier,
            assistant=route.get("assistant") if route else None,
        )
        session.add(record)
        session.flush()
        return record.id
