"""The database: engine, sessions (always tenant-scoped or explicitly system), health check.

SQLite is the embedded default. It is opened through `pysqlite3` (a current SQLite that can load
extensions such as sqlite-vec); PostgreSQL through psycopg 3.

SQLite lets one writer at a time. Every write transaction begins IMMEDIATE, so a writer waits for the lock
(up to `BUSY_TIMEOUT_S`, then a few times more) instead of failing, and nothing else writes outside such a
transaction: statistics are refreshed on a new connection only when the lock is free at once.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, create_engine, event, text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session, sessionmaker

from rathaus.store.tenancy import SYSTEM_KEY, TENANT_KEY

logger = logging.getLogger(__name__)
BUSY_TIMEOUT_S = 30  # how long SQLite waits for another connection's write lock before it gives up
BEGIN_ATTEMPTS = 3  # a writer that waited that long waits again, twice, before its request fails


def is_locked(exc: BaseException) -> bool:
    """SQLite gave up waiting for another connection's lock ("database is locked")."""
    return "database is locked" in str(getattr(exc, "orig", None) or exc)


def _sqlite_engine(url: str) -> Engine:
    import pysqlite3.dbapi2 as sqlite_module

    parsed = make_url(url)
    if parsed.database and parsed.database != ":memory:":
        Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)
    engine = create_engine(
        parsed.set(drivername="sqlite+pysqlite"),
        module=sqlite_module,
        connect_args={"check_same_thread": False, "timeout": BUSY_TIMEOUT_S},
        hide_parameters=True,  # errors in the log never show the values (citizens' texts, contacts)
    )

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, record: Any) -> None:
        dbapi_connection.isolation_level = None  # let SQLAlchemy emit BEGIN itself
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.execute("PRAGMA analysis_limit=400")  # statistics from a sample: cheap even on large tables
        try:
            # Statistics for tables that lack them (SQLite's advice for new connections). This may write
            # (ANALYZE) outside any transaction: its read turns into a write, which SQLite refuses at once
            # when another connection has written meanwhile, and which waited for the write lock — up to
            # the busy timeout, in every new connection — under load. The statistics can wait for the next
            # connection or `Database.optimize`: here they are taken only when the lock is free.
            cursor.execute("PRAGMA busy_timeout=0")
            cursor.execute("PRAGMA optimize=0x10002")
        except sqlite_module.OperationalError as exc:
            if not is_locked(exc):
                raise
        cursor.execute(f"PRAGMA busy_timeout={BUSY_TIMEOUT_S * 1000}")
        cursor.close()
        try:
            import sqlite_vec

            dbapi_connection.enable_load_extension(True)
            sqlite_vec.load(dbapi_connection)
            dbapi_connection.enable_load_extension(False)
        except (ImportError, AttributeError):  # vectors are optional until knowledge is used
            pass

    @event.listens_for(engine, "begin")
    def _on_begin(connection: Any) -> None:
        # IMMEDIATE takes the write lock up front, so concurrent writers wait (busy_timeout) instead of
        # failing when a read transaction tries to become a write transaction. Sessions that only read
        # (READ_ONLY) begin deferred and never wait for writers (WAL lets them read alongside).
        read_only = connection.get_execution_options().get(READ_ONLY)
        for attempt in range(1, BEGIN_ATTEMPTS + 1):
            try:
                connection.exec_driver_sql("BEGIN" if read_only else "BEGIN IMMEDIATE")
                return
            except OperationalError as exc:  # nothing has run yet: beginning again is always safe
                if attempt == BEGIN_ATTEMPTS or not is_locked(exc):
                    raise
                logger.warning("the database stayed locked for %d s; waiting again", BUSY_TIMEOUT_S)
                time.sleep(0.1 * attempt)

    return engine


def make_engine(url: str) -> Engine:
    """An engine for a SQLite or PostgreSQL URL."""
    if url.startswith("sqlite"):
        return _sqlite_engine(url)
    parsed = make_url(url)
    if parsed.drivername in {"postgresql", "postgres"}:
        parsed = parsed.set(drivername="postgresql+psycopg")
    return create_engine(parsed, pool_pre_ping=True, pool_size=10, max_overflow=20, hide_parameters=True)


READ_ONLY = "rathaus_read_only"


class SessionScope:
    """A session whose transaction is ended by `finish`: committed on success, rolled back otherwise."""

    def __init__(self, session: Session) -> None:
        self.session = session

    def finish(self, ok: bool) -> None:
        """Commit (ok) or roll back, and close."""
        try:
            if ok:
                self.session.commit()
            else:
                self.session.rollback()
        finally:
            self.session.close()


class Database:
    """One database: hands out tenant-scoped and system sessions."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.engine = make_engine(url)
        self._sessions = sessionmaker(self.engine, expire_on_commit=False)
        self._readers = sessionmaker(
            self.engine.execution_options(**{READ_ONLY: True}), expire_on_commit=False
        )

    @property
    def dialect(self) -> str:
        """`sqlite` or `postgresql`."""
        return self.engine.dialect.name

    @contextmanager
    def session(self, tenant_id: str, read_only: bool = False) -> Iterator[Session]:
        """A session that sees and writes only this tenant's rows; commits on success. `read_only`: one
        that only reads (on SQLite it does not wait for writers)."""
        with (self._readers if read_only else self._sessions)() as session:
            session.info[TENANT_KEY] = tenant_id
            with session.begin():
                yield session

    def scope(self, tenant_id: str, read_only: bool = False) -> SessionScope:
        """A tenant session to end later with `finish` (for request handlers: see api/deps.py). Opening it
        does no I/O; the transaction begins with its first statement."""
        session = (self._readers if read_only else self._sessions)()
        session.info[TENANT_KEY] = tenant_id
        session.begin()
        return SessionScope(session)

    @contextmanager
    def system_session(self, read_only: bool = False) -> Iterator[Session]:
        """An unscoped session for the CLI, authentication and platform administration."""
        with (self._readers if read_only else self._sessions)() as session:
            session.info[SYSTEM_KEY] = True
            with session.begin():
                yield session

    def optimize(self) -> None:
        """Refresh the query planner's statistics after large changes (SQLite; PostgreSQL does it itself).

        Without them SQLite may look passages up through the tenant index, which every row of one
        tenant shares, instead of by id.
        """
        if self.dialect == "sqlite":
            with self.engine.connect() as connection:
                connection.exec_driver_sql("PRAGMA optimize")
                connection.commit()  # the statistics are rows too: without this they were rolled back

    def ping(self) -> None:
        """Raise if the database cannot be reached."""
        with self.engine.connect() as connection:
            connection.execute(text("SELECT 1"))

    def dispose(self) -> None:
        """Close all pooled connections."""
        self.engine.dispose()
