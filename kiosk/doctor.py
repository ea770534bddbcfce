"""`loket doctor`: is this configuration ready to go live? Each check says what to fix.

    examine(app) -> Report(shape, [Check(name, ok, message, fix), ...])
        secret key, processes      kiosk/processes.py: what every `loket run` registered
        public base URL, proxy     the settings alone
        database, clock            a connection of its own, with a short connect timeout
        message queue, rate limits a PING / the limits library's own health check
        printers                   printer/: make_printer(settings).status(), as the worker asks
        e-mail, NotifyNL           a real connection (EHLO, an authenticated API call)

The *shape* decides what is required. Production (several processes) is a message queue or
PostgreSQL: then the secret key must be set explicitly and shared, links must be https, a
reverse proxy must be trusted and rate limits shared. Embedded is one process on SQLite in
the bus: plain http on the LAN is fine there.

A check's ``ok`` is True (holds), False (fix it before go-live) or None (not applicable, or
it cannot be told because an earlier check failed). Each one gives up after a few seconds,
so a dead host makes the doctor slow by seconds, never hang. `kiosk.cli` has the command.
"""

from __future__ import annotations

import json
import logging
import smtplib
import ssl
import textwrap
from collections.abc import Callable, Iterator, Mapping
from dataclasses import asdict, dataclass
from datetime import datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from flask import Flask
from sqlalchemy import create_engine, text
from sqlalchemy.engine import Engine, make_url
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.pool import NullPool

from kiosk.database import normalise_url
from kiosk.processes import ProcessInfo, ProcessRegistry, code_head, is_redis_url
from kiosk.processes import secret_fingerprint as fingerprint_of

LINE = 100  # characters of a line of text output
TIMEOUT = 3.0  # seconds, for every connection the doctor makes
CLOCK_TOLERANCE = 2.0  # seconds between this machine and the database server
MIN_SECRET_LENGTH = 32
PLACEHOLDER_SECRETS = {
    "change-me",
    "changeme",
    "change-this",
    "change-me-please",
    "secret",
    "secret-key",
    "your-secret-key",
    "test-secret",
    "dev",
    "development",
    "example",
}
# Domains for examples (RFC 2606, and deploy/loket.env.example's): never a real site.
EXAMPLE_DOMAINS = ("example.nl", "example.com", "example.org", "example.net")


@dataclass(frozen=True)
class Check:
    """One check: `ok` True (holds), False (failed) or None (not applicable or skipped)."""

    name: str
    ok: bool | None
    message: str
    fix: str = ""


@dataclass(frozen=True)
class Report:
    """Every check of one configuration, and its shape ("production" or "embedded")."""

    shape: str
    checks: list[Check]

    @property
    def ok(self) -> bool:
        return not any(check.ok is False for check in self.checks)

    def as_json(self) -> str:
        checks = [asdict(check) for check in self.checks]
        return json.dumps({"ok": self.ok, "shape": self.shape, "checks": checks}, indent=2)

    def as_text(self) -> str:
        width = max(len(check.name) for check in self.checks)
        lines = [f"popup-loket doctor: {SHAPES[self.shape]}", ""]
        for check in self.checks:
            word = {True: "ok", False: "FAIL", None: "n/a"}[check.ok]
            start = f"{word:<5} {check.name:<{width}}  "
            lines += textwrap.wrap(
                check.message, LINE, initial_indent=start, subsequent_indent=" " * len(start)
            )
            if check.ok is False and check.fix:
                lines += textwrap.wrap(
                    check.fix, LINE, initial_indent="      Fix: ", subsequent_indent=" " * 11
                )
        counts = [sum(check.ok is value for check in self.checks) for value in (True, False, None)]
        verdict = "ready to go live." if self.ok else "fix what failed, then run it again."
        lines += ["", f"{counts[0]} ok, {counts[1]} failed, {counts[2]} not applicable: {verdict}"]
        return "\n".join(lines)


SHAPES = {
    "production": "production shape (PostgreSQL or a message queue: several processes)",
    "embedded": "embedded shape (one process on SQLite)",
}


def is_production(config: Mapping[str, Any]) -> bool:
    """Several processes: a message queue, or PostgreSQL (shared by design)."""
    queue = bool(config.get("SOCKETIO_MESSAGE_QUEUE"))
    return queue or _backend(config["DATABASE_URL"]) != "sqlite"


def examine(app: Flask) -> Report:
    """Run every check on the app's configuration (inside its app context)."""
    config = app.config
    production = is_production(config)
    key = str(config["SECRET_KEY"])
    generated = _read(Path(app.instance_path) / "secret_key")
    head = code_head()
    database = probe_database(config["DATABASE_URL"], config["CLOCK"])
    checks = [
        check_secret_key(key, production=production, generated=generated),
        check_processes(config, fingerprint=fingerprint_of(key), head=head),
        check_public_base_url(
            config.get("PUBLIC_BASE_URL"), production=production, https=bool(config["HTTPS"])
        ),
        check_reverse_proxy(config.get("TRUSTED_PROXIES"), production=production),
        check_database(database, head),
        check_message_queue(config.get("SOCKETIO_MESSAGE_QUEUE"), config["DATABASE_URL"]),
        check_rate_limits(str(config["RATELIMIT_STORAGE_URI"]), production=production),
        *check_printers(app, kiosks=database.reachable and database.revision == head),
        check_clock(database),
        check_smtp(config),
        check_notify(config.get("NOTIFY_API_KEY"), str(config["NOTIFY_BASE_URL"])),
    ]
    return Report("production" if production else "embedded", checks)


# -- settings ---------------------------------------------------------------------------------


def check_secret_key(key: str, *, production: bool, generated: str | None) -> Check:
    """Set, long, not a placeholder; in production set explicitly (shared by every process)."""
    name = "Secret key"
    fix = (
        "set LOKET_SECRET_KEY to one long random value, the same for every process: "
        'python3 -c "import secrets; print(secrets.token_hex(32))"'
    )
    if generated is not None and key == generated:
        if production:
            return Check(
                name,
                False,
                "the key was generated into instance/secret_key, so each machine has its own: "
                "a session made by one process is refused by the next",
                fix,
            )
        return Check(name, True, "generated into instance/secret_key (fine for one process)")
    lowered = key.strip().lower()
    if lowered in PLACEHOLDER_SECRETS or "change-me" in lowered or len(set(key)) <= 2:
        return Check(name, False, "the secret key is a placeholder: anyone can forge logins", fix)
    if len(key) < MIN_SECRET_LENGTH:
        return Check(
            name,
            False,
            f"the secret key has {len(key)} characters; use at least {MIN_SECRET_LENGTH}",
            fix,
        )
    return Check(name, True, f"set explicitly ({len(key)} characters)")


def check_public_base_url(url: str | None, *, production: bool, https: bool) -> Check:
    """Set (links on slips and QR codes); https with LOKET_HTTPS=true in production."""
    name = "Public base URL"
    if not url:
        example = "https://loket.hoorn.nl" if production else "http://192.168.8.10:5000"
        return Check(
            name,
            False,
            "LOKET_PUBLIC_BASE_URL is not set: links in QR codes, on slips and in e-mails may "
            "point where phones cannot go",
            f"set LOKET_PUBLIC_BASE_URL to the address residents' phones open, e.g. {example}",
        )
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        return Check(
            name,
            False,
            f"LOKET_PUBLIC_BASE_URL={url} is not an http(s) address",
            "give the full address, e.g. https://loket.hoorn.nl",
        )
    host = (parts.hostname or "").lower()
    if any(host == domain or host.endswith(f".{domain}") for domain in EXAMPLE_DOMAINS):
        return Check(
            name,
            False,
            f"{url} is still the example address",
            "set LOKET_PUBLIC_BASE_URL to this site's own address",
        )
    if not production:
        plain = " (plain http is fine on the bus LAN)" if parts.scheme == "http" else ""
        return Check(name, True, f"{url}{plain}")
    if parts.scheme != "https":
        return Check(
            name,
            False,
            f"{url} is not https: logins and residents' data would cross the network unencrypted",
            "serve the site over TLS (nginx) and set LOKET_PUBLIC_BASE_URL=https://… and "
            "LOKET_HTTPS=true",
        )
    if not https:
        return Check(
            name,
            False,
            f"{url} is https, but LOKET_HTTPS is false: cookies lack the Secure flag, no HSTS",
            "set LOKET_HTTPS=true",
        )
    return Check(name, True, f"{url}, with LOKET_HTTPS=true")


def check_reverse_proxy(setting: Any, *, production: bool) -> Check:
    """In production the proxy in front must be trusted, or every client looks like it."""
    from kiosk.security import parse_trusted_proxies

    name = "Reverse proxy"
    try:
        trusted = parse_trusted_proxies(setting)
    except ValueError as error:
        return Check(
            name,
            False,
            f"LOKET_TRUSTED_PROXIES cannot be read: {error}",
            "give a count of proxies in front (1) or their networks (10.0.0.0/8,192.168.1.5)",
        )
    if not trusted:
        if not production:
            return Check(name, None, "not behind a proxy (LOKET_TRUSTED_PROXIES is not set)")
        return Check(
            name,
            False,
            "LOKET_TRUSTED_PROXIES is not set: behind nginx every request seems to come from "
            "nginx, so one resident's rate limit stops everybody at once",
            "set LOKET_TRUSTED_PROXIES=1 (one nginx in front) or the proxies' networks",
        )
    if isinstance(trusted, int):
        return Check(
            name, True, f"trusting {trusted} proxy in front" + ("" if trusted == 1 else "s")
        )
    return Check(name, True, "trusting proxies in " + ", ".join(str(n) for n in trusted))


# -- the database -----------------------------------------------------------------------------


def _backend(url: str) -> str:
    return make_url(url).get_backend_name()


def _read(path: Path) -> str | None:
    try:
        return path.read_text().strip()
    except OSError:
        return None


def _probe_engine(url: str) -> Engine:
    """An engine of the doctor's own: no pool, a short connect timeout on PostgreSQL."""
    if _backend(url) == "sqlite":
        return create_engine(normalise_url(url), poolclass=NullPool)
    return create_engine(
        normalise_url(url), poolclass=NullPool, connect_args={"connect_timeout": int(TIMEOUT)}
    )


def _safe_url(url: str) -> str:
    try:
        return make_url(url).render_as_string(hide_password=True)
    except Exception:
        parts = urlsplit(url)
        return f"{parts.scheme}://{parts.hostname or ''}{f':{parts.port}' if parts.port else ''}"


def _missing_sqlite_file(url: str) -> Path | None:
    """The file of a SQLite URL when it does not exist (connecting would make an empty one)."""
    parsed = make_url(url)
    if _backend(url) != "sqlite" or parsed.database in (None, "", ":memory:"):
        return None
    path = Path(str(parsed.database))
    return None if path.exists() else path


@dataclass(frozen=True)
class DatabaseProbe:
    """What one short connection to the database found."""

    url: str
    error: str | None = None  # why it could not be reached
    missing_file: Path | None = None  # a SQLite file that is not there
    revision: str | None = None  # the schema's migration
    # Seconds the database server's clock is ahead of this machine's (PostgreSQL only).
    clock_offset: float | None = None

    @property
    def reachable(self) -> bool:
        return self.error is None and self.missing_file is None

    @property
    def kind(self) -> str:
        backend = _backend(self.url)
        return {"postgresql": "PostgreSQL", "sqlite": "SQLite"}.get(backend, backend)


def probe_database(url: str, local_now: Callable[[], datetime]) -> DatabaseProbe:
    """Connect once (a short timeout): the schema's migration and, on PostgreSQL, the server's
    clock against `local_now` (the app's clock)."""
    from alembic.runtime.migration import MigrationContext

    missing = _missing_sqlite_file(url)
    if missing is not None:
        return DatabaseProbe(url, missing_file=missing)
    engine = _probe_engine(url)
    try:
        with engine.connect() as conn:
            revision = MigrationContext.configure(conn).get_current_revision()
            offset = None
            if _backend(url) == "postgresql":
                before = local_now()
                server_now = conn.scalar(text("SELECT clock_timestamp()"))
                after = local_now()
                offset = (server_now - (before + (after - before) / 2)).total_seconds()
    except SQLAlchemyError as error:
        return DatabaseProbe(url, error=_first_line(error))
    finally:
        engine.dispose()
    return DatabaseProbe(url, revision=revision, clock_offset=offset)


def check_database(probe: DatabaseProbe, head: str | None) -> Check:
    """Reachable, and its schema at this code's newest migration (`head`)."""
    name, kind, current = "Database", probe.kind, probe.revision
    if probe.missing_file is not None:
        return Check(
            name,
            False,
            f"the database file {probe.missing_file} does not exist",
            "run `loket db upgrade`",
        )
    if probe.error is not None:
        return Check(
            name,
            False,
            f"cannot reach {_safe_url(probe.url)}: {probe.error}",
            "check LOKET_DATABASE_URL (host, port, user, database name) and that the server "
            "runs and lets this machine in",
        )
    if current == head:
        return Check(name, True, f"{kind} reachable, migrations at {current} (head)")
    if current is None:
        return Check(
            name, False, f"{kind} reachable but empty (no schema)", "run `loket db upgrade`"
        )
    if head is not None and current in _revisions_before(head):
        return Check(
            name,
            False,
            f"{kind} reachable, migrations at {current}, behind this code's {head}",
            "run `loket db upgrade`",
        )
    return Check(
        name,
        False,
        f"{kind} reachable, migrations at {current}, which this code does not know (head {head})",
        "install the same popup-loket version as the processes that migrated it",
    )


def _revisions_before(head: str) -> set[str]:
    from alembic.script import ScriptDirectory

    from kiosk.migrate import MIGRATIONS

    script = ScriptDirectory(str(MIGRATIONS))
    return {rev.revision for rev in script.walk_revisions(head=head)} - {head}


def check_clock(probe: DatabaseProbe, *, tolerance: float = CLOCK_TOLERANCE) -> Check:
    """This machine's clock against the PostgreSQL server's (not applicable on SQLite)."""
    name = "Clock"
    if _backend(probe.url) == "sqlite":
        return Check(name, None, "SQLite: the database has no clock of its own")
    offset = probe.clock_offset
    if offset is None:
        return Check(name, None, "not checked: the database cannot be reached")
    if abs(offset) > tolerance:
        side = "behind" if offset > 0 else "ahead of"
        return Check(
            name,
            False,
            f"this machine's clock is {abs(offset):.1f} s {side} the database server's: "
            "waits, no-shows and check-in windows would be off",
            "keep every machine's clock in sync: install chrony (or systemd-timesyncd) "
            "on this machine and on the database server",
        )
    return Check(name, True, f"in step with the database server ({offset:+.2f} s)")


# -- Redis and the rate limits ----------------------------------------------------------------


def _redis(url: str) -> Any:
    import redis

    return redis.Redis.from_url(url, socket_connect_timeout=TIMEOUT, socket_timeout=TIMEOUT)


def check_message_queue(queue: str | None, database_url: str) -> Check:
    """Several processes need a message queue, and it must answer."""
    name = "Message queue"
    if not queue:
        if _backend(database_url) != "sqlite":
            return Check(
                name,
                False,
                "the database is PostgreSQL (several processes) but there is no message "
                "queue: a call made on one process never reaches boards connected to another",
                "set LOKET_SOCKETIO_MESSAGE_QUEUE=redis://…:6379/0 for every process",
            )
        return Check(name, None, "none (one process)")
    if not is_redis_url(queue):
        return Check(name, None, f"{_safe_url(queue)} is not Redis; not checked")
    try:
        client = _redis(queue)
        try:
            client.ping()
        finally:
            client.close()
    except Exception as error:
        return Check(
            name,
            False,
            f"Redis at {_safe_url(queue)} does not answer: {_first_line(error)}",
            "start Redis, or correct LOKET_SOCKETIO_MESSAGE_QUEUE",
        )
    return Check(name, True, f"Redis at {_safe_url(queue)} answers")


def check_processes(config: Mapping[str, Any], *, fingerprint: str, head: str | None) -> Check:
    """Every registered `loket run` uses this secret key and this schema (kiosk/processes.py)."""
    name = "Processes"
    queue = config.get("SOCKETIO_MESSAGE_QUEUE")
    if not is_redis_url(queue):
        return Check(name, None, "no Redis message queue: processes are not registered")
    try:
        registry = ProcessRegistry.from_url(
            str(queue), str(config["SOCKETIO_CHANNEL"]), timeout=TIMEOUT
        )
        try:
            processes = registry.processes()
        finally:
            registry.close()
    except Exception as error:
        return Check(name, None, f"not checked: Redis does not answer ({_first_line(error)})")
    return compare_processes(processes, fingerprint=fingerprint, head=head)


def compare_processes(processes: list[ProcessInfo], *, fingerprint: str, head: str | None) -> Check:
    """Fail when a process signs with another key, or runs another schema, than this one."""
    name = "Processes"
    if not processes:
        return Check(name, None, "no `loket run` registered right now (none running yet?)")
    other_key = [p.address for p in processes if p.secret_fingerprint != fingerprint]
    other_head = [
        f"{p.address} ({p.migration_head})" for p in processes if p.migration_head != head
    ]
    problems = []
    fixes = []
    if other_key:
        problems.append("a different secret key on " + ", ".join(other_key))
        fixes.append("give every process the same LOKET_SECRET_KEY and restart it")
    if other_head:
        problems.append(f"other migrations than this code's {head} on " + ", ".join(other_head))
        fixes.append("install the same popup-loket version everywhere and run `loket db upgrade`")
    addresses = ", ".join(p.address for p in processes)
    if problems:
        return Check(name, False, "; ".join(problems), "; ".join(fixes))
    count = f"{len(processes)} process" + ("" if len(processes) == 1 else "es")
    return Check(name, True, f"{count} with this secret key and schema: {addresses}")


def check_rate_limits(uri: str, *, production: bool) -> Check:
    """Shared by every process (not memory://) in production, and reachable."""
    from limits.storage import storage_from_string

    name = "Rate limits"
    if uri.startswith("memory://"):
        if production:
            return Check(
                name,
                False,
                "rate limits are counted in memory: each process counts on its own, so the "
                "limits are as many times higher as there are processes",
                "set LOKET_RATELIMIT_STORAGE_URI=redis://…:6379/0 for every process",
            )
        return Check(name, True, "counted in memory (fine for one process)")
    options = {}
    if uri.startswith(("redis", "async+redis")):
        options = {"socket_connect_timeout": TIMEOUT, "socket_timeout": TIMEOUT}
    try:
        storage: Any = storage_from_string(uri, **options)
        healthy = storage.check()
        _close(getattr(storage, "storage", None))
    except Exception as error:
        return Check(
            name,
            False,
            f"LOKET_RATELIMIT_STORAGE_URI={_safe_url(uri)} cannot be used: {_first_line(error)}",
            "correct LOKET_RATELIMIT_STORAGE_URI",
        )
    if not healthy:
        return Check(
            name,
            False,
            f"the rate limit storage at {_safe_url(uri)} does not answer",
            "start it, or correct LOKET_RATELIMIT_STORAGE_URI",
        )
    return Check(name, True, f"shared in {_safe_url(uri)}")


def _close(resource: Any) -> None:
    close = getattr(resource, "close", None)
    if callable(close):
        close()


# -- printers ---------------------------------------------------------------------------------


def check_printers(app: Flask, *, kiosks: bool) -> list[Check]:
    """The default printer, and every paired kiosk's own one (when the database answers)."""
    from kiosk.printing.stations import Printing, station_key

    printing: Printing = app.extensions["loket.printing"]
    wanted: dict[str, dict[str, Any]] = {}
    names: dict[str, list[str]] = {}
    if printing.enabled(printing.defaults):
        wanted[station_key(printing.defaults)] = printing.defaults
    default = set(wanted)
    if kiosks:
        for device, config in _kiosk_printers(printing):
            key = station_key(config)
            if key not in default:  # a kiosk with a printer of its own
                wanted.setdefault(key, config)
                names.setdefault(key, []).append(device)
    if not wanted:
        return [Check("Printer", None, "no printer configured (LOKET_PRINTER_BACKEND is empty)")]
    labels = {key: f"Printer ({', '.join(kiosk)})" for key, kiosk in names.items()}
    return [check_printer(labels.get(key, "Printer"), config) for key, config in wanted.items()]


def _kiosk_printers(printing: Any) -> Iterator[tuple[str, dict[str, Any]]]:
    from kiosk.factories import print_service

    try:
        devices = print_service().kiosks()
    except SQLAlchemyError:  # the Database check says why
        return
    for device in devices:
        config = printing.config_for(device)
        if config is not None:
            yield device.name, config


def check_printer(name: str, config: Mapping[str, Any]) -> Check:
    """Ask the printer how it is, through the printer library (a short timeout)."""
    from printer import PrinterConfigError, PrinterState, make_printer

    settings = dict(config)
    backend = str(settings.get("BACKEND", "")).strip().lower()
    try:
        timeout = min(float(settings.get("TIMEOUT") or TIMEOUT), TIMEOUT)
    except (TypeError, ValueError):
        timeout = TIMEOUT  # make_printer names the bad value below
    else:
        settings["TIMEOUT"] = timeout
    try:
        device = make_printer(settings)
    except PrinterConfigError as error:
        return Check(name, False, f"the settings cannot work: {error}", "correct LOKET_PRINTER_*")
    what = device.description
    if backend == "serial" and not Path(str(settings.get("DEVICE"))).exists():
        return Check(name, False, f"{what}: the device is missing", _PRINTER_FIX)
    try:
        status = device.status()
    except Exception as error:
        return Check(name, False, f"{what} cannot be asked: {_first_line(error)}", _PRINTER_FIX)
    finally:
        device.close()
    detail = f" ({status.detail})" if status.detail else ""
    if status.state is PrinterState.OFFLINE:
        return Check(name, False, status.detail or f"{what} is offline", _PRINTER_FIX)
    if status.state is PrinterState.PAPER_OUT:
        return Check(name, False, f"{what} is out of paper", "load a paper roll")
    if backend == "cups" and status.online is None:
        return Check(name, False, f"CUPS has no queue {settings.get('QUEUE')}", _PRINTER_FIX)
    return Check(name, True, f"{what}: {status.state.value.replace('_', ' ')}{detail}")


_PRINTER_FIX = (
    "switch the printer on and check its cable or network address, or correct LOKET_PRINTER_* "
    "(`loket printer test` prints a sample)"
)


# -- outside services -------------------------------------------------------------------------


def check_smtp(config: Mapping[str, Any]) -> Check:
    """The mail server answers EHLO (and STARTTLS and the login, when configured)."""
    name = "E-mail (SMTP)"
    host = config.get("SMTP_HOST")
    if not host:
        return Check(name, None, "not configured (LOKET_SMTP_HOST is not set)")
    port = int(config.get("SMTP_PORT") or 25)
    steps = ["EHLO"]
    try:
        with smtplib.SMTP(str(host), port, timeout=TIMEOUT) as smtp:
            smtp.ehlo()
            if config.get("SMTP_STARTTLS"):
                smtp.starttls(context=ssl.create_default_context())
                smtp.ehlo()
                steps.append("STARTTLS")
            if config.get("SMTP_USER"):
                smtp.login(str(config["SMTP_USER"]), str(config.get("SMTP_PASSWORD") or ""))
                steps.append("login")
    except (OSError, smtplib.SMTPException) as error:
        return Check(
            name,
            False,
            f"{host}:{port} does not work: {_first_line(error)}",
            "correct LOKET_SMTP_HOST/_PORT/_STARTTLS/_USER/_PASSWORD, or ask the mail "
            "administrator to let this machine send",
        )
    return Check(name, True, f"{host}:{port} answers ({', '.join(steps)})")


def check_notify(api_key: str | None, base_url: str) -> Check:
    """NotifyNL answers an authenticated call (its list of templates) with this API key."""
    from notifications_python_client.errors import APIError, TokenError
    from notifications_python_client.notifications import NotificationsAPIClient

    name = "NotifyNL"
    if not api_key:
        return Check(name, None, "not configured (LOKET_NOTIFY_API_KEY is not set)")
    fix = "check LOKET_NOTIFY_BASE_URL and that this machine may reach it (firewall, proxy)"
    quiet = logging.getLogger("notifications_python_client")  # it logs each failure too
    level = quiet.level
    quiet.setLevel(logging.CRITICAL)
    try:
        NotificationsAPIClient(api_key, base_url=base_url, timeout=TIMEOUT).get_all_templates()
    except (TokenError, AssertionError, ValueError):
        return Check(
            name,
            False,
            "LOKET_NOTIFY_API_KEY does not look like an API key ({name}-{service id}-{secret})",
            "copy the whole key from NotifyNL's API keys page",
        )
    except APIError as error:
        if error.response is None:
            reason = _first_line(_root(error))
            return Check(name, False, f"{base_url} cannot be reached: {reason}", fix)
        status = error.status_code
        if status in (401, 403):
            return Check(
                name,
                False,
                f"{base_url} refused the API key (HTTP {status})",
                "use a live API key of this service from NotifyNL",
            )
        if status >= 500:
            return Check(name, False, f"{base_url} answers with an error (HTTP {status})", fix)
        return Check(name, True, f"{base_url} answers (HTTP {status})")
    finally:
        quiet.setLevel(level)
    return Check(name, True, f"{base_url} answers and accepts the API key")


def _first_line(error: BaseException | str) -> str:
    text = str(error).strip() or type(error).__name__
    return text.splitlines()[0][:200]


def _root(error: BaseException) -> BaseException:
    """The first cause of a chain (a refused connection under requests' and urllib3's)."""
    seen = {id(error)}
    while (cause := error.__cause__ or error.__context__) is not None and id(cause) not in seen:
        seen.add(id(cause))
        error = cause
    return error
