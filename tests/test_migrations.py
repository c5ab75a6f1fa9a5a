"""The Alembic migrations build the schema from nothing and match the models exactly."""

import os
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import create_engine, inspect, make_url, text
from sqlmodel import SQLModel

from app.cli import MIGRATION_LOCK, alembic_config, migrate
from app.config import Settings
from app.db import make_engine
from tests.conftest import POSTGRES_URL


def test_upgrade_head_on_an_empty_database_creates_every_table(tmp_path: object, settings: Settings) -> None:
    url = f"sqlite:///{settings.data_dir / 'fresh.db'}"
    command.upgrade(alembic_config(url), "head")
    engine = create_engine(url)
    assert set(inspect(engine).get_table_names()) >= set(SQLModel.metadata.tables)
    engine.dispose()


def test_models_and_migrations_do_not_drift(settings: Settings) -> None:
    """What autogenerate would write next is nothing: every model change has its migration."""
    engine = create_engine(settings.db_url)
    with engine.connect() as connection:
        diff = compare_metadata(MigrationContext.configure(connection), SQLModel.metadata)
    engine.dispose()
    assert diff == []


def test_no_index_is_the_start_of_another(settings: Settings) -> None:
    """An index whose columns begin another index is never needed (the longer one serves its queries) and
    costs a B-tree update for every row written."""
    engine = create_engine(settings.db_url)
    inspector = inspect(engine)
    covered = []
    for table in inspector.get_table_names():
        indexes = [i for i in inspector.get_indexes(table) if not i["unique"]]
        for short in indexes:
            for long in indexes:
                n = len(short["column_names"])
                if (
                    long is not short
                    and len(long["column_names"]) > n
                    and long["column_names"][:n] == short["column_names"]
                ):
                    covered.append((table, short["name"], long["name"]))
    engine.dispose()
    assert covered == []


def test_downgrade_to_base_and_up_again(settings: Settings) -> None:
    url = f"sqlite:///{settings.data_dir / 'roundtrip.db'}"
    command.upgrade(alembic_config(url), "head")
    command.downgrade(alembic_config(url), "base")
    command.upgrade(alembic_config(url), "head")
    engine = create_engine(url)
    assert "flip" in inspect(engine).get_table_names()
    engine.dispose()


@pytest.mark.skipif(not POSTGRES_URL, reason="the advisory lock is PostgreSQL's; set COINFLIP_TEST_POSTGRES_URL")
def test_containers_starting_together_migrate_one_after_the_other(tmp_path: Path) -> None:
    """While one container holds the migration lock, another's `coinflip migrate` waits for it (here it gives up
    after lock_timeout, which shows it waited); once released, the next one migrates, and three at once all pass."""
    assert POSTGRES_URL
    url = make_url(POSTGRES_URL)
    fresh = url.set(database=f"{url.database}_migrate_race")
    admin = create_engine(url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{fresh.database}"'))
        conn.execute(text(f'CREATE DATABASE "{fresh.database}"'))
    coinflip = str(Path(sys.executable).parent / "coinflip")

    def migrate(timeout_ms: int | None = None) -> subprocess.Popen[str]:
        target = fresh.update_query_dict({"options": f"-c lock_timeout={timeout_ms}"}) if timeout_ms else fresh
        env = {**os.environ, "COINFLIP_DATABASE_URL": target.render_as_string(hide_password=False),
               "COINFLIP_DATA_DIR": str(tmp_path)}  # fmt: skip
        return subprocess.Popen([coinflip, "migrate"], env=env, stderr=subprocess.PIPE, text=True)

    holder = create_engine(fresh, isolation_level="AUTOCOMMIT")
    with holder.connect() as conn:
        conn.execute(text("SELECT pg_advisory_lock(:key)"), {"key": MIGRATION_LOCK})
        blocked = migrate(timeout_ms=500)
        _, error = blocked.communicate(timeout=120)
        assert blocked.returncode != 0 and "lock timeout" in error
        assert "alembic_version" not in inspect(conn).get_table_names()
    holder.dispose()
    runs = [migrate() for _ in range(3)]
    errors = [run.communicate(timeout=120)[1] for run in runs]
    assert [run.returncode for run in runs] == [0, 0, 0], errors
    migrated = create_engine(fresh)
    with migrated.connect() as conn:
        assert conn.execute(text("SELECT count(*) FROM alembic_version")).scalar() == 1
        assert "flip" in inspect(conn).get_table_names()
    migrated.dispose()
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE "{fresh.database}"'))
    admin.dispose()


ROWS_AT_0004 = (
    "INSERT INTO household (id, name, login, password_hash, created_at) "
    "VALUES (1, 'A', 'a', 'x', '2026-11-20 10:00:00')",
    "INSERT INTO member (id, household_id, name, emoji, created_at) VALUES (1, 1, 'Ana', 'x', '2026-11-20 10:00:00')",
    "INSERT INTO member (id, household_id, name, emoji, created_at) VALUES (2, 1, 'Ben', 'x', '2026-11-20 10:00:00')",
    "INSERT INTO habit (id, member_id, name, emoji, why, minimum, mode, chance, created_at) "
    "VALUES (1, 1, 'Run', 'x', '', '', 'each', 0.6, '2026-11-20 10:00:00')",
    "INSERT INTO habit (id, member_id, name, emoji, why, minimum, mode, chance, created_at) "
    "VALUES (2, 1, 'Lift', '🏋️‍♀️', '', '', 'each', 0.6, '2026-11-20 10:00:00')",
    "INSERT INTO flip (id, habit_id, member_id, flipped_at, coin, prompt, closed_at, skipped) "
    "VALUES (1, 1, 1, '2026-11-20 23:30:00', 'mixed', 'p', '2026-11-20 23:40:00', 0)",
    "INSERT INTO flipenhancer (id, flip_id, name, spike, allowed) VALUES (1, 1, 'Music', 2, 1)",
    "INSERT INTO reflection (flip_id, effort, enjoyment, followed, note, created_at) "
    "VALUES (1, 5, 6, 'yes', 'kept', '2026-11-20 23:40:00')",
)


@pytest.mark.skipif(bool(POSTGRES_URL), reason="SQLite rebuilds tables to change a column; this run is PostgreSQL")
def test_upgrading_a_lived_in_database_keeps_every_row(tmp_path: Path) -> None:
    """SQLite rebuilds a table to change a column (copy, drop, rename). The app's connections have foreign keys
    on, and the drop then cascade-deleted every member, habit, flip and reflection of the household: migrate
    must switch them off for the rebuild. The new columns are filled in from what was there."""
    settings = Settings(data_dir=tmp_path, timezone="Europe/Berlin")
    engine = make_engine(settings.db_url)
    config = alembic_config(settings.db_url)
    with engine.connect() as connection:
        config.attributes["connection"] = connection
        command.upgrade(config, "0004")
        connection.commit()
    with engine.begin() as connection:
        for statement in ROWS_AT_0004:
            connection.exec_driver_sql(statement)
    engine.dispose()
    migrate(settings)
    with sqlite3.connect(tmp_path / "coinflip.db") as conn:
        assert conn.execute("SELECT timezone FROM household").fetchall() == [("Europe/Berlin",)]
        # Members from before colours get the palette in turn (0007), so they are told apart from the start.
        assert conn.execute("SELECT name, colour FROM member").fetchall() == [("Ana", "teal"), ("Ben", "green")]
        assert conn.execute("SELECT every_hours, archived_at FROM habit").fetchall() == [(None, None)] * 2
        # An icon that isn't one emoji (0008) became its kind's default; one that is stayed.
        assert conn.execute("SELECT emoji FROM habit ORDER BY id").fetchall() == [("🏃",), ("🏋️‍♀️",)]
        assert conn.execute("SELECT emoji FROM member").fetchall() == [("🙂",), ("🙂",)]
        # 23:30 UTC on the 20th is 00:30 on the 21st in Berlin: that session ended at midnight on the 22nd there.
        flip = conn.execute("SELECT next_flip_at, mode, chance FROM flip").fetchall()
        assert flip == [("2026-11-21 23:00:00.000000", "each", 0.6)]
        assert conn.execute("SELECT allowed, capped FROM flipenhancer").fetchall() == [(1, 0)]
        assert conn.execute("SELECT note, version FROM reflection").fetchall() == [("kept", 1)]
        assert conn.execute("PRAGMA foreign_key_check").fetchall() == []
