"""sessions, time zones, archived habits, reflection versions

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-24 09:00:00.000000

Households get a time zone (COINFLIP_TIMEZONE for the existing ones). Each flip records when its session ends
(`next_flip_at`: the next local midnight after it was drawn, for existing flips) and the policy it was drawn
under (the habit's present one, for existing flips; all of them were sessions of a day). Habits get
`every_hours` and `archived_at`, verdict rows `capped`, reflections a `version`.
"""

import os
from collections.abc import Sequence
from datetime import UTC, datetime, time, timedelta
from zoneinfo import ZoneInfo

import sqlalchemy as sa
import sqlmodel
from alembic import context, op
from sqlalchemy.dialects import postgresql

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

BATCH = 5000


def default_timezone() -> str:
    """The app passes its settings' zone; Alembic run by hand falls back to the environment."""
    return str(context.config.attributes.get("timezone") or os.environ.get("COINFLIP_TIMEZONE") or "UTC")


def next_local_midnight(moment: datetime, zone: ZoneInfo) -> datetime:
    day = moment.astimezone(zone).date() + timedelta(days=1)
    return datetime.combine(day, time(0), tzinfo=zone).astimezone(UTC)


def upgrade() -> None:
    zone_name = default_timezone()
    zone = ZoneInfo(zone_name)
    utc_datetime = sqlmodel.sql.sqltypes.UTCDateTime

    with op.batch_alter_table("household", schema=None) as batch_op:
        batch_op.add_column(sa.Column("timezone", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=True))
    household = sa.table("household", sa.column("timezone", sa.String))
    op.execute(household.update().values(timezone=zone_name))
    with op.batch_alter_table("household", schema=None) as batch_op:
        batch_op.alter_column("timezone", existing_type=sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False)

    with op.batch_alter_table("habit", schema=None) as batch_op:
        batch_op.add_column(sa.Column("every_hours", sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column("archived_at", utc_datetime(), nullable=True))

    mode = sa.Enum("all_or_nothing", "each", name="mode")
    if op.get_bind().dialect.name == "postgresql":
        mode = postgresql.ENUM("all_or_nothing", "each", name="mode", create_type=False)  # habit.mode made it
    with op.batch_alter_table("flip", schema=None) as batch_op:
        batch_op.add_column(sa.Column("next_flip_at", utc_datetime(), nullable=True))
        batch_op.add_column(sa.Column("mode", mode, nullable=True))
        batch_op.add_column(sa.Column("chance", sa.Float(), nullable=True))
        batch_op.add_column(sa.Column("every_hours", sa.Integer(), nullable=True))
    op.execute(
        "UPDATE flip SET mode = (SELECT habit.mode FROM habit WHERE habit.id = flip.habit_id), "
        "chance = (SELECT habit.chance FROM habit WHERE habit.id = flip.habit_id)"
    )
    flip = sa.table(
        "flip", sa.column("id", sa.Integer), sa.column("flipped_at", utc_datetime()),
        sa.column("next_flip_at", utc_datetime()),
    )  # fmt: skip
    connection = op.get_bind()
    last_id = 0
    while True:
        rows = connection.execute(
            sa.select(flip.c.id, flip.c.flipped_at).where(flip.c.id > last_id).order_by(flip.c.id).limit(BATCH)
        ).all()
        if not rows:
            break
        connection.execute(
            flip.update().where(flip.c.id == sa.bindparam("flip_id")),
            [{"flip_id": i, "next_flip_at": next_local_midnight(at, zone)} for i, at in rows],
        )
        last_id = rows[-1][0]
    with op.batch_alter_table("flip", schema=None) as batch_op:
        batch_op.alter_column("next_flip_at", existing_type=utc_datetime(), nullable=False)
        batch_op.alter_column("mode", existing_type=mode, nullable=False)
        batch_op.alter_column("chance", existing_type=sa.Float(), nullable=False)

    with op.batch_alter_table("flipenhancer", schema=None) as batch_op:
        batch_op.add_column(sa.Column("capped", sa.Boolean(), nullable=False, server_default=sa.false()))
    with op.batch_alter_table("flipenhancer", schema=None) as batch_op:
        batch_op.alter_column("capped", existing_type=sa.Boolean(), server_default=None)

    with op.batch_alter_table("reflection", schema=None) as batch_op:
        batch_op.add_column(sa.Column("version", sa.Integer(), nullable=False, server_default="1"))
    with op.batch_alter_table("reflection", schema=None) as batch_op:
        batch_op.alter_column("version", existing_type=sa.Integer(), server_default=None)


def downgrade() -> None:
    with op.batch_alter_table("reflection", schema=None) as batch_op:
        batch_op.drop_column("version")
    with op.batch_alter_table("flipenhancer", schema=None) as batch_op:
        batch_op.drop_column("capped")
    with op.batch_alter_table("flip", schema=None) as batch_op:
        batch_op.drop_column("every_hours")
        batch_op.drop_column("chance")
        batch_op.drop_column("mode")
        batch_op.drop_column("next_flip_at")
    with op.batch_alter_table("habit", schema=None) as batch_op:
        batch_op.drop_column("archived_at")
        batch_op.drop_column("every_hours")
    with op.batch_alter_table("household", schema=None) as batch_op:
        batch_op.drop_column("timezone")
