"""initial schema

Revision ID: 0001
Revises:
Create Date: 2026-11-30 11:40:23.468992
"""

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "events",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("action", sa.String(length=40), nullable=False),
        sa.Column("object_type", sa.String(length=20), nullable=False),
        sa.Column("object_id", sa.Integer(), nullable=True),
        sa.Column("result", sa.String(length=20), nullable=False),
        sa.Column("actor_type", sa.String(length=12), nullable=False),
        sa.Column("actor_id", sa.Integer(), nullable=True),
        sa.Column("origin", sa.String(length=64), nullable=True),
        sa.Column("stop_id", sa.Integer(), nullable=True),
        sa.Column("product_id", sa.Integer(), nullable=True),
        sa.Column("data", sa.JSON(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_events")),
    )
    with op.batch_alter_table("events", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_events_at"), ["at"], unique=False)
        batch_op.create_index(batch_op.f("ix_events_stop_id"), ["stop_id"], unique=False)

    op.create_table(
        "locations",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=120), nullable=False),
        sa.Column("address", sa.String(length=200), nullable=False),
        sa.Column("neighbourhood", sa.String(length=80), nullable=False),
        sa.Column("latitude", sa.Double(), nullable=True),
        sa.Column("longitude", sa.Double(), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_locations")),
    )
    op.create_table(
        "products",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("code", sa.String(length=40), nullable=False),
        sa.Column("prefix", sa.String(length=2), nullable=False),
        sa.Column("names", sa.JSON(), nullable=False),
        sa.Column("bring", sa.JSON(), nullable=False),
        sa.Column("duration_minutes", sa.Integer(), nullable=False),
        sa.Column("walk_in", sa.Boolean(), nullable=False),
        sa.Column("appointment_required", sa.Boolean(), nullable=False),
        sa.Column("sort_order", sa.Integer(), nullable=False),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_products")),
        sa.UniqueConstraint("code", name=op.f("uq_products_code")),
        sa.UniqueConstraint("prefix", name=op.f("uq_products_prefix")),
    )
    op.create_table(
        "staff_users",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("username", sa.String(length=60), nullable=False),
        sa.Column("display_name", sa.String(length=120), nullable=False),
        sa.Column("password_hash", sa.String(length=200), nullable=False),
        sa.Column(
            "role",
            sa.Enum(
                "staff",
                "coordinator",
                "admin",
                name="staff_role",
                native_enum=False,
                create_constraint=True,
                length=16,
            ),
            nullable=False,
        ),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("last_login_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_staff_users")),
        sa.UniqueConstraint("username", name=op.f("uq_staff_users_username")),
    )
    op.create_table(
        "api_tokens",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("token_hash", sa.String(length=64), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("revoked_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["staff_users.id"],
            name=op.f("fk_api_tokens_user_id_staff_users"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_api_tokens")),
        sa.UniqueConstraint("token_hash", name=op.f("uq_api_tokens_token_hash")),
    )
    op.create_table(
        "location_products",
        sa.Column("location_id", sa.Integer(), nullable=False),
        sa.Column("product_id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["location_id"],
            ["locations.id"],
            name=op.f("fk_location_products_location_id_locations"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["product_id"],
            ["products.id"],
            name=op.f("fk_location_products_product_id_products"),
            ondelete="RESTRICT",
        ),
        sa.PrimaryKeyConstraint("location_id", "product_id", name=op.f("pk_location_products")),
    )
    op.create_table(
        "stops",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("location_id", sa.Integer(), nullable=False),
        sa.Column("starts_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("ends_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column(
            "status",
            sa.Enum(
                "planned",
                "open",
                "closed",
                name="stop_status",
                native_enum=False,
                create_constraint=True,
                length=16,
            ),
            nullable=False,
        ),
        sa.Column("capacity", sa.Integer(), nullable=True),
        sa.Column("note", sa.String(length=200), nullable=False),
        sa.CheckConstraint("ends_at > starts_at", name=op.f("ck_stops_window")),
        sa.ForeignKeyConstraint(
            ["location_id"],
            ["locations.id"],
            name=op.f("fk_stops_location_id_locations"),
            ondelete="RESTRICT",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_stops")),
    )
    op.create_table(
        "desks",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("stop_id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=40), nullable=False),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.ForeignKeyConstraint(
            ["stop_id"], ["stops.id"], name=op.f("fk_desks_stop_id_stops"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_desks")),
        sa.UniqueConstraint("stop_id", "name", name=op.f("uq_desks_stop_id_name")),
    )
    with op.batch_alter_table("desks", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_desks_stop_id"), ["stop_id"], unique=False)

    op.create_table(
        "devices",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=80), nullable=False),
        sa.Column(
            "kind",
            sa.Enum(
                "kiosk",
                "board",
                name="device_kind",
                native_enum=False,
                create_constraint=True,
                length=16,
            ),
            nullable=False,
        ),
        sa.Column("stop_id", sa.Integer(), nullable=True),
        sa.Column("pairing_code_hash", sa.String(length=64), nullable=True),
        sa.Column("pairing_expires_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("credential_hash", sa.String(length=64), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("paired_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("revoked_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("last_seen_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("settings", sa.JSON(), nullable=False),
        sa.ForeignKeyConstraint(
            ["stop_id"], ["stops.id"], name=op.f("fk_devices_stop_id_stops"), ondelete="SET NULL"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_devices")),
        sa.UniqueConstraint("credential_hash", name=op.f("uq_devices_credential_hash")),
        sa.UniqueConstraint("name", name=op.f("uq_devices_name")),
        sa.UniqueConstraint("pairing_code_hash", name=op.f("uq_devices_pairing_code_hash")),
    )
    op.create_table(
        "stop_products",
        sa.Column("stop_id", sa.Integer(), nullable=False),
        sa.Column("product_id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["product_id"],
            ["products.id"],
            name=op.f("fk_stop_products_product_id_products"),
            ondelete="RESTRICT",
        ),
        sa.ForeignKeyConstraint(
            ["stop_id"],
            ["stops.id"],
            name=op.f("fk_stop_products_stop_id_stops"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("stop_id", "product_id", name=op.f("pk_stop_products")),
    )
    op.create_table(
        "ticket_counters",
        sa.Column("stop_id", sa.Integer(), nullable=False),
        sa.Column("product_id", sa.Integer(), nullable=False),
        sa.Column("last", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["product_id"],
            ["products.id"],
            name=op.f("fk_ticket_counters_product_id_products"),
            ondelete="RESTRICT",
        ),
        sa.ForeignKeyConstraint(
            ["stop_id"],
            ["stops.id"],
            name=op.f("fk_ticket_counters_stop_id_stops"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("stop_id", "product_id", name=op.f("pk_ticket_counters")),
    )
    op.create_table(
        "desk_products",
        sa.Column("desk_id", sa.Integer(), nullable=False),
        sa.Column("product_id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["desk_id"],
            ["desks.id"],
            name=op.f("fk_desk_products_desk_id_desks"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["product_id"],
            ["products.id"],
            name=op.f("fk_desk_products_product_id_products"),
            ondelete="RESTRICT",
        ),
        sa.PrimaryKeyConstraint("desk_id", "product_id", name=op.f("pk_desk_products")),
    )
    op.create_table(
        "tickets",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("stop_id", sa.Integer(), nullable=False),
        sa.Column("series_product_id", sa.Integer(), nullable=False),
        sa.Column("product_id", sa.Integer(), nullable=False),
        sa.Column("number", sa.Integer(), nullable=False),
        sa.Column("label", sa.String(length=12), nullable=False),
        sa.Column("token", sa.String(length=64), nullable=False),
        sa.Column(
            "source",
            sa.Enum(
                "walk_in",
                "appointment",
                "booked_later",
                name="ticket_source",
                native_enum=False,
                create_constraint=True,
                length=16,
            ),
            nullable=False,
        ),
        sa.Column("priority", sa.Integer(), nullable=False),
        sa.Column(
            "status",
            sa.Enum(
                "waiting",
                "called",
                "serving",
                "done",
                "no_show",
                "cancelled",
                name="ticket_status",
                native_enum=False,
                create_constraint=True,
                length=16,
            ),
            nullable=False,
        ),
        sa.Column("desk_id", sa.Integer(), nullable=True),
        sa.Column("issued_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("called_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("last_called_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("finished_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("ended_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("service_seconds", sa.Integer(), nullable=True),
        sa.Column("recall_count", sa.Integer(), nullable=False),
        sa.Column("transfer_count", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["desk_id"], ["desks.id"], name=op.f("fk_tickets_desk_id_desks"), ondelete="SET NULL"
        ),
        sa.ForeignKeyConstraint(
            ["product_id"],
            ["products.id"],
            name=op.f("fk_tickets_product_id_products"),
            ondelete="RESTRICT",
        ),
        sa.ForeignKeyConstraint(
            ["series_product_id"],
            ["products.id"],
            name=op.f("fk_tickets_series_product_id_products"),
            ondelete="RESTRICT",
        ),
        sa.ForeignKeyConstraint(
            ["stop_id"], ["stops.id"], name=op.f("fk_tickets_stop_id_stops"), ondelete="RESTRICT"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_tickets")),
        sa.UniqueConstraint(
            "stop_id",
            "series_product_id",
            "number",
            name=op.f("uq_tickets_stop_id_series_product_id_number"),
        ),
        sa.UniqueConstraint("token", name=op.f("uq_tickets_token")),
    )
    with op.batch_alter_table("tickets", schema=None) as batch_op:
        batch_op.create_index(
            "ix_tickets_queue",
            ["stop_id", "status", "product_id", sa.text("priority DESC"), "issued_at"],
            unique=False,
        )
        batch_op.create_index("ix_tickets_desk", ["desk_id", "status"], unique=False)
        batch_op.create_index(
            "uq_tickets_desk_active",
            ["desk_id"],
            unique=True,
            sqlite_where=sa.text("status IN ('called', 'serving')"),
            postgresql_where=sa.text("status IN ('called', 'serving')"),
        )


def downgrade() -> None:
    with op.batch_alter_table("tickets", schema=None) as batch_op:
        batch_op.drop_index(
            "uq_tickets_desk_active",
            sqlite_where=sa.text("status IN ('called', 'serving')"),
            postgresql_where=sa.text("status IN ('called', 'serving')"),
        )
        batch_op.drop_index("ix_tickets_desk")
        batch_op.drop_index("ix_tickets_queue")

    op.drop_table("tickets")
    op.drop_table("desk_products")
    op.drop_table("ticket_counters")
    op.drop_table("stop_products")
    op.drop_table("devices")
    with op.batch_alter_table("desks", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_desks_stop_id"))

    op.drop_table("desks")
    op.drop_table("stops")
    op.drop_table("location_products")
    op.drop_table("api_tokens")
    op.drop_table("staff_users")
    op.drop_table("products")
    op.drop_table("locations")
    with op.batch_alter_table("events", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_events_stop_id"))
        batch_op.drop_index(batch_op.f("ix_events_at"))

    op.drop_table("events")
