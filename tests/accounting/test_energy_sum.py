"""Per-request energy of a local model adds up to the process's CPU time × watts per core."""

from __future__ import annotations

import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from sqlalchemy import func, select

from rathaus.accounting.models import RequestRecord
from rathaus.identity.models import Role
from rathaus.identity.principal import Principal
from rathaus.llm.backend import ChatRequest, Message
from rathaus.services import Services
from rathaus.settings import Settings
from rathaus.store.migrate import upgrade
from tests.conftest import make_tenant, require_model, write_catalogue

pytestmark = [pytest.mark.model, pytest.mark.slow]
WATTS = 15.0


def test_hundred_requests_add_up_to_the_measured_cpu_time(tmp_path: Path) -> None:
    path = require_model("qwen2.5-0.5b")
    profile = {
        "id": "klein", "backend": "llamacpp", "tier": 1, "capabilities": ["chat"],
        "params": {"path": str(path), "parallel": 4, "context_per_slot": 512},
        "energy": {"watts_per_core": WATTS, "source": "test"},
    }  # fmt: skip
    data = write_catalogue(tmp_path / "data", [profile])
    settings = Settings(data_dir=data, secret_key="x" * 40, default_model="klein")
    upgrade(settings.effective_database_url)
    services = Services.build(settings)
    try:
        tenant = make_tenant(services, "jena")
        principal = Principal(tenant_id=tenant.id, role=Role.staff)
        model = services.catalogue.get("klein")
        services.pool.backend(model).load()  # loading the weights is nobody's request

        def ask(number: int) -> None:
            question = Message(role="user", content=f"Nenne eine Zahl größer als {number}.")
            request = ChatRequest(messages=[question], max_tokens=8, temperature=0)
            for _ in services.gateway.chat(principal, model, request, endpoint="test"):
                pass

        started = time.process_time()
        with ThreadPoolExecutor(4) as pool:
            list(pool.map(ask, range(100)))
        measured_wh = (time.process_time() - started) * WATTS / 3600
        with services.db.session(tenant.id) as session:
            summed = session.scalar(select(func.sum(RequestRecord.wh)))
            methods = set(session.scalars(select(RequestRecord.wh_method)))
        assert methods == {"measured"}
        assert summed == pytest.approx(measured_wh, rel=0.05)
    finally:
        services.close()
