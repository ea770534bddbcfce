"""Which printer a kiosk uses, and the worker that prints: one *station* (printer + durable
spool folder) per distinct printer setting. See kiosk/printing/__init__.py."""

from __future__ import annotations

import hashlib
import json
import logging
import threading
import time
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any, TypeVar

from flask import Flask, current_app

from kiosk.after_response import after_response
from kiosk.factories import print_service, queue_service
from kiosk.models import Appointment, Device, PrintJob, PrintKind, PrintStatus, Ticket
from kiosk.payloads import Position
from kiosk.printing.slips import booking_slip, ticket_slip
from kiosk.services.base import SYSTEM, Actor
from kiosk.services.printing import (
    CONFIG_ERROR,
    FAULT,
    NO_PRINTER,
    NO_SLIP,
    NOT_TODAY,
    SPOOL,
    PrinterHealth,
)
from printer import (
    JobResult,
    Outcome,
    PrinterConfigError,
    PrinterState,
    PrinterStatus,
    PrintSpool,
    TicketPrinter,
    TicketSlip,
    check_available,
    config_from_prefixed,
    make_printer,
)

log = logging.getLogger(__name__)

# A job younger than this may still be on its way to the spool in another process.
RECOVERY_GRACE = timedelta(seconds=5)
# A new job's slip reaches the spool within this many seconds of its request, or is left to
# `recover` (which waits RECOVERY_GRACE): the spool's claim and this margin keep the two from
# both spooling one job (see `PrintSpool.add_once`).
FRESH_SPOOL_SECONDS = RECOVERY_GRACE.total_seconds() / 2

# BACKEND values that mean "this kiosk prints nothing".
SWITCHED_OFF = ("", "none", "off")
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

    def send_then(self, job: bytes, then: Callable[[], None]) -> None:
        with self._lock:
            offload(lambda: self.inner.send_then(job, then))

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
            # A missing extra or a bad setting stops the start, not the first ticket. This also
            # loads the printing stack (python-escpos, Pillow, qrcode) now, so the first slip does
            # not wait for it; a process without a printer never loads it.
            check_available(self.defaults)

    # -- which printer -------------------------------------------------------------------------

    @staticmethod
    def enabled(config: Mapping[str, Any]) -> bool:
        return str(config.get("BACKEND", "")).strip().lower() not in SWITCHED_OFF

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
                    io=offload,
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
            lambda: ticket_slip(ticket, language=language, position=position),
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
            lambda: booking_slip(appointment, language=language),
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
        job = print_service().create_job(
            kind=kind,
            ticket=ticket,
            appointment=appointment,
            device=device,
            language=language,
            actor=actor,
        )
        return self.spool(job, config, make_slip)

    def spool_ticket(
        self, job: PrintJob, ticket: Ticket, position: Position | None
    ) -> PrintJob | None:
        """Send a new ticket's slip, whose job was made in the ticket's own transaction
        (`SlipRequest`), to its kiosk's printer spool."""
        config = self.config_for(job.device)
        if config is None:  # the kiosk's printer was switched off meanwhile
            service = print_service()
            service.record(
                job.id,
                PrintStatus.FAILED,
                attempts=0,
                error="The kiosk has no printer.",
                fault=NO_PRINTER,
            )
            return service.current(job.id)
        return self.spool(
            job, config, lambda: ticket_slip(ticket, language=job.language, position=position)
        )

    def spool(
        self, job: PrintJob, config: Mapping[str, Any], make_slip: Callable[[], TicketSlip]
    ) -> PrintJob | None:
        """Add the slip to the station's durable spool, tagged with the job's id, once.

        What the slip says is read now (it needs the database); in a request, rendering it
        and the durable spool write follow the response (`after_response`): the job's row is
        the durable record, and `recover` spools it if this process dies first.

        Never raises for printer trouble: a job that cannot even be spooled is recorded as
        failed, so the resident keeps the number on screen and staff see the fault (then
        through the job's ``print_status`` event).
        """
        try:
            station = self.station(config)
            slip = make_slip()
        except Exception as exc:
            self._not_spooled(job.id, exc)
            return print_service().current(job.id)
        job_id = job.id
        deadline = time.time() + FRESH_SPOOL_SECONDS
        after_response(lambda: self._write(job_id, station, slip, deadline, recheck=False))
        return job

    def _write(
        self,
        job_id: int,
        station: Station,
        slip: TicketSlip,
        deadline: float | None,
        *,
        recheck: bool,
    ) -> bool:
        """Render and spool a job's slip (no request context needed); whether it was added."""
        try:
            data = station.printer.render(slip)
            added = station.spool.add_once(
                data, tag=str(job_id), deadline=deadline, recheck=recheck
            )
        except Exception as exc:
            with self._context():
                self._not_spooled(job_id, exc)
            return False
        return added is not None

    def _not_spooled(self, job_id: int, exc: Exception) -> None:
        if not isinstance(exc, PrinterConfigError | OSError):
            log.exception("Could not queue print job %s", job_id)
        print_service().record(
            job_id,
            PrintStatus.FAILED,
            attempts=0,
            error=_reason(exc),
            fault=CONFIG_ERROR if isinstance(exc, PrinterConfigError) else SPOOL,
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
                    self.recover()
            except Exception:
                log.exception("Print worker pass failed")
            self._health_due.wait(self.poll_seconds)
            self._health_due.clear()
        for station in self.stations():
            station.spool.wake()

    def recover(self, *, grace: timedelta = RECOVERY_GRACE) -> list[int]:
        """Finish what a crash left half-done: a print job row committed (with its ticket) whose
        bytes never reached the spool. Each job queued and never tried, older than `grace`
        (another process may be about to spool it), is looked up in the spools by its tag:
        printed or failed there, the row is told so; pending there, the worker prints it;
        nowhere, its slip is rendered and spooled now. A job of an earlier day is not printed
        any more but marked failed. Runs at the worker's start and on every pass; returns the
        ids of the jobs it spooled again."""
        service = print_service()
        stale = service.unspooled(before=service.now() - grace)
        if not stale:
            return []
        places: dict[str, str] = {}
        for station in self.known_stations():
            station.spool.prune_printed()
            places.update(station.spool.where())
        today = service.today_start()
        spooled = []
        for job in stale:
            place = places.get(str(job.id))
            if place == "printed":
                service.record(job.id, PrintStatus.PRINTED, attempts=1)
            elif place == "failed":  # why is lost with the crash: the printer's fault
                service.record(
                    job.id,
                    PrintStatus.FAILED,
                    attempts=1,
                    error="Failed in the spool.",
                    fault=FAULT,
                )
            elif place == "pending":
                continue  # the station's loop prints it and reports
            elif job.created_at < today:
                service.record(
                    job.id,
                    PrintStatus.FAILED,
                    attempts=0,
                    error="Not printed on its own day.",
                    fault=NOT_TODAY,
                )
            elif self._respool(job):
                log.warning("Print job %s was never spooled (a crash?): spooled now", job.id)
                spooled.append(job.id)
        return spooled

    def _respool(self, job: PrintJob) -> bool:
        """Spool a job again that never reached a spool; whether it was added now."""
        config = self.config_for(job.device)
        if config is None:
            print_service().record(
                job.id,
                PrintStatus.FAILED,
                attempts=0,
                error="The kiosk has no printer.",
                fault=NO_PRINTER,
            )
            return False
        ticket = job.ticket
        try:
            station = self.station(config)
            if job.appointment is not None and ticket is None:
                slip = booking_slip(job.appointment, language=job.language)
            elif ticket is not None:
                position = queue_service().position(ticket)
                slip = ticket_slip(ticket, language=job.language, position=position)
            else:
                print_service().record(
                    job.id, PrintStatus.FAILED, attempts=0, error="No slip.", fault=NO_SLIP
                )
                return False
        except Exception as exc:
            self._not_spooled(job.id, exc)
            return False
        return self._write(job.id, station, slip, None, recheck=True)

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
                fault=FAULTS.get(result.error_type or "", FAULT) if not result.ok else None,
            )
        if not result.ok:
            self._health_due.set()  # tell the desks what the printer says now, not in 15 s

    @contextmanager
    def _context(self) -> Iterator[None]:
        with self.app.app_context():
            yield


# A failed attempt's exception -> the fault word stored on its job (PrintJob.fault), which
# staff read in plain words and the kiosk's screen hears; any other exception is `FAULT`.
FAULTS = {
    "PaperOut": PrinterState.PAPER_OUT.value,
    "PrinterOffline": PrinterState.OFFLINE.value,
    "PrinterConfigError": CONFIG_ERROR,
    "CorruptJob": SPOOL,  # the spool could not read its own job file back
}


def _reason(exc: BaseException) -> str:
    return str(exc) or type(exc).__name__


def printing() -> Printing:
    """The current app's printing."""
    return current_app.extensions["loket.printing"]
