"""Regular housekeeping: conversations past their tenant's retention are deleted, statistics refreshed."""

from __future__ import annotations

import asyncio
import logging

from starlette.concurrency import run_in_threadpool

from rathaus.assistants import conversations
from rathaus.chatbots import widget
from rathaus.store.db import Database

logger = logging.getLogger(__name__)
INTERVAL_S = 3600.0


def purge_conversations(db: Database) -> int:
    """Delete expired conversations in all tenants now; returns how many were deleted."""
    with db.system_session() as session:
        deleted = conversations.purge(session)
        sessions = widget.purge(session)
    if deleted:
        logger.info("deleted %d conversations past their tenant's retention", deleted)
    if sessions:
        logger.info("deleted %d chatbot conversations past their tenant's retention", sessions)
    return deleted


async def run_regularly(db: Database, interval_s: float = INTERVAL_S) -> None:
    """Purge at start and then every `interval_s` seconds until cancelled; failures are logged, not fatal."""
    while True:
        try:
            await run_in_threadpool(purge_conversations, db)
            await run_in_threadpool(db.optimize)
        except Exception:
            logger.exception("housekeeping failed; trying again in %.0f s", interval_s)
        await asyncio.sleep(interval_s)
