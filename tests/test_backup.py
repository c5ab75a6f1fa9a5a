"""`coinflip backup` and the daily backups: consistent copies of a live SQLite database."""

import os
import sqlite3
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlmodel import Session

from app import backup, cli
from app.config import Settings
from tests import factories
from tests.conftest import POSTGRES_URL, Home

pytestmark = pytest.mark.skipif(bool(POSTGRES_URL), reason="SQLite backups; PostgreSQL is backed up with pg_dump")


def flip_count(path: Path) -> int:
    with sqlite3.connect(path) as conn:
        return int(conn.execute("SELECT count(*) FROM flip").fetchone()[0])


def test_backup_includes_rows_that_are_still_in_the_wal(
    client: TestClient, db: Session, home: Home, settings: Settings, tmp_path: Path
) -> None:
    habit = factories.make_flippable_habit(db, home.member)
    # Keep a reader open so SQLite cannot checkpoint: the flip's row stays in the -wal file.
    reader = sqlite3.connect(settings.data_dir / "coinflip.db")
    reader.execute("BEGIN")
    reader.execute("SELECT count(*) FROM flip").fetchone()
    client.post(f"/habits/{habit.id}/flips")
    assert os.path.getsize(settings.data_dir / "coinflip.db-wal") > 0
    target = backup.backup_to(settings, tmp_path / "copy.db")
    reader.close()
    assert flip_count(target) == 1
    with sqlite3.connect(target) as conn:
        assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"


def test_backup_never_overwrites(settings: Settings, tmp_path: Path) -> None:
    (tmp_path / "taken.db").write_text("precious")
    with pytest.raises(backup.BackupError, match="exists already"):
        backup.backup_to(settings, tmp_path / "taken.db")
    assert (tmp_path / "taken.db").read_text() == "precious"


def test_on_postgresql_backup_points_to_pg_dump(settings: Settings, tmp_path: Path) -> None:
    on_postgres = settings.model_copy(update={"database_url": "postgresql+psycopg://u@localhost/coinflip"})
    with pytest.raises(backup.BackupError, match="pg_dump"):
        backup.backup_to(on_postgres, tmp_path / "x.db")


def test_the_backup_command(settings: Settings, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    out = cli.run(["backup", str(tmp_path / "b" / "coinflip.db")], settings)
    assert out and "Backed up to" in out and (tmp_path / "b" / "coinflip.db").exists()
    monkeypatch.setattr(sys, "argv", ["coinflip", "backup", str(tmp_path / "b" / "coinflip.db")])
    monkeypatch.setenv("COINFLIP_DATA_DIR", str(settings.data_dir))
    assert cli.main() == 1  # refuses to overwrite, without a traceback


def test_daily_backups_keep_the_newest_n(settings: Settings) -> None:
    keep3 = settings.model_copy(update={"backup_keep": 3})
    start = datetime(2026, 1, 1, 6, tzinfo=UTC)
    folder = settings.data_dir / "backups"
    for day in range(5):
        now = start + timedelta(days=day)
        taken = backup.daily_backup(keep3, now)
        assert taken is not None
        os.utime(taken, (now.timestamp(), now.timestamp()))
        # A second check the same day takes nothing.
        assert backup.daily_backup(keep3, now + timedelta(hours=2)) is None
    names = sorted(p.name for p in folder.glob("coinflip-*.db"))
    assert names == ["coinflip-20260103-060000.db", "coinflip-20260104-060000.db", "coinflip-20260105-060000.db"]


def test_daily_backups_can_be_switched_off(settings: Settings) -> None:
    assert backup.daily_backup(settings.model_copy(update={"backup_keep": 0})) is None
    assert not (settings.data_dir / "backups").exists()


def test_only_one_worker_takes_the_daily_backup(settings: Settings) -> None:
    folder = settings.data_dir / "backups"
    folder.mkdir()
    with backup.only_one_process(folder / ".lock") as first, backup.only_one_process(folder / ".lock") as second:
        assert (first, second) == (True, False)
    assert backup.daily_backup(settings.model_copy(update={"backup_keep": 2})) is not None
