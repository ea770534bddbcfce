"""Shared fixtures: a migrated database per test, a fake clock, services, and the Flask app."""

from __future__ import annotations

import os
import shutil
import socket
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from jinja2 import BytecodeCache, Environment
from jinja2.bccache import Bucket
from sqlalchemy import text
from sqlalchemy.orm import Session

from kiosk import migrate
from kiosk.database import make_engine, make_sessionmaker
from kiosk.services.accounts import AccountService
from kiosk.services.base import RecordingNotifier
from kiosk.services.queue import QueueService
from kiosk.services.tour import TourService

pytest_plugins = ["tests.live_fixtures", "tests.production_fixtures"]


@pytest.fixture
def fast_hashing(monkeypatch: pytest.MonkeyPatch) -> None:
    """Cheap Argon2id parameters, for tests about something else than hashing cost (a module
    asks for it with ``pytestmark = pytest.mark.usefixtures("fast_hashing")``)."""
    from argon2 import PasswordHasher

    import kiosk.services.accounts as accounts_module

    monkeypatch.setattr(
        accounts_module, "_hasher", PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1)
    )


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


@pytest.fixture(scope="session")
def pg_database() -> Iterator[str]:
    """A PostgreSQL database of this test run's own, dropped at the end.

    Two runs at once (two developers, or CI beside a developer) never share tables.
    """
    from tests.databases import scratch_database

    require_service("PostgreSQL", "127.0.0.1", 5432)
    with scratch_database(PG_URL) as url:
        yield url


@pytest.fixture
def pg_url(pg_database: str) -> Iterator[str]:
    """This run's PostgreSQL database, migrated to head and emptied around each test."""
    _reset_postgres(pg_database)
    migrate.upgrade(pg_database)
    yield pg_database
    _reset_postgres(pg_database)


def _reset_postgres(url: str) -> None:
    engine = make_engine(url)
    try:
        with engine.begin() as conn:
            conn.execute(text("DROP SCHEMA public CASCADE"))
            conn.execute(text("CREATE SCHEMA public"))
    finally:
        engine.dispose()


@pytest.fixture
def redis_url() -> str:
    require_service("Redis", "127.0.0.1", 6379)
    return REDIS_URL


@pytest.fixture(scope="session")
def socketio_channel() -> str:
    """A Socket.IO message-queue channel of this run's own (Redis pub/sub ignores the db number)."""
    return f"popup-loket-test-{uuid.uuid4().hex[:12]}"


# -- Flask --------------------------------------------------------------------------------------


TEST_CONFIG = {
    "TESTING": True,
    "SECRET_KEY": "test-secret",
    "PUBLIC_BASE_URL": "http://loket.test",
    "RATELIMIT_PUBLIC": "10000/minute",
    "RATELIMIT_BOOK": "10000/minute",
    "RATELIMIT_AUTH": "10000/minute",
    "RATELIMIT_PAIR": "10000/minute",
    # Decide presence at once: no background timer outlives a test.
    "DISPLAY_PRESENCE_GRACE_SECONDS": 0,
    # No printer unless a test gives one (a developer's LOKET_PRINTER_* must not leak in).
    "PRINTER_BACKEND": "",
    # No second login step unless a test asks for it (tests/test_mfa.py).
    "MFA_ROLES": [],
}


# A fresh app per test keeps tests apart, but most of its cost is the same work each time:
# compiling the same templates and the same URL rules. Both are shared by the whole run below,
# keyed on everything the compiled code depends on, so no test sees another's state.

_TEMPLATE_BYTECODE: dict[str, bytes] = {}


def _compile_settings(env: Environment) -> str:
    """What, besides a template's source, shapes its compiled code: the syntax, the extensions
    and the filters and tests that exist (with what they are passed)."""

    def passed(names: dict[str, Any]) -> list[tuple[str, str | None]]:
        return [
            (name, getattr(f, "jinja_pass_arg", None) and f.jinja_pass_arg.name)
            for name, f in names.items()
        ]

    return repr(
        (
            env.block_start_string,
            env.block_end_string,
            env.variable_start_string,
            env.variable_end_string,
            env.comment_start_string,
            env.comment_end_string,
            env.line_statement_prefix,
            env.line_comment_prefix,
            env.trim_blocks,
            env.lstrip_blocks,
            env.newline_sequence,
            env.keep_trailing_newline,
            env.optimized,
            env.is_async,
            callable(env.autoescape) or env.autoescape,
            env.finalize is not None,
            sorted(env.extensions),
            getattr(env, "newstyle_gettext", None),
            env.policies.get("ext.i18n.trimmed"),
            passed(env.filters),
            passed(env.tests),
        )
    )


class SharedTemplateBytecode(BytecodeCache):
    """Compiled templates in memory for the whole run, for every test app (each compiled all
    its templates again otherwise). Jinja checks the checksum of the source before it uses
    the code, so a changed template is compiled anew."""

    def get_bucket(
        self, environment: Environment, name: str, filename: str | None, source: str
    ) -> Bucket:
        key = f"{_compile_settings(environment)}|{name}"
        return super().get_bucket(environment, key, filename, source)

    def load_bytecode(self, bucket: Bucket) -> None:
        data = _TEMPLATE_BYTECODE.get(bucket.key)
        if data is not None:
            bucket.bytecode_from_string(data)

    def dump_bytecode(self, bucket: Bucket) -> None:
        _TEMPLATE_BYTECODE[bucket.key] = bucket.bytecode_to_string()


@pytest.fixture(scope="session", autouse=True)
def shared_url_builders() -> Iterator[None]:
    """Compile each URL rule's builder once per run instead of once per app (werkzeug makes
    one Python function per rule and per app: a third of `create_app` in tests).

    The builder is made from the rule's text, its parsed parts and its defaults only (it gets
    the rule as its first argument, for the converters), so the same key gives the same
    function.
    """
    from werkzeug.routing.rules import Rule

    compile_builder = Rule._compile_builder
    builders: dict[tuple[object, ...], Callable[..., Any]] = {}

    def shared(self: Rule, append_unknown: bool = True) -> Callable[..., Any]:
        defaults = self.defaults or {}
        key = (
            append_unknown,
            self.rule,
            tuple(self._trace),
            tuple(
                (name, self._converters[name].to_url(value) if name in self._converters else None)
                for name, value in defaults.items()
            ),
        )
        builder = builders.get(key)
        if builder is None:
            builder = builders[key] = compile_builder(self, append_unknown)
        return builder

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(Rule, "_compile_builder", shared)
        yield


@pytest.fixture
def make_app(db_url: str, clock: FakeClock, tmp_path: Path):
    """Build apps on the test database and clock, with settings changed as a test needs."""
    from kiosk import create_app

    apps = []

    def build(**overrides: object):
        spool = str(tmp_path / "spool")
        config = {**TEST_CONFIG, "DATABASE_URL": db_url, "CLOCK": clock, "PRINT_SPOOL_DIR": spool}
        app = create_app({**config, **overrides})
        app.instance_path = str(tmp_path / "instance")
        # Read when a template is first loaded, so setting it after create_app is in time.
        app.jinja_env.bytecode_cache = SharedTemplateBytecode()
        apps.append(app)
        return app

    yield build
    for app in apps:
        app.extensions["loket.engine"].dispose()


@pytest.fixture
def app(make_app):
    return make_app()


@pytest.fixture
def stop(db, clock):
    """An open stop on the app's database (products A, H, R; Balie 1 and 2)."""
    from tests.factories import make_stop

    return make_stop(db, now=clock.now)


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


@pytest.fixture
def fake_printer():
    """An ESC/POS network printer on 127.0.0.1 (tests/printers.py)."""
    from tests.printers import FakeNetworkPrinter

    server = FakeNetworkPrinter()
    yield server
    server.close()
