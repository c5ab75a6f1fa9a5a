"""The database: an engine with safe settings, and the one way a request reaches it, `await db.read(work, …)`
and `await db.write(work, …)` (app.state.db, a Database).

`work(session, *args)` is a plain function of the domain; it gets a session of its own and returns what it
found. The hot paths (the login lookup, Today, the flip, the reflection) ask `read_plain` and `write_plain`
instead: their work gets a `Sql`, plain SQL on the driver's own connection, a tenth of a Session's cost, and
builds the same model objects the ORM would have loaded (`loaded`).

A read runs in a transaction of its own: on SQLite on the event loop (WAL reads take microseconds and never
wait for a lock), on PostgreSQL in the thread pool (it waits for the network). A write on SQLite goes to
the process's one writer thread, which runs whatever writes are queued in one durable transaction (group
commit: one fsync for all of them) and answers each once that transaction is committed; each write sits in a
savepoint of its own, so one that fails takes back only itself. On PostgreSQL each write is a transaction of
its own in the thread pool; row locks (lock()) make writers of one row take turns, across replicas too.
"""

import asyncio
import contextvars
import functools
import queue
import re
import threading
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Concatenate, ParamSpec, TypeVar
from zoneinfo import ZoneInfo

from sqlalchemy import Boolean, Engine, Enum, create_engine, event
from sqlalchemy.engine import Connection
from sqlalchemy.orm import configure_mappers
from sqlmodel import Session, SQLModel, select
from sqlmodel.sql.sqltypes import UTCDateTime
from starlette.concurrency import run_in_threadpool

# PostgreSQL: a request holds a connection only inside one thread-pool call (a read or a write), so threads
# waiting for a connection never wait on a request that waits for a thread.
PG_POOL_SIZE, PG_MAX_OVERFLOW = 10, 10
BUSY_TIMEOUT = 30.0

P = ParamSpec("P")
R = TypeVar("R")
Work = Callable[Concatenate[Session, P], R]
Row = TypeVar("Row", bound=SQLModel)


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


# Plain SQL: the hot paths' way to the database.

NAMED = re.compile(r"(?<![:\w]):(\w+)")
SQLITE_TIME = "%Y-%m-%d %H:%M:%S.%f"  # how SQLAlchemy stores a datetime in SQLite, so stored and bound compare


@functools.lru_cache(maxsize=512)
def for_postgres(statement: str) -> str:
    """:name parameters as psycopg's %(name)s (SQLite's driver takes :name as it is)."""
    return NAMED.sub(r"%(\1)s", statement.replace("%", "%%"))


def in_list(ids: list[int]) -> str:
    """'(1, 2, 3)': ints only, so nothing but numbers is ever written into a statement; '(NULL)' matches none."""
    return "(" + ", ".join(str(int(i)) for i in ids) + ")" if ids else "(NULL)"


class Sql:
    """Statements on the driver's own connection (sqlite3 or psycopg), with :name parameters on both. Rows come
    back as the driver gives them: `loaded` makes model objects of them."""

    def __init__(self, raw: Any, postgres: bool) -> None:
        self.raw = raw
        self.postgres = postgres

    @classmethod
    def of(cls, db: Session) -> "Sql":
        """The session's own connection and transaction (what it holds written first), for plain work called where
        a session is at hand: the CLI, the demo, tests."""
        db.flush()
        conn = db.connection()
        return cls(driver(conn), conn.dialect.name == "postgresql")

    def execute(self, statement: str, params: dict[str, Any]) -> Any:
        for name, value in list(params.items()):
            if isinstance(value, list):  # `x IN :ids`: the ids written into the statement
                statement = re.sub(f":{name}\\b", in_list(params.pop(name)), statement)
            elif isinstance(value, datetime) and not self.postgres:
                params[name] = value.astimezone(UTC).strftime(SQLITE_TIME)
        if self.postgres:
            cursor = self.raw.cursor()
            cursor.execute(for_postgres(statement), params)
            return cursor
        return self.raw.execute(statement, params)

    @property
    def IntegrityError(self) -> type[Exception]:  # noqa: N802 (the DB-API's name)
        """What the driver raises when a unique or foreign key refuses a write (not SQLAlchemy's IntegrityError)."""
        error: type[Exception] = self.raw.IntegrityError
        return error

    def locking(self, statement: str, *, share: bool = False) -> str:
        """The statement locking the rows it reads, on PostgreSQL (see lock()): SQLite's writes take turns anyway."""
        if not self.postgres:
            return statement
        return statement + (" FOR SHARE" if share else " FOR NO KEY UPDATE")

    @contextmanager
    def savepoint(self, name: str) -> Iterator[None]:
        """What the block writes is kept if it returns, taken back if it raises (the transaction goes on)."""
        self.run(f"SAVEPOINT {name}")
        try:
            yield
        except BaseException:
            self.run(f"ROLLBACK TO SAVEPOINT {name}")
            self.run(f"RELEASE SAVEPOINT {name}")
            raise
        self.run(f"RELEASE SAVEPOINT {name}")

    def all(self, statement: str, **params: Any) -> list[Any]:
        return list(self.execute(statement, params).fetchall())

    def one(self, statement: str, **params: Any) -> Any:
        """The first row, or None."""
        return self.execute(statement, params).fetchone()

    def run(self, statement: str, **params: Any) -> int:
        """A change; how many rows it changed."""
        return int(self.execute(statement, params).rowcount)


def driver(conn: Connection) -> Any:
    """The driver's own connection (sqlite3's or psycopg's) under SQLAlchemy's."""
    return conn.connection.dbapi_connection


def as_utc(value: str | datetime | None) -> datetime | None:
    if value is None:
        return None
    moment = datetime.fromisoformat(value) if isinstance(value, str) else value
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


@dataclass(frozen=True)
class Columns:
    """A table's columns as plain SQL reads them: their names in order, what turns a driver's value into the
    model's (datetimes in UTC, booleans, enums), and which make the primary key."""

    names: tuple[str, ...]
    conversions: tuple[tuple[str, Callable[[Any], Any]], ...]
    key: tuple[str, ...]


@functools.cache
def columns(model: type[SQLModel]) -> Columns:
    configure_mappers()
    table = model.__table__  # type: ignore[attr-defined]
    conversions: list[tuple[str, Callable[[Any], Any]]] = []
    for column in table.columns:
        if isinstance(column.type, UTCDateTime):
            conversions.append((column.name, as_utc))
        elif isinstance(column.type, Boolean):
            conversions.append((column.name, bool))
        elif isinstance(column.type, Enum) and column.type.enum_class is not None:
            conversions.append((column.name, column.type.enum_class))
    key = tuple(column.name for column in table.primary_key.columns)
    return Columns(tuple(column.name for column in table.columns), tuple(conversions), key)


def with_columns(statement: str, **models: type[SQLModel]) -> str:
    """The statement with each `{m.*}` spelled out as m's columns in the order `loaded` takes them:
    with_columns("SELECT {m.*} FROM member m", m=Member) is "SELECT m.id, m.household_id, … FROM member m"."""
    for alias, model in models.items():
        spelled = ", ".join(f"{alias}.{name}" for name in columns(model).names)
        statement = statement.replace("{" + alias + ".*}", spelled)
    return statement


def loaded(model: type[Row], values: Sequence[Any]) -> Row:
    """A row read with plain SQL (its `{m.*}` columns, see with_columns) as the object the ORM would have
    loaded: detached (no session holds it, its identity known), its fields set without validation, as loading
    from the database does. (make_transient_to_detached does the same at twice the cost.)"""
    shape = columns(model)
    row = model._sa_class_manager.new_instance()  # type: ignore[attr-defined]
    fields = row.__dict__
    fields.update(zip(shape.names, values, strict=False))
    for name, convert in shape.conversions:
        if fields[name] is not None:
            fields[name] = convert(fields[name])
    row._sa_instance_state.key = (model, tuple(fields[name] for name in shape.key), None)
    return row  # type: ignore[no-any-return]


def as_loaded(model: type[Row], **fields: Any) -> Row:
    """A row just written with plain SQL, as loaded(): every column's value named."""
    return loaded(model, [fields[name] for name in columns(model).names])


def in_plain(bind: Engine, work: Callable[..., R], args: Any, kwargs: Any, *, commit: bool) -> R:
    """Plain work in a transaction of its own on a pooled connection (PostgreSQL's way; on SQLite, bench.profile's
    writes on the loop): committed if asked and it returned, else rolled back."""
    with bind.connect() as conn, conn.begin() as transaction:
        result = work(Sql(driver(conn), conn.dialect.name == "postgresql"), *args, **kwargs)
        if not commit:
            transaction.rollback()
        return result


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

    async def read_plain(self, work: Callable[Concatenate[Sql, P], R], /, *args: P.args, **kwargs: P.kwargs) -> R:
        """read() for plain work: it gets a Sql, in a transaction of its own."""
        if not self.is_sqlite:
            return await run_in_threadpool(in_plain, engine_view(self.engine, False), work, args, kwargs, commit=False)
        raw = driver(self.reader())
        raw.execute("BEGIN")
        try:
            return work(Sql(raw, False), *args, **kwargs)
        finally:
            raw.execute("ROLLBACK")

    async def write_plain(self, work: Callable[Concatenate[Sql, P], R], /, *args: P.args, **kwargs: P.kwargs) -> R:
        """write() for plain work: it gets a Sql; returns once what it wrote is committed (durably)."""
        if self.writer is not None:
            result: R = await self.writer.submit(work, args, kwargs, plain=True)
            return result
        return await run_in_threadpool(in_plain, engine_view(self.engine, True), work, args, kwargs, commit=True)

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
    plain: bool = False  # work(Sql, …) instead of work(Session, …)
    # The request's context (its language, app/i18n.py): words a write chooses, say a refusal, are in it.
    context: contextvars.Context = field(default_factory=contextvars.copy_context)
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

    def submit(self, work: Callable[..., Any], args: Any, kwargs: Any, *, plain: bool = False) -> asyncio.Future[Any]:
        if self.thread is None:
            with self.starting:
                if self.thread is None:
                    self.thread = threading.Thread(target=self.run, name="coinflip-writer", daemon=True)
                    self.thread.start()
        loop = asyncio.get_running_loop()
        job = Job(work, args, kwargs, loop, loop.create_future(), plain)
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
    if job.plain:
        sql = Sql(driver(conn), False)
        try:
            with sql.savepoint("job"):
                return True, job.context.run(job.work, sql, *job.args, **job.kwargs)
        except Exception as exc:
            return False, exc
    try:
        with Session(conn, join_transaction_mode="create_savepoint", expire_on_commit=False) as session:
            result = job.context.run(job.work, session, *job.args, **job.kwargs)
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
