"""icons that aren't one emoji become the default icon

Revision ID: 0008
Revises: 0007
Create Date: 2026-11-24 09:00:00.000000

A habit's or member's icon is one emoji from now on (app.models.one_emoji): "abc" used to be taken and shown as
a big icon. A stored one would now fail every answer that carries it (the API, the export), so each icon that
isn't one emoji becomes the default of its kind: 🏃 for a habit, 🙂 for a member. Nothing else changes.
"""

from collections.abc import Sequence

import emoji
import sqlalchemy as sa
from alembic import op

revision: str = "0008"
down_revision: str | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

DEFAULTS = {"habit": "🏃", "member": "🙂"}


def upgrade() -> None:
    conn = op.get_bind()
    for table, default in DEFAULTS.items():
        rows = conn.execute(sa.text(f"SELECT id, emoji FROM {table}")).all()  # noqa: S608 (our own table names)
        wrong = [{"id": row_id} for row_id, icon in rows if not emoji.is_emoji(icon)]
        if wrong:
            update = sa.text(f"UPDATE {table} SET emoji = :icon WHERE id = :id")  # noqa: S608 (our own table names)
            conn.execute(update.bindparams(icon=default), wrong)


def downgrade() -> None:
    """The icons replaced are not kept: there is nothing to go back to."""
