"""Imports every table module, so the metadata is complete for migrations and tests."""

from __future__ import annotations

from sqlalchemy import MetaData


def all_tables() -> MetaData:
    """The metadata with every Rathaus table registered."""
    from rathaus.accounting import models as _accounting  # noqa: F401
    from rathaus.assistants import conversations as _conversations  # noqa: F401
    from rathaus.assistants import models as _assistants  # noqa: F401
    from rathaus.chatbots import models as _chatbots  # noqa: F401
    from rathaus.identity import models as _identity  # noqa: F401
    from rathaus.knowledge import models as _knowledge  # noqa: F401
    from rathaus.routing import models as _routing  # noqa: F401
    from rathaus.store.base import Base
    from rathaus.workflows import models as _workflows  # noqa: F401

    return Base.metadata
