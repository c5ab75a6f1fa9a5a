"""members have a colour

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-24 08:40:59.260234

Each member gets a colour from a small fixed palette. Members who exist already get the palette in turn by
their id, so a household's members are told apart from the start rather than all painted alike.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

PALETTE = ("blue", "teal", "green", "amber", "orange", "rose", "violet", "slate")
colour = sa.Enum(*PALETTE, name="colour")


def upgrade() -> None:
    colour.create(op.get_bind(), checkfirst=True)  # PostgreSQL's enum type; nothing on SQLite
    with op.batch_alter_table("member", schema=None) as batch_op:
        batch_op.add_column(sa.Column("colour", colour, nullable=False, server_default="blue"))
    member = sa.table("member", sa.column("id", sa.Integer), sa.column("colour", colour))
    for i, name in enumerate(PALETTE):
        op.execute(member.update().where(member.c.id % len(PALETTE) == i).values(colour=name))
    with op.batch_alter_table("member", schema=None) as batch_op:
        batch_op.alter_column("colour", server_default=None)


def downgrade() -> None:
    with op.batch_alter_table("member", schema=None) as batch_op:
        batch_op.drop_column("colour")
    colour.drop(op.get_bind(), checkfirst=True)
