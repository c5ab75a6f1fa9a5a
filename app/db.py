"""The database engine (SQLite with safe pragmas, or PostgreSQL) and the per-request session."""

import asyncio
import fcntl
import functools
import inspect
import os
import sqlite3
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from contextlib import asynccontextmanager, contextmanager, suppress
from datetime import UTC, datetime
from typing import Any, ParamSpec, TypeVar, cast
from zoneinfo import ZoneInfo

from fastapi import Request
from sqlalchemy import Engine, create_engine, event
from sqlalchemy.engine import Connection
from sqlmodel import Session, SQLModel, select
from starlette.concurrency import run_in_threadpool

SAFE_METHODS = {"GET", "HEAD", "OPTIONS"}
FORM_TYPES = ("application/x-www-form-urlencoded", "multipart/form-data")
# A request holds its connection from its first query to its end, across thread-pool hops, and may open a
# second one for a side write. If requests could wait for a connection inside the thread pool while the
# requests holding every connection wait for a thread, all would wait until the pool's timeout. So SQLite
# (whose connections are only file handles) opens as many as asked for, and on PostgreSQL at most
# PG_REQUESTS requests per process use the database at once, queued on the event loop (app.state.db_slots).
PG_POOL_SIZE, PG_MAX_OVERFLOW = 10, 10
PG_REQUESTS = (PG_POOL_SIZE + PG_MAX_OVERFLOW) // 2


BUSY_TIMEOUT = 30.0
WRITER_POLL = 0.001


class WriterQueue:
    """A lock file beside the database that every process's writers take just before BEGIN IMMEDIATE.

    On its own, a writer that finds SQLite's lock held by another process sleeps in SQLite's busy handler
    for 1, 2, 5 ... up to 100 ms between tries, and mostly misses the short gaps between the other
    process's writes: with two workers a flip waited up to 1.5 s at 50 connections. This lock is tried
    every millisecond instead. SQLite's own lock stays the guard of the data; this only lets a waiter in
    sooner. Locks of one file are per open file, so each connection has its own.
    """

    def __init__(self, database: str) -> None:
        self.path = database + "-writer"

    def open(self) -> int:
        return os.open(self.path, os.O_RDWR | os.O_CREAT, 0o600)

    @staticmethod
    def acquire(fd: int) -> None:
        deadline = time.monotonic() + BUSY_TIMEOUT
        while True:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                return
            except BlockingIOError:
                if time.monotonic() > deadline:
                    raise sqlite3.OperationalError("database is locked") from None
                time.sleep(WRITER_POLL)
            except OSError:
                return  # a file system without locks: SQLite's busy handler alone, as before

    @staticmethod
    def release(fd: int | None) -> None:
        if fd is not None:
            with suppress(OSError):
                fcntl.flock(fd, fcntl.LOCK_UN)


def make_engine(url: str) -> Engine:
    if not url.startswith("sqlite"):
        # lock() and the reads after it need each statement to see what others committed before it, not the
        # transaction's first snapshot: under a server's stricter default, taking the lock a replica released
        # fails ("could not serialize access").
        return create_engine(url, pool_pre_ping=True, pool_size=PG_POOL_SIZE, max_overflow=PG_MAX_OVERFLOW,
                             isolation_level="READ COMMITTED")  # fmt: skip
    connect_args = {"check_same_thread": False, "timeout": BUSY_TIMEOUT}
    engine = create_engine(url, connect_args=connect_args, pool_size=40, max_overflow=-1)
    database = engine.url.database
    queue = WriterQueue(database) if database and database != ":memory:" else None

    @event.listens_for(engine, "connect")
    def set_pragmas(dbapi_connection: Any, record: Any) -> None:
        if queue is not None:
            record.info["writer_fd"] = queue.open()
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
        if not conn.get_execution_options().get("write"):
            conn.exec_driver_sql("BEGIN")
            return
        fd = conn.connection.info.get("writer_fd")
        if fd is not None:
            WriterQueue.acquire(fd)
        try:
            conn.exec_driver_sql("BEGIN IMMEDIATE")
        except BaseException:
            WriterQueue.release(fd)
            raise

    # Both fire just before the transaction ends: a waiter let in that soon may find SQLite's lock held for
    # the moment the commit takes, and SQLite's busy handler covers that.
    @event.listens_for(engine, "commit")
    @event.listens_for(engine, "rollback")
    def end(conn: Connection) -> None:
        WriterQueue.release(conn.connection.info.get("writer_fd"))

    @event.listens_for(engine, "checkin")
    def checkin(_dbapi_connection: Any, record: Any) -> None:
        # Whatever way a connection comes back to the pool, it holds no place in the queue.
        WriterQueue.release(record.info.get("writer_fd"))

    @event.listens_for(engine, "close")
    def close(_dbapi_connection: Any, record: Any) -> None:
        fd = record.info.pop("writer_fd", None)
        if fd is not None:
            os.close(fd)  # which also releases its lock

    return engine


def local_date(stored: str | None, zone: str) -> str | None:
    """SQL local_date(timestamp, zone): the date, in that IANA zone, of a UTC time as SQLite stores it."""
    if stored is None:
        return None
    moment = datetime.fromisoformat(stored).replace(tzinfo=UTC)
    return moment.astimezone(ZoneInfo(zone)).date().isoformat()


@functools.lru_cache(maxsize=64)
def engine_view(engine: Engine, write: bool) -> Engine:
    """The engine with its write option set, made once: making one costs as much as a small query."""
    return engine.execution_options(write=write)


def open_session(engine: Engine, *, write: bool = True) -> Session:
    """A session whose every transaction is a writing one (BEGIN IMMEDIATE on SQLite), or a reading one."""
    return Session(engine_view(engine, write), expire_on_commit=False)


async def get_db(request: Request) -> AsyncIterator[Session]:
    """One session per request; only unsafe methods start a writing transaction, once their body is in.

    On SQLite, writing requests of this process also pass one at a time through a gate, waited for on the
    event loop. Otherwise threads waiting for the write lock fill the thread pool, while the request that
    holds the lock waits for a thread to run its next step: a deadlock until the busy timeout. On
    PostgreSQL, requests wait for a free connection the same way (see PG_REQUESTS).
    """
    write = request.method not in SAFE_METHODS
    if write:
        # The whole body first, kept by Starlette for whoever parses it next: a client sending it slowly must
        # not hold the write gate, and with it every flip of this process, while it trickles in. (A form is
        # read as a form: its stream can be read only once, and the CSRF check may have parsed it already.)
        if request.headers.get("Content-Type", "").startswith(FORM_TYPES):
            await request.form()
        else:
            await request.body()
    state = request.app.state
    names = ("db_slots", "write_gate") if write else ("db_slots",)
    places = request.state.db_places = Places([getattr(state, name) for name in names if hasattr(state, name)])
    await places.take()
    db = open_session(state.engine, write=write)
    try:
        yield db
    finally:
        db.close()
        places.give_back()


class Places:
    """The places a request holds at the gates of get_db, which it may give back around slow work (unlocked)."""

    def __init__(self, gates: list[asyncio.Semaphore]) -> None:
        self.gates = gates
        self.held = 0

    async def take(self) -> None:
        for gate in self.gates[self.held :]:
            await gate.acquire()
            self.held += 1

    def give_back(self) -> None:
        while self.held:
            self.held -= 1
            self.gates[self.held].release()


@asynccontextmanager
async def unlocked(request: Request, db: Session) -> AsyncIterator[None]:
    """Run slow work that needs no database (a password hash) holding nothing: the transaction so far is
    committed, and the request's places at the write gate and among the database slots wait for the block's end.
    Whatever the request reads afterwards, it reads anew: others may have written meanwhile."""
    await run_in_threadpool(db.commit)
    places: Places = request.state.db_places
    places.give_back()
    try:
        yield
    finally:
        await places.take()


def reads_inline(request: Request) -> bool:
    """Whether this request's database work runs on the event loop: only the reads of a safe request on SQLite.

    Those take microseconds and never wait for a lock (WAL), so a thread-pool hop costs more than they do,
    and under load the threads queue for the GIL. Writes stay in the pool: they wait for the write lock and
    for fsync. So do PostgreSQL's queries, which wait for the network.
    """
    return request.method in SAFE_METHODS and bool(request.app.state.settings.is_sqlite)


P = ParamSpec("P")
R = TypeVar("R")


async def on_db(request: Request, work: Callable[P, R], /, *args: P.args, **kwargs: P.kwargs) -> R:
    """Run database work from async code: inline where reads_inline allows, in the thread pool otherwise."""
    if reads_inline(request):
        return work(*args, **kwargs)
    return await run_in_threadpool(work, *args, **kwargs)


def reads_on_loop(handler: Callable[P, R]) -> Callable[P, Awaitable[R]]:
    """A plain `def` handler (with a `request` parameter) that FastAPI runs through on_db, not in the pool.

    Only for handlers that never write: a write inside would take the lock on the event loop.
    """
    if "request" not in inspect.signature(handler).parameters:
        raise TypeError(f"{handler.__name__} needs a `request` parameter to be run by on_db")

    @functools.wraps(handler)
    async def run(*args: P.args, **kwargs: P.kwargs) -> R:
        return await on_db(cast(Request, kwargs["request"]), handler, *args, **kwargs)

    return run


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

    SQLite needs nothing: a writing transaction holds the whole database from its BEGIN IMMEDIATE. PostgreSQL
    locks the row FOR NO KEY UPDATE, which still lets other transactions insert rows that refer to it.
    """
    if db.get_bind().dialect.name == "postgresql":
        column = table.id  # type: ignore[attr-defined]
        db.exec(select(column).where(column == row_id).with_for_update(key_share=True))


@contextmanager
def side_write(request: Request, db: Session) -> Iterator[Session]:
    """A small write to keep whatever the request goes on to do (a failed login, a device seen).

    A writing request already holds the write lock (BEGIN IMMEDIATE): the write joins its transaction and is
    committed now. A reading request writes in a short transaction of its own instead.
    """
    if request.method not in SAFE_METHODS:
        yield db
        db.commit()
        return
    with open_session(request.app.state.engine) as own:
        yield own
        own.commit()
