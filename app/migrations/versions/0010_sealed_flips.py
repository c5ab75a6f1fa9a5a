"""sealed flips: each habit's next verdict drawn in advance

Revision ID: 0010
Revises: 0009
Create Date: 2026-11-24 10:30:00.000000

A habit with enhancers carries a seal: its next session's verdict, drawn and stored before the tap, whose
commitment the card shows. Flips get `sealed_at`. A flip from before this sealed its verdict at the tap, so
there `sealed_at` is `flipped_at`; one with no seal at all keeps None. Seals themselves are drawn by the app
(app.flips.seal_habits) the first time Today is shown: a migration doesn't draw coins.
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0010"
down_revision: str | None = "0009"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    coin = sa.Enum("heads", "tails", "mixed", name="coin")
    if op.get_bind().dialect.name == "postgresql":
        coin = postgresql.ENUM("heads", "tails", "mixed", name="coin", create_type=False)  # flip.coin made it
    op.create_table(
        "seal",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("habit_id", sa.Integer(), nullable=False),
        sa.Column("coin", coin, nullable=False),
        sa.Column("prompt", sqlmodel.sql.sqltypes.AutoString(length=300), nullable=False),
        sa.Column("nonce", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("commitment", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("sealed_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(["habit_id"], ["habit.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("habit_id"),
    )
    op.create_table(
        "sealenhancer",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("seal_id", sa.Integer(), nullable=False),
        sa.Column("enhancer_id", sa.Integer(), nullable=True),
        sa.Column("name", sqlmodel.sql.sqltypes.AutoString(length=60), nullable=False),
        sa.Column("spike", sa.Integer(), nullable=False),
        sa.Column("allowed", sa.Boolean(), nullable=False),
        sa.Column("capped", sa.Boolean(), nullable=False),
        sa.ForeignKeyConstraint(["enhancer_id"], ["enhancer.id"], ondelete="SET NULL"),
        sa.ForeignKeyConstraint(["seal_id"], ["seal.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_sealenhancer_enhancer_id", "sealenhancer", ["enhancer_id"])
    op.create_index("ix_sealenhancer_seal_id", "sealenhancer", ["seal_id"])
    with op.batch_alter_table("flip") as batch_op:
        batch_op.add_column(sa.Column("sealed_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=True))
    op.execute("UPDATE flip SET sealed_at = flipped_at WHERE commitment IS NOT NULL")


def downgrade() -> None:
    with op.batch_alter_table("flip") as batch_op:
        batch_op.drop_column("sealed_at")
    op.drop_index("ix_sealenhancer_seal_id", table_name="sealenhancer")
    op.drop_index("ix_sealenhancer_enhancer_id", table_name="sealenhancer")
    op.drop_table("sealenhancer")
    op.drop_table("seal")
