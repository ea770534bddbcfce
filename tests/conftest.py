"""Shared fixtures: a migrated database per test, a fake clock, services, and the Flask app."""

from __future__ import annotations

import os
import shutil
import socket
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import text
from sqlalchemy.orm import Session

from kiosk import migrate
from kiosk.database import make_engine, make_sessionmaker
from kiosk.services.accounts import AccountService
from kiosk.services.base import RecordingNotifier
from kiosk.services.queue import QueueService
from kiosk.services.tour import TourService

IN_CI = os.environ.get("CI", "").lower() == "true"
PG_URL = os.environ.get("LOKET_TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/test")
REDIS_URL = os.environ.get("LOKET_TEST_REDIS_URL", "redis://127.0.0.1:6379/0")


def _reachable(host: str, port: int) -> bool:
    try:
        with socket.create_connection((host, port), timeout=1):
            return True
    except OSError:
        return False


def require_service(name: str, host: str, port: int) -> None:
    """Skip outside CI when a server is down; in CI (CI=true) a missing server is a failure."""
    if _reachable(host, port):
        return
    message = f"{name} is not reachable on {host}:{port}"
    if IN_CI:
        pytest.fail(f"{message}, and CI=true requires it (.ci/run starts it)")
    pytest.skip(f"{message}; start it to run this test")


@dataclass
class FakeClock:
    """A clock tests move by hand."""

    now: datetime = field(default_factory=lambda: datetime(2026, 6, 2, 10, 0, tzinfo=UTC))

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **delta: float) -> datetime:
        self.now += timedelta(**delta)
        return self.now


@pytest.fixture(scope="session")
def template_db(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One migrated SQLite file, copied for each test (migrating once keeps the suite fast)."""
    path = tmp_path_factory.mktemp("template") / "loket.db"
    migrate.upgrade(f"sqlite:///{path}")
    return path


@pytest.fixture
def db_url(tmp_path: Path, template_db: Path) -> str:
    path = tmp_path / "loket.db"
    shutil.copy(template_db, path)
    return f"sqlite:///{path}"


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def notifier() -> RecordingNotifier:
    return RecordingNotifier()


@pytest.fixture
def session(db_url: str) -> Iterator[Session]:
    engine = make_engine(db_url)
    with make_sessionmaker(engine)() as s:
        yield s
    engine.dispose()


@pytest.fixture
def queue(session: Session, notifier: RecordingNotifier, clock: FakeClock) -> QueueService:
    return QueueService(session, notifier, clock)


@pytest.fixture
def tour(session: Session, notifier: RecordingNotifier, clock: FakeClock) -> TourService:
    return TourService(session, notifier, clock)


@pytest.fixture
def accounts(session: Session, clock: FakeClock) -> AccountService:
    return AccountService(session, clock=clock)


@pytest.fixture
def pg_url() -> Iterator[str]:
    """The test PostgreSQL database, migrated to head and emptied around each test."""
    require_service("PostgreSQL", "127.0.0.1", 5432)
    _reset_postgres(PG_URL)
    migrate.upgrade(PG_URL)
    yield PG_URL
    _reset_postgres(PG_URL)


def _reset_postgres(url: str) -> None:
    engine = make_engine(url)
    with engine.begin() as conn:
        conn.execute(text("DROP SCHEMA public CASCADE"))
        conn.execute(text("CREATE SCHEMA public"))
    engine.dispose()


@pytest.fixture
def redis_url() -> str:
    require_service("Redis", "127.0.0.1", 6379)
    return REDIS_URL


# -- Flask --------------------------------------------------------------------------------------


@pytest.fixture
def app(db_url: str, clock: FakeClock, tmp_path: Path):
    from kiosk import create_app

    app = create_app(
        {
            "TESTING": True,
            "SECRET_KEY": "test-secret",
            "DATABASE_URL": db_url,
            "CLOCK": clock,
            "PUBLIC_BASE_URL": "http://loket.test",
            "RATELIMIT_PUBLIC": "10000/minute",
            "RATELIMIT_AUTH": "10000/minute",
            "RATELIMIT_PAIR": "10000/minute",
        }
    )
    app.instance_path = str(tmp_path / "instance")
    yield app
    app.extensions["loket.engine"].dispose()


@pytest.fixture
def client(app):
    return app.test_client()


@pytest.fixture
def runner(app):
    return app.test_cli_runner()


@pytest.fixture
def db(app) -> Iterator[Session]:
    """A session on the app's database, for arranging data in API tests."""
    with app.extensions["loket.sessionmaker"]() as s:
        yield s
