"""Fixtures: a fresh migrated database per test (SQLite, or PostgreSQL when a URL is given), the app,
clients, and a household with a logged-in member."""

import os
import random
import shutil
import signal
import socket
import subprocess
import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import uvicorn
from fastapi import FastAPI, Request
from fastapi.testclient import TestClient
from sqlalchemy import Engine, create_engine, event, text
from sqlmodel import Session, SQLModel

from app.cli import migrate
from app.config import Settings
from app.db import local_date
from app.deps import get_now, get_rng
from app.main import create_app
from app.models import Household, Member
from tests import catalogs, factories

POSTGRES_URL = os.environ.get("COINFLIP_TEST_DATABASE_URL")
SECRET = "test-secret-key-not-for-production"
# No daily-backup thread nor reminder dispatcher in tests: tests/test_backup.py and test_reminders.py call them.
TEST_SETTINGS: dict[str, Any] = {"secret_key": SECRET, "backup_keep": 0, "send_reminders": False}


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """On PostgreSQL, a browser test runs only if marked `on_postgres_too`: the pages are the same on both
    databases, and the rules they rely on (one verdict, reflection versions, isolation) are tested against both
    through the API. Skipped, not deselected, so the summary says which and why; CI's 20 minutes can't hold
    every browser test twice. COINFLIP_BROWSER_ON_POSTGRES=1 runs them all."""
    if not POSTGRES_URL or os.environ.get("COINFLIP_BROWSER_ON_POSTGRES") == "1":
        return
    once = pytest.mark.skip(reason="browser test: run on SQLite only (COINFLIP_BROWSER_ON_POSTGRES=1 runs it here)")
    for item in items:
        if item.get_closest_marker("browser") and not item.get_closest_marker("on_postgres_too"):
            item.add_marker(once)


@pytest.fixture(scope="session", autouse=True)
def compiled_catalogs() -> None:
    """The catalogs compiled (`make translations`), for a run started without make."""
    catalogs.compile_all()


@pytest.fixture(scope="session")
def migrated_template(tmp_path_factory: pytest.TempPathFactory) -> str:
    """Migrate once per run: a SQLite file copied for each test, or the PostgreSQL database itself."""
    folder = tmp_path_factory.mktemp("template")
    if POSTGRES_URL:
        with Session(create_engine_for(POSTGRES_URL)) as db:
            db.exec(text("DROP SCHEMA public CASCADE; CREATE SCHEMA public"))  # type: ignore[call-overload]
            db.commit()
        migrate(Settings(data_dir=folder, database_url=POSTGRES_URL, **TEST_SETTINGS))
        return POSTGRES_URL
    migrate(Settings(data_dir=folder, **TEST_SETTINGS))
    return str(folder / "coinflip.db")


def create_engine_for(url: str) -> Engine:
    from app.db import make_engine

    return make_engine(url)


@pytest.fixture
def settings(tmp_path: Path, migrated_template: str) -> Iterator[Settings]:
    if not POSTGRES_URL:
        shutil.copy(migrated_template, tmp_path / "coinflip.db")
        yield Settings(data_dir=tmp_path, database_url=f"sqlite:///{tmp_path / 'coinflip.db'}", **TEST_SETTINGS)
        return
    yield Settings(data_dir=tmp_path, database_url=POSTGRES_URL, **TEST_SETTINGS)
    # Whatever the test wrote, through any app it built, is emptied out for the next one.
    engine = create_engine_for(POSTGRES_URL)
    tables = ", ".join(t.name for t in SQLModel.metadata.sorted_tables)
    with engine.begin() as conn:
        conn.execute(text(f"TRUNCATE {tables} RESTART IDENTITY CASCADE"))
    engine.dispose()


@pytest.fixture
def app(settings: Settings) -> Iterator[FastAPI]:
    application = create_app(settings)
    application.dependency_overrides[get_rng] = lambda: random.Random(20261122)
    yield application
    application.state.engine.dispose()


def prepare_test_connection(connection: Any, _record: Any) -> None:
    """What the app's connections have that the test's own need too: foreign keys, and the local_date function
    the insights ask for (app.db)."""
    connection.execute("PRAGMA foreign_keys=ON")
    connection.create_function("local_date", 2, local_date, deterministic=True)


class Clock:
    """The app's clock in a test: it stands still until the test moves it (no sleeping to cross a midnight)."""

    def __init__(self, now: datetime) -> None:
        self.now = now

    def advance(self, **delta: float) -> datetime:
        self.now += timedelta(**delta)
        return self.now

    def set(self, now: datetime) -> datetime:
        self.now = now
        return now


@pytest.fixture
def clock(app: FastAPI) -> Clock:
    """Tuesday 24 November 2026, 09:00 UTC, until the test says otherwise."""
    clock = Clock(datetime(2026, 11, 24, 9, 0, tzinfo=UTC))

    async def now(request: Request) -> datetime:
        request.state.now = clock.now
        return clock.now

    app.dependency_overrides[get_now] = now
    return clock


@pytest.fixture
def db(app: FastAPI, settings: Settings) -> Iterator[Session]:
    """The test's own view of the database.

    On SQLite it uses pysqlite's default transaction handling (reads outside any transaction), so the
    test never holds a snapshot or a lock that would block or hide what the app under test writes.
    """
    if POSTGRES_URL:
        engine = app.state.engine
    else:
        engine = create_engine(settings.db_url, connect_args={"timeout": 30})
        event.listen(engine, "connect", prepare_test_connection)
    with Session(engine) as session:
        yield session
    if not POSTGRES_URL:
        engine.dispose()


@pytest.fixture
def client(app: FastAPI) -> Iterator[TestClient]:
    with TestClient(app, follow_redirects=False) as test_client:
        yield test_client


@dataclass
class Home:
    household: Household
    member: Member
    token: str


@pytest.fixture
def home(client: TestClient, db: Session, settings: Settings) -> Home:
    """A household with one member, logged in on `client` with that member picked."""
    household = factories.make_household(db)
    member = factories.make_member(db, household)
    token = factories.log_in(client, db, settings, household, member)
    return Home(household, member, token)


@contextmanager
def serving(app: FastAPI, lifespan: str = "off") -> Iterator[str]:
    """The app served by a real uvicorn on a loopback port bound before the server starts, so requests
    simply queue until it is ready. With lifespan "on", it has its gates (app.main's lifespan) too."""
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    sock.listen()
    server = uvicorn.Server(uvicorn.Config(app, log_level="warning", lifespan=lifespan))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{sock.getsockname()[1]}"
    finally:
        server.should_exit = True
        thread.join(timeout=10)
        sock.close()


@pytest.fixture
def live_url(app: FastAPI) -> Iterator[str]:
    with serving(app) as url:
        yield url


class Server:
    """A real uvicorn in a child process, on a socket the test bound first: requests queue until it is up."""

    def __init__(self, settings: Settings, data_dir: Path, workers: int = 1) -> None:
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(128)
        self.sock.set_inheritable(True)
        self.url = f"http://127.0.0.1:{self.sock.getsockname()[1]}"
        env = {**os.environ, "COINFLIP_DATABASE_URL": settings.db_url, "COINFLIP_DATA_DIR": str(data_dir),
               "COINFLIP_SECRET_KEY": SECRET, "COINFLIP_BACKUP_KEEP": "0"}  # fmt: skip
        command = [sys.executable, "-m", "uvicorn", "app.main:create_app", "--factory", "--log-level", "warning",
                   "--fd", str(self.sock.fileno()), "--workers", str(workers)]  # fmt: skip
        self.process = subprocess.Popen(command, env=env, pass_fds=[self.sock.fileno()], start_new_session=True)

    def kill(self) -> None:
        """SIGKILL, to the whole process group: no clean shutdown, as when the power goes."""
        os.killpg(self.process.pid, signal.SIGKILL)
        self.process.wait(timeout=20)
        self.sock.close()

    def stop(self) -> None:
        if self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGTERM)
            self.process.wait(timeout=30)
        self.sock.close()
