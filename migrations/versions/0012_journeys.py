"""journeys (#15): messages to residents, phone join, desk pause and targeted transfer,
feedback tallies, board slides, appointment phone and reminder

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-03 20:40:00
"""

import sqlalchemy as sa
from alembic import op

revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None


def _utc() -> sa.DateTime:
    return sa.DateTime(timezone=True)


def _enum(name: str, *values: str) -> sa.Enum:
    return sa.Enum(*values, name=name, native_enum=False, create_constraint=True, length=16)


def upgrade() -> None:
    with op.batch_alter_table("stops") as batch:
        batch.add_column(
            sa.Column("phone_join", sa.Boolean(), server_default=sa.true(), nullable=False)
        )
    with op.batch_alter_table("desks") as batch:
        batch.add_column(sa.Column("paused_at", _utc(), nullable=True))
    with op.batch_alter_table("tickets") as batch:
        batch.add_column(sa.Column("target_desk_id", sa.Integer(), nullable=True))
        batch.add_column(
            sa.Column("feedback_rated", sa.Boolean(), server_default=sa.false(), nullable=False)
        )
        batch.add_column(
            sa.Column("feedback_wished", sa.Boolean(), server_default=sa.false(), nullable=False)
        )
    with op.batch_alter_table("appointments") as batch:
        batch.add_column(sa.Column("phone", sa.String(length=20), nullable=True))
        batch.add_column(sa.Column("reminded_at", _utc(), nullable=True))

    op.create_table(
        "ticket_contacts",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("ticket_id", sa.Integer(), nullable=False),
        sa.Column("channel", _enum("contact_channel", "sms", "email", "push"), nullable=False),
        sa.Column("address", sa.String(length=4000), nullable=False),
        sa.Column("language", sa.String(length=8), nullable=False),
        sa.Column("created_at", _utc(), nullable=False),
        sa.Column("almost_sent_at", _utc(), nullable=True),
        sa.Column("called_sent_at", _utc(), nullable=True),
        sa.ForeignKeyConstraint(
            ["ticket_id"],
            ["tickets.id"],
            name=op.f("fk_ticket_contacts_ticket_id_tickets"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_ticket_contacts")),
        sa.UniqueConstraint(
            "ticket_id", "channel", name=op.f("uq_ticket_contacts_ticket_id_channel")
        ),
    )
    op.create_table(
        "outbox_messages",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("channel", _enum("outbox_channel", "sms", "email", "push"), nullable=False),
        sa.Column("kind", _enum("outbox_kind", "almost", "called", "reminder"), nullable=False),
        sa.Column("address", sa.String(length=4000), nullable=False),
        sa.Column("language", sa.String(length=8), nullable=False),
        sa.Column("text", sa.String(length=1000), nullable=False),
        sa.Column("stop_id", sa.Integer(), nullable=True),
        sa.Column("ticket_id", sa.Integer(), nullable=True),
        sa.Column("created_at", _utc(), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("next_attempt_at", _utc(), nullable=False),
        sa.Column("error", sa.String(length=300), nullable=True),
        sa.ForeignKeyConstraint(
            ["stop_id"],
            ["stops.id"],
            name=op.f("fk_outbox_messages_stop_id_stops"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["ticket_id"],
            ["tickets.id"],
            name=op.f("fk_outbox_messages_ticket_id_tickets"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_outbox_messages")),
    )
    op.create_index(
        op.f("ix_outbox_messages_next_attempt_at"), "outbox_messages", ["next_attempt_at"]
    )
    op.create_index(op.f("ix_outbox_messages_ticket_id"), "outbox_messages", ["ticket_id"])
    op.create_table(
        "board_slides",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("stop_id", sa.Integer(), nullable=True),
        sa.Column("icon", sa.String(length=40), nullable=True),
        sa.Column("texts", sa.JSON(), nullable=False),
        sa.Column("sort_order", sa.Integer(), nullable=False),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("created_at", _utc(), nullable=False),
        sa.ForeignKeyConstraint(
            ["stop_id"],
            ["stops.id"],
            name=op.f("fk_board_slides_stop_id_stops"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_board_slides")),
    )
    op.create_index(op.f("ix_board_slides_stop_id"), "board_slides", ["stop_id"])
    op.create_table(
        "feedback_ratings",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("stop_id", sa.Integer(), nullable=False),
        sa.Column("product_id", sa.Integer(), nullable=False),
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("rating", sa.SmallInteger(), nullable=False),
        sa.Column("people", sa.Integer(), nullable=False),
        sa.CheckConstraint("rating >= 1 AND rating <= 5", name=op.f("ck_feedback_ratings_rating")),
        sa.CheckConstraint("people >= 0", name=op.f("ck_feedback_ratings_people")),
        sa.ForeignKeyConstraint(
            ["stop_id"],
            ["stops.id"],
            name=op.f("fk_feedback_ratings_stop_id_stops"),
            ondelete="RESTRICT",
        ),
        sa.ForeignKeyConstraint(
            ["product_id"],
            ["products.id"],
            name=op.f("fk_feedback_ratings_product_id_products"),
            ondelete="RESTRICT",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_feedback_ratings")),
        sa.UniqueConstraint(
            "stop_id",
            "product_id",
            "day",
            "rating",
            name=op.f("uq_feedback_ratings_stop_id_product_id_day_rating"),
        ),
    )
    op.create_index("ix_feedback_ratings_day", "feedback_ratings", ["day"])
    op.create_table(
        "feedback_wishes",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("stop_id", sa.Integer(), nullable=False),
        sa.Column("product_id", sa.Integer(), nullable=False),
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("people", sa.Integer(), nullable=False),
        sa.CheckConstraint("people >= 0", name=op.f("ck_feedback_wishes_people")),
        sa.ForeignKeyConstraint(
            ["stop_id"],
            ["stops.id"],
            name=op.f("fk_feedback_wishes_stop_id_stops"),
            ondelete="RESTRICT",
        ),
        sa.ForeignKeyConstraint(
            ["product_id"],
            ["products.id"],
            name=op.f("fk_feedback_wishes_product_id_products"),
            ondelete="RESTRICT",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_feedback_wishes")),
        sa.UniqueConstraint(
            "stop_id",
            "product_id",
            "day",
            name=op.f("uq_feedback_wishes_stop_id_product_id_day"),
        ),
    )
    op.create_index("ix_feedback_wishes_day", "feedback_wishes", ["day"])


def downgrade() -> None:
    op.drop_index("ix_feedback_wishes_day", table_name="feedback_wishes")
    op.drop_table("feedback_wishes")
    op.drop_index("ix_feedback_ratings_day", table_name="feedback_ratings")
    op.drop_table("feedback_ratings")
    op.drop_index(op.f("ix_board_slides_stop_id"), table_name="board_slides")
    op.drop_table("board_slides")
    op.drop_index(op.f("ix_outbox_messages_ticket_id"), table_name="outbox_messages")
    op.drop_index(op.f("ix_outbox_messages_next_attempt_at"), table_name="outbox_messages")
    op.drop_table("outbox_messages")
    op.drop_table("ticket_contacts")
    with op.batch_alter_table("appointments") as batch:
        batch.drop_column("reminded_at")
        batch.drop_column("phone")
    with op.batch_alter_table("tickets") as batch:
        batch.drop_column("feedback_wished")
        batch.drop_column("feedback_rated")
        batch.drop_column("target_desk_id")
    with op.batch_alter_table("desks") as batch:
        batch.drop_column("paused_at")
    with op.batch_alter_table("stops") as batch:
        batch.drop_column("phone_join")
