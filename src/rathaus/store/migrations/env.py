"""Alembic environment: runs migrations on the engine Rathaus itself would use."""

from __future__ import annotations

from alembic import context

from rathaus.store.db import make_engine
from rathaus.store.tables import all_tables

url = context.config.attributes["url"]
engine = make_engine(url)
try:
    with engine.connect() as connection:
        context.configure(
            connection=connection,
            target_metadata=all_tables(),
            render_as_batch=engine.dialect.name == "sqlite",
            compare_type=True,
        )
        with context.begin_transaction():
            context.run_migrations()
        connection.commit()
finally:
    engine.dispose()
