"""Engines and sessions, without Flask.

SQLite (the embedded default) runs in WAL mode with foreign keys on. SQLAlchemy, not the
driver, begins transactions (the documented pysqlite recipe): a transaction opened for writing
(see `begin_write`) starts with ``BEGIN IMMEDIATE``, so a read-then-write use case never fails
half-way with "database is locked" when another writer won the race; it waits for its turn.
Read-only transactions start deferred and never block anyone in WAL mode. PostgreSQL needs
none of this: the option is ignored there.

Waiting for the write lock never blocks the server: SQLite's own busy handler sleeps inside C,
which under gevent stalls every request and socket of the process (another process holding the
lock for 5 s froze static files for 90 s). So its timeout is a few milliseconds, and a writer
that finds the lock taken sleeps in Python (a gevent sleep under `loket run`, so other requests
go on) and tries again, up to `write_wait` seconds; then `DatabaseBusy` (503 with Retry-After:
the kiosk retries under its idempotency key).
"""

from __future__ import annotations

import random
import sqlite3
import time
from typing import Any

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.engine import make_url
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session, sessionmaker

WRITE_OPTION = "loket_write"
# SQLite's own wait for a lock, in C: short, so that it never stalls gevent's loop for long.
BUSY_TIMEOUT_MS = 10
DEFAULT_WRITE_WAIT = 3.0


class DatabaseBusy(Exception):
    """The database kept its write lock (another writer, a long transaction) longer than a
    request may wait. Nothing was changed: the caller may try again (HTTP 503)."""

    retry_after = 2


def normalise_url(url: str) -> str:
    """Use psycopg 3 for plain ``postgresql://`` URLs (SQLAlchemy would pick psycopg2)."""
    parsed = make_url(url)
    if parsed.drivername in ("postgresql", "postgres"):
        parsed = parsed.set(drivername="postgresql+psycopg")
    return parsed.render_as_string(hide_password=False)


def make_engine(url: str, *, write_wait: float = DEFAULT_WRITE_WAIT, **kwargs: Any) -> Engine:
    """Create an engine with the pragmas and transaction mode this application relies on.

    `write_wait`: how long (seconds) a write transaction waits for SQLite's write lock before
    `DatabaseBusy`. PostgreSQL connections are checked before use (`pool_pre_ping`), so the
    pool recovers by itself after a database restart. A failed statement's error (and so every
    log line and traceback that shows it) names the SQL but never its parameters: they are
    residents' names and e-mail addresses (`hide_parameters`).
    """
    url = normalise_url(url)
    kwargs.setdefault("hide_parameters", True)
    if make_url(url).get_backend_name() != "sqlite":
        kwargs.setdefault("pool_pre_ping", True)
        return create_engine(url, **kwargs)

    engine = create_engine(url, connect_args={"timeout": BUSY_TIMEOUT_MS / 1000}, **kwargs)

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        # Let SQLAlchemy, not the driver, decide when a transaction begins.
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        if make_url(url).database not in (None, "", ":memory:"):
            cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute(f"PRAGMA busy_timeout={BUSY_TIMEOUT_MS}")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn: Any) -> None:
        # Writers take the write lock up front and queue for it; readers never block in WAL.
        if not conn.get_execution_options().get(WRITE_OPTION):
            conn.exec_driver_sql("BEGIN")
            return
        _begin_immediate(conn, write_wait)

    return engine


def _begin_immediate(conn: Any, write_wait: float) -> None:
    """BEGIN IMMEDIATE, waiting for the write lock in short Python sleeps (see the module's
    docstring): `DatabaseBusy` when it is still taken after `write_wait` seconds."""
    deadline = time.monotonic() + write_wait
    pause = 0.005
    while True:
        try:
            conn.exec_driver_sql("BEGIN IMMEDIATE")
            return
        except OperationalError as error:
            if not (isinstance(error.orig, sqlite3.OperationalError) and _locked(error.orig)):
                raise
        if time.monotonic() >= deadline:
            raise DatabaseBusy("The database is busy; try again in a moment.")
        # A gevent sleep under `loket run` (monkey-patched): other requests run meanwhile.
        time.sleep(pause * (0.5 + random.random()))
        pause = min(pause * 2, 0.1)


def _locked(error: sqlite3.OperationalError) -> bool:
    text = str(error).lower()
    return "locked" in text or "busy" in text


def make_sessionmaker(engine: Engine) -> sessionmaker[Session]:
    """Sessions keep loaded values after commit: payloads are built after the commit."""
    return sessionmaker(engine, expire_on_commit=False)


def begin_write(session: Session) -> None:
    """Start a write transaction on this session, ending a read-only one that may be open."""
    if session.in_transaction():
        session.commit()
    session.connection(execution_options={WRITE_OPTION: True})
