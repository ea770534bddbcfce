"""research: anonymous survey answers and demand signals

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-30 17:00:00

Only new tables. `survey_answers` holds tallies (how many people gave these answers at this
stop, on this day, in this part of the day), never a row per person: nothing in it can be tied
to a ticket, a device or a moment. `demand_signals` keeps the local day and hour of each tap
for something the kiosk could not give.
"""

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def _enum(name: str, *values: str) -> sa.Enum:
    return sa.Enum(*values, name=name, native_enum=False, create_constraint=True, length=16)


def upgrade() -> None:
    op.create_table(
        "survey_answers",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("stop_id", sa.Integer(), nullable=False),
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column(
            "day_part",
            _enum("survey_day_part", "weekday", "evening", "weekend", "other"),
            nullable=False,
        ),
        sa.Column("home", sa.String(length=24), nullable=False),
        sa.Column(
            "moment",
            _enum("survey_moment", "weekday", "evening", "weekend", "any", "skipped"),
            nullable=False,
        ),
        sa.Column("people", sa.Integer(), nullable=False),
        sa.CheckConstraint("people >= 0", name=op.f("ck_survey_answers_people")),
        sa.ForeignKeyConstraint(
            ["stop_id"],
            ["stops.id"],
            name=op.f("fk_survey_answers_stop_id_stops"),
            ondelete="RESTRICT",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_survey_answers")),
        sa.UniqueConstraint(
            "stop_id",
            "day",
            "day_part",
            "home",
            "moment",
            name=op.f("uq_survey_answers_stop_id_day_day_part_home_moment"),
        ),
    )
    with op.batch_alter_table("survey_answers", schema=None) as batch_op:
        batch_op.create_index("ix_survey_answers_day", ["day"], unique=False)

    op.create_table(
        "demand_signals",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("kind", _enum("signal_kind", "not_offered", "closed_tap"), nullable=False),
        sa.Column("stop_id", sa.Integer(), nullable=True),
        sa.Column("product_id", sa.Integer(), nullable=True),
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("hour", sa.SmallInteger(), nullable=False),
        sa.CheckConstraint("hour >= 0 AND hour <= 23", name=op.f("ck_demand_signals_hour")),
        sa.ForeignKeyConstraint(
            ["product_id"],
            ["products.id"],
            name=op.f("fk_demand_signals_product_id_products"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["stop_id"],
            ["stops.id"],
            name=op.f("fk_demand_signals_stop_id_stops"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_demand_signals")),
    )
    with op.batch_alter_table("demand_signals", schema=None) as batch_op:
        batch_op.create_index("ix_demand_signals_day", ["day"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("demand_signals", schema=None) as batch_op:
        batch_op.drop_index("ix_demand_signals_day")
    op.drop_table("demand_signals")
    with op.batch_alter_table("survey_answers", schema=None) as batch_op:
        batch_op.drop_index("ix_survey_answers_day")
    op.drop_table("survey_answers")
