"""booking slips: a print job may be for an appointment booked at the kiosk

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-30 16:40:00
"""

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None

KINDS_BEFORE = ("ticket", "reprint", "test")
KINDS_AFTER = (*KINDS_BEFORE, "booking")


def _kinds(values: tuple[str, ...]) -> str:
    return "kind IN ({})".format(", ".join(f"'{v}'" for v in values))


def upgrade() -> None:
    with op.batch_alter_table("print_jobs") as batch:
        batch.add_column(sa.Column("appointment_id", sa.Integer(), nullable=True))
        batch.create_foreign_key(
            op.f("fk_print_jobs_appointment_id_appointments"),
            "appointments",
            ["appointment_id"],
            ["id"],
            ondelete="SET NULL",
        )
        batch.drop_constraint(op.f("ck_print_jobs_print_kind"), type_="check")
        batch.create_check_constraint(op.f("ck_print_jobs_print_kind"), _kinds(KINDS_AFTER))
        batch.create_index("ix_print_jobs_appointment", ["appointment_id"])


def downgrade() -> None:
    op.execute("DELETE FROM print_jobs WHERE kind = 'booking'")
    with op.batch_alter_table("print_jobs") as batch:
        batch.drop_index("ix_print_jobs_appointment")
        batch.drop_constraint(op.f("ck_print_jobs_print_kind"), type_="check")
        batch.create_check_constraint(op.f("ck_print_jobs_print_kind"), _kinds(KINDS_BEFORE))
        batch.drop_constraint(op.f("fk_print_jobs_appointment_id_appointments"), type_="foreignkey")
        batch.drop_column("appointment_id")
