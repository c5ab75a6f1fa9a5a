"""reminders: per habit, their due moments claimed once, Web Push subscriptions and Apprise URLs

Revision ID: 0009
Revises: 0008
Create Date: 2026-11-24 10:30:41.267152

A member may set a reminder per habit (weekdays and a local time). Each due moment is claimed by inserting its
row in remindersent: the primary key lets exactly one worker or replica send it. Reminders go to the member's
push subscriptions (one per browser) and Apprise URLs, each with the language its browser asked for (the words
of its notifications when the member has picked none). Nothing existing changes.
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision: str = "0009"
down_revision: str | None = "0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

Url = sqlmodel.sql.sqltypes.AutoString
Time = sqlmodel.sql.sqltypes.UTCDateTime


def member_id() -> sa.Column[int]:
    return sa.Column("member_id", sa.Integer(), sa.ForeignKey("member.id", ondelete="CASCADE"), nullable=False)


def upgrade() -> None:
    op.create_table(
        "reminder",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("habit_id", sa.Integer(), sa.ForeignKey("habit.id", ondelete="CASCADE"), nullable=False),
        member_id(),
        sa.Column("days", sa.Integer(), nullable=False),
        sa.Column("at", Url(length=5), nullable=False),
        sa.Column("updated_at", Time(), nullable=False),
        sa.UniqueConstraint("habit_id"),
    )
    op.create_index("ix_reminder_member_id", "reminder", ["member_id"])
    op.create_table(
        "remindersent",
        sa.Column("reminder_id", sa.Integer(), sa.ForeignKey("reminder.id", ondelete="CASCADE"), nullable=False),
        sa.Column("due_at", Time(), nullable=False),
        sa.Column("claimed_at", Time(), nullable=False),
        sa.Column("sent_at", Time(), nullable=True),
        sa.PrimaryKeyConstraint("reminder_id", "due_at"),
    )
    op.create_table(
        "pushsubscription",
        sa.Column("id", sa.Integer(), primary_key=True),
        member_id(),
        sa.Column("endpoint", Url(length=1000), nullable=False),
        sa.Column("p256dh", Url(length=200), nullable=False),
        sa.Column("auth", Url(length=100), nullable=False),
        sa.Column("language", Url(length=8), nullable=True),
        sa.Column("created_at", Time(), nullable=False),
        sa.UniqueConstraint("member_id", "endpoint"),
    )
    op.create_table(
        "apprisetarget",
        sa.Column("id", sa.Integer(), primary_key=True),
        member_id(),
        sa.Column("url", Url(length=1000), nullable=False),
        sa.Column("language", Url(length=8), nullable=True),
        sa.Column("created_at", Time(), nullable=False),
    )
    op.create_index("ix_apprisetarget_member_id", "apprisetarget", ["member_id"])


def downgrade() -> None:
    op.drop_index("ix_apprisetarget_member_id", table_name="apprisetarget")
    op.drop_table("apprisetarget")
    op.drop_table("pushsubscription")
    op.drop_table("remindersent")
    op.drop_index("ix_reminder_member_id", table_name="reminder")
    op.drop_table("reminder")
