"""printing: print jobs and the kiosk printer's health

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-30 14:40:00
"""

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def _enum(name: str, *values: str) -> sa.Enum:
    return sa.Enum(*values, name=name, native_enum=False, create_constraint=True, length=16)


def upgrade() -> None:
    with op.batch_alter_table("devices") as batch:
        batch.add_column(sa.Column("printer_state", sa.String(length=16), nullable=True))
        batch.add_column(sa.Column("printer_detail", sa.String(length=300), nullable=True))
        batch.add_column(sa.Column("printer_checked_at", sa.DateTime(timezone=True), nullable=True))
    op.create_table(
        "print_jobs",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("ticket_id", sa.Integer(), nullable=True),
        sa.Column("stop_id", sa.Integer(), nullable=True),
        sa.Column("device_id", sa.Integer(), nullable=True),
        sa.Column("kind", _enum("print_kind", "ticket", "reprint", "test"), nullable=False),
        sa.Column(
            "status",
            _enum("print_status", "queued", "retrying", "printed", "failed"),
            nullable=False,
        ),
        sa.Column("language", sa.String(length=8), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("error", sa.String(length=300), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["device_id"],
            ["devices.id"],
            name=op.f("fk_print_jobs_device_id_devices"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["stop_id"], ["stops.id"], name=op.f("fk_print_jobs_stop_id_stops"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["ticket_id"],
            ["tickets.id"],
            name=op.f("fk_print_jobs_ticket_id_tickets"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_print_jobs")),
    )
    op.create_index("ix_print_jobs_ticket", "print_jobs", ["ticket_id"])
    op.create_index("ix_print_jobs_stop_status", "print_jobs", ["stop_id", "status"])


def downgrade() -> None:
    op.drop_index("ix_print_jobs_stop_status", table_name="print_jobs")
    op.drop_index("ix_print_jobs_ticket", table_name="print_jobs")
    op.drop_table("print_jobs")
    with op.batch_alter_table("devices") as batch:
        batch.drop_column("printer_checked_at")
        batch.drop_column("printer_detail")
        batch.drop_column("printer_state")
