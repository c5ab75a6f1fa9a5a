"""The database: an engine with safe settings, and the one way a request reaches it, `await db.read(work, …)`
and `await db.write(work, …)` (app.state.db, a Database).

`work(session, *args)` is a plain function of the domain; it gets a session of its own and returns what it
found. A read runs in a transaction of its own: on SQLite on the event loop (WAL reads take microseconds and
never wait for a lock), on PostgreSQL in the thread pool (it waits for the network). A write on SQLite goes to
the process's one writer thread, which runs whatever writes are queued in one durable transaction (group
commit: one fsync for all of them) and answers each once that transaction is committed; each write sits in a
savepoint of its own, so one that fails takes back only itself. On PostgreSQL each write is a transaction of
its own in the thread pool; row locks (lock()) make writers of one row take turns, across replicas too.
"""

import asyncio
import functools
import queue
import threading
from collections.abc import Callable
from contextlib import suppress
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Concatenate, ParamSpec, TypeVar
from zoneinfo import ZoneInfo

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.engine import Connection
from sqlmodel import Session, SQLModel, select
from starlette.concurrency import run_in_threadpool

# PostgreSQL: a request holds a connection only inside one thread-pool call (a read or a write), so threads
# waiting for a connection never wait on a request that waits for a thread.
PG_POOL_SIZE, PG_MAX_OVERFLOW = 10, 10
BUSY_TIMEOUT = 30.0

P = ParamSpec("P")
R = TypeVar("R")
Work = Callable[Concatenate[Session, P], R]


def make_engine(url: str) -> Engine:
    if not url.startswith("sqlite"):
        # lock() and the reads after it need each statement to see what others committed before it, not the
        # transaction's first snapshot: under a server's stricter default, taking the lock a replica released
        # fails ("could not serialize access").
        return create_engine(url, pool_pre_ping=True, pool_size=PG_POOL_SIZE, max_overflow=PG_MAX_OVERFLOW,
                             isolation_level="READ COMMITTED")  # fmt: skip
    connect_args = {"check_same_thread": False, "timeout": BUSY_TIMEOUT}
    engine = create_engine(url, connect_args=connect_args, pool_size=8, max_overflow=-1)

    @event.listens_for(engine, "connect")
    def set_pragmas(dbapi_connection: Any, _record: Any) -> None:
        # pysqlite's own BEGIN handling is switched off so "begin" below decides how a transaction starts.
        dbapi_connection.isolation_level = None
        # Local calendar dates for the insights' SQL: SQLite knows no time zones (PostgreSQL's timezone() does).
        dbapi_connection.create_function("local_date", 2, local_date, deterministic=True)
        cursor = dbapi_connection.cursor()
        for pragma in (f"busy_timeout={BUSY_TIMEOUT * 1000:.0f}", "synchronous=FULL", "foreign_keys=ON"):
            cursor.execute(f"PRAGMA {pragma}")
        # WAL is a property of the file: switch once, not on every connection (that needs a lock that a
        # long reader, such as a running backup, would hold up).
        if cursor.execute("PRAGMA journal_mode").fetchone()[0] != "wal":
            cursor.execute("PRAGMA journal_mode=WAL")
        cursor.close()

    @event.listens_for(engine, "begin")
    def begin(conn: Connection) -> None:
        # Writers take the lock up front: a deferred BEGIN that later upgrades to a write can lose
        # read-modify-write updates or fail with "database is locked" under concurrency.
        conn.exec_driver_sql("BEGIN IMMEDIATE" if conn.get_execution_options().get("write") else "BEGIN")

    return engine


def local_date(stored: str | None, zone: str) -> str | None:
    """SQL local_date(timestamp, zone): the date, in that IANA zone, of a UTC time as SQLite stores it."""
    if stored is None:
        return None
    moment = datetime.fromisoformat(stored).replace(tzinfo=UTC)
    return moment.astimezone(ZoneInfo(zone)).date().isoformat()


def dialect_of(db: Session) -> str:
    return db.get_bind().dialect.name


@functools.lru_cache(maxsize=64)
def engine_view(engine: Engine, write: bool) -> Engine:
    """The engine with its write option set, made once: making one costs as much as a small query."""
    return engine.execution_options(write=write)


def open_session(engine: Engine, *, write: bool = True) -> Session:
    """A session of its own (the CLI, tests): every transaction a writing one (BEGIN IMMEDIATE on SQLite), or
    a reading one."""
    return Session(engine_view(engine, write), expire_on_commit=False)


class Database:
    """How requests reach the database: read() and write(), each running one function of the domain in a
    transaction of its own (see the module's docstring)."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self.is_sqlite = engine.dialect.name == "sqlite"
        self.writer = Writer(engine) if self.is_sqlite else None
        self.readers: dict[int, Connection] = {}  # SQLite: one connection per thread that reads inline

    async def read(self, work: Work[P, R], /, *args: P.args, **kwargs: P.kwargs) -> R:
        if self.is_sqlite:
            return in_session(self.reader(), work, args, kwargs, commit=False)
        return await self.read_long(work, *args, **kwargs)

    async def read_long(self, work: Work[P, R], /, *args: P.args, **kwargs: P.kwargs) -> R:
        """A read that takes a while (a whole household's export): in the thread pool on either database, so
        the event loop answers other requests meanwhile."""
        return await run_in_threadpool(in_session, engine_view(self.engine, False), work, args, kwargs, commit=False)

    async def write(self, work: Work[P, R], /, *args: P.args, **kwargs: P.kwargs) -> R:
        """Run `work` in a writing transaction; returns once what it wrote is committed (durably)."""
        if self.writer is not None:
            result: R = await self.writer.submit(work, args, kwargs)
            return result
        return await run_in_threadpool(in_session, engine_view(self.engine, True), work, args, kwargs, commit=True)

    def reader(self) -> Connection:
        thread = threading.get_ident()
        conn = self.readers.get(thread)
        if conn is None:
            conn = self.readers[thread] = engine_view(self.engine, False).connect()
        return conn

    def close(self) -> None:
        if self.writer is not None:
            self.writer.stop()
        for conn in self.readers.values():
            conn.close()
        self.readers.clear()
        self.engine.dispose()


def in_session(bind: Engine | Connection, work: Callable[..., R], args: Any, kwargs: Any, *, commit: bool) -> R:
    """Run work(session, …) in a transaction of its own: committed if asked and it returned, else rolled back."""
    with Session(bind, expire_on_commit=False) as session:
        result = work(session, *args, **kwargs)
        if commit:
            session.commit()
        return result


@dataclass
class Job:
    work: Callable[..., Any]
    args: Any
    kwargs: Any
    loop: asyncio.AbstractEventLoop
    future: asyncio.Future[Any]
    outcome: tuple[bool, Any] = field(default=(False, None))


class Writer:
    """The one thread of a process that writes to SQLite: it takes every write queued, runs them in one
    transaction (BEGIN IMMEDIATE … COMMIT, each in a savepoint of its own) and answers them all after COMMIT.

    A write waits for the writes queued before it, never for a thread or a lock held by a request; a failed
    COMMIT fails every write of its group (none of them is kept, and each caller is told).
    """

    STOP = None

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self.queue: queue.SimpleQueue[Job | None] = queue.SimpleQueue()
        self.thread: threading.Thread | None = None
        self.starting = threading.Lock()

    def submit(self, work: Callable[..., Any], args: Any, kwargs: Any) -> asyncio.Future[Any]:
        if self.thread is None:
            with self.starting:
                if self.thread is None:
                    self.thread = threading.Thread(target=self.run, name="coinflip-writer", daemon=True)
                    self.thread.start()
        loop = asyncio.get_running_loop()
        job = Job(work, args, kwargs, loop, loop.create_future())
        self.queue.put(job)
        return job.future

    def stop(self) -> None:
        if self.thread is not None:
            self.queue.put(self.STOP)
            self.thread.join()
            self.thread = None

    def run(self) -> None:
        conn: Connection | None = None
        while True:
            group = [self.queue.get()]
            while not self.queue.empty():
                group.append(self.queue.get_nowait())
            jobs = [job for job in group if job is not None]
            if jobs:
                try:
                    conn = conn or engine_view(self.engine, True).connect()
                except Exception as exc:  # the database can't be opened now: say so, and try again next time
                    fail(jobs, exc)
                else:
                    self.commit(conn, jobs)
            if len(jobs) < len(group):
                if conn is not None:
                    conn.close()
                return

    def commit(self, conn: Connection, jobs: list[Job]) -> None:
        try:
            with conn.begin():
                for job in jobs:
                    job.outcome = in_savepoint(conn, job)
        except BaseException as exc:  # the COMMIT (or BEGIN) failed: nothing of the group is kept
            # A COMMIT refused for a deferred constraint leaves SQLite's transaction open: end it.
            raw = conn.connection.dbapi_connection
            if raw is not None and raw.in_transaction:
                raw.rollback()
            fail(jobs, exc)
            return
        reply(jobs)


def in_savepoint(conn: Connection, job: Job) -> tuple[bool, Any]:
    """One write of a group: its session's commit releases its savepoint, its rollback goes back to it."""
    try:
        with Session(conn, join_transaction_mode="create_savepoint", expire_on_commit=False) as session:
            result = job.work(session, *job.args, **job.kwargs)
            session.commit()
            return True, result
    except Exception as exc:
        return False, exc


def fail(jobs: list[Job], exc: BaseException) -> None:
    for job in jobs:
        job.outcome = (False, exc)
    reply(jobs)


def reply(jobs: list[Job]) -> None:
    """Answer each job on its own event loop (a process has one; tests may have several)."""
    by_loop: dict[asyncio.AbstractEventLoop, list[Job]] = {}
    for job in jobs:
        by_loop.setdefault(job.loop, []).append(job)
    for loop, answered in by_loop.items():
        with suppress(RuntimeError):  # its loop is closed: nobody is waiting any more
            loop.call_soon_threadsafe(answer, answered)


def answer(jobs: list[Job]) -> None:
    for job in jobs:
        if job.future.cancelled():
            continue
        ok, value = job.outcome
        if ok:
            job.future.set_result(value)
        else:
            job.future.set_exception(value)


class Gone(LookupError):
    """The row was deleted while this request waited for its lock."""


Row = TypeVar("Row", bound=SQLModel)


def locked(db: Session, row: Row) -> Row:
    """The row as stored once this request holds its lock (see lock): another request may have changed it
    while this one waited. The session's own copy is refreshed in place."""
    row_id = row.id  # type: ignore[attr-defined]
    lock(db, type(row), row_id)
    found = db.get(type(row), row_id, populate_existing=True)
    if found is None:
        raise Gone()
    return found


def lock(db: Session, table: type[SQLModel], row_id: int | None) -> None:
    """Make writers that change what hangs on this row take turns until the transaction ends.

    SQLite needs nothing: its writes take turns on the writer thread, and a writing transaction holds the whole
    database from its BEGIN IMMEDIATE. PostgreSQL locks the row FOR NO KEY UPDATE, which still lets other
    transactions insert rows that refer to it.
    """
    if db.get_bind().dialect.name == "postgresql":
        column = table.id  # type: ignore[attr-defined]
        db.exec(select(column).where(column == row_id).with_for_update(key_share=True))
