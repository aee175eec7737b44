"""The migrations build exactly the schema the models describe (no drift either way)."""

from __future__ import annotations

from typing import Any

from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext

from rathaus.store.db import make_engine
from rathaus.store.tables import all_tables

# Tables and indexes the models cannot describe: full-text and vector search, built per database.
# SQLite names its own automatic indexes "sqlite_…" (some belong to the vector tables' shadow tables).
SEARCH_OBJECTS = ("knowledge_vectors", "knowledge_fts", "lexical_tsv", "embedding", "Index('sqlite_")


def _relevant(diff: Any) -> bool:
    text = repr(diff)
    return not any(name in text for name in SEARCH_OBJECTS)


def test_models_and_migrations_agree(database_url: str) -> None:
    engine = make_engine(database_url)
    try:
        with engine.connect() as connection:
            context = MigrationContext.configure(connection, opts={"compare_type": False})
            differences = [d for d in compare_metadata(context, all_tables()) if _relevant(d)]
    finally:
        engine.dispose()
    assert differences == []
