"""The SQLite connection settings that keep data safe, writers that take the lock up front, which database
work may run on the event loop, and the writer that commits queued writes together."""

import asyncio
import random
import threading
from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import event, inspect, text
from sqlmodel import Session, SQLModel, select

from app import tokens
from app.db import Sql, loaded, open_session
from app.models import Followed, LoginSession, Member, utcnow
from tests import factories
from tests.conftest import POSTGRES_URL, Home

sqlite_only = pytest.mark.skipif(bool(POSTGRES_URL), reason="SQLite's settings; this run is on PostgreSQL")


def on_the_event_loop() -> bool:
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return False
    return True


@pytest.fixture
def statements(app: FastAPI, monkeypatch: pytest.MonkeyPatch) -> Iterator[list[tuple[str, bool]]]:
    """Each SQL statement the database is sent, through SQLAlchemy or plain (app.db.Sql), and whether it ran on
    the event loop (else in a pool thread)."""
    seen: list[tuple[str, bool]] = []

    def record(conn: object, cursor: object, statement: str, *args: object) -> None:
        seen.append((statement, on_the_event_loop()))

    plain = Sql.execute

    def record_plain(sql: Sql, statement: str, params: dict[str, Any]) -> Any:
        seen.append((statement, on_the_event_loop()))
        return plain(sql, statement, params)

    monkeypatch.setattr(Sql, "execute", record_plain)
    event.listen(app.state.engine, "before_cursor_execute", record)
    yield seen
    event.remove(app.state.engine, "before_cursor_execute", record)


@sqlite_only
def test_every_connection_has_the_safe_pragmas(app: FastAPI) -> None:
    with app.state.engine.connect() as conn:
        pragma = {name: conn.exec_driver_sql(f"PRAGMA {name}").scalar() for name in
                  ("journal_mode", "synchronous", "busy_timeout", "foreign_keys")}  # fmt: skip
    assert pragma == {"journal_mode": "wal", "synchronous": 2, "busy_timeout": 30000, "foreign_keys": 1}


@sqlite_only
@pytest.mark.parametrize(("write", "begin"), [(True, "BEGIN IMMEDIATE"), (False, "BEGIN")])
def test_writing_sessions_begin_immediate(
    app: FastAPI, statements: list[tuple[str, bool]], write: bool, begin: str
) -> None:
    with open_session(app.state.engine, write=write) as db:
        for _ in range(2):  # every transaction of the session, not only the first
            db.exec(text("SELECT 1"))  # type: ignore[call-overload]
            db.commit()
    assert [sql for sql, _ in statements if sql.startswith("BEGIN")] == [begin, begin]


@sqlite_only
def test_a_page_view_reads_on_the_event_loop_and_writes_off_it(
    client: TestClient, home: Home, db: Session, statements: list[tuple[str, bool]]
) -> None:
    login = db.exec(select(LoginSession)).one()
    login.last_seen_at -= timedelta(hours=1)  # so this view also notes the device as seen: a write
    db.add(login)
    db.commit()
    statements.clear()
    assert client.get("/").status_code == 200
    reads = [on_loop for sql, on_loop in statements if sql.startswith("SELECT")]
    assert reads and all(reads)
    # A write may wait for the lock, and the holder may need the loop to finish: never on the loop.
    updates = [on_loop for sql, on_loop in statements if sql.startswith("UPDATE")]
    assert updates and not any(updates)


@sqlite_only
def test_an_api_read_runs_on_the_event_loop(
    client: TestClient, home: Home, db: Session, statements: list[tuple[str, bool]]
) -> None:
    factories.make_habit(db, home.member)
    token = tokens.create(db, home.member)
    db.commit()
    client.get("/api/v1/me", headers={"Authorization": f"Bearer {token}"})  # notes it used: a write, once
    statements.clear()
    response = client.get("/api/v1/habits", headers={"Authorization": f"Bearer {token}"})
    assert response.status_code == 200 and len(response.json()) == 1
    assert statements and all(on_loop for _, on_loop in statements)


@sqlite_only
def test_a_flip_is_written_by_the_writer_thread(client: TestClient, home: Home, db: Session, app: FastAPI) -> None:
    habit = factories.make_flippable_habit(db, home.member)
    threads: list[tuple[str, str]] = []

    def record(conn: object, cursor: object, statement: str, *args: object) -> None:
        threads.append((statement, threading.current_thread().name))

    event.listen(app.state.engine, "before_cursor_execute", record)
    try:
        assert client.post(f"/habits/{habit.id}/flips").status_code == 303
    finally:
        event.remove(app.state.engine, "before_cursor_execute", record)
    writes = [thread for sql, thread in threads if sql.startswith(("INSERT", "UPDATE", "BEGIN IMMEDIATE"))]
    assert writes and set(writes) == {"coinflip-writer"}


@pytest.mark.skipif(not POSTGRES_URL, reason="PostgreSQL's queries; this run is on SQLite")
def test_on_postgresql_no_statement_runs_on_the_event_loop(
    client: TestClient, home: Home, db: Session, statements: list[tuple[str, bool]]
) -> None:
    """PostgreSQL answers over the network: waiting for it on the loop would hold up every other request."""
    habit = factories.make_flippable_habit(db, home.member)
    statements.clear()
    assert client.get("/").status_code == 200
    assert client.post(f"/habits/{habit.id}/flips").status_code == 303
    assert statements and not [sql for sql, on_loop in statements if on_loop]


def test_a_page_needing_the_login_and_the_member_looks_the_login_up_once(
    client: TestClient, home: Home, statements: list[tuple[str, bool]]
) -> None:
    """Settings needs the household (through the login) and the member: one lookup of the device's login."""
    assert client.get("/settings").status_code == 200
    lookups = [sql for sql, _ in statements if "FROM loginsession" in sql and "JOIN household" in sql]
    assert len(lookups) == 1, lookups


def test_plain_sql_loads_what_the_orm_loads(app: FastAPI, db: Session, home: Home) -> None:
    """Each hot path's rows, read with plain SQL and made objects by app.db.loaded, equal the ORM's on this
    database: datetimes in UTC, enums, booleans, NULLs."""
    from app import flips
    from app.db import with_columns
    from app.models import Flip, FlipEnhancer, Habit, Reflection
    from app.schemas import ReflectionIn

    habit = factories.make_flippable_habit(db, home.member)
    view, _ = flips.flip_habit(Sql.of(db), habit, home.member, random.Random(1), utcnow())
    data = ReflectionIn(effort=7, enjoyment=9, followed=Followed.partly, note="Hill repeats")
    flips.save_reflection(Sql.of(db), view.flip, data, utcnow(), None)
    db.commit()
    for model, table in [(Habit, "habit"), (Flip, "flip"), (FlipEnhancer, "flipenhancer"), (Reflection, "reflection"),
                         (Member, "member"), (LoginSession, "loginsession")]:  # fmt: skip
        orm = db.exec(select(model)).all()
        assert orm, table
        statement = with_columns("SELECT {t.*} FROM " + table + " t", t=model)  # noqa: S608 (our own names)
        plain = [loaded(model, row) for row in Sql.of(db).all(statement)]
        as_plain = sorted(fields_of(row) for row in plain)
        as_orm = sorted(fields_of(row) for row in orm)
        assert as_plain == as_orm, table
        assert [[type(v) for _, v in row] for row in as_plain] == [[type(v) for _, v in row] for row in as_orm], table
        # Detached, with the identity the ORM gives the row: a session it is added to updates it, never inserts.
        assert {inspect(row).identity_key for row in plain} == {inspect(row).identity_key for row in orm}, table
        assert all(inspect(row).detached for row in plain), table


def fields_of(row: SQLModel) -> list[tuple[str, object]]:
    return sorted(row.model_dump().items())
