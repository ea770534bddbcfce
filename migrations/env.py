"""Alembic environment: the URL or an open connection comes from kiosk.migrate."""

from alembic import context

from kiosk.database import make_engine
from kiosk.models import Base

config = context.config
target_metadata = Base.metadata


def run_migrations() -> None:
    connection = config.attributes.get("connection")
    if connection is not None:
        _run(connection)
        return
    engine = make_engine(config.get_main_option("sqlalchemy.url"))
    try:
        with engine.connect() as conn:
            _run(conn)
    finally:
        engine.dispose()


def _run(connection) -> None:
    sqlite = connection.dialect.name == "sqlite"
    context.configure(
        connection=connection,
        target_metadata=target_metadata,
        render_as_batch=sqlite,
        compare_type=True,
    )
    if not sqlite:
        with context.begin_transaction():
            context.run_migrations()
        return
    # SQLite alters a table by copying it, dropping the old one and renaming the copy. With
    # foreign keys enforced, dropping a parent (stops) fails while tickets point at it, or, with
    # ON DELETE CASCADE, silently empties its children (desks, products of a stop). So they are
    # off while the tables are rebuilt (the pragma only takes outside a transaction) and checked
    # once at the end (tests/test_upgrade.py).
    raw = connection.connection.driver_connection
    raw.execute("PRAGMA foreign_keys=OFF")
    try:
        with context.begin_transaction():
            context.run_migrations()
            broken = connection.exec_driver_sql("PRAGMA foreign_key_check").fetchall()
            if broken:
                raise RuntimeError(f"the migration left rows without their parent: {broken[:5]}")
    finally:
        raw.execute("PRAGMA foreign_keys=ON")


run_migrations()
