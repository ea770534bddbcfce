"""coordinator admin: recurring stop series and settings overrides

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-30 18:00:00

Only new tables. A series is linked to its stops through `stop_series_stops` rather than a
column on `stops`: SQLite adds a foreign key to an existing table only by rebuilding it, and
dropping the old `stops` table with foreign keys on deletes its desks and slots (cascade).
"""

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "stop_series",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("location_id", sa.Integer(), nullable=False),
        sa.Column("weekdays", sa.JSON(), nullable=False),
        sa.Column("start_time", sa.Time(), nullable=False),
        sa.Column("end_time", sa.Time(), nullable=False),
        sa.Column("first_date", sa.Date(), nullable=False),
        sa.Column("last_date", sa.Date(), nullable=False),
        sa.Column("weeks", sa.Integer(), nullable=True),
        sa.Column("exceptions", sa.JSON(), nullable=False),
        sa.Column("desks", sa.JSON(), nullable=False),
        sa.Column("capacity", sa.Integer(), nullable=True),
        sa.Column("open_slots", sa.Boolean(), nullable=False),
        sa.Column("slot_capacity", sa.Integer(), nullable=True),
        sa.Column("note", sa.String(length=200), nullable=False),
        sa.Column("created_by", sa.Integer(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("cancelled_at", sa.DateTime(timezone=True), nullable=True),
        sa.CheckConstraint("end_time > start_time", name=op.f("ck_stop_series_window")),
        sa.CheckConstraint("last_date >= first_date", name=op.f("ck_stop_series_period")),
        sa.ForeignKeyConstraint(
            ["location_id"],
            ["locations.id"],
            name=op.f("fk_stop_series_location_id_locations"),
            ondelete="RESTRICT",
        ),
        sa.ForeignKeyConstraint(
            ["created_by"],
            ["staff_users.id"],
            name=op.f("fk_stop_series_created_by_staff_users"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_stop_series")),
    )
    op.create_table(
        "stop_series_products",
        sa.Column("series_id", sa.Integer(), nullable=False),
        sa.Column("product_id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["series_id"],
            ["stop_series.id"],
            name=op.f("fk_stop_series_products_series_id_stop_series"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["product_id"],
            ["products.id"],
            name=op.f("fk_stop_series_products_product_id_products"),
            ondelete="RESTRICT",
        ),
        sa.PrimaryKeyConstraint("series_id", "product_id", name=op.f("pk_stop_series_products")),
    )
    op.create_table(
        "stop_series_stops",
        sa.Column("stop_id", sa.Integer(), nullable=False),
        sa.Column("series_id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["stop_id"],
            ["stops.id"],
            name=op.f("fk_stop_series_stops_stop_id_stops"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["series_id"],
            ["stop_series.id"],
            name=op.f("fk_stop_series_stops_series_id_stop_series"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("stop_id", name=op.f("pk_stop_series_stops")),
    )
    op.create_index(
        op.f("ix_stop_series_stops_series_id"), "stop_series_stops", ["series_id"], unique=False
    )
    op.create_table(
        "settings",
        sa.Column("key", sa.String(length=60), nullable=False),
        sa.Column("value", sa.JSON(), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_by", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(
            ["updated_by"],
            ["staff_users.id"],
            name=op.f("fk_settings_updated_by_staff_users"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("key", name=op.f("pk_settings")),
    )


def downgrade() -> None:
    op.drop_table("settings")
    op.drop_index(op.f("ix_stop_series_stops_series_id"), table_name="stop_series_stops")
    op.drop_table("stop_series_stops")
    op.drop_table("stop_series_products")
    op.drop_table("stop_series")
