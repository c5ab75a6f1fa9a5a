"""The SQLite connection settings that keep data safe, and writers that take the lock up front."""

import pytest
from fastapi import FastAPI
from sqlalchemy import event, text

from app.db import open_session
from tests.conftest import POSTGRES_URL

pytestmark = pytest.mark.skipif(bool(POSTGRES_URL), reason="SQLite connection settings; this run is on PostgreSQL")


def test_every_connection_has_the_safe_pragmas(app: FastAPI) -> None:
    with app.state.engine.connect() as conn:
        pragma = {name: conn.exec_driver_sql(f"PRAGMA {name}").scalar() for name in
                  ("journal_mode", "synchronous", "busy_timeout", "foreign_keys")}  # fmt: skip
    assert pragma == {"journal_mode": "wal", "synchronous": 2, "busy_timeout": 30000, "foreign_keys": 1}


@pytest.mark.parametrize(("write", "begin"), [(True, "BEGIN IMMEDIATE"), (False, "BEGIN")])
def test_writing_sessions_begin_immediate(app: FastAPI, write: bool, begin: str) -> None:
    statements: list[str] = []
    engine = app.state.engine

    def record(conn: object, cursor: object, statement: str, *args: object) -> None:
        statements.append(statement)

    event.listen(engine, "before_cursor_execute", record)
    try:
        with open_session(engine, write=write) as db:
            for _ in range(2):  # every transaction of the session, not only the first
                db.exec(text("SELECT 1"))  # type: ignore[call-overload]
                db.commit()
    finally:
        event.remove(engine, "before_cursor_execute", record)
    assert [s for s in statements if s.startswith("BEGIN")] == [begin, begin]
