"""Engines and sessions, without Flask.

SQLite (the embedded default) runs in WAL mode with foreign keys on. SQLAlchemy, not the
driver, begins transactions (the documented pysqlite recipe): a transaction opened for writing
(see `begin_write`) starts with ``BEGIN IMMEDIATE``, so a read-then-write use case never fails
half-way with "database is locked" when another writer won the race; it waits for its turn.
Read-only transactions start deferred and never block anyone in WAL mode. PostgreSQL needs
none of this: the option is ignored there.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session, sessionmaker

WRITE_OPTION = "loket_write"


def normalise_url(url: str) -> str:
    """Use psycopg 3 for plain ``postgresql://`` URLs (SQLAlchemy would pick psycopg2)."""
    parsed = make_url(url)
    if parsed.drivername in ("postgresql", "postgres"):
        parsed = parsed.set(drivername="postgresql+psycopg")
    return parsed.render_as_string(hide_password=False)


def make_engine(url: str, **kwargs: Any) -> Engine:
    """Create an engine with the pragmas and transaction mode this application relies on."""
    url = normalise_url(url)
    if make_url(url).get_backend_name() != "sqlite":
        kwargs.setdefault("pool_pre_ping", True)
        return create_engine(url, **kwargs)

    engine = create_engine(url, connect_args={"timeout": 15}, **kwargs)

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        # Let SQLAlchemy, not the driver, decide when a transaction begins.
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        if make_url(url).database not in (None, "", ":memory:"):
            cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA busy_timeout=15000")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn: Any) -> None:
        # Writers take the write lock up front and queue for it; readers never block in WAL.
        immediate = conn.get_execution_options().get(WRITE_OPTION)
        conn.exec_driver_sql("BEGIN IMMEDIATE" if immediate else "BEGIN")

    return engine


def make_sessionmaker(engine: Engine) -> sessionmaker[Session]:
    """Sessions keep loaded values after commit: payloads are built after the commit."""
    return sessionmaker(engine, expire_on_commit=False)


def begin_write(session: Session) -> None:
    """Start a write transaction on this session, ending a read-only one that may be open."""
    if session.in_transaction():
        session.commit()
    session.connection(execution_options={WRITE_OPTION: True})
