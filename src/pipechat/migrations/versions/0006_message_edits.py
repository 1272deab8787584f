"""Message edits, deletions (tombstones), replies and reactions.

Columns are only added to `messages` (no table rebuild on SQLite, which would lose its
AUTOINCREMENT guarantee that ids are never reused). `reply_to_id` is deliberately not a
foreign key: adding one on SQLite would rebuild the table, and a message is never removed
alone (deletion leaves a tombstone; only a whole chat's removal cascades).

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-03
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Add the edit/tombstone/reply columns and the reactions table."""
    with op.batch_alter_table("messages", recreate="never") as batch:
        batch.add_column(sa.Column("edited_at", sa.DateTime(timezone=True), nullable=True))
        batch.add_column(sa.Column("deleted_at", sa.DateTime(timezone=True), nullable=True))
        batch.add_column(sa.Column("reply_to_id", sa.BigInteger(), nullable=True))
    op.create_table(
        "message_reactions",
        sa.Column("message_id", sa.BigInteger(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("emoji", sa.String(length=64), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["message_id"], ["messages.id"],
                                name=op.f("fk_message_reactions_message_id_messages"),
                                ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["user_id"], ["users.id"],
                                name=op.f("fk_message_reactions_user_id_users"),
                                ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("message_id", "emoji", "user_id",
                                name=op.f("pk_message_reactions")),
    )


def downgrade() -> None:
    """Drop the reactions and the added columns."""
    op.drop_table("message_reactions")
    # Plain ALTER TABLE (SQLite 3.35+ has DROP COLUMN): a batch rebuild on SQLite would drop
    # the table's AUTOINCREMENT, and ids could then be handed out again.
    for column in ("reply_to_id", "deleted_at", "edited_at"):
        op.execute(f"ALTER TABLE messages DROP COLUMN {column}")
