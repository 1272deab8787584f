"""Chats remember their newest message id, so each new message knows its predecessor.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-25
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("chats") as batch:
        batch.add_column(sa.Column("last_message_id", sa.BigInteger(), nullable=True))
    op.execute(
        "UPDATE chats SET last_message_id = "
        "(SELECT max(messages.id) FROM messages WHERE messages.chat_id = chats.id)"
    )


def downgrade() -> None:
    with op.batch_alter_table("chats") as batch:
        batch.drop_column("last_message_id")
