"""Consistent copies of the SQLite database: one on demand, and daily ones kept in the data folder."""

import fcntl
import sqlite3
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path

from sqlalchemy.engine import make_url

from app.config import Settings

DAILY = timedelta(hours=23)
CHECK_EVERY = 3600.0


class BackupError(Exception):
    """A backup that cannot be taken, said in words the person can act on."""


def sqlite_path(settings: Settings) -> Path:
    if not settings.is_sqlite:
        raise BackupError(
            "This instance runs on PostgreSQL: back it up with pg_dump, for example "
            '`pg_dump --format=custom --file=coinflip.dump "$DATABASE_URL"`.'
        )
    database = make_url(settings.db_url).database
    if not database:
        raise BackupError("The SQLite database has no file to back up.")
    return Path(database)


def backup_to(settings: Settings, target: Path) -> Path:
    """Copy the database with VACUUM INTO: consistent while the app runs, committed rows in the WAL included."""
    source = sqlite_path(settings)
    if target.exists():
        raise BackupError(f"{target} exists already; choose a new file name.")
    target.parent.mkdir(parents=True, exist_ok=True)
    connection = sqlite3.connect(source, timeout=30)
    try:
        connection.execute("VACUUM INTO ?", (str(target),))
    finally:
        connection.close()
    return target


@contextmanager
def only_one_process(lock_file: Path) -> Iterator[bool]:
    """Several workers share a data folder: whoever holds the lock does the daily backup."""
    with lock_file.open("w") as handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            yield False
            return
        try:
            yield True
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def daily_backup(settings: Settings, now: datetime | None = None) -> Path | None:
    """Take today's backup if the newest one is older than a day, and keep only the newest `backup_keep`."""
    if settings.backup_keep == 0 or not settings.is_sqlite:
        return None
    now = now or datetime.now(UTC)
    folder = settings.data_dir / "backups"
    folder.mkdir(parents=True, exist_ok=True)
    with only_one_process(folder / ".lock") as mine:
        if not mine:
            return None
        existing = sorted(folder.glob("coinflip-*.db"))
        newest = datetime.fromtimestamp(existing[-1].stat().st_mtime, UTC) if existing else None
        taken = None
        if newest is None or now - newest >= DAILY:
            taken = backup_to(settings, folder / f"coinflip-{now:%Y%m%d-%H%M%S}.db")
            existing.append(taken)
        for old in existing[: -settings.backup_keep]:
            old.unlink()
        return taken


class DailyBackups:
    """A background thread that checks every hour whether today's backup is due."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.stopped = threading.Event()
        self.thread = threading.Thread(target=self.run, name="daily-backups", daemon=True)

    def run(self) -> None:
        while not self.stopped.is_set():
            try:
                daily_backup(self.settings)
            except (OSError, sqlite3.Error, BackupError) as exc:
                print(f"coinflip: daily backup failed: {exc}", flush=True)
            self.stopped.wait(CHECK_EVERY)

    def start(self) -> None:
        if self.settings.backup_keep and self.settings.is_sqlite:
            self.thread.start()

    def stop(self) -> None:
        self.stopped.set()
        if self.thread.is_alive():
            self.thread.join(timeout=30)
