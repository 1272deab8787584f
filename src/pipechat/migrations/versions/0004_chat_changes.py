"""Chat management: kinds, names, roles, read markers, blocks, and the per-chat change log.

Existing chats become groups named after their members, owned by their member with the
smallest id (their creator is not recorded), and get a log that starts with their creation
(seq 1) followed by their messages in id order, so every message has a seq; those rows carry
sync position 0 (older than any token).

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-09
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _create_tables() -> None:
    op.create_table(
        "chat_changes",
        sa.Column("chat_id", sa.Integer(), nullable=False),
        sa.Column("seq", sa.BigInteger(), nullable=False),
        sa.Column("position", sa.BigInteger(), nullable=False),
        sa.Column("kind", sa.String(length=32), nullable=False),
        sa.Column("by_user_id", sa.Integer(), nullable=True),
        sa.Column("message_id", sa.BigInteger(), nullable=True),
        sa.Column("payload", sa.JSON(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["chat_id"], ["chats.id"],
                                name=op.f("fk_chat_changes_chat_id_chats"), ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("chat_id", "seq", name=op.f("pk_chat_changes")),
    )
    op.create_table(
        "chat_departures",
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("chat_id", sa.Integer(), nullable=False),
        sa.Column("seq", sa.BigInteger(), nullable=False),
        sa.Column("position", sa.BigInteger(), nullable=False),
        sa.ForeignKeyConstraint(["chat_id"], ["chats.id"],
                                name=op.f("fk_chat_departures_chat_id_chats"),
                                ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["user_id"], ["users.id"],
                                name=op.f("fk_chat_departures_user_id_users"),
                                ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("user_id", "chat_id", name=op.f("pk_chat_departures")),
    )
    op.create_table(
        "sync_clock",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("position", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_sync_clock")),
    )
    op.execute("INSERT INTO sync_clock (id, position) VALUES (1, 0)")
    op.create_table(
        "user_blocks",
        sa.Column("blocker_id", sa.Integer(), nullable=False),
        sa.Column("blocked_id", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["blocker_id"], ["users.id"],
                                name=op.f("fk_user_blocks_blocker_id_users"), ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["blocked_id"], ["users.id"],
                                name=op.f("fk_user_blocks_blocked_id_users"), ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("blocker_id", "blocked_id", name=op.f("pk_user_blocks")),
    )


def _add_columns() -> None:
    with op.batch_alter_table("chats") as batch:
        batch.add_column(sa.Column("kind", sa.String(length=10), nullable=False,
                                   server_default="group"))
        batch.add_column(sa.Column("name", sa.String(length=100), nullable=True))
        batch.add_column(sa.Column("direct_key", sa.String(length=41), nullable=True))
        batch.create_unique_constraint(op.f("uq_chats_direct_key"), ["direct_key"])
        batch.add_column(sa.Column("last_seq", sa.BigInteger(), nullable=False,
                                   server_default="0"))
        batch.add_column(sa.Column("last_position", sa.BigInteger(), nullable=False,
                                   server_default="0"))
        batch.add_column(sa.Column("activity", sa.BigInteger(), nullable=False,
                                   server_default="0"))
    with op.batch_alter_table("chat_members") as batch:
        batch.add_column(sa.Column("role", sa.String(length=10), nullable=False,
                                   server_default="member"))
        batch.add_column(sa.Column("joined_seq", sa.BigInteger(), nullable=False,
                                   server_default="0"))
        batch.add_column(sa.Column("last_read_message_id", sa.BigInteger(), nullable=True))
        batch.add_column(sa.Column("hidden_upto", sa.BigInteger(), nullable=True))
        batch.add_column(sa.Column("member_position", sa.BigInteger(), nullable=False,
                                   server_default="0"))
    with op.batch_alter_table("messages") as batch:
        batch.add_column(sa.Column("seq", sa.BigInteger(), nullable=True))


def _name_groups() -> None:
    # As a group created without a name is named: its members' nicknames, by user id.
    if op.get_bind().dialect.name == "sqlite":
        names = ("SELECT group_concat(nickname, ', ') FROM (SELECT u.nickname FROM users AS u "
                 "JOIN chat_members AS m ON m.user_id = u.id WHERE m.chat_id = chats.id "
                 "ORDER BY u.id)")
    else:
        names = ("SELECT string_agg(u.nickname, ', ' ORDER BY u.id) FROM users AS u "
                 "JOIN chat_members AS m ON m.user_id = u.id WHERE m.chat_id = chats.id")
    op.execute(f"UPDATE chats SET name = substr(coalesce(({names}), 'chat'), 1, 100)")


def _backfill() -> None:
    _name_groups()
    op.execute("UPDATE chat_members SET joined_seq = 1")
    op.execute(
        "UPDATE chat_members SET role = 'owner' WHERE user_id = "
        "(SELECT min(m.user_id) FROM chat_members AS m WHERE m.chat_id = chat_members.chat_id)")
    # seq 1 is each chat's creation; its messages follow in id order.
    op.execute(
        "UPDATE messages SET seq = numbered.n + 1 FROM (SELECT id, row_number() OVER "
        "(PARTITION BY chat_id ORDER BY id) AS n FROM messages) AS numbered "
        "WHERE messages.id = numbered.id")
    op.execute(
        "INSERT INTO chat_changes (chat_id, seq, position, kind, created_at) "
        "SELECT id, 1, 0, 'chat_created', created_at FROM chats")
    op.execute(
        "INSERT INTO chat_changes (chat_id, seq, position, kind, by_user_id, message_id, "
        "created_at) SELECT chat_id, seq, 0, 'message', author_id, id, created_at FROM messages")
    op.execute(
        "UPDATE chats SET last_seq = 1 + "
        "(SELECT count(*) FROM messages WHERE messages.chat_id = chats.id), "
        "activity = coalesce(last_message_id, 0)")


def upgrade() -> None:
    _create_tables()
    _add_columns()
    _backfill()


def downgrade() -> None:
    with op.batch_alter_table("messages") as batch:
        batch.drop_column("seq")
    with op.batch_alter_table("chat_members") as batch:
        batch.drop_column("member_position")
        batch.drop_column("hidden_upto")
        batch.drop_column("last_read_message_id")
        batch.drop_column("joined_seq")
        batch.drop_column("role")
    with op.batch_alter_table("chats") as batch:
        batch.drop_column("activity")
        batch.drop_column("last_position")
        batch.drop_column("last_seq")
        batch.drop_constraint(op.f("uq_chats_direct_key"), type_="unique")
        batch.drop_column("direct_key")
        batch.drop_column("name")
        batch.drop_column("kind")
    op.drop_table("user_blocks")
    op.drop_table("sync_clock")
    op.drop_table("chat_departures")
    op.drop_table("chat_changes")
