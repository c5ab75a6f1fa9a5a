"""app.db.Database: reads and writes each in a transaction of their own; on SQLite, one writer thread that
commits whatever writes are queued in one transaction, each write in a savepoint of its own."""

import asyncio
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import event, text
from sqlalchemy.exc import IntegrityError, OperationalError
from sqlmodel import Session

from app.config import Settings
from app.db import Database, Sql, make_engine
from tests.conftest import POSTGRES_URL

sqlite_only = pytest.mark.skipif(bool(POSTGRES_URL), reason="SQLite's writer thread; this run is on PostgreSQL")


class Boom(Exception):
    pass


@pytest.fixture
def database(settings: Settings) -> Iterator[Database]:
    database = Database(make_engine(settings.db_url))
    with database.engine.begin() as conn:
        conn.execute(text("DROP TABLE IF EXISTS scratch"))
        key = "INTEGER PRIMARY KEY" if database.is_sqlite else "SERIAL PRIMARY KEY"
        conn.execute(
            text(f"CREATE TABLE scratch (id {key}, note TEXT NOT NULL, parent INTEGER REFERENCES scratch (id))")
        )
    yield database
    with database.engine.begin() as conn:
        conn.execute(text("DROP TABLE scratch"))
    database.close()


def add(db: Session, note: str) -> str:
    db.execute(text("INSERT INTO scratch (note) VALUES (:note)"), {"note": note})
    return note


def add_then_fail(db: Session, note: str) -> None:
    add(db, note)
    raise Boom(note)


def add_orphan_checked_at_commit(db: Session, note: str) -> None:
    """A row whose foreign key is wrong, found out only when the whole transaction commits."""
    db.execute(text("PRAGMA defer_foreign_keys = ON"))
    db.execute(text("INSERT INTO scratch (note, parent) VALUES (:note, 999999)"), {"note": note})


def add_plain(sql: Sql, note: str) -> str:
    sql.run("INSERT INTO scratch (note) VALUES (:note)", note=note)
    return note


def add_plain_then_fail(sql: Sql, note: str) -> None:
    add_plain(sql, note)
    raise Boom(note)


def plain_notes(sql: Sql) -> list[str]:
    return [note for (note,) in sql.all("SELECT note FROM scratch ORDER BY id")]


def notes(db: Session) -> list[str]:
    return list(db.execute(text("SELECT note FROM scratch ORDER BY id")).scalars())


PLAIN = (add_plain, add_plain_then_fail)


class Held:
    """A write that keeps the writer busy until released, so the writes queued meanwhile form one group."""

    def __init__(self) -> None:
        self.started = threading.Event()
        self.release = threading.Event()

    def __call__(self, db: Session) -> None:
        self.started.set()
        assert self.release.wait(10)


async def in_one_group(database: Database, *writes: tuple[object, str]) -> list[object]:
    """The writes queued while the writer is busy: plain ones (their work takes a Sql) and Session ones alike."""
    held = Held()
    first = asyncio.ensure_future(database.write(held))
    await asyncio.to_thread(held.started.wait, 10)
    queued = [
        asyncio.ensure_future(
            database.write_plain(work, note) if work in PLAIN else database.write(work, note)  # type: ignore[arg-type]
        )
        for work, note in writes
    ]
    await asyncio.sleep(0)  # each write is queued when its coroutine first runs
    held.release.set()
    await first
    return await asyncio.gather(*queued, return_exceptions=True)


@sqlite_only
def test_writes_queued_together_are_committed_in_one_transaction(database: Database) -> None:
    commits: list[str] = []
    event.listen(database.engine, "commit", lambda conn: commits.append(threading.current_thread().name))
    answers = asyncio.run(in_one_group(database, *[(add, f"note {i}") for i in range(20)]))
    assert answers == [f"note {i}" for i in range(20)]
    assert commits == ["coinflip-writer", "coinflip-writer"]  # the held write's group, then the twenty
    assert asyncio.run(database.read(notes)) == [f"note {i}" for i in range(20)]


@sqlite_only
def test_a_write_that_fails_takes_back_only_itself(database: Database) -> None:
    answers = asyncio.run(in_one_group(database, (add, "a"), (add_then_fail, "b"), (add, "c")))
    assert answers[0] == "a" and isinstance(answers[1], Boom) and answers[2] == "c"
    assert asyncio.run(database.read(notes)) == ["a", "c"]


@sqlite_only
def test_plain_writes_share_the_group_and_a_failing_one_takes_back_only_itself(database: Database) -> None:
    answers = asyncio.run(
        in_one_group(database, (add_plain, "a"), (add, "b"), (add_plain_then_fail, "c"), (add_plain, "d"))
    )
    assert answers[:2] == ["a", "b"] and isinstance(answers[2], Boom) and answers[3] == "d"
    assert asyncio.run(database.read_plain(plain_notes)) == ["a", "b", "d"]


@sqlite_only
def test_a_failed_commit_fails_every_write_of_its_group_and_the_writer_goes_on(database: Database) -> None:
    answers = asyncio.run(in_one_group(database, (add, "a"), (add_orphan_checked_at_commit, "b")))
    assert all(isinstance(answer, IntegrityError) for answer in answers), answers
    assert asyncio.run(database.read(notes)) == []  # "a" was never acknowledged, and it is not there
    assert asyncio.run(database.write(add, "after")) == "after"
    assert asyncio.run(database.read(notes)) == ["after"]


def test_a_write_is_seen_by_the_next_read_and_a_failed_one_is_not(database: Database) -> None:
    async def scenario() -> list[str]:
        await database.write(add, "kept")
        with pytest.raises(Boom):
            await database.write(add_then_fail, "taken back")
        return await database.read(notes)

    assert asyncio.run(scenario()) == ["kept"]


def test_a_plain_write_is_seen_by_the_next_read_and_a_failed_one_is_not(database: Database) -> None:
    async def scenario() -> tuple[list[str], list[str]]:
        await database.write_plain(add_plain, "kept")
        with pytest.raises(Boom):
            await database.write_plain(add_plain_then_fail, "taken back")
        await database.read_plain(add_plain, "read only: rolled back")
        return await database.read_plain(plain_notes), await database.read(notes)

    assert asyncio.run(scenario()) == (["kept"], ["kept"])


def test_a_read_cannot_write(database: Database) -> None:
    """A read's transaction is rolled back whatever it did (and on SQLite it would wait for no lock)."""
    asyncio.run(database.read(add, "never"))
    assert asyncio.run(database.read(notes)) == []


@sqlite_only
def test_writes_fail_plainly_while_the_database_cannot_be_opened(tmp_path: Path) -> None:
    """The writer never dies with writes waiting: each is told, and once the database is back, writes go on."""
    folder = tmp_path / "not-yet"
    database = Database(make_engine(f"sqlite:///{folder / 'coinflip.db'}"))
    try:
        with pytest.raises(OperationalError):  # not a wait without end (bounded, should the writer die)
            asyncio.run(asyncio.wait_for(database.write(add, "lost"), 10))
        folder.mkdir()
        with database.engine.begin() as conn:
            conn.execute(text("CREATE TABLE scratch (id INTEGER PRIMARY KEY, note TEXT NOT NULL, parent INTEGER)"))
        assert asyncio.run(database.write(add, "kept")) == "kept"
    finally:
        database.close()
