"""The Alembic migrations build the schema from nothing and match the models exactly."""

from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import create_engine, inspect
from sqlmodel import SQLModel

from app.cli import alembic_config
from app.config import Settings


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


def test_downgrade_to_base_and_up_again(settings: Settings) -> None:
    url = f"sqlite:///{settings.data_dir / 'roundtrip.db'}"
    command.upgrade(alembic_config(url), "head")
    command.downgrade(alembic_config(url), "base")
    command.upgrade(alembic_config(url), "head")
    engine = create_engine(url)
    assert "flip" in inspect(engine).get_table_names()
    engine.dispose()
