"""Scratch PostgreSQL databases of a test run (or a benchmark) of its own: made on the server of
a URL, each with a random name, and dropped (WITH FORCE) when the block ends. Two runs at once
(two developers, or CI beside a developer) never share tables."""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager

from sqlalchemy import text
from sqlalchemy.engine import make_url

from kiosk.database import make_engine


@contextmanager
def scratch_databases(server_url: str, prefix: str = "loket_test") -> Iterator[Callable[[], str]]:
    """Yields a function that makes an empty database and returns its URL."""
    admin = make_engine(server_url, isolation_level="AUTOCOMMIT")
    made: list[str] = []

    def make() -> str:
        name = f"{prefix}_{uuid.uuid4().hex[:12]}"
        with admin.connect() as conn:
            conn.execute(text(f'CREATE DATABASE "{name}"'))
        made.append(name)
        return make_url(server_url).set(database=name).render_as_string(hide_password=False)

    try:
        yield make
    finally:
        try:
            with admin.connect() as conn:
                for name in made:
                    conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        finally:
            admin.dispose()


@contextmanager
def scratch_database(server_url: str, prefix: str = "loket_test") -> Iterator[str]:
    """One empty database: its URL."""
    with scratch_databases(server_url, prefix) as make:
        yield make()
