"""named API tokens, throttling per account and address, known devices

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-24 14:00:00.000000

API tokens get a name and when they were last used. The throttle's keys change meaning (a hash of an account
and an address or device, not a readable name), so its rows, which only ever matter for an hour, start afresh.
Browsers that gave the right password or PIN before are remembered, so others' guesses never lock them out.
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def throttle(key_length: int) -> None:
    op.create_table(
        "throttle",
        sa.Column("key", sqlmodel.sql.sqltypes.AutoString(length=key_length), nullable=False),
        sa.Column("failures", sa.Integer(), nullable=False),
        sa.Column("last_failure_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("key"),
    )


def upgrade() -> None:
    with op.batch_alter_table("apitoken") as batch:
        batch.add_column(
            sa.Column("name", sqlmodel.sql.sqltypes.AutoString(length=60), nullable=False, server_default="API token")
        )
        batch.add_column(sa.Column("last_used_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=True))
    op.drop_table("throttle")
    throttle(64)
    op.create_index("ix_throttle_last_failure_at", "throttle", ["last_failure_at"])
    op.create_table(
        "knowndevice",
        sa.Column("key", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("last_success_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("key"),
    )


def downgrade() -> None:
    op.drop_table("knowndevice")
    op.drop_index("ix_throttle_last_failure_at", table_name="throttle")
    op.drop_table("throttle")
    throttle(120)
    with op.batch_alter_table("apitoken") as batch:
        batch.drop_column("last_used_at")
        batch.drop_column("name")
