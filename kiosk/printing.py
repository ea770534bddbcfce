"""Printing inside the app: which printer a kiosk uses, a slip after each ticket, the worker.

    kiosk (POST /kiosk/tickets)          worker (in `loket run`, or `loket printer worker`)
    ---------------------------          ---------------------------------------------------
    commit the ticket                    for each printer station: spool.run(printer)
    PrintJob row (queued), commit          -> PrintService.record(...)  -> print_status,
    render the slip, spool.add(tag=id)        printer_changed events
    show the confirmation at once        every PRINT_POLL_SECONDS: printer.status()
                                           -> PrintService.record_health(...)

A kiosk's printer is ``LOKET_PRINTER_*`` (the default) overlaid with the kiosk device's
``settings["printer"]`` (``{"BACKEND": "none"}`` switches printing off for that kiosk). Kiosks
with the same effective settings share one *station*: one printer object and one durable spool
folder ``<PRINT_SPOOL_DIR>/<key>/`` (with the settings in ``printer.json``), so jobs for one
printer never race each other and any process on this host can add jobs that the worker prints.

Blocking printer I/O (USB, serial, CUPS, a slow network printer) runs in gevent's thread pool
under `loket run`, so it never stalls the server's other greenlets.
"""

from __future__ import annotations

import hashlib
import json
import logging
import threading
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any, TypeVar
from zoneinfo import ZoneInfo

from flask import Flask, current_app
from flask_babel import force_locale, get_locale
from flask_babel import gettext as _

from kiosk.auth import current_principal
from kiosk.extensions import appointment_service, print_service, queue_service
from kiosk.i18n import local_time
from kiosk.models import (
    Appointment,
    Device,
    DeviceKind,
    PrintJob,
    PrintKind,
    PrintStatus,
    Ticket,
)
from kiosk.payloads import Position
from kiosk.services.base import SYSTEM, Actor
from kiosk.services.printing import NoPrinter, NotToday, PrinterHealth
from kiosk.urls import public_url
from printer import (
    JobResult,
    Outcome,
    PrinterConfigError,
    PrinterState,
    PrinterStatus,
    PrintSpool,
    SlipLine,
    SlipTexts,
    TicketPrinter,
    TicketSlip,
    check_available,
    config_from_prefixed,
    make_printer,
)

log = logging.getLogger(__name__)

NO_PRINTER = ("", "none", "off")
CONFIG_ERROR = "config_error"  # a printer_state word of our own: the settings cannot work
T = TypeVar("T")


def normalise(config: Mapping[str, Any]) -> dict[str, Any]:
    """Upper-case keys, blank values dropped: two spellings of one printer give one key."""
    result = {}
    for key, value in config.items():
        if value is None or (isinstance(value, str) and not value.strip()):
            continue
        result[str(key).upper()] = value.strip() if isinstance(value, str) else value
    return result


def station_key(config: Mapping[str, Any]) -> str:
    """A short, stable name for a printer's settings (its spool folder)."""
    text = json.dumps(normalise(config), sort_keys=True, default=str)
    return hashlib.sha256(text.encode()).hexdigest()[:12]


def offload(call: Callable[[], T]) -> T:
    """Run a blocking call in gevent's thread pool when the process is monkey-patched."""
    try:
        from gevent import get_hub, monkey
    except ImportError:  # pragma: no cover - gevent is a dependency
        return call()
    if not monkey.is_module_patched("socket"):
        return call()
    return get_hub().threadpool.apply(call)


class _Offloaded(TicketPrinter):
    """A printer whose send and status run off the event loop (see `offload`).

    One call at a time, queued here on the event loop: the inner printer's own lock is a
    (monkey-patched) gevent lock, which must never be contended between two pool threads.
    """

    def __init__(self, inner: TicketPrinter) -> None:
        super().__init__(profile=inner.profile, qr_mode=inner.qr_mode, width_dots=inner.width_dots)
        self.inner = inner
        self.kind = inner.kind

    @property
    def description(self) -> str:
        return self.inner.description

    def send(self, job: bytes) -> None:
        with self._lock:
            offload(lambda: self.inner.send(job))

    def status(self) -> PrinterStatus:
        with self._lock:
            return offload(self.inner.status)

    def close(self) -> None:
        self.inner.close()


@dataclass
class Station:
    """One printer and its spool."""

    key: str
    config: dict[str, Any]
    printer: TicketPrinter
    spool: PrintSpool
    health: PrinterHealth | None = None


class Printing:
    """The app's printing: stations, submitting slips, and the worker loops."""

    def __init__(self, app: Flask) -> None:
        self.app = app
        self.defaults = normalise(config_from_prefixed(app.config))
        root = app.config.get("PRINT_SPOOL_DIR") or Path(app.instance_path) / "spool"
        self.root = Path(root)
        self.max_attempts = int(app.config["PRINT_MAX_ATTEMPTS"])
        self.retry_delays = tuple(float(s) for s in app.config["PRINT_RETRY_SECONDS"])
        self.poll_seconds = float(app.config["PRINT_POLL_SECONDS"])
        self._stations: dict[str, Station] = {}
        self._lock = threading.Lock()
        self._health_due = threading.Event()
        if self.enabled(self.defaults):
            # A missing extra or a bad setting stops the start, not the first ticket.
            check_available(self.defaults)

    # -- which printer -------------------------------------------------------------------------

    @staticmethod
    def enabled(config: Mapping[str, Any]) -> bool:
        return str(config.get("BACKEND", "")).strip().lower() not in NO_PRINTER

    def config_for(self, device: Device | None) -> dict[str, Any] | None:
        """The effective printer settings of a kiosk; None when it prints nothing."""
        if device is None:
            return None
        own = device.settings.get("printer") if isinstance(device.settings, dict) else None
        merged = {**self.defaults, **normalise(own if isinstance(own, dict) else {})}
        return merged if self.enabled(merged) else None

    def station(self, config: Mapping[str, Any]) -> Station:
        """The station for these settings (made once); `PrinterConfigError` if they cannot work."""
        key = station_key(config)
        with self._lock:
            found = self._stations.get(key)
            if found is None:
                printer = _Offloaded(make_printer(config))
                spool = PrintSpool(
                    self.root / key,
                    max_attempts=self.max_attempts,
                    retry_delays=self.retry_delays,
                    on_result=self._on_report,
                    on_retry=self._on_report,
                )
                settings = self.root / key / "printer.json"
                text = json.dumps(normalise(config), sort_keys=True, default=str, indent=1)
                if not settings.exists() or settings.read_text() != text:
                    settings.write_text(text)
                found = self._stations[key] = Station(key, dict(config), printer, spool)
                self._health_due.set()  # an in-process worker starts printing for it now
            return found

    def station_for(self, device: Device | None) -> Station | None:
        config = self.config_for(device)
        return self.station(config) if config is not None else None

    def stations(self) -> list[Station]:
        with self._lock:
            return list(self._stations.values())

    # -- submitting ----------------------------------------------------------------------------

    def submit(
        self,
        ticket: Ticket,
        device: Device | None,
        *,
        kind: PrintKind = PrintKind.TICKET,
        language: str = "nl",
        position: Position | None = None,
        actor: Actor = SYSTEM,
    ) -> PrintJob | None:
        """Queue a slip for a committed ticket on the kiosk's printer; None if it has none.

        Never raises for printer trouble: a job that cannot even be spooled is recorded as
        failed, so the resident keeps the number on screen and staff see the fault.
        """
        return self._submit(
            device,
            lambda: self.slip(ticket, language=language, position=position),
            kind=kind,
            ticket=ticket,
            language=language,
            actor=actor,
        )

    def submit_booking(
        self,
        appointment: Appointment,
        device: Device | None,
        *,
        kind: PrintKind = PrintKind.BOOKING,
        language: str = "nl",
        actor: Actor = SYSTEM,
    ) -> PrintJob | None:
        """Queue the slip of a time booked for later (date, time, place, a QR code to the
        appointment's page); None if the kiosk has no printer."""
        return self._submit(
            device,
            lambda: self.booking_slip(appointment, language=language),
            kind=kind,
            appointment=appointment,
            language=language,
            actor=actor,
        )

    def _submit(
        self,
        device: Device | None,
        make_slip: Callable[[], TicketSlip],
        *,
        kind: PrintKind,
        language: str,
        actor: Actor,
        ticket: Ticket | None = None,
        appointment: Appointment | None = None,
    ) -> PrintJob | None:
        config = self.config_for(device)
        if config is None:
            return None
        service = print_service()
        job = service.create_job(
            kind=kind,
            ticket=ticket,
            appointment=appointment,
            device=device,
            language=language,
            actor=actor,
        )
        try:
            station = self.station(config)
            station.spool.add(station.printer.render(make_slip()), tag=str(job.id))
        except Exception as exc:
            if not isinstance(exc, PrinterConfigError | OSError):
                log.exception("Could not queue print job %s", job.id)
            return service.record(job.id, PrintStatus.FAILED, attempts=0, error=_reason(exc))
        return job

    def slip(
        self, ticket: Ticket, *, language: str = "nl", position: Position | None = None
    ) -> TicketSlip:
        """What the printed ticket says, in the resident's language. An appointment's ticket
        says the time, and its QR code opens the appointment's page (which follows the turn)."""
        booked = appointment_service().of_ticket(ticket)
        with force_locale(language):
            if booked is None:
                qr_url = public_url("display.ticket_status", token=ticket.token)
                lines: tuple[SlipLine, ...] = ()
                footer = _("Scan de code om te zien wanneer u aan de beurt bent.")
            else:
                qr_url = public_url("display.appointment", token=booked.token)
                lines = (
                    SlipLine(_("Afspraak om %(time)s", time=local_time(booked.slot.starts_at))),
                )
                footer = _("Scan de code: uw afspraak, en wanneer u aan de beurt bent.")
            return TicketSlip(
                label=ticket.label,
                product=ticket.product.name(language),
                stop=ticket.stop.location.name,
                issued_at=ticket.issued_at,
                qr_url=qr_url,
                header_lines=(_("Gemeente Hoorn"), _("Loket op locatie")),
                people_ahead=position.ahead if position is not None else None,
                lines=lines,
                footer_lines=(footer,),
                tz=ZoneInfo(current_app.config["TIMEZONE"]),
                texts=slip_texts(),
            )

    def booking_slip(self, appointment: Appointment, *, language: str = "nl") -> TicketSlip:
        """The slip of a time booked for later: the code large, then what, when and where."""
        slot, location = appointment.slot, appointment.stop.location
        with force_locale(language):
            when = local_time(slot.starts_at, "EEEE d MMMM")
            hours = f"{local_time(slot.starts_at)}–{local_time(slot.ends_at)}"
            lines = [
                SlipLine(_("Uw afspraak"), bold=True),
                SlipLine(when, bold=True),
                SlipLine(hours, bold=True, large=True),
                SlipLine(location.name),
            ]
            if location.address:
                lines.append(SlipLine(location.address))
            return TicketSlip(
                label=appointment.code,
                product=appointment.product.name(language),
                stop=location.name,
                issued_at=appointment.created_at,
                qr_url=public_url("display.appointment", token=appointment.token),
                header_lines=(_("Gemeente Hoorn"), _("Loket op locatie")),
                lines=tuple(lines),
                footer_lines=(
                    _("Meld u op die dag bij de kiosk: scan deze bon of typ de code."),
                    _("Scan de QR-code: afspraak bekijken, in uw agenda zetten of afzeggen."),
                ),
                tz=ZoneInfo(current_app.config["TIMEZONE"]),
                texts=slip_texts(number_caption=_("Uw code")),
            )

    # -- the worker ----------------------------------------------------------------------------

    def known_stations(self) -> list[Station]:
        """Every station in use: those of the paired kiosks, and any spool folder on disk
        that still holds jobs (a kiosk whose settings changed meanwhile)."""
        for device in print_service().kiosks():
            try:
                self.station_for(device)
            except PrinterConfigError:
                continue  # reported by check_health
        if self.root.is_dir():
            for settings in sorted(self.root.glob("*/printer.json")):
                if settings.parent.name in self._stations:
                    continue
                try:
                    config = json.loads(settings.read_text())
                    if any((settings.parent / "pending").glob("*.job")):
                        self.station(config)
                except (OSError, ValueError, PrinterConfigError) as exc:
                    log.error("Spool %s cannot be printed: %s", settings.parent, exc)
        return self.stations()

    def process_pending(self) -> list[JobResult]:
        """One pass over every station's due jobs (tests and `loket printer worker --once`)."""
        results: list[JobResult] = []
        for station in self.known_stations():
            results.extend(station.spool.process_once(station.printer))
        return results

    def check_health(self) -> None:
        """Ask every kiosk's printer how it is, and store the answer for the desks."""
        by_station: dict[str, list[int]] = {}
        unprinted: list[int] = []
        broken: dict[str, tuple[list[int], str]] = {}
        for device in print_service().kiosks():
            config = self.config_for(device)
            if config is None:
                unprinted.append(device.id)
                continue
            try:
                key = self.station(config).key
            except PrinterConfigError as exc:
                broken.setdefault(str(exc), ([], str(exc)))[0].append(device.id)
                continue
            by_station.setdefault(key, []).append(device.id)
        service = print_service()
        for key, device_ids in by_station.items():
            station = self._stations[key]
            station.health = self._ask(station)
            service.record_health(device_ids, station.health)
        for device_ids, message in broken.values():
            service.record_health(device_ids, PrinterHealth(CONFIG_ERROR, message))
        service.record_health(unprinted, None)

    def run_worker(self, stop: threading.Event, *, spawn: Callable[..., Any]) -> None:
        """Print and poll until `stop` is set: one loop per station plus the health loop.

        `spawn(fn, *args)` starts a background task (a greenlet under `loket run`).
        """
        running: dict[str, Any] = {}
        log.info("Print worker started; spool %s", self.root)
        while not stop.is_set():
            try:
                with self.app.app_context():
                    for station in self.known_stations():
                        if station.key not in running:
                            log.info("Printing to %s", station.printer.description)
                            running[station.key] = spawn(station.spool.run, station.printer, stop)
                    self.check_health()
            except Exception:
                log.exception("Print worker pass failed")
            self._health_due.wait(self.poll_seconds)
            self._health_due.clear()
        for station in self.stations():
            station.spool.wake()

    def wake(self) -> None:
        """Make the worker look now (after setting its stop event, or after a change)."""
        self._health_due.set()
        for station in self.stations():
            station.spool.wake()

    # -- internals -----------------------------------------------------------------------------

    def _ask(self, station: Station) -> PrinterHealth:
        try:
            status = station.printer.status()
        except Exception as exc:
            return PrinterHealth(PrinterState.OFFLINE.value, _reason(exc))
        return PrinterHealth(status.state.value, status.detail)

    def _on_report(self, result: JobResult) -> None:
        """The spool's callback: store and publish how a job went."""
        if result.tag is None or not result.tag.isdigit():
            return
        status = {
            Outcome.PRINTED: PrintStatus.PRINTED,
            Outcome.RETRY: PrintStatus.RETRYING,
            Outcome.FAILED: PrintStatus.FAILED,
        }[result.outcome]
        with self._context():
            print_service().record(
                int(result.tag),
                status,
                attempts=result.attempts,
                error=result.error,
                fault=FAULTS.get(result.error_type or "", "fault") if not result.ok else None,
            )
        if not result.ok:
            self._health_due.set()  # tell the desks what the printer says now, not in 15 s

    @contextmanager
    def _context(self) -> Iterator[None]:
        with self.app.app_context():
            yield


def sample_slip(label: str, *, language: str = "nl") -> TicketSlip:
    """A slip as a resident would get it, for tests and previews (no ticket is issued)."""
    base = (current_app.config.get("PUBLIC_BASE_URL") or "http://127.0.0.1:5000").rstrip("/")
    with force_locale(language):
        return TicketSlip(
            label=label,
            product=_("Paspoort of ID-kaart aanvragen"),
            stop=_("Voorbeeld: Bibliotheek Kersenboogerd"),
            issued_at=current_app.config["CLOCK"](),
            qr_url=f"{base}/t/voorbeeld-{label.lower()}",
            header_lines=(_("Gemeente Hoorn"), _("Loket op locatie")),
            people_ahead=3,
            footer_lines=(_("Scan de code om te zien wanneer u aan de beurt bent."),),
            tz=ZoneInfo(current_app.config["TIMEZONE"]),
            texts=slip_texts(),
        )


def slip_texts(number_caption: str | None = None) -> SlipTexts:
    """The slip's fixed texts in the current locale."""
    return SlipTexts(
        number_caption=number_caption or _("Uw nummer"),
        people_ahead_none=_("Er is niemand voor u"),
        people_ahead_one=_("Er is 1 persoon voor u"),
        people_ahead_many=_("Er zijn %(n)s personen voor u", n="{n}"),
    )


def _reason(exc: BaseException) -> str:
    return str(exc) or type(exc).__name__


def printing() -> Printing:
    """The current app's printing."""
    return current_app.extensions["loket.printing"]


def today_start(clock: Callable[[], datetime], timezone: str) -> datetime:
    """Midnight of today in the stop's time zone (as an aware datetime)."""
    local = clock().astimezone(ZoneInfo(timezone))
    return local.replace(hour=0, minute=0, second=0, microsecond=0)


# -- the kiosk's side ----------------------------------------------------------------------------


def print_issued(ticket: Ticket, position: Position | None) -> PrintJob | None:
    """After a kiosk issued a ticket (committed): queue its slip in the resident's language."""
    principal = current_principal()
    device = principal.device
    if device is None or device.kind != DeviceKind.KIOSK:
        return None
    return printing().submit(
        ticket, device, language=_language(), position=position, actor=principal.actor
    )


def print_booked(appointment: Appointment) -> PrintJob | None:
    """After a kiosk booked a time for later (committed): queue the slip that carries it."""
    principal = current_principal()
    device = principal.device
    if device is None or device.kind != DeviceKind.KIOSK:
        return None
    return printing().submit_booking(
        appointment, device, language=_language(), actor=principal.actor
    )


def _language() -> str:
    locale = get_locale()
    return locale.language if locale is not None else "nl"


@dataclass(frozen=True)
class PrintNotice:
    """What the kiosk screen says about the slip: a state word and the reason of a fault."""

    state: str  # none | printing | printed | fault
    reason: str = ""


FAULT_STATES = (PrinterState.OFFLINE.value, PrinterState.PAPER_OUT.value, CONFIG_ERROR)
# A failed attempt's exception -> the printer state word it tells the kiosk's screen.
FAULTS = {
    "PaperOut": PrinterState.PAPER_OUT.value,
    "PrinterOffline": PrinterState.OFFLINE.value,
    "PrinterConfigError": CONFIG_ERROR,
}


def print_notice(job: PrintJob | None, device: Device | None) -> PrintNotice:
    """The slip's state for the resident, from its job and the printer's last known health."""
    if job is None:
        return PrintNotice("none")
    printer_state = device.printer_state if device is not None else None
    if job.status is PrintStatus.PRINTED:
        return PrintNotice("printed")
    if job.status is PrintStatus.FAILED or job.status is PrintStatus.RETRYING:
        return PrintNotice("fault", fault_reason(printer_state))
    if printer_state in FAULT_STATES:
        return PrintNotice("fault", fault_reason(printer_state))
    return PrintNotice("printing")


def fault_reason(printer_state: str | None) -> str:
    """A printer fault in plain words for residents (B1)."""
    if printer_state == PrinterState.PAPER_OUT.value:
        return _("Het papier van de printer is op.")
    if printer_state == PrinterState.OFFLINE.value:
        return _("De printer staat uit of is niet aangesloten.")
    return _("De printer heeft een storing.")


# -- staff's side --------------------------------------------------------------------------------


def reprint_ticket(ticket: Ticket, *, device_id: int | None = None) -> PrintJob:
    """Print a ticket of today again (staff); `NoPrinter` or `NotToday` when that cannot be."""
    config = current_app.config
    if ticket.issued_at < today_start(config["CLOCK"], config["TIMEZONE"]):
        raise NotToday()
    prints = print_service()
    device = prints.reprint_device(ticket, device_id)
    earlier = prints.latest_for_ticket(ticket)
    job = printing().submit(
        ticket,
        device,
        kind=PrintKind.REPRINT,
        language=earlier.language if earlier is not None else "nl",
        position=queue_service().position(ticket),
        actor=current_principal().actor,
    )
    if job is None:
        raise NoPrinter(f"The kiosk {device.name} has no printer.")
    return job


def reprint_booking(appointment: Appointment, *, device_id: int | None = None) -> PrintJob:
    """Print a booking's slip again (staff), while its appointment is still to come."""
    if appointment.slot.ends_at <= current_app.config["CLOCK"]():
        raise NotToday("This appointment has passed: its slip is not printed again.")
    prints = print_service()
    device = prints.reprint_device(appointment, device_id)
    earlier = prints.latest_for_booking(appointment)
    job = printing().submit_booking(
        appointment,
        device,
        kind=PrintKind.REPRINT,
        language=earlier.language if earlier is not None else appointment.language,
        actor=current_principal().actor,
    )
    if job is None:
        raise NoPrinter(f"The kiosk {device.name} has no printer.")
    return job
