"""The `loket` command (also available as `flask --app kiosk …`): thin adapters over services."""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import sys
from datetime import timedelta
from pathlib import Path
from typing import Any

import click
from flask import Flask, current_app
from flask.cli import FlaskGroup, routes_command, shell_command, with_appcontext
from sqlalchemy import select

from kiosk.factories import (
    account_service,
    appointment_service,
    db_session,
    mfa_service,
    queue_service,
    setting,
    tour_service,
)
from kiosk.models import Device, DeviceKind, Role, StaffUser, Stop, StopStatus
from kiosk.services.accounts import MIN_PASSWORD_LENGTH, generate_password
from kiosk.services.base import Actor
from kiosk.services.errors import DomainError, NoStopToOpen

CLI_ACTOR = Actor("system", None, "cli")
DEFAULT_PORT = 5000


def _fail(error: DomainError) -> None:
    raise click.ClickException(error.message)


def _base_url() -> str:
    base = current_app.config.get("PUBLIC_BASE_URL")
    if base:
        return base.rstrip("/")
    port = os.environ.get("LOKET_PORT", str(DEFAULT_PORT))
    return f"http://127.0.0.1:{port}"


# -- run ---------------------------------------------------------------------------------------


@click.command("run")
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to listen on.")
@click.option("--port", default=DEFAULT_PORT, show_default=True, type=int)
@with_appcontext
def run_command(host: str, port: int) -> None:
    """Serve the app with gevent (websockets included); stops cleanly on SIGTERM."""
    app = current_app._get_current_object()  # type: ignore[attr-defined]
    if app.config["SOCKETIO_ASYNC_MODE"] != "gevent":
        raise click.ClickException("loket run needs gevent; start it as `loket run`.")
    try:
        server = make_server(app, host, port)
        server.init_socket()
    except OSError as error:
        raise click.ClickException(f"Cannot listen on {host}:{port}: {error.strerror}") from error
    stop_printing = _start_print_worker(app)
    stop_housekeeping = _start_housekeeping(app)
    stop_messages = _start_message_sender(app)
    stop_registration = _start_registration(app, port)
    click.echo(f"popup-loket serves on http://{host}:{port}  (Ctrl+C stops)")
    warning = public_base_warning(app, host, port)
    if warning:
        click.echo(warning, err=True)
    sys.stdout.flush()
    try:
        server.serve_forever()
    finally:
        stop_registration()
        stop_messages()
        stop_housekeeping()
        stop_printing()


def public_base_warning(app: Flask, host: str, port: int) -> str | None:
    """What to say when others reach this server (not only this machine) but links in e-mails
    and on slips have no configured base: they never take a request's Host header on trust
    (kiosk/urls.py), so without LOKET_PUBLIC_BASE_URL they may point where phones cannot go."""
    from kiosk.urls import FALLBACK_BASE, is_loopback_host

    if app.config.get("PUBLIC_BASE_URL") or is_loopback_host(host):
        return None
    return (
        f"Warning: serving on {host} without LOKET_PUBLIC_BASE_URL. Links in e-mails, on slips "
        "and in QR codes use a host from LOKET_TRUSTED_HOSTS when a request names one, else "
        f"{FALLBACK_BASE}, which phones cannot open. Set "
        f"LOKET_PUBLIC_BASE_URL=http://<address phones reach>:{port}."
    )


def _start_print_worker(app: Flask) -> Any:
    """Print in this process (LOKET_PRINT_WORKER=inline, the default); returns its stopper."""
    import threading

    from kiosk.printing.stations import printing

    if app.config["PRINT_WORKER"] != "inline":
        return lambda: None
    sio = app.extensions["socketio"]
    stop = threading.Event()
    with app.app_context():
        app_printing = printing()
    sio.start_background_task(app_printing.run_worker, stop, spawn=sio.start_background_task)

    def stopper() -> None:
        stop.set()
        app_printing.wake()

    return stopper


def _start_message_sender(app: Flask) -> Any:
    """Send residents' messages in this process (LOKET_NOTIFY_WORKER=inline, the default);
    returns its stopper."""
    from kiosk.messaging import start_sender

    return start_sender(app, app.extensions["socketio"].start_background_task)


def _start_housekeeping(app: Flask) -> Any:
    """Mark no-shows and purge daily in this process (LOKET_HOUSEKEEPING_SECONDS > 0, the
    default; give every process but one 0); returns its stopper."""
    import threading

    from kiosk.housekeeping import Housekeeping

    try:
        housekeeping = Housekeeping(app)
    except ValueError as error:
        raise click.ClickException(str(error)) from error
    if housekeeping.interval <= 0:
        return lambda: None
    stop = threading.Event()
    app.extensions["socketio"].start_background_task(housekeeping.run_forever, stop)
    return stop.set


def _start_registration(app: Flask, port: int) -> Any:
    """List this process in Redis for `loket doctor` (with a Redis message queue only; Redis
    being down never stops the server); returns its stopper."""
    from kiosk.processes import start_registration

    return start_registration(app, port, app.extensions["socketio"].start_background_task)


def make_server(app: Flask, host: str, port: int) -> Any:
    """A gevent WSGI server that sets TCP_NODELAY on every connection and stops on SIGTERM.

    Without TCP_NODELAY each keep-alive response waits ~40 ms for a delayed ACK, because
    pywsgi writes headers and body in two sends (see shared/NOTES.md).
    """
    import gevent
    from gevent.pywsgi import WSGIHandler, WSGIServer

    class Handler(WSGIHandler):
        def log_request(self) -> None:  # access logs are for the proxy; keep the kiosk quiet
            return None

    class NoDelayServer(WSGIServer):
        def handle(self, sock: socket.socket, address: Any) -> None:
            with contextlib.suppress(OSError):
                sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            super().handle(sock, address)

    server = NoDelayServer((host, port), app, handler_class=Handler, log=None)

    def stop() -> None:
        server.stop(timeout=5)

    gevent.signal_handler(signal.SIGTERM, stop)
    gevent.signal_handler(signal.SIGINT, stop)
    return server


# -- database ---------------------------------------------------------------------------------


@click.group("db")
def db_group() -> None:
    """Database schema migrations (Alembic)."""


@db_group.command("upgrade")
@click.argument("revision", default="head")
@with_appcontext
def db_upgrade(revision: str) -> None:
    """Bring the schema up to REVISION (default: the newest)."""
    from kiosk import migrate

    migrate.upgrade(current_app.config["DATABASE_URL"], revision)
    click.echo(f"Database at revision {migrate.current(current_app.config['DATABASE_URL'])}.")


@db_group.command("downgrade")
@click.argument("revision")
@with_appcontext
def db_downgrade(revision: str) -> None:
    """Take the schema back to REVISION ('base' empties it)."""
    from kiosk import migrate

    migrate.downgrade(current_app.config["DATABASE_URL"], revision)
    click.echo(f"Database at revision {migrate.current(current_app.config['DATABASE_URL'])}.")


@db_group.command("current")
@with_appcontext
def db_current() -> None:
    """Show the schema revision."""
    from kiosk import migrate

    click.echo(migrate.current(current_app.config["DATABASE_URL"]) or "empty")


# -- users ------------------------------------------------------------------------------------


@click.group("user")
def user_group() -> None:
    """Staff accounts."""


@user_group.command("add")
@click.argument("username")
@click.option(
    "--role",
    type=click.Choice([r.value for r in Role]),
    default=Role.STAFF.value,
    show_default=True,
)
@click.option("--name", "display_name", default="", help="Name shown on screens.")
@with_appcontext
def user_add(username: str, role: str, display_name: str) -> None:
    """Add a staff user; the password comes from stdin, or is generated and printed once."""
    password = ""
    if not sys.stdin.isatty():
        password = sys.stdin.readline().rstrip("\n")
    generated = not password
    if generated:
        password = generate_password()
    try:
        user = account_service().add_user(
            username, password, role=Role(role), display_name=display_name, actor=CLI_ACTOR
        )
    except DomainError as error:
        _fail(error)
    click.echo(f"User '{user.username}' added with role {user.role.value}.")
    if generated:
        click.echo(f"Password (shown once): {password}")


@user_group.command("reset-mfa")
@click.argument("username")
@with_appcontext
def user_reset_mfa(username: str) -> None:
    """Forget a user's authenticator app (a lost phone); they set it up again at next login."""
    accounts = account_service()
    user = accounts.by_username(username)
    if user is None:
        raise click.ClickException(f"There is no user '{username}'.")
    mfa_service().reset(user, actor=CLI_ACTOR)
    click.echo(f"{user.username} sets up the authenticator app again at the next login.")


# -- devices ----------------------------------------------------------------------------------


@click.group("device")
def device_group() -> None:
    """Kiosks and display boards."""


@device_group.command("add")
@click.argument("kind", type=click.Choice([k.value for k in DeviceKind]))
@click.argument("name")
@click.option("--stop", "stop_id", type=int, help="Stop id (default: the open stop).")
@click.option("--follow", is_flag=True, help="Follow whichever stop is open, not a fixed one.")
@with_appcontext
def device_add(kind: str, name: str, stop_id: int | None, follow: bool) -> None:
    """Register a kiosk or board and print its one-time pairing URL."""
    try:
        stop = None
        if not follow:
            stop = queue_service().stop(stop_id) if stop_id else tour_service().current_stop()
        ttl = current_app.config["DEVICE_PAIRING_TTL_MINUTES"]
        pairing = account_service().add_device(
            DeviceKind(kind), name, stop=stop, ttl=timedelta(minutes=ttl), actor=CLI_ACTOR
        )
    except DomainError as error:
        _fail(error)
    where = f"stop {stop.id} ({stop.location.name})" if stop else "the open stop"
    click.echo(f"{kind.capitalize()} '{name}' added for {where}.")
    click.echo(f"Open this on the device within {ttl} minutes to pair it:")
    click.echo(f"  {_base_url()}/pair/{pairing.code}")


# -- stops ------------------------------------------------------------------------------------


@click.group("stop")
def stop_group() -> None:
    """Open and close stops."""


def _stop_to_change(stop_id: int | None, status: StopStatus) -> Stop:
    if stop_id:
        return queue_service().stop(stop_id)
    if status == StopStatus.OPEN:
        return tour_service().current_stop()
    try:
        return tour_service().stop_to_open()
    except NoStopToOpen as error:
        raise click.ClickException(f"{error.message} Give --stop ID.") from None


@stop_group.command("open")
@click.option(
    "--stop",
    "stop_id",
    type=int,
    help="Stop id (default: today's stop, even if it was closed, else the next planned one).",
)
@with_appcontext
def stop_open(stop_id: int | None) -> None:
    """Open a stop: the kiosk issues tickets."""
    try:
        stop = tour_service().open_stop(
            _stop_to_change(stop_id, StopStatus.PLANNED), actor=CLI_ACTOR
        )
    except DomainError as error:
        _fail(error)
    click.echo(f"Stop {stop.id} ({stop.location.name}) is open.")


@stop_group.command("close")
@click.option("--stop", "stop_id", type=int, help="Stop id (default: the open stop).")
@with_appcontext
def stop_close(stop_id: int | None) -> None:
    """Close a stop: no new tickets; people already waiting are still served."""
    try:
        stop = tour_service().close_stop(_stop_to_change(stop_id, StopStatus.OPEN), actor=CLI_ACTOR)
    except DomainError as error:
        _fail(error)
    click.echo(f"Stop {stop.id} ({stop.location.name}) is closed.")


# -- purge ------------------------------------------------------------------------------------


def _times(count: int, thing: str) -> str:
    return f"{count} {thing}" if count == 1 else f"{count} {thing}s"


@click.command("purge")
@click.option(
    "--days",
    type=click.IntRange(min=1),
    help="Keep contact data and ticket links this many days (default: LOKET_RETENTION_DAYS).",
)
@click.option("--dry-run", is_flag=True, help="Only count what would change.")
@with_appcontext
def purge_command(days: int | None, dry_run: bool) -> None:
    """Mark no-shows, erase appointment contact data older than the retention period, and
    expire the status links of tickets older than it; erase residents' IP addresses from the
    event log after LOKET_IP_RETENTION_DAYS (what `loket run` does daily)."""
    from kiosk.housekeeping import forget_resident_addresses

    retention = days if days is not None else int(setting("RETENTION_DAYS"))
    appointments = appointment_service()
    queue = queue_service()
    try:
        if dry_run:
            no_shows = appointments.count_no_shows()
            erased = appointments.count_purgeable(retention)
            expired = queue.count_expirable_links(retention)
        else:
            no_shows = appointments.mark_no_shows(actor=CLI_ACTOR)
            expired = queue.expire_links(retention, actor=CLI_ACTOR)
            erased = appointments.purge_contact_data(retention, actor=CLI_ACTOR)
            before = current_app.config["CLOCK"]() - timedelta(
                days=int(current_app.config["IP_RETENTION_DAYS"])
            )
            addresses = forget_resident_addresses(db_session(), before)
    except DomainError as error:
        _fail(error)
    if dry_run:
        click.echo(
            f"Dry run, nothing changed. Would mark {_times(no_shows, 'appointment')} as no-show. "
            f"Would erase the contact data of {_times(erased, 'appointment')}. "
            f"Would expire the status links of {_times(expired, 'ticket')}."
        )
    else:
        click.echo(
            f"Marked {_times(no_shows, 'appointment')} as no-show. "
            f"Erased the contact data of {_times(erased, 'appointment')}. "
            f"Expired the status links of {_times(expired, 'ticket')}. "
            f"Erased the IP addresses of {_times(addresses, 'resident event')}."
        )


# -- demo -------------------------------------------------------------------------------------


DEMO_USERS = (
    ("coordinator", Role.COORDINATOR, "Coördinator"),
    ("medewerker", Role.STAFF, "Medewerker"),
)
DEMO_DEVICES = ((DeviceKind.KIOSK, "Demo-kiosk"), (DeviceKind.BOARD, "Demo-scherm"))


@click.command("demo")
@with_appcontext
def demo_command() -> None:
    """Create (or refresh) the demo stop, demo users with new passwords, and pairing links."""
    tour = tour_service()
    result = tour.create_demo(actor=CLI_ACTOR)
    stop = result.stop
    # Bookable slots all day, including around now: booking and check-in work at once.
    opened = sum(
        len(appointment_service().open_slots(stop, product, actor=CLI_ACTOR))
        for product in stop.products
        if product.bookable or product.appointment_required
    )
    accounts = account_service()
    session = db_session()
    credentials = []
    for username, user_role, display in DEMO_USERS:
        password = generate_password()
        user = session.scalar(select(StaffUser).where(StaffUser.username == username))
        if user is None:
            accounts.add_user(
                username, password, role=user_role, display_name=display, actor=CLI_ACTOR
            )
        else:
            accounts.set_password(user, password, actor=CLI_ACTOR)
        credentials.append((username, user_role.value, password))
    links = []
    ttl = timedelta(minutes=current_app.config["DEVICE_PAIRING_TTL_MINUTES"])
    for kind, name in DEMO_DEVICES:
        device = session.scalar(select(Device).where(Device.name == name))
        if device is None:
            pairing = accounts.add_device(kind, name, stop=None, ttl=ttl, actor=CLI_ACTOR)
        else:
            pairing = accounts.new_pairing_code(device, ttl=ttl, actor=CLI_ACTOR)
        links.append((kind.value, f"{_base_url()}/pair/{pairing.code}"))

    local = stop.starts_at.astimezone(tour.tz), stop.ends_at.astimezone(tour.tz)
    click.echo("")
    click.echo(
        f"Demo stop {stop.id}: {stop.location.name}, open "
        f"{local[0]:%d-%m-%Y %H:%M}–{local[1]:%H:%M} ({'new' if result.created else 'reused'})"
    )
    click.echo("  Products: " + ", ".join(f"{p.prefix} {p.name('nl')}" for p in stop.products))
    click.echo("  Desks:    " + ", ".join(d.name for d in stop.desks))
    click.echo(f"  Slots:    {opened} new bookable slots ({_base_url()}/api/v1/slots?product=A)")
    click.echo("")
    click.echo(f"Open {_base_url()}/ in a browser.")
    click.echo(
        "Demo logins (new passwords each time `loket demo` runs; min. "
        f"{MIN_PASSWORD_LENGTH} characters):"
    )
    for username, role_name, password in credentials:
        click.echo(f"  {username:<12} {password}   ({role_name})")
    second_step = current_app.config["MFA_ROLES"]
    if second_step:
        click.echo(
            f"  Roles {', '.join(second_step)} also give a code from an authenticator app (TOTP);"
            " the first login sets it up (`loket user reset-mfa NAME` starts again)."
        )
    click.echo("Pair a kiosk or board by opening its link on that device:")
    for kind_name, link in links:
        click.echo(f"  {kind_name:<6} {link}")
    click.echo("")


# -- doctor -----------------------------------------------------------------------------------


@click.command("doctor")
@click.option("--json", "as_json", is_flag=True, help="Print the checks as JSON.")
@with_appcontext
def doctor_command(as_json: bool) -> None:
    """Check this configuration before go-live and say what to fix (kiosk/doctor.py); exit
    code 0 only when every check holds."""
    from kiosk.doctor import examine

    report = examine(current_app._get_current_object())  # type: ignore[attr-defined]
    click.echo(report.as_json() if as_json else report.as_text())
    if not report.ok:
        raise SystemExit(1)


# -- backup -----------------------------------------------------------------------------------


def _backup_place() -> Any:
    """Where this installation keeps what a backup holds (a `kiosk.backup.Place`)."""
    from kiosk.backup import Place
    from kiosk.printing.stations import printing

    return Place(
        current_app.config["DATABASE_URL"], printing().root, Path(current_app.instance_path)
    )


@click.command("backup")
@click.argument("file", type=click.Path(path_type=Path))
@click.option(
    "--keep-days",
    type=click.IntRange(min=1),
    help="With a folder: then delete its backups older than this many days.",
)
@with_appcontext
def backup_command(file: Path, keep_days: int | None) -> None:
    """Write the database, the print spool and the Web Push key to FILE (tar.gz, mode 0600), or
    to loket-<date>-<time>.tar.gz in FILE if it is a folder; safe while `loket run` serves
    (kiosk/backup/)."""
    from kiosk.backup import BackupError, backup_summary, make_backup, named_in, prune

    folder = file if file.is_dir() else None
    if keep_days is not None and folder is None:
        raise click.UsageError("--keep-days needs a folder to write into.")
    now = current_app.config["CLOCK"]()
    try:
        click.echo(
            backup_summary(make_backup(_backup_place(), named_in(folder, now) if folder else file))
        )
    except BackupError as error:
        raise click.ClickException(error.message) from None
    if folder is not None and keep_days is not None:
        for gone in prune(folder, keep_days, now):
            click.echo(f"Deleted {gone.name} (older than {keep_days} days).")


@click.command("restore")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--force", is_flag=True, help="Replace a database that holds data.")
@with_appcontext
def restore_command(file: Path, force: bool) -> None:
    """Put a backup made by `loket backup` back; checks all of it first, and never replaces a
    database that holds data without --force (kiosk/backup/)."""
    from kiosk.backup import BackupError, restore_backup, restore_summary

    current_app.extensions["loket.engine"].dispose()
    try:
        click.echo(restore_summary(restore_backup(_backup_place(), file, force=force)))
    except BackupError as error:
        raise click.ClickException(error.message) from None


def register_cli(app: Flask) -> None:
    """Make the commands available under `flask --app kiosk` too (the app factory adds each
    feature's own group, such as ``loket printer``)."""
    commands = (
        run_command,
        db_group,
        user_group,
        device_group,
        stop_group,
        purge_command,
        demo_command,
        doctor_command,
        backup_command,
        restore_command,
    )
    for command in commands:
        app.cli.add_command(command)


def _create_app() -> Flask:
    from kiosk import create_app

    return create_app()


cli = FlaskGroup(
    name="loket",
    create_app=_create_app,
    add_default_commands=False,
    add_version_option=False,
    load_dotenv=False,
    help="popup-loket: kiosk, queue tickets and display board for a pop-up front office.",
)
cli.add_command(shell_command)
cli.add_command(routes_command)
