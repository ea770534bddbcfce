"""`loket doctor` (kiosk/doctor.py) and the process registry it reads (kiosk/processes.py).

Each misconfiguration makes its own check fail, and only that one: the production tests start
from the test deployment (PostgreSQL, Redis as message queue and rate-limit storage, https,
one trusted proxy, a network printer on loopback), where every check holds, and change one
setting. Outside services are loopback servers in threads; one that is down is a closed port,
a switched-off host a port whose listen queue is full.
"""

from __future__ import annotations

import json
import logging
import os
import socket
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from kiosk import doctor as kiosk_doctor
from kiosk import migrate
from kiosk.doctor import DatabaseProbe, check_clock, check_secret_key
from kiosk.models import Device, DeviceKind
from kiosk.processes import (
    ProcessInfo,
    ProcessRegistry,
    Registration,
    code_head,
    secret_fingerprint,
    start_registration,
)
from kiosk.services.base import utc_now
from tests.fake_notify import FakeNotify

GOOD_KEY = "4f1c0e9a7b2d4c8e9f3a6b1d2c5e7f80a9b8c7d6e5f4a3b2c1d0e9f8a7b6c5d4"
CHECKS = [
    "Secret key",
    "Processes",
    "Public base URL",
    "Reverse proxy",
    "Database",
    "Message queue",
    "Rate limits",
    "Printer",
    "Clock",
    "E-mail (SMTP)",
    "NotifyNL",
]


def closed_port() -> int:
    """A loopback port nothing listens on (bound, then let go)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def doctor(app: Any) -> tuple[int, dict[str, Any]]:
    """Run `loket doctor --json` on an app: its exit code and the report."""
    result = app.test_cli_runner().invoke(args=["doctor", "--json"])
    return result.exit_code, json.loads(result.output)


def checks(report: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {check["name"]: check for check in report["checks"]}


def failed(report: dict[str, Any]) -> list[str]:
    return [check["name"] for check in report["checks"] if check["ok"] is False]


# -- loopback servers ---------------------------------------------------------------------------


class TinySmtp:
    """Just enough of an SMTP server for EHLO and QUIT, on a loopback port."""

    def __init__(self) -> None:
        self.server = socket.create_server(("127.0.0.1", 0))
        self.port = self.server.getsockname()[1]
        self.commands: list[str] = []
        self.thread = threading.Thread(target=self._serve, daemon=True)
        self.thread.start()

    def _serve(self) -> None:
        try:
            conn, _ = self.server.accept()
        except OSError:  # closed before anyone came
            return
        with conn, conn.makefile("rb") as lines:
            conn.sendall(b"220 tiny ESMTP\r\n")
            for line in lines:
                command = line.decode().strip()
                self.commands.append(command)
                if command.upper().startswith("EHLO"):
                    conn.sendall(b"250-tiny\r\n250 8BITMIME\r\n")
                elif command.upper() == "QUIT":
                    conn.sendall(b"221 bye\r\n")
                    return
                else:
                    conn.sendall(b"250 OK\r\n")

    def close(self) -> None:
        self.server.close()
        self.thread.join(5)


def _notify_handler(fake: FakeNotify) -> type[BaseHTTPRequestHandler]:
    """GET /v2/templates as NotifyNL answers it: 200 with a good token, 403 without."""

    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *args: Any) -> None:
            return None

        def do_GET(self) -> None:
            why = fake.check_token(self.headers.get("Authorization"))
            body = json.dumps({"templates": []} if why is None else {"errors": [why]}).encode()
            self.send_response(200 if why is None else 403)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

    return Handler


@pytest.fixture
def smtp() -> Iterator[TinySmtp]:
    server = TinySmtp()
    yield server
    server.close()


@pytest.fixture
def notify() -> Iterator[tuple[FakeNotify, str]]:
    """A NotifyNL answering its templates list: the fake (its `api_key`) and its base URL."""
    fake = FakeNotify()
    server = ThreadingHTTPServer(("127.0.0.1", 0), _notify_handler(fake))
    server.daemon_threads = True
    # A short poll: shutdown() waits for it (the default half second, per test).
    thread = threading.Thread(target=server.serve_forever, args=(0.02,), daemon=True)
    thread.start()
    yield fake, f"http://127.0.0.1:{server.server_port}"
    server.shutdown()
    server.server_close()
    thread.join(5)


# -- the test deployment ------------------------------------------------------------------------


@pytest.fixture(scope="module")
def pg_head(pg_database: str) -> str:
    """This run's PostgreSQL database at head, once for the module (the doctor only reads)."""
    migrate.upgrade(pg_database)
    return pg_database


@pytest.fixture
def channel() -> str:
    return f"popup-loket-doctor-{uuid.uuid4().hex[:12]}"


@pytest.fixture
def registry(redis_url: str, channel: str) -> Iterator[ProcessRegistry]:
    found = ProcessRegistry.from_url(redis_url, channel)
    yield found
    for key in found.client.scan_iter(match=f"{found.prefix}*"):
        found.client.delete(key)
    found.close()


@pytest.fixture
def production(make_app, pg_head: str, redis_url: str, channel: str, fake_printer):
    """Build the test deployment's app, with settings changed as a test needs."""

    def build(**overrides: Any) -> Any:
        config = {
            "DATABASE_URL": pg_head,
            "SECRET_KEY": GOOD_KEY,
            "SOCKETIO_MESSAGE_QUEUE": redis_url,
            "SOCKETIO_CHANNEL": channel,
            "RATELIMIT_STORAGE_URI": redis_url,
            "PUBLIC_BASE_URL": "https://loket.hoorn.test",
            "HTTPS": True,
            "TRUSTED_PROXIES": 1,
            "PRINTER_BACKEND": "network",
            "PRINTER_HOST": "127.0.0.1",
            "PRINTER_PORT": fake_printer.port,
            "CLOCK": utc_now,
        }
        return make_app(**{**config, **overrides})

    return build


@pytest.fixture
def embedded(make_app):
    """One process on the test's SQLite database, with a good key; no printer."""

    def build(**overrides: Any) -> Any:
        return make_app(**{"SECRET_KEY": GOOD_KEY, **overrides})

    return build


# -- everything holds -------------------------------------------------------------------------


@pytest.mark.postgres
@pytest.mark.redis
def test_the_test_deployment_passes_every_check(production, registry, smtp, notify):
    fake, base_url = notify
    app = production(
        SMTP_HOST="127.0.0.1",
        SMTP_PORT=smtp.port,
        NOTIFY_API_KEY=fake.api_key,
        NOTIFY_BASE_URL=base_url,
    )
    registry.register(_process(app.config["SECRET_KEY"], "web-1", 5000))

    code, report = doctor(app)

    assert code == 0, report
    assert report["ok"] is True
    assert report["shape"] == "production"
    assert [check["name"] for check in report["checks"]] == CHECKS
    assert all(check["ok"] is True for check in report["checks"]), report
    assert set(report["checks"][0]) == {"name", "ok", "message", "fix"}
    found = checks(report)
    assert "web-1:5000" in found["Processes"]["message"]
    assert (
        found["Database"]["message"] == f"PostgreSQL reachable, migrations at {code_head()} (head)"
    )
    assert "STARTTLS" not in found["E-mail (SMTP)"]["message"]
    assert smtp.commands[0].upper().startswith("EHLO")


def test_embedded_on_the_bus_lan_passes_with_plain_http(embedded):
    result = (
        embedded(PUBLIC_BASE_URL="http://192.168.8.10:5000")
        .test_cli_runner()
        .invoke(args=["doctor"])
    )

    assert result.exit_code == 0, result.output
    assert "embedded shape" in result.output
    assert "ok    Public base URL  http://192.168.8.10:5000 (plain http is fine" in result.output
    assert "n/a   Printer" in result.output
    assert result.output.rstrip().endswith("ready to go live.")


def test_the_text_output_says_what_failed_and_how_to_fix_it(embedded):
    result = embedded(PUBLIC_BASE_URL=None).test_cli_runner().invoke(args=["doctor"])

    assert result.exit_code == 1
    assert "FAIL  Public base URL  LOKET_PUBLIC_BASE_URL is not set" in result.output
    assert "      Fix: set LOKET_PUBLIC_BASE_URL to the address residents' phones open" in (
        result.output
    )
    assert "1 failed" in result.output


# -- one check fails --------------------------------------------------------------------------


@pytest.mark.postgres
@pytest.mark.redis
@pytest.mark.parametrize(
    ("key", "says"),
    [
        ("change-me", "placeholder"),
        ("CHANGE-ME-run-the-command-above-please", "placeholder"),  # as in deploy/, longer
        ("x" * 40, "placeholder"),
        ("a-key-of-twenty-chars", "has 21 characters"),
        (None, "generated into instance/secret_key"),
    ],
)
def test_a_weak_or_machine_local_secret_key_fails(production, key, says):
    if key is None:  # the key `config.instance_secret` made, as it would be without the setting
        app = production()
        Path(app.instance_path).mkdir(parents=True)
        (Path(app.instance_path) / "secret_key").write_text(GOOD_KEY)
    else:
        app = production(SECRET_KEY=key)

    code, report = doctor(app)

    assert code == 1
    assert failed(report) == ["Secret key"]
    assert says in checks(report)["Secret key"]["message"]
    assert "LOKET_SECRET_KEY" in checks(report)["Secret key"]["fix"]


def test_a_generated_key_is_fine_for_one_process():
    assert check_secret_key("abc" * 20, production=False, generated="abc" * 20).ok is True


@pytest.mark.postgres
@pytest.mark.redis
def test_processes_with_another_secret_key_or_schema_fail(production, registry):
    app = production()
    key = app.config["SECRET_KEY"]
    registry.register(_process(key, "web-1", 5000))
    registry.register(_process("another-key-of-forty-characters-long!!", "web-2", 5000))
    registry.register(_process(key, "web-3", 5001, head="0011"))

    code, report = doctor(app)

    assert code == 1
    assert failed(report) == ["Processes"]
    message = checks(report)["Processes"]["message"]
    assert "a different secret key on web-2:5000" in message
    assert "web-3:5001 (0011)" in message
    assert "web-1" not in message


@pytest.mark.postgres
@pytest.mark.redis
@pytest.mark.parametrize(
    ("overrides", "says"),
    [
        ({"PUBLIC_BASE_URL": "http://loket.hoorn.test"}, "is not https"),
        ({"HTTPS": False}, "LOKET_HTTPS is false"),
        ({"PUBLIC_BASE_URL": None}, "is not set"),
        ({"PUBLIC_BASE_URL": "loket.hoorn.test"}, "is not an http(s) address"),
        ({"PUBLIC_BASE_URL": "https://loket.example.nl"}, "still the example address"),
    ],
)
def test_a_missing_or_plain_http_base_url_fails_in_production(production, overrides, says):
    code, report = doctor(production(**overrides))

    assert code == 1
    assert failed(report) == ["Public base URL"]
    assert says in checks(report)["Public base URL"]["message"]


@pytest.mark.postgres
@pytest.mark.redis
def test_no_trusted_proxy_in_production_fails(production):
    code, report = doctor(production(TRUSTED_PROXIES=None))

    assert code == 1
    assert failed(report) == ["Reverse proxy"]
    assert "LOKET_TRUSTED_PROXIES=1" in checks(report)["Reverse proxy"]["fix"]


@pytest.mark.postgres
@pytest.mark.redis
def test_an_unreachable_database_fails(production):
    url = f"postgresql://postgres@127.0.0.1:{closed_port()}/test"

    code, report = doctor(production(DATABASE_URL=url))

    assert code == 1
    assert failed(report) == ["Database"]
    assert "cannot reach" in checks(report)["Database"]["message"]
    assert checks(report)["Clock"]["ok"] is None


def test_a_database_behind_the_code_fails(embedded, db_url):
    migrate.downgrade(db_url, "-1")

    code, report = doctor(embedded())

    assert code == 1
    assert failed(report) == ["Database"]
    assert f"behind this code's {code_head()}" in checks(report)["Database"]["message"]
    assert checks(report)["Database"]["fix"] == "run `loket db upgrade`"


def test_a_missing_sqlite_file_fails_and_is_not_created(embedded, tmp_path):
    missing = tmp_path / "nowhere.db"

    code, report = doctor(embedded(DATABASE_URL=f"sqlite:///{missing}"))

    assert code == 1
    assert failed(report) == ["Database"]
    assert not missing.exists()


@pytest.mark.postgres
@pytest.mark.redis
def test_a_message_queue_that_does_not_answer_fails(production):
    code, report = doctor(production(SOCKETIO_MESSAGE_QUEUE=f"redis://127.0.0.1:{closed_port()}/0"))

    assert code == 1
    assert failed(report) == ["Message queue"]
    assert checks(report)["Processes"]["ok"] is None  # cannot be listed without Redis


@pytest.mark.postgres
@pytest.mark.redis
def test_postgresql_without_a_message_queue_fails(production):
    code, report = doctor(production(SOCKETIO_MESSAGE_QUEUE=None))

    assert code == 1
    assert failed(report) == ["Message queue"]
    assert "LOKET_SOCKETIO_MESSAGE_QUEUE" in checks(report)["Message queue"]["fix"]


@pytest.mark.postgres
@pytest.mark.redis
@pytest.mark.parametrize(
    ("storage", "says"),
    [("memory://", "counted in memory"), ("redis://127.0.0.1:{port}/0", "does not answer")],
)
def test_rate_limits_not_shared_or_unreachable_fail(production, storage, says):
    code, report = doctor(production(RATELIMIT_STORAGE_URI=storage.format(port=closed_port())))

    assert code == 1
    assert failed(report) == ["Rate limits"]
    assert says in checks(report)["Rate limits"]["message"]


@pytest.mark.parametrize(
    ("printer", "says"),
    [
        ({"PRINTER_BACKEND": "network", "PRINTER_HOST": "127.0.0.1"}, "cannot be reached"),
        ({"PRINTER_BACKEND": "file", "PRINTER_PATH": "{missing}/slips"}, "missing or not writable"),
    ],
    ids=["network", "file"],
)
def test_a_printer_that_cannot_be_reached_fails(embedded, tmp_path, printer, says):
    settings = {key: value.format(missing=tmp_path / "gone") for key, value in printer.items()}

    code, report = doctor(embedded(PRINTER_PORT=closed_port(), **settings))

    assert code == 1
    assert failed(report) == ["Printer"]
    assert says in checks(report)["Printer"]["message"]


def test_a_kiosk_with_its_own_printer_is_checked_too(embedded, tmp_path, db):
    now = datetime.now(UTC)
    db.add(Device(name="Kiosk 2", kind=DeviceKind.KIOSK, created_at=now, paired_at=now))
    db.add(
        Device(
            name="Kiosk 3",
            kind=DeviceKind.KIOSK,
            created_at=now,
            paired_at=now,
            settings={"printer": {"BACKEND": "file", "PATH": str(tmp_path / "gone" / "slips")}},
        )
    )
    db.commit()
    (tmp_path / "slips").mkdir()
    app = embedded(PRINTER_BACKEND="file", PRINTER_PATH=str(tmp_path / "slips"))

    code, report = doctor(app)

    assert code == 1
    names = [check["name"] for check in report["checks"]]
    assert names.count("Printer") == 1 and "Printer (Kiosk 3)" in names
    assert failed(report) == ["Printer (Kiosk 3)"]


@pytest.mark.postgres
@pytest.mark.redis
def test_a_clock_out_of_step_with_the_database_fails(production, clock):
    code, report = doctor(production(CLOCK=clock))  # the tests' clock: June 2026

    assert code == 1
    assert failed(report) == ["Clock"]
    assert "chrony" in checks(report)["Clock"]["fix"]


@pytest.mark.parametrize(("offset", "ok"), [(1.9, True), (-1.9, True), (2.1, False), (-30, False)])
def test_the_clock_may_be_two_seconds_off(offset, ok):
    probe = DatabaseProbe("postgresql://db/loket", revision="x", clock_offset=offset)
    assert check_clock(probe).ok is ok


def test_a_mail_server_that_does_not_answer_fails(embedded):
    code, report = doctor(embedded(SMTP_HOST="127.0.0.1", SMTP_PORT=closed_port()))

    assert code == 1
    assert failed(report) == ["E-mail (SMTP)"]


@pytest.mark.parametrize("reachable", [False, True], ids=["closed port", "wrong key"])
def test_notify_unreachable_or_refusing_the_key_fails(embedded, notify, reachable):
    fake, base_url = notify
    wrong = f"loket_test-{fake.service_id}-{uuid.uuid4()}"
    url = base_url if reachable else f"http://127.0.0.1:{closed_port()}"

    code, report = doctor(embedded(NOTIFY_API_KEY=wrong, NOTIFY_BASE_URL=url))

    assert code == 1
    assert failed(report) == ["NotifyNL"]
    says = "refused the API key (HTTP 403)" if reachable else "cannot be reached"
    assert says in checks(report)["NotifyNL"]["message"]


@pytest.fixture
def dead_port() -> Iterator[int]:
    """A loopback port that answers nothing, like a host that is switched off: its listen
    queue is full, so a new connection waits for the caller's timeout."""
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(0)
    port = server.getsockname()[1]
    held = []
    for _ in range(5):  # the queue takes one or two, then drops the rest
        try:
            held.append(socket.create_connection(("127.0.0.1", port), timeout=0.2))
        except OSError:
            break
    else:
        pytest.skip("this system accepts every connection into the listen queue")
    yield port
    for sock in held:
        sock.close()
    server.close()


def test_a_dead_host_costs_the_timeout_not_a_hang(monkeypatch, dead_port):
    monkeypatch.setattr(kiosk_doctor, "TIMEOUT", 0.2)
    redis_url = f"redis://127.0.0.1:{dead_port}/0"
    key = f"loket_test-{uuid.uuid4()}-{uuid.uuid4()}"
    network = {"BACKEND": "network", "HOST": "127.0.0.1", "PORT": dead_port}
    for run in (
        lambda: kiosk_doctor.check_message_queue(redis_url, "sqlite://"),
        lambda: kiosk_doctor.check_rate_limits(redis_url, production=True),
        lambda: kiosk_doctor.check_printer("Printer", network),
        lambda: kiosk_doctor.check_smtp({"SMTP_HOST": "127.0.0.1", "SMTP_PORT": dead_port}),
        lambda: kiosk_doctor.check_notify(key, f"http://127.0.0.1:{dead_port}"),
    ):
        started = time.monotonic()
        assert run().ok is False
        assert time.monotonic() - started < 1.5


# -- the console script -----------------------------------------------------------------------


@pytest.mark.postgres
@pytest.mark.redis
def test_loket_doctor_exits_0_on_the_test_deployment(pg_head, redis_url, fake_printer, tmp_path):
    loket = Path(sys.executable).with_name("loket")
    env = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "LOKET_CONFIG": str(tmp_path / "none.py"),
        "LOKET_DATABASE_URL": pg_head,
        "LOKET_SECRET_KEY": GOOD_KEY,
        "LOKET_SOCKETIO_MESSAGE_QUEUE": redis_url,
        "LOKET_SOCKETIO_CHANNEL": f"popup-loket-doctor-{uuid.uuid4().hex[:12]}",
        "LOKET_RATELIMIT_STORAGE_URI": redis_url,
        "LOKET_PUBLIC_BASE_URL": "https://loket.hoorn.test",
        "LOKET_HTTPS": "true",
        "LOKET_TRUSTED_PROXIES": "1",
        "LOKET_PRINTER_BACKEND": "network",
        "LOKET_PRINTER_HOST": "127.0.0.1",
        "LOKET_PRINTER_PORT": str(fake_printer.port),
        "LOKET_PRINT_SPOOL_DIR": str(tmp_path / "spool"),
    }
    (tmp_path / "none.py").write_text("")

    done = subprocess.run(
        [str(loket), "doctor"], env=env, capture_output=True, text=True, timeout=60, check=False
    )

    assert done.returncode == 0, done.stdout + done.stderr
    assert "0 failed" in done.stdout


# -- the process registry ---------------------------------------------------------------------


def _process(key: str, host: str, port: int, *, head: str | None = None) -> ProcessInfo:
    return ProcessInfo(
        host=host,
        port=port,
        pid=1234,
        started="2026-12-03T23:00:00+00:00",
        version="0.1.0",
        migration_head=head or code_head(),
        secret_fingerprint=secret_fingerprint(key),
    )


class OneBeat:
    """A stop event for `Registration.run_forever` that lets exactly one beat happen."""

    def __init__(self) -> None:
        self.beats = 0

    def is_set(self) -> bool:
        return self.beats > 0

    def wait(self, timeout: float | None = None) -> bool:
        self.beats += 1
        return True


def test_the_fingerprint_names_the_key_without_giving_it_away():
    assert secret_fingerprint(GOOD_KEY) == secret_fingerprint(GOOD_KEY)
    assert secret_fingerprint(GOOD_KEY) != secret_fingerprint(GOOD_KEY[:-1])
    assert len(secret_fingerprint(GOOD_KEY)) == 16
    assert secret_fingerprint(GOOD_KEY) not in GOOD_KEY


@pytest.mark.redis
def test_loket_run_registers_while_it_serves_and_leaves_when_stopped(embedded, registry, channel):
    app = embedded(SOCKETIO_MESSAGE_QUEUE=registry_url(registry), SOCKETIO_CHANNEL=channel)
    started: list[Any] = []

    def spawn(run_forever: Any, stop: threading.Event) -> None:
        started.append(stop)
        run_forever(OneBeat())  # one beat, here and now

    stopper = start_registration(app, 5005, spawn)

    (found,) = registry.processes()
    assert (found.host, found.port, found.pid) == (socket.gethostname(), 5005, os.getpid())
    assert found.secret_fingerprint == secret_fingerprint(GOOD_KEY)
    assert found.migration_head == code_head()
    assert 0 < registry.client.ttl(registry.key(found)) <= 90
    stopper()
    assert started[0].is_set()
    assert registry.processes() == []


def registry_url(registry: ProcessRegistry) -> str:
    kwargs = registry.client.connection_pool.connection_kwargs
    return f"redis://{kwargs['host']}:{kwargs['port']}/{kwargs.get('db', 0)}"


def test_redis_being_down_never_stops_loket_run(caplog):
    url = f"redis://127.0.0.1:{closed_port()}/0"
    registration = Registration(
        ProcessRegistry.from_url(url, "c", timeout=1), _process(GOOD_KEY, "web-1", 5000)
    )

    with caplog.at_level(logging.WARNING, logger="kiosk.processes"):
        assert registration.beat() is False
        assert registration.beat() is False  # tried again, logged once
    registration.stop()

    assert len(caplog.records) == 1
    assert "Cannot register this process in Redis" in caplog.records[0].getMessage()


def test_without_a_redis_message_queue_nothing_registers(embedded):
    spawned: list[Any] = []
    stopper = start_registration(embedded(), 5000, lambda *args: spawned.append(args))
    stopper()
    assert spawned == []
