"""`loket printer …`: test, preview, status, per-kiosk settings and the print worker."""

from __future__ import annotations

import signal
import threading
from datetime import datetime
from pathlib import Path
from typing import Any

import click
from flask import current_app
from flask.cli import with_appcontext
from sqlalchemy import select

from kiosk.factories import db_session, print_service
from kiosk.models import Device, DeviceKind
from kiosk.printing.slips import sample_slip
from kiosk.printing.stations import Station, normalise, printing
from kiosk.services.base import Actor
from printer import PrinterConfigError, PrinterError, check_available

CLI_ACTOR = Actor("system", None, "cli")


@click.group("printer")
def printer_group() -> None:
    """Ticket printers: test, preview, status, settings and the print worker."""


def _kiosk(name: str | None) -> Device | None:
    if name is None:
        return None
    device = db_session().scalar(select(Device).where(Device.name == name))
    if device is None or device.kind != DeviceKind.KIOSK:
        raise click.ClickException(f"There is no kiosk called {name!r}.")
    return device


def _station(name: str | None) -> tuple[Station, Device | None]:
    device = _kiosk(name)
    app_printing = printing()
    config = app_printing.config_for(device) if device else app_printing.defaults
    if not config or not app_printing.enabled(config):
        who = f"The kiosk {name}" if name else "This installation"
        raise click.ClickException(
            f"{who} has no printer: set LOKET_PRINTER_BACKEND (usb, serial, network, cups, file) "
            "or `loket printer set KIOSK backend=…`."
        )
    try:
        return app_printing.station(config), device
    except PrinterConfigError as error:
        raise click.ClickException(str(error)) from error


@printer_group.command("test")
@click.option("--kiosk", "kiosk_name", help="Use this kiosk's printer (default: LOKET_PRINTER_*).")
@with_appcontext
def printer_test(kiosk_name: str | None) -> None:
    """Print a test slip now (not through the queue) and report what the printer says."""
    station, _device = _station(kiosk_name)
    printer = station.printer
    click.echo(f"Printer: {printer.description}")
    try:
        status = printer.status()
        click.echo(f"Status:  {status.state.value}{f' ({status.detail})' if status.detail else ''}")
        printer.print_slip(sample_slip("TEST"))
    except PrinterError as error:
        raise click.ClickException(f"The test slip did not print: {error}") from error
    click.echo("The test slip was sent. Check that the QR code scans and the text is readable.")


@printer_group.command("preview")
@click.argument("label")
@click.option("--png", "png_path", required=True, type=click.Path(dir_okay=False, path_type=Path))
@click.option("--kiosk", "kiosk_name", help="Use this kiosk's printer settings.")
@click.option("--lang", default="nl", show_default=True, help="Language of the slip's texts.")
@with_appcontext
def printer_preview(label: str, png_path: Path, kiosk_name: str | None, lang: str) -> None:
    """Draw the slip for LABEL as the configured printer would print it, into a PNG."""
    from printer import render_png  # the printing stack: loaded by the commands that draw

    device = _kiosk(kiosk_name)
    app_printing = printing()
    config = (app_printing.config_for(device) if device else app_printing.defaults) or {}
    try:
        if app_printing.enabled(config):
            check_available(config)
        slip = sample_slip(label, language=lang)
        options = _render_options(config)
        png_path.write_bytes(render_png(slip, options["width_dots"], **options["rest"]))
    except (PrinterConfigError, ValueError) as error:
        raise click.ClickException(str(error)) from error
    except OSError as error:
        raise click.ClickException(f"Cannot write {png_path}: {error.strerror}") from error
    click.echo(f"Wrote {png_path} ({options['name']}).")


@printer_group.command("previews")
@click.option(
    "--out",
    "folder",
    default="docs/screenshots",
    show_default=True,
    type=click.Path(file_okay=False, path_type=Path),
)
@click.option("--profile", default="TM-T88V", show_default=True, help="Printer profile to draw.")
@with_appcontext
def printer_previews(folder: Path, profile: str) -> None:
    """Draw a sample slip in every resident language into FOLDER/slip-<language>.png."""
    from printer import render_png  # the printing stack: loaded by the commands that draw

    folder.mkdir(parents=True, exist_ok=True)
    for language in current_app.config["LANGUAGES"]:
        path = folder / f"slip-{language}.png"
        try:
            path.write_bytes(render_png(sample_slip("A012", language=language), profile=profile))
        except PrinterConfigError as error:
            raise click.ClickException(str(error)) from error
        click.echo(f"Wrote {path}.")


def _render_options(config: dict[str, Any]) -> dict[str, Any]:
    profile = config.get("PROFILE") or None
    width = config.get("WIDTH_DOTS")
    return {
        "width_dots": int(width) if width else None,
        "rest": {"profile": profile, "qr_mode": str(config.get("QR_MODE", "auto")).lower()},
        "name": f"profile {profile or 'default'}",
    }


@printer_group.command("status")
@with_appcontext
def printer_status() -> None:
    """Each kiosk's printer: what it is, its state and the jobs waiting or failed."""
    app_printing = printing()
    app_printing.check_health()
    kiosks = print_service().kiosks()
    if not kiosks:
        click.echo("No paired kiosks.")
    for device in kiosks:
        db_session().refresh(device)
        config = app_printing.config_for(device)
        if config is None:
            click.echo(f"{device.name}: no printer")
            continue
        try:
            station = app_printing.station(config)
        except PrinterConfigError as error:
            click.echo(f"{device.name}: settings cannot work: {error}")
            continue
        detail = f" ({device.printer_detail})" if device.printer_detail else ""
        click.echo(
            f"{device.name}: {station.printer.description}: {device.printer_state}{detail}; "
            f"{len(station.spool.pending())} waiting, {len(station.spool.failed())} failed"
        )


@printer_group.command("set")
@click.argument("kiosk_name", metavar="KIOSK")
@click.argument("settings", nargs=-1, metavar="KEY=VALUE…")
@click.option("--default", "use_default", is_flag=True, help="Use LOKET_PRINTER_* again.")
@with_appcontext
def printer_set(kiosk_name: str, settings: tuple[str, ...], use_default: bool) -> None:
    """Give KIOSK its own printer, e.g. `backend=network host=192.168.1.50 profile=TM-T88V`.

    `backend=none` switches printing off for that kiosk.
    """
    device = _kiosk(kiosk_name)
    assert device is not None
    if use_default == bool(settings):
        raise click.UsageError("Give KEY=VALUE settings, or --default.")
    own: dict[str, Any] | None = None
    if settings:
        pairs = [s.partition("=") for s in settings]
        bad = [s for s, (_k, sep, _v) in zip(settings, pairs, strict=True) if not sep]
        if bad:
            raise click.UsageError(f"Write settings as KEY=VALUE, not {bad[0]!r}.")
        own = normalise({k.strip(): v for k, _sep, v in pairs})
        merged = {**printing().defaults, **own}
        if printing().enabled(merged):
            try:
                check_available(merged)
            except PrinterConfigError as error:
                raise click.ClickException(str(error)) from error
    print_service().configure_printer(device.id, own, actor=CLI_ACTOR)
    if own is None:
        click.echo(f"{kiosk_name} uses the default printer (LOKET_PRINTER_*) again.")
    else:
        shown = ", ".join(f"{k}={v}" for k, v in sorted(own.items()))
        click.echo(f"{kiosk_name} prints with: {shown}")


@printer_group.command("worker")
@click.option("--once", is_flag=True, help="One pass over the queues, then stop.")
@with_appcontext
def printer_worker(once: bool) -> None:
    """Print the queued slips (when LOKET_PRINT_WORKER=off keeps `loket run` from printing)."""
    app_printing = printing()
    if once:
        results = app_printing.process_pending()
        app_printing.check_health()
        click.echo(f"{sum(r.ok for r in results)} printed, {sum(not r.ok for r in results)} not.")
        return
    stop = threading.Event()

    def on_signal(_signum: int, _frame: Any) -> None:
        stop.set()
        app_printing.wake()

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)

    def spawn(fn: Any, *args: Any) -> threading.Thread:
        thread = threading.Thread(target=fn, args=args, daemon=True)
        thread.start()
        return thread

    click.echo(f"Print worker running on {app_printing.root} (Ctrl+C stops).")
    app = current_app._get_current_object()  # type: ignore[attr-defined]
    with app.app_context():
        app_printing.run_worker(stop, spawn=spawn)
    click.echo(f"Print worker stopped at {datetime.now():%H:%M:%S}.")
