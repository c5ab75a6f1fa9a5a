"""drop single-column indexes that a composite index starts with

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-23 12:15:00.000000
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# (index, table, column): each is the first column of a composite index that every query can use instead,
# so they only cost space and a B-tree update per row.
COVERED = (
    ("ix_flip_habit_id", "flip", "habit_id"),
    ("ix_flip_member_id", "flip", "member_id"),
    ("ix_pleasurecheck_member_id", "pleasurecheck", "member_id"),
)


def upgrade() -> None:
    for name, table, _ in COVERED:
        op.drop_index(name, table_name=table)


def downgrade() -> None:
    for name, table, column in COVERED:
        op.create_index(name, table, [column], unique=False)
