"""Deleting many rows by id in batches (retention purges), so no statement carries thousands of ids."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import delete
from sqlalchemy.orm import InstrumentedAttribute, Session

BATCH = 500


def delete_by_ids(session: Session, ids: Sequence[str], *columns: InstrumentedAttribute[Any]) -> None:
    """Delete, batch by batch, the rows whose `column` is one of `ids`, in the order the columns are given
    (children first: `delete_by_ids(session, ids, Message.conversation_id, Conversation.id)`)."""
    for start in range(0, len(ids), BATCH):
        batch = list(ids[start : start + BATCH])
        for column in columns:
            session.execute(delete(column.class_).where(column.in_(batch)))
