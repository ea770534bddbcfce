"""Alembic migrations: upgrade from empty, downgrade to empty, upgrade again; and the models
never drift from what the migrations build."""

from __future__ import annotations

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import inspect

from kiosk import migrate
from kiosk.database import make_engine
from kiosk.models import Base

TABLES = {
    "locations",
    "products",
    "stops",
    "desks",
    "tickets",
    "ticket_counters",
    "events",
    "staff_users",
    "api_tokens",
    "staff_sessions",
    "devices",
    "location_products",
    "stop_products",
    "desk_products",
    "print_jobs",
    "slots",
    "appointments",
    "survey_answers",
    "demand_signals",
    "stop_series",
    "stop_series_products",
    "stop_series_stops",
    "settings",
    "request_keys",
    "ticket_contacts",
    "outbox_messages",
    "board_slides",
    "feedback_ratings",
    "feedback_wishes",
    "alembic_version",
}


def _tables(url: str) -> set[str]:
    engine = make_engine(url)
    try:
        return set(inspect(engine).get_table_names())
    finally:
        engine.dispose()


def _drift(url: str) -> list:
    engine = make_engine(url)
    try:
        with engine.connect() as conn:
            return compare_metadata(MigrationContext.configure(conn), Base.metadata)
    finally:
        engine.dispose()


def _round_trip(url: str) -> None:
    head = ScriptDirectory.from_config(migrate.alembic_config(url)).get_current_head()
    migrate.upgrade(url)
    assert migrate.current(url) == head
    assert _tables(url) == TABLES
    assert _drift(url) == []
    migrate.downgrade(url, "base")
    assert migrate.current(url) is None
    assert _tables(url) <= {"alembic_version"}
    migrate.upgrade(url)
    assert migrate.current(url) == head
    assert _tables(url) == TABLES


def test_sqlite_upgrade_downgrade_upgrade(tmp_path):
    _round_trip(f"sqlite:///{tmp_path / 'm.db'}")


@pytest.mark.postgres
def test_postgresql_upgrade_downgrade_upgrade(pg_url):
    migrate.downgrade(pg_url, "base")
    _round_trip(pg_url)


def test_sqlite_runs_in_wal_mode_with_foreign_keys(db_url):
    engine = make_engine(db_url)
    with engine.connect() as conn:
        assert conn.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
        assert conn.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1
    engine.dispose()


def test_postgres_urls_use_psycopg3():
    from kiosk.database import normalise_url

    assert normalise_url("postgresql://u@h/db").startswith("postgresql+psycopg://")
    assert normalise_url("postgres://u@h/db").startswith("postgresql+psycopg://")
    assert normalise_url("sqlite:///x.db") == "sqlite:///x.db"
