"""Many writers at once: on SQLite they wait their turn for the write lock, none finds the database locked."""

from __future__ import annotations

import threading
import time
from pathlib import Path

from sqlalchemy import create_engine, text

from rathaus.store.db import Database

WRITERS, SECONDS, BULK_ROWS = 8, 2.0, 2000


def test_a_new_database_under_load_from_the_start_loses_no_write(database_url: str, tmp_path: Path) -> None:
    # On SQLite a database file Rathaus has never opened: while the writers below open connections (more
    # than the pool keeps, so new ones all the time), the tables grow and get their first statistics.
    url = f"sqlite:///{tmp_path / 'new.db'}" if database_url.startswith("sqlite") else database_url
    plain = create_engine(url)  # the table is made without Rathaus's connection set-up
    with plain.begin() as connection:
        connection.execute(text("CREATE TABLE probe (writer INTEGER, note VARCHAR(60))"))
    plain.dispose()
    db = Database(url)
    stop = time.monotonic() + SECONDS
    errors: list[str] = []
    written = [0] * (WRITERS + 1)

    def short(writer: int) -> None:
        while time.monotonic() < stop:
            try:
                with db.system_session() as session:
                    session.execute(
                        text("INSERT INTO probe (writer, note) VALUES (:w, 'kurz')"), {"w": writer}
                    )
                written[writer] += 1
            except Exception as exc:
                errors.append(str(exc).splitlines()[0])

    def long() -> None:
        while time.monotonic() < stop:
            try:
                with db.system_session() as session:  # holds the write lock for a while
                    for _ in range(BULK_ROWS):
                        session.execute(text("INSERT INTO probe (writer, note) VALUES (-1, 'lang')"))
                    time.sleep(0.3)
                written[WRITERS] += BULK_ROWS
            except Exception as exc:
                errors.append(str(exc).splitlines()[0])

    try:
        threads = [threading.Thread(target=short, args=(w,)) for w in range(WRITERS)]
        threads.append(threading.Thread(target=long))
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        with db.system_session(read_only=True) as session:
            stored = session.scalar(text("SELECT count(*) FROM probe"))
    finally:
        db.dispose()
    assert errors == []
    assert stored == sum(written) and written[0] > 0  # every write arrived
