"""The (chat_id, id) index of messages carries author_id, for unread counts from the index.

An unread count reads the messages of others after a marker: with author_id in the index it
is an index-only range, not one table lookup per message. History pages use the same index
as before (its first two columns), so it replaces the old one rather than adding a second
index for every insert to maintain.

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-03
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Build the wider index, then drop the narrow one."""
    op.create_index("ix_messages_chat_id_id_author_id", "messages",
                    ["chat_id", "id", "author_id"])
    op.drop_index("ix_messages_chat_id_id", table_name="messages")


def downgrade() -> None:
    """Back to the (chat_id, id) index."""
    op.create_index("ix_messages_chat_id_id", "messages", ["chat_id", "id"])
    op.drop_index("ix_messages_chat_id_id_author_id", table_name="messages")
